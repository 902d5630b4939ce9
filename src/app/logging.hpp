// Logging setup (spdlog) for the node: one level for everything (from
// RUST_LOG / LOG_LEVEL), text lines shaped like the Rust node's tracing
// output ("2024-05-01T12:34:56.789012Z  INFO mepassa: ...") or, with
// LOG_FORMAT=json, one JSON object per line:
//   {"ts":"2024-05-01T12:34:56.789012Z","level":"info","logger":"kad","msg":"..."}
//
// After setup_logging(), spdlog's default logger (spdlog::info(...)) is the
// node logger named "mepassa"; a module wanting its own name in the output
// uses `spdlog::default_logger()->clone("kad")`, which shares sinks, level
// and format.
//
// By default logging is asynchronous with a bounded queue that drops the
// oldest messages when full: a slow stdout (a stalled journald or docker log
// driver) must not block the network thread. Drops are counted
// (log_messages_dropped()).
#pragma once

#include <spdlog/common.h>
#include <spdlog/formatter.h>

#include <cstdint>
#include <memory>

#include "app/config.hpp"

namespace mp::app {

spdlog::level::level_enum to_spdlog(LogLevel level);

struct LogOptions {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kText;
  // nullptr: stdout (colours when it is a terminal, text format only).
  spdlog::sink_ptr sink;
  // false: log synchronously on the calling thread (tests, short commands).
  bool async = true;
  std::size_t queue_size = 8192;  // messages, when async
};

// Replaces spdlog's default logger. May be called again (e.g. in tests).
void setup_logging(const LogOptions& options);

// Convenience for main(): level and format from the configuration.
void setup_logging(const Config& config);

// Messages dropped because the async queue was full, since the first setup.
std::uint64_t log_messages_dropped();

// Flushes and stops the logging thread; call last thing before exiting.
void shutdown_logging();

// The JSON-lines formatter (exposed for tests and for extra sinks).
std::unique_ptr<spdlog::formatter> make_json_formatter();
// The text formatter used for LOG_FORMAT=text.
std::unique_ptr<spdlog::formatter> make_text_formatter();

}  // namespace mp::app
