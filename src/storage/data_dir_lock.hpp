// DataDirLock: one node per data directory. Holds an exclusive flock(2) on
// DATA_DIR/bootstrap.lock for as long as the object lives (the process
// lifetime, in the app). The kernel drops the lock when the process dies,
// even on SIGKILL, so a stale lock file never blocks a restart. The file
// holds the owner's pid, for the operator.
#pragma once

#include <filesystem>

#include "core/result.hpp"

namespace mp::storage {

class DataDirLock {
 public:
  // Fails with a message naming the directory when another process (or
  // another DataDirLock in this one) holds the lock.
  static Result<DataDirLock> acquire(const std::filesystem::path& data_dir);

  DataDirLock() = default;
  ~DataDirLock();
  DataDirLock(DataDirLock&& o) noexcept;
  DataDirLock& operator=(DataDirLock&& o) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

  bool held() const { return fd_ >= 0; }
  void release();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace mp::storage
