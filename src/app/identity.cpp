#include "app/identity.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace mp::app {
namespace {

constexpr std::size_t kMaxKeyFileSize = 4096;  // a key file is ~68 bytes

std::string errno_text() {
  return std::strerror(errno);
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Status write_all(int fd, BytesView data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("cannot write: " + errno_text());
    }
    off += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

// Makes a new directory entry durable (best effort: some filesystems refuse).
void fsync_dir(const std::filesystem::path& dir) {
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

std::variant<Ed25519KeyPair, IdentityError> load_identity_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return IdentityError{"cannot open identity key " + path.string() + ": " + errno_text()};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    return IdentityError{"cannot stat identity key " + path.string() + ": " + why};
  }
  // ssh's rule for private keys: no access at all for group or others.
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return IdentityError{"identity key " + path.string() + " has mode " + mode_text(st.st_mode) +
                             ", readable by others; refusing to use it. Run: chmod 600 " +
                             path.string(),
                         kExitBadConfig};
  }
  if (!S_ISREG(st.st_mode) || static_cast<std::size_t>(st.st_size) > kMaxKeyFileSize) {
    ::close(fd);
    return IdentityError{"identity key " + path.string() +
                         " is not a key file (not a small regular file)"};
  }
  Bytes content(kMaxKeyFileSize + 1);
  std::size_t got = 0;
  while (got < content.size()) {
    const ssize_t n = ::read(fd, content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = errno_text();
      ::close(fd);
      return IdentityError{"cannot read identity key " + path.string() + ": " + why};
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  auto kp = Ed25519KeyPair::from_protobuf_private(
      BytesView(content.data(), std::min(got, kMaxKeyFileSize)));
  OPENSSL_cleanse(content.data(), content.size());
  if (!kp) {
    return IdentityError{"identity key " + path.string() + " is not a usable libp2p private key (" +
                         kp.message() +
                         "); it was left untouched: restore it, or move it away to "
                         "start with a new identity (a new Peer ID)"};
  }
  return std::move(*kp);
}

Status create_identity_file(const std::filesystem::path& path, const Ed25519KeyPair& key) {
  // A private name per process: a leftover from a crash is never reused and
  // never seen as the key.
  const std::filesystem::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot create " + tmp.string() + ": " + errno_text());
  // The umask can only remove bits, but be explicit: the file holds a secret.
  Bytes encoded = key.to_protobuf_private();
  Status st = ::fchmod(fd, 0600) == 0 ? write_all(fd, encoded)
                                      : Status(make_error("cannot chmod: " + errno_text()));
  OPENSSL_cleanse(encoded.data(), encoded.size());
  if (st && ::fsync(fd) != 0) st = make_error("cannot fsync: " + errno_text());
  ::close(fd);
  if (!st) {
    ::unlink(tmp.c_str());
    return make_error(tmp.string() + ": " + st.message());
  }
  // link(2) never replaces an existing name: the first key written stays.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST) return make_error(path.string() + " already exists; it was left as it is");
    return make_error("cannot link " + tmp.string() + " to " + path.string() + ": " +
                      std::strerror(err));
  }
  ::unlink(tmp.c_str());
  fsync_dir(path.parent_path());
  return Status::Ok();
}

std::variant<Ed25519KeyPair, IdentityError> node_identity(const Config& config) {
  if (config.peer_id_seed) {
    spdlog::warn(
        "PEER_ID_SEED is set: the identity key is SHA-256 of the seed, so it is only as "
        "secret as the seed string. Prefer the generated DATA_DIR/identity.key.");
    return Ed25519KeyPair::from_seed_string(*config.peer_id_seed);
  }
  const auto path = config.data_dir / "identity.key";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    Ed25519KeyPair fresh = Ed25519KeyPair::generate();
    if (auto st = create_identity_file(path, fresh); st) {
      spdlog::info("Generated a new identity key in {}", path.string());
      return fresh;
    } else if (!std::filesystem::exists(path, ec)) {
      return IdentityError{"cannot create identity key: " + st.message()};
    }
    // Someone else created it meanwhile (the DATA_DIR lock makes this an
    // outside writer): theirs stands, load it.
  }
  return load_identity_file(path);
}

}  // namespace mp::app
