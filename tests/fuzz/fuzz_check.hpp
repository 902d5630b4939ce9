// Invariant checks inside fuzz targets: a violated property is a finding,
// reported like a crash (abort) so libFuzzer saves the input.
// Also: libprotobuf writing a log line (to stderr, past our logger and its
// rate limits) because of peer bytes is a finding, since a peer could make
// us write one per message.
#pragma once
#include <google/protobuf/stubs/logging.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#define MP_FUZZ_CHECK(cond)                                                                  \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

namespace mp::fuzz {

inline void protobuf_log_is_a_finding(google::protobuf::LogLevel, const char* file, int line,
                                      const std::string& message) {
  std::fprintf(stderr, "libprotobuf logged from peer bytes (%s:%d): %s\n", file, line,
               message.c_str());
  std::abort();
}

inline const bool kProtobufLogHandlerSet = [] {
  google::protobuf::SetLogHandler(&protobuf_log_is_a_finding);
  return true;
}();

}  // namespace mp::fuzz
