#include "core/keys.hpp"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "core/hash.hpp"
#include "core/varint.hpp"

namespace mp {

namespace {

EVP_PKEY* as_pkey(const std::shared_ptr<void>& p) {
  return static_cast<EVP_PKEY*>(p.get());
}

std::shared_ptr<void> share_pkey(EVP_PKEY* k) {
  return std::shared_ptr<void>(k, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
}

struct MdCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~MdCtx() { EVP_MD_CTX_free(ctx); }
  MdCtx() = default;
  MdCtx(const MdCtx&) = delete;
  MdCtx& operator=(const MdCtx&) = delete;
};

// OpenSSL wants a non-null pointer even for zero-length input.
const std::uint8_t* nonnull(BytesView b) {
  static const std::uint8_t kEmpty = 0;
  return b.empty() ? &kEmpty : b.data();
}

// The PublicKey / PrivateKey messages share one shape: Type = 1, Data = 2.
struct KeyMessage {
  std::uint64_t type = 0;
  Bytes data;
};

// libp2p/specs peer-ids: "fields must be encoded in tag order, minimally,
// all fields included, no additional fields". We write exactly that.
Bytes encode_key_message(KeyType type, BytesView data) {
  Bytes out;
  out.reserve(4 + data.size());
  out.push_back(0x08);  // field 1, varint
  varint::encode(static_cast<std::uint64_t>(type), out);
  out.push_back(0x12);  // field 2, length-delimited
  varint::encode(data.size(), out);
  append(out, data);
  return out;
}

// Reading is as lenient as an ordinary protobuf decoder (any field order,
// unknown fields skipped), but both fields must be present.
Result<KeyMessage> decode_key_message(BytesView in, const char* what) {
  KeyMessage msg;
  bool have_type = false, have_data = false;
  std::size_t pos = 0;
  auto bad = [&](const std::string& why) {
    return make_error(std::string("malformed ") + what + " protobuf: " + why);
  };
  while (pos < in.size()) {
    auto tag = varint::decode(in.subspan(pos));
    if (!tag) return bad("bad field tag");
    pos += tag->size;
    const std::uint64_t field = tag->value >> 3;
    const unsigned wire = static_cast<unsigned>(tag->value & 7);
    if (field == 0) return bad("field number 0");
    switch (wire) {
      case 0: {
        auto v = varint::decode(in.subspan(pos));
        if (!v) return bad("bad varint");
        pos += v->size;
        if (field == 1) {
          msg.type = v->value;
          have_type = true;
        } else if (field == 2) {
          return bad("Data has the wrong wire type");
        }
        break;
      }
      case 2: {
        auto len = varint::decode(in.subspan(pos));
        if (!len) return bad("bad length");
        pos += len->size;
        if (len->value > in.size() - pos) return bad("field runs past the end");
        const auto value = in.subspan(pos, static_cast<std::size_t>(len->value));
        pos += value.size();
        if (field == 2) {
          msg.data.assign(value.begin(), value.end());
          have_data = true;
        } else if (field == 1) {
          return bad("Type has the wrong wire type");
        }
        break;
      }
      case 1:
      case 5: {
        const std::size_t n = wire == 1 ? 8 : 4;
        if (field == 1 || field == 2) return bad("field has the wrong wire type");
        if (n > in.size() - pos) return bad("field runs past the end");
        pos += n;
        break;
      }
      default:
        return bad("unsupported wire type " + std::to_string(wire));
    }
  }
  if (!have_type) return bad("missing Type");
  if (!have_data) return bad("missing Data");
  return msg;
}

Result<KeyType> to_key_type(std::uint64_t v) {
  if (v > 3) return make_error("unknown key type " + std::to_string(v));
  return static_cast<KeyType>(v);
}

// Ed25519 verification through libsodium: every connection verifies its
// remote's Noise payload once, and libsodium does it in about 40 us where
// OpenSSL 3.0 takes about 100 (its Ed25519 is the portable reference code,
// plus a key import by name per call). libsodium is the stricter of the two
// (RFC 8032 5.1.7 with canonical S, and it refuses small-order keys and R
// points), which no honest signer produces.
bool ed25519_verify(BytesView key, BytesView msg, BytesView sig) {
  static const bool ready = sodium_init() >= 0;
  if (!ready || key.size() != crypto_sign_PUBLICKEYBYTES || sig.size() != crypto_sign_BYTES) {
    return false;
  }
  return crypto_sign_verify_detached(sig.data(), nonnull(msg), msg.size(), key.data()) == 0;
}

// secp256k1: "standard Bitcoin EC encoding", i.e. the 33-byte SEC1
// compressed point every libp2p implementation writes.
EVP_PKEY* secp256k1_public(BytesView point) {
  if (point.size() != 33 || (point[0] != 0x02 && point[0] != 0x03)) return nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("secp256k1"),
                                       0),
      // OpenSSL copies the octets; it does not write through the pointer.
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                        const_cast<std::uint8_t*>(point.data()), point.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* pkey = nullptr;
  // fromdata decodes the point and fails if it is not on the curve.
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  return pkey;
}

// DER SubjectPublicKeyInfo (PKIX), the encoding of ECDSA and RSA keys.
// The whole input must be consumed: trailing bytes would let one key have
// many encodings.
EVP_PKEY* pkix_public(BytesView der) {
  if (der.empty() || der.size() > 64 * 1024) return nullptr;
  const unsigned char* p = der.data();
  EVP_PKEY* pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (pkey != nullptr && p != der.data() + der.size()) {
    EVP_PKEY_free(pkey);
    return nullptr;
  }
  return pkey;
}

Result<std::shared_ptr<void>> load_public(KeyType type, BytesView data) {
  const char* name = key_type_name(type);
  EVP_PKEY* pkey = nullptr;
  switch (type) {
    case KeyType::kEd25519:  // PublicKey::from_raw keeps these as bytes
      break;
    case KeyType::kSecp256k1:
      pkey = secp256k1_public(data);
      if (pkey == nullptr)
        return make_error(
            "invalid secp256k1 public key (want a 33-byte compressed point on the curve)");
      break;
    case KeyType::kEcdsa: {
      pkey = pkix_public(data);
      if (pkey == nullptr || !EVP_PKEY_is_a(pkey, "EC")) {
        EVP_PKEY_free(pkey);
        return make_error("invalid ECDSA public key (want DER SubjectPublicKeyInfo)");
      }
      char group[64] = {};
      std::size_t glen = 0;
      const bool got = EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) == 1;
      const std::string_view g(group, got ? glen : 0);
      // The NIST curves go-libp2p accepts; rust-libp2p only writes P-256.
      if (g != "prime256v1" && g != "secp384r1" && g != "secp521r1") {
        EVP_PKEY_free(pkey);
        return make_error("unsupported ECDSA curve '" + std::string(g) + "'");
      }
      break;
    }
    case KeyType::kRsa: {
      pkey = pkix_public(data);
      if (pkey == nullptr || !EVP_PKEY_is_a(pkey, "RSA")) {
        EVP_PKEY_free(pkey);
        return make_error("invalid RSA public key (want DER SubjectPublicKeyInfo)");
      }
      const int bits = EVP_PKEY_get_bits(pkey);
      if (bits < kMinRsaBits || bits > kMaxRsaBits) {
        EVP_PKEY_free(pkey);
        return make_error("RSA key of " + std::to_string(bits) + " bits refused (accepted: " +
                          std::to_string(kMinRsaBits) + ".." + std::to_string(kMaxRsaBits) + ")");
      }
      break;
    }
  }
  if (pkey == nullptr) return make_error(std::string("invalid ") + name + " public key");
  return share_pkey(pkey);
}

}  // namespace

const char* key_type_name(KeyType t) {
  switch (t) {
    case KeyType::kRsa:
      return "RSA";
    case KeyType::kEd25519:
      return "Ed25519";
    case KeyType::kSecp256k1:
      return "secp256k1";
    case KeyType::kEcdsa:
      return "ECDSA";
  }
  return "unknown";
}

// ---------------------------------------------------------------- PublicKey

Result<PublicKey> PublicKey::from_raw(KeyType type, BytesView data) {
  if (type == KeyType::kEd25519) {
    // Any 32 bytes load (libsodium checks the point when verifying): keep
    // the bytes, all verify() needs.
    if (data.size() != 32) return make_error("invalid Ed25519 public key (want 32 bytes)");
    PublicKey k;
    k.type_ = type;
    k.data_.assign(data.begin(), data.end());
    return k;
  }
  auto pkey = load_public(type, data);
  ERR_clear_error();  // failures leave entries on this thread's error queue
  if (!pkey) return pkey.error();
  PublicKey k;
  k.type_ = type;
  k.data_.assign(data.begin(), data.end());
  k.pkey_ = std::move(pkey.value());
  return k;
}

Result<PublicKey> PublicKey::from_protobuf(BytesView encoded) {
  auto msg = decode_key_message(encoded, "PublicKey");
  if (!msg) return msg.error();
  auto type = to_key_type(msg->type);
  if (!type) return type.error();
  return from_raw(*type, msg->data);
}

Result<PublicKey> PublicKey::from_ed25519(BytesView raw32) {
  return from_raw(KeyType::kEd25519, raw32);
}

Bytes PublicKey::to_protobuf() const {
  return encode_key_message(type_, data_);
}

bool PublicKey::verify(BytesView msg, BytesView sig) const {
  if (empty() || sig.empty()) return false;
  if (type_ == KeyType::kEd25519) return ed25519_verify(data_, msg, sig);
  MdCtx md;
  // The others sign SHA-256(msg).
  const bool ok = md.ctx != nullptr &&
                  EVP_DigestVerifyInit(md.ctx, nullptr, EVP_sha256(), nullptr, as_pkey(pkey_)) == 1 &&
                  EVP_DigestVerify(md.ctx, sig.data(), sig.size(), nonnull(msg), msg.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

// ----------------------------------------------------------- Ed25519KeyPair

Ed25519KeyPair Ed25519KeyPair::generate() {
  std::array<std::uint8_t, 32> secret{};
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed: no randomness for a new key");
  }
  auto kp = from_secret(secret);
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!kp) throw std::runtime_error("Ed25519 key generation failed: " + kp.message());
  return std::move(kp.value());
}

Result<Ed25519KeyPair> Ed25519KeyPair::from_secret(BytesView secret32) {
  if (secret32.size() != 32) {
    return make_error("Ed25519 secret must be 32 bytes, got " + std::to_string(secret32.size()));
  }
  EVP_PKEY* pkey =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, secret32.data(), secret32.size());
  if (pkey == nullptr) {
    ERR_clear_error();
    return make_error("OpenSSL refused the Ed25519 secret");
  }
  Ed25519KeyPair kp;
  kp.pkey_ = share_pkey(pkey);
  std::copy(secret32.begin(), secret32.end(), kp.secret_.begin());
  std::size_t len = kp.public_.size();
  if (EVP_PKEY_get_raw_public_key(pkey, kp.public_.data(), &len) != 1 || len != 32) {
    ERR_clear_error();
    return make_error("OpenSSL could not derive the Ed25519 public key");
  }
  return kp;
}

Ed25519KeyPair Ed25519KeyPair::from_seed_string(std::string_view seed) {
  const Sha256Digest secret = sha256(as_bytes(seed));
  auto kp = from_secret(secret);
  if (!kp) throw std::runtime_error("Ed25519 key from seed failed: " + kp.message());
  return std::move(kp.value());
}

Result<Ed25519KeyPair> Ed25519KeyPair::from_protobuf_private(BytesView encoded) {
  auto msg = decode_key_message(encoded, "PrivateKey");
  if (!msg) return msg.error();
  if (msg->type != static_cast<std::uint64_t>(KeyType::kEd25519)) {
    auto t = to_key_type(msg->type);
    return make_error(std::string("only Ed25519 private keys are supported, this one is ") +
                      (t ? key_type_name(*t) : "of an unknown type"));
  }
  const Bytes& d = msg->data;
  if (d.size() != 32 && d.size() != 64 && d.size() != 96) {
    return make_error("Ed25519 private key Data must be 32, 64 or 96 bytes, got " +
                      std::to_string(d.size()));
  }
  const BytesView view(d);
  auto kp = from_secret(view.first(32));
  if (!kp) return kp;
  // peer-ids.md: 64 = secret||public; legacy 96 = secret||public||public,
  // both copies must be identical. Either way the stored public key must be
  // the one the secret gives, or the file is not what it claims to be.
  const auto& pub = kp->public_raw();
  for (std::size_t off = 32; off < view.size(); off += 32) {
    if (!std::equal(pub.begin(), pub.end(), view.begin() + static_cast<std::ptrdiff_t>(off))) {
      return make_error("Ed25519 private key: stored public key does not match the secret");
    }
  }
  OPENSSL_cleanse(msg->data.data(), msg->data.size());
  return kp;
}

Bytes Ed25519KeyPair::to_protobuf_private() const {
  Bytes data(secret_.begin(), secret_.end());
  data.insert(data.end(), public_.begin(), public_.end());
  Bytes out = encode_key_message(KeyType::kEd25519, data);
  OPENSSL_cleanse(data.data(), data.size());
  return out;
}

PublicKey Ed25519KeyPair::public_key() const {
  auto k = PublicKey::from_ed25519(public_);
  return k ? std::move(k.value()) : PublicKey{};
}

Bytes Ed25519KeyPair::sign(BytesView msg) const {
  if (pkey_ == nullptr) return {};
  Bytes sig(64);
  std::size_t len = sig.size();
  MdCtx md;
  if (md.ctx == nullptr ||
      EVP_DigestSignInit(md.ctx, nullptr, nullptr, nullptr, as_pkey(pkey_)) != 1 ||
      EVP_DigestSign(md.ctx, sig.data(), &len, nonnull(msg), msg.size()) != 1 || len != 64) {
    ERR_clear_error();
    throw std::runtime_error("Ed25519 signing failed (OpenSSL)");
  }
  return sig;
}

// ------------------------------------------------------------ identity file

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

// Reads a small file whole. nullopt + errno ENOENT means "does not exist".
Result<Bytes> read_small_file(const std::string& path, bool* missing) {
  *missing = false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      *missing = true;
      return make_error("identity file " + path + " does not exist");
    }
    return make_error("cannot open identity file " + path + ": " + errno_text());
  }
  Bytes out;
  std::uint8_t buf[1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = errno_text();
      ::close(fd);
      return make_error("cannot read identity file " + path + ": " + why);
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
    // A key file is ~68 bytes; anything large is not one.
    if (out.size() > 4096) {
      ::close(fd);
      return make_error("identity file " + path + " is too large to be a key file");
    }
  }
  ::close(fd);
  OPENSSL_cleanse(buf, sizeof(buf));
  return out;
}

Status write_new_file_0600(const std::string& path, BytesView data) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a leftover from a crash; O_EXCL below needs it gone
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot create " + tmp + ": " + errno_text());
  auto fail = [&](const std::string& what) {
    const std::string why = errno_text();
    ::close(fd);
    ::unlink(tmp.c_str());
    return make_error(what + " " + tmp + ": " + why);
  };
  // The umask can only remove bits, but be explicit: the file holds a secret.
  if (::fchmod(fd, 0600) != 0) return fail("cannot chmod");
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot fsync");
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    return make_error("cannot rename " + tmp + " to " + path + ": " + why);
  }
  // Make the rename itself durable (best effort).
  const auto slash = path.find_last_of('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace

Result<Ed25519KeyPair> load_or_create_identity(const std::string& path, bool* created) {
  if (created != nullptr) *created = false;
  bool missing = false;
  auto content = read_small_file(path, &missing);
  if (content) {
    auto kp = Ed25519KeyPair::from_protobuf_private(*content);
    OPENSSL_cleanse(content->data(), content->size());
    if (!kp) {
      return make_error("identity file " + path + " is not a usable libp2p private key (" +
                        kp.message() + "); it was left untouched: restore it, or move it away " +
                        "to start with a new identity (a new Peer ID)");
    }
    return kp;
  }
  if (!missing) return content.error();

  Ed25519KeyPair kp = Ed25519KeyPair::generate();
  Bytes encoded = kp.to_protobuf_private();
  Status st = write_new_file_0600(path, encoded);
  OPENSSL_cleanse(encoded.data(), encoded.size());
  if (!st) return make_error("cannot create identity file: " + st.message());
  if (created != nullptr) *created = true;
  return kp;
}

}  // namespace mp
