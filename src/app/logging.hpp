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
#include <filesystem>
#include <memory>
#include <string>

#include "app/config.hpp"
#include "core/result.hpp"

namespace mp::app {

spdlog::level::level_enum to_spdlog(LogLevel level);

struct LogOptions {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kText;
  // nullptr: stdout (colours when it is a terminal, text format only),
  // or `file` when set.
  spdlog::sink_ptr sink;
  // LOG_FILE: lines are appended to this file; reopen_log_file() reopens it.
  std::filesystem::path file;
  // false: log synchronously on the calling thread (tests, short commands).
  bool async = true;
  std::size_t queue_size = 8192;  // messages, when async
};

// Replaces spdlog's default logger. May be called again (e.g. in tests).
// Fails only when `options.file` cannot be opened for appending.
Status setup_logging(const LogOptions& options);

// Convenience for main(): level, format and LOG_FILE from the configuration.
Status setup_logging(const Config& config);

// The log level SIGHUP applies. The process environment cannot change under
// a running process, so the .env file is what an operator edits: RUST_LOG,
// else LOG_LEVEL, from `dotenv_path` (read again now); when the file sets
// neither, RUST_LOG / LOG_LEVEL from the process environment; else "info".
// A --log-level flag (started.log_level_pinned) keeps the level it set.
struct ReloadedLevel {
  LogLevel level = LogLevel::kInfo;
  std::string source;  // "LOG_LEVEL (.env)", "RUST_LOG (environment)", ...
  std::vector<std::string> warnings;
};
Result<ReloadedLevel> reread_log_level(const Config& started, const EnvSource& env,
                                       const std::filesystem::path& dotenv_path);

// SIGHUP: applies reread_log_level() and reopens LOG_FILE when one is in use.
// Never fails the node: a bad value keeps the current level. Returns the one
// line to log, saying what was done.
std::string reload_logging(const Config& started, const EnvSource& env,
                           const std::filesystem::path& dotenv_path = ".env");

// Closes and reopens the LOG_FILE (no-op when logging to stdout).
Status reopen_log_file();

// Messages dropped because the async queue was full, since the process
// started (shutdown_logging() does not reset it). Exported as
// mepassa_log_messages_dropped_total.
std::uint64_t log_messages_dropped();

// Flushes and stops the logging thread; call last thing before exiting.
void shutdown_logging();

// The JSON-lines formatter (exposed for tests and for extra sinks).
std::unique_ptr<spdlog::formatter> make_json_formatter();
// The text formatter used for LOG_FORMAT=text.
std::unique_ptr<spdlog::formatter> make_text_formatter();

}  // namespace mp::app
