// RUST_LOG / LOG_LEVEL values: a plain level or a tracing EnvFilter,
// reduced to the one level the node applies (spdlog has no per-target
// filter).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mp::app {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// RUST_LOG / LOG_LEVEL value: a plain level (trace, debug, info, warn,
// error, off; any case; "warning" too; 0-5 as in tracing) or a tracing
// EnvFilter such as "info,libp2p=debug". We apply one level to the whole
// node: the leading bare level, or if there is none the most verbose
// target level. An unknown bare level is an error; target directives that
// cannot be read are ignored with a warning (EnvFilter ignored them too).
struct LogFilter {
  LogLevel level = LogLevel::kInfo;
  std::vector<std::string> warnings;
};
Result<LogFilter> parse_log_filter(std::string_view text);

std::string_view to_string(LogLevel level);

}  // namespace mp::app
