#include "app/log_filter.hpp"

#include <optional>

#include "app/text.hpp"

namespace mp::app {

using text::lower;
using text::trim;

// ---------------------------------------------------------------------------
// Log filter

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return "trace";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "info";
}

namespace {

std::optional<LogLevel> parse_level(std::string_view text) {
  const std::string t = lower(trim(text));
  // tracing's LevelFilter also reads 0 (off) to 5 (trace).
  if (t == "trace" || t == "5") return LogLevel::kTrace;
  if (t == "debug" || t == "4") return LogLevel::kDebug;
  if (t == "info" || t == "3") return LogLevel::kInfo;
  if (t == "warn" || t == "warning" || t == "2") return LogLevel::kWarn;
  if (t == "error" || t == "1") return LogLevel::kError;
  if (t == "off" || t == "0") return LogLevel::kOff;
  return std::nullopt;
}

}  // namespace

Result<LogFilter> parse_log_filter(std::string_view text) {
  LogFilter f;
  std::optional<LogLevel> bare;
  std::optional<LogLevel> most_verbose_target;
  std::size_t start = 0;
  bool any = false;
  while (start <= text.size()) {
    auto end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view d = trim(text.substr(start, end - start));
    start = end + 1;
    if (d.empty()) continue;
    any = true;
    const auto eq = d.rfind('=');
    if (eq == std::string_view::npos) {
      // A directive without '=' is either a level or a bare target name
      // (which EnvFilter enables at trace). Only the first form is useful
      // here; a name that looks like neither level nor target is an error.
      if (auto l = parse_level(d)) {
        bare = *l;
      } else {
        return make_error("unknown log level \"" + std::string(d) +
                          "\" (expected trace, debug, info, warn, error or off)");
      }
    } else if (auto l = parse_level(d.substr(eq + 1))) {
      if (!most_verbose_target || *l < *most_verbose_target) most_verbose_target = *l;
    } else {
      f.warnings.push_back("log filter directive \"" + std::string(d) + "\" ignored");
    }
  }
  if (!any) return make_error("empty log level");
  if (bare) {
    f.level = *bare;
  } else if (most_verbose_target) {
    f.level = *most_verbose_target;
  }
  return f;
}

}  // namespace mp::app
