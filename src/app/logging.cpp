#include "app/logging.hpp"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/details/file_helper.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string_view>

namespace mp::app {

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

namespace {

// Level names as tracing prints them, so that alerting on "ERROR"/"WARN"
// in the Rust node's logs keeps working.
std::string_view upper_level(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace: return "TRACE";
    case spdlog::level::debug: return "DEBUG";
    case spdlog::level::info: return " INFO";
    case spdlog::level::warn: return " WARN";
    case spdlog::level::err: return "ERROR";
    case spdlog::level::critical: return "ERROR";
    default: return "  OFF";
  }
}

std::string_view lower_level(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

class UpperLevelFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const auto s = upper_level(msg.level);
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<UpperLevelFlag>();
  }
};

void append(spdlog::memory_buf_t& dest, std::string_view s) {
  dest.append(s.data(), s.data() + s.size());
}

// RFC 3339 UTC with microseconds.
void append_timestamp(spdlog::memory_buf_t& dest, spdlog::log_clock::time_point tp) {
  using namespace std::chrono;
  const auto since = tp.time_since_epoch();
  const auto secs = duration_cast<seconds>(since);
  const auto micros = duration_cast<microseconds>(since - secs).count();
  const std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  fmt::format_to(std::back_inserter(dest), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 micros);
}

// JSON string body: escapes quotes, backslashes and control characters, and
// replaces invalid UTF-8 (peer-supplied text ends up in logs) with U+FFFD so
// every line stays valid JSON for log shippers.
void append_json_string(spdlog::memory_buf_t& dest, std::string_view s) {
  dest.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': append(dest, "\\\""); break;
        case '\\': append(dest, "\\\\"); break;
        case '\n': append(dest, "\\n"); break;
        case '\r': append(dest, "\\r"); break;
        case '\t': append(dest, "\\t"); break;
        default:
          if (c < 0x20 || c == 0x7f) {
            fmt::format_to(std::back_inserter(dest), "\\u{:04x}", static_cast<unsigned>(c));
          } else {
            dest.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // Multi-byte sequence: validate length, continuation bytes, overlongs,
    // surrogates and the U+10FFFF ceiling.
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1Fu; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0Fu; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07u; }
    bool valid = len != 0 && i + len <= s.size();
    for (std::size_t k = 1; valid && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0u) != 0x80u) valid = false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (valid) {
      if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
          (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
        valid = false;
      }
    }
    if (valid) {
      append(dest, s.substr(i, len));
      i += len;
    } else {
      append(dest, "\xEF\xBF\xBD");
      ++i;
    }
  }
  dest.push_back('"');
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    append(dest, "{\"ts\":\"");
    append_timestamp(dest, msg.time);
    append(dest, "\",\"level\":\"");
    append(dest, lower_level(msg.level));
    append(dest, "\",\"logger\":");
    append_json_string(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    append(dest, ",\"msg\":");
    append_json_string(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    append(dest, "}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// LOG_FILE sink. spdlog's basic_file_sink cannot reopen its file; this one
// can, under the sink's own mutex, so lines written by the async thread
// never race the reopen. Opened for appending: a restart or a reopen never
// truncates what logrotate has not moved yet.
class ReopenableFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ReopenableFileSink(const std::filesystem::path& path) : path_(path) {
    file_.open(path_.string(), false);
  }
  // Closes the file and opens `path_` again (a new file after logrotate moved
  // the old one away).
  void reopen() {
    std::lock_guard lock(mutex_);
    file_.close();
    file_.open(path_.string(), false);
  }
  const std::filesystem::path& path() const { return path_; }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    file_.write(formatted);
  }
  void flush_() override { file_.flush(); }

 private:
  std::filesystem::path path_;
  spdlog::details::file_helper file_;
};

std::mutex g_mu;
std::shared_ptr<spdlog::details::thread_pool> g_pool;  // created once, reused
// Drops counted by pools that shutdown_logging() released: the counter
// covers the life of the process, not the life of one pool.
std::uint64_t g_dropped_by_released_pools = 0;
std::shared_ptr<ReopenableFileSink> g_file_sink;       // set when LOG_FILE is in use

}  // namespace

std::unique_ptr<spdlog::formatter> make_json_formatter() { return std::make_unique<JsonFormatter>(); }

std::unique_ptr<spdlog::formatter> make_text_formatter() {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  f->add_flag<UpperLevelFlag>('*');
  f->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%*%$ %n: %v");
  return f;
}

Status setup_logging(const LogOptions& o) {
  std::lock_guard lock(g_mu);
  spdlog::sink_ptr sink = o.sink;
  std::shared_ptr<ReopenableFileSink> file_sink;
  if (!sink && !o.file.empty()) {
    try {
      file_sink = std::make_shared<ReopenableFileSink>(o.file);
    } catch (const std::exception& e) {
      return make_error("cannot open LOG_FILE " + o.file.string() + ": " + e.what());
    }
    sink = file_sink;
  }
  g_file_sink = file_sink;
  if (!sink) {
    if (o.format == LogFormat::kJson) {
      sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    } else {
      sink = std::make_shared<spdlog::sinks::stdout_color_sink_mt>();
    }
  }
  std::shared_ptr<spdlog::logger> logger;
  if (o.async) {
    if (!g_pool) g_pool = std::make_shared<spdlog::details::thread_pool>(o.queue_size, 1);
    logger = std::make_shared<spdlog::async_logger>("mepassa", sink, g_pool,
                                                    spdlog::async_overflow_policy::overrun_oldest);
  } else {
    logger = std::make_shared<spdlog::logger>("mepassa", sink);
  }
  logger->set_formatter(o.format == LogFormat::kJson ? make_json_formatter()
                                                     : make_text_formatter());
  logger->set_level(to_spdlog(o.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::set_level(to_spdlog(o.level));
  spdlog::flush_every(std::chrono::seconds(1));
  return Status::Ok();
}

Status setup_logging(const Config& config) {
  LogOptions o;
  o.level = config.log_level;
  o.format = config.log_format;
  o.file = config.log_file;
  return setup_logging(o);
}

Result<ReloadedLevel> reread_log_level(const Config& started, const EnvSource& env,
                                       const std::filesystem::path& dotenv_path) {
  ReloadedLevel r;
  if (started.log_level_pinned) {
    r.level = started.log_level;
    r.source = "--log-level";
    return r;
  }
  auto read = read_dotenv(dotenv_path, env);
  if (!read) return read.error();
  const DotenvFile dotenv = std::move(*read);
  r.warnings.insert(r.warnings.end(), dotenv.warnings.begin(), dotenv.warnings.end());
  std::optional<std::string> text;
  for (const char* name : {"RUST_LOG", "LOG_LEVEL"}) {
    if (auto it = dotenv.vars.find(name); !text && it != dotenv.vars.end()) {
      text = it->second;
      r.source = std::string(name) + " (" + dotenv_path.string() + ")";
    }
  }
  for (const char* name : {"RUST_LOG", "LOG_LEVEL"}) {
    if (text) break;
    if ((text = env.get(name))) r.source = std::string(name) + " (environment)";
  }
  if (!text) {
    r.source = "default";
    return r;
  }
  auto f = parse_log_filter(*text);
  if (!f) return make_error(r.source + "=\"" + *text + "\": " + f.message());
  r.level = f->level;
  for (auto& w : f->warnings) r.warnings.push_back(r.source + ": " + w);
  return r;
}

Status reopen_log_file() {
  std::shared_ptr<ReopenableFileSink> sink;
  {
    std::lock_guard lock(g_mu);
    sink = g_file_sink;
  }
  if (!sink) return Status::Ok();
  try {
    sink->reopen();
  } catch (const std::exception& e) {
    return make_error("cannot reopen LOG_FILE " + sink->path().string() + ": " + e.what());
  }
  return Status::Ok();
}

std::string reload_logging(const Config& started, const EnvSource& env,
                           const std::filesystem::path& dotenv_path) {
  std::string line;
  auto level = reread_log_level(started, env, dotenv_path);
  if (level) {
    const auto before = spdlog::default_logger()->level();
    spdlog::set_level(to_spdlog(level->level));
    spdlog::default_logger()->set_level(to_spdlog(level->level));
    line = fmt::format("log level {} (from {}, was {})", to_string(level->level), level->source,
                       lower_level(before));
    for (const auto& w : level->warnings) line += "; " + w;
  } else {
    line = "log level kept (" + level.message() + ")";
  }
  bool has_file = false;
  std::filesystem::path file;
  {
    std::lock_guard lock(g_mu);
    if (g_file_sink) {
      has_file = true;
      file = g_file_sink->path();
    }
  }
  if (has_file) {
    // Lines still in the async queue at this moment land in the new file;
    // none is lost.
    if (auto st = reopen_log_file(); st) {
      line += "; reopened " + file.string();
    } else {
      line += "; " + st.message();
    }
  }
  return line;
}

std::uint64_t log_messages_dropped() {
  std::lock_guard lock(g_mu);
  return g_dropped_by_released_pools + (g_pool ? g_pool->overrun_counter() : 0);
}

void shutdown_logging() {
  std::lock_guard lock(g_mu);
  if (auto l = spdlog::default_logger()) l->flush();
  spdlog::shutdown();
  if (g_pool) g_dropped_by_released_pools += g_pool->overrun_counter();
  g_pool.reset();
  g_file_sink.reset();
}

}  // namespace mp::app
