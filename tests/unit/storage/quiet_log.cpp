// Keeps the test output readable: the store's info lines are only noise
// here. Tests that check a log line install their own logger (LogCapture).
#include <spdlog/spdlog.h>

namespace {
const bool quiet = [] {
  spdlog::set_level(spdlog::level::warn);
  return true;
}();
}  // namespace
