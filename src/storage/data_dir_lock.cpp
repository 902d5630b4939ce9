#include "storage/data_dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace mp::storage {

Result<DataDirLock> DataDirLock::acquire(const std::filesystem::path& data_dir) {
  const std::filesystem::path path = data_dir / "bootstrap.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return make_error("cannot open lock file " + path.string() + ": " + std::strerror(errno));
  }
  // flock locks belong to the open file description, so a second acquire in
  // the same process conflicts too (unlike fcntl locks).
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string owner;
    char buf[32] = {};
    if (::pread(fd, buf, sizeof(buf) - 1, 0) > 0) {
      std::string pid(buf);
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      if (!pid.empty()) owner = " (pid " + pid + ")";
    }
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return make_error("another mepassa-bootstrap is already running on data dir " +
                        data_dir.string() + owner + "; lock held on " + path.string() +
                        ". Use a different DATA_DIR or stop the other node.");
    }
    return make_error("cannot lock " + path.string() + ": " + std::strerror(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    // Informational only; a failed write does not weaken the lock.
    [[maybe_unused]] ssize_t n = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return DataDirLock(fd);
}

DataDirLock::~DataDirLock() { release(); }

DataDirLock::DataDirLock(DataDirLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}

DataDirLock& DataDirLock::operator=(DataDirLock&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

void DataDirLock::release() {
  if (fd_ >= 0) {
    ::close(fd_);  // closing the last descriptor drops the flock
    fd_ = -1;
  }
}

}  // namespace mp::storage
