// Logging: levels reach spdlog, text lines look like tracing's, JSON lines
// are one valid object each with ts/level/logger/msg.
#include "app/logging.hpp"

#include <spdlog/sinks/base_sink.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "app/module_metrics.hpp"
#include "http/metrics.hpp"

namespace mp::app {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// "2024-05-01T12:34:56.789012Z": digits where the template has 'd'.
bool is_timestamp(std::string_view ts) {
  constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (ts.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const bool digit = ts[i] >= '0' && ts[i] <= '9';
    if (shape[i] == 'd' ? !digit : ts[i] != shape[i]) return false;
  }
  return true;
}

class LoggingTest : public ::testing::Test {
 protected:
  void setup(LogLevel level, LogFormat format) {
    sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    LogOptions o;
    o.level = level;
    o.format = format;
    o.sink = sink_;
    o.async = false;
    ASSERT_TRUE(setup_logging(o).ok());
  }
  void TearDown() override {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "unit_test", std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cerr)));
  }

  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

TEST_F(LoggingTest, JsonLinesAreValidJsonWithTheExpectedFields) {
  setup(LogLevel::kInfo, LogFormat::kJson);
  spdlog::info("peer {} connected", "12D3KooW");
  spdlog::warn("quote \" backslash \\ newline \n tab \t ctl \x01 done");
  spdlog::info(std::string("bad utf8 \xff\xfe and good \xc3\xa9"));
  spdlog::default_logger()->clone("kad")->error("from kad");
  spdlog::debug("not shown at info");
  const auto lines = lines_of(out_.str());
  ASSERT_EQ(lines.size(), 4u) << out_.str();
  for (const auto& l : lines) {
    const auto j = nlohmann::json::parse(l);  // throws on invalid JSON or UTF-8
    EXPECT_EQ(j.size(), 4u);
    EXPECT_TRUE(is_timestamp(j.at("ts").get<std::string>())) << j.at("ts");
  }
  auto j0 = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j0.at("level"), "info");
  EXPECT_EQ(j0.at("logger"), "mepassa");
  EXPECT_EQ(j0.at("msg"), "peer 12D3KooW connected");
  auto j1 = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(j1.at("level"), "warn");
  EXPECT_EQ(j1.at("msg"), "quote \" backslash \\ newline \n tab \t ctl \x01 done");
  auto j2 = nlohmann::json::parse(lines[2]);
  EXPECT_EQ(j2.at("msg"), "bad utf8 \xEF\xBF\xBD\xEF\xBF\xBD and good \xc3\xa9");
  auto j3 = nlohmann::json::parse(lines[3]);
  EXPECT_EQ(j3.at("logger"), "kad");
  EXPECT_EQ(j3.at("level"), "error");
}

TEST_F(LoggingTest, TextLinesLookLikeTracing) {
  setup(LogLevel::kDebug, LogFormat::kText);
  spdlog::debug("shown at debug");
  spdlog::trace("hidden at debug");
  spdlog::error("boom");
  const auto lines = lines_of(out_.str());
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  ASSERT_GT(lines[0].size(), 28u);
  EXPECT_TRUE(is_timestamp(std::string_view(lines[0]).substr(0, 27))) << lines[0];
  EXPECT_EQ(lines[0].substr(27), " DEBUG mepassa: shown at debug");
  EXPECT_NE(lines[1].find("ERROR mepassa: boom"), std::string::npos) << lines[1];
}

TEST_F(LoggingTest, LevelsMapOneToOne) {
  EXPECT_EQ(to_spdlog(LogLevel::kTrace), spdlog::level::trace);
  EXPECT_EQ(to_spdlog(LogLevel::kWarn), spdlog::level::warn);
  EXPECT_EQ(to_spdlog(LogLevel::kError), spdlog::level::err);
  EXPECT_EQ(to_spdlog(LogLevel::kOff), spdlog::level::off);
  setup(LogLevel::kOff, LogFormat::kText);
  spdlog::error("nothing");
  EXPECT_TRUE(out_.str().empty());
}

TEST_F(LoggingTest, AsyncLoggingDeliversAfterFlush) {
  sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
  LogOptions o;
  o.sink = sink_;
  o.format = LogFormat::kJson;
  o.async = true;
  ASSERT_TRUE(setup_logging(o).ok());
  const auto dropped_before = log_messages_dropped();
  for (int i = 0; i < 10; ++i) spdlog::info("async {}", i);
  // shutdown_logging() drains the queue and joins the logging thread.
  shutdown_logging();
  EXPECT_EQ(lines_of(out_.str()).size(), 10u) << out_.str();
  EXPECT_EQ(log_messages_dropped(), dropped_before);
}

// A sink that holds the logging thread inside its first line until opened:
// the queue behind it then fills deterministically.
class GatedSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void wait_until_held() {
    std::unique_lock l(mu_);
    cv_.wait(l, [this] { return held_; });
  }
  void open() {
    std::lock_guard l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  std::size_t lines() {
    std::lock_guard l(mu_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg&) override {
    std::unique_lock l(mu_);
    ++lines_;
    held_ = true;
    cv_.notify_all();
    cv_.wait(l, [this] { return open_; });
  }
  void flush_() override {}

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false, open_ = false;
  std::size_t lines_ = 0;
};

TEST_F(LoggingTest, LinesDroppedByAFullQueueAreCountedAndExported) {
  shutdown_logging();  // a fresh pool, so that the small queue below applies
  http::MetricRegistry registry;
  add_log_metrics(registry, log_messages_dropped);
  const auto before = log_messages_dropped();
  auto gate = std::make_shared<GatedSink>();
  LogOptions o;
  o.sink = gate;
  o.async = true;
  o.queue_size = 4;
  ASSERT_TRUE(setup_logging(o).ok());
  spdlog::info("held by the sink");
  gate->wait_until_held();
  for (int i = 0; i < 20; ++i) spdlog::info("queued {}", i);
  // 4 fit behind the held line, the 16 oldest give way (a periodic flush
  // request may take a slot too, so at least 16).
  const auto dropped = log_messages_dropped() - before;
  EXPECT_GE(dropped, 16u);
  const std::string line = "\nmepassa_log_messages_dropped_total " + std::to_string(before + dropped) + "\n";
  EXPECT_NE(registry.render().find(line), std::string::npos) << registry.render();
  gate->open();
  // shutdown_logging() flushes through the full queue: that flush request
  // displaces one more line.
  shutdown_logging();
  // Released with the pool, the count stays: it is for the life of the process.
  const auto dropped_in_all = log_messages_dropped() - before;
  EXPECT_GE(dropped_in_all, dropped);
  EXPECT_LE(gate->lines(), 5u);
  EXPECT_GE(gate->lines() + dropped_in_all, 21u);
}

// ---------------------------------------------------------------- SIGHUP

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mp-reload-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "unit_test", std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cerr)));
    std::filesystem::remove_all(dir_);
  }
  void write_env(const std::string& text) { std::ofstream(dir_ / ".env") << text; }
  static std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::filesystem::path dir_;
};

TEST_F(ReloadTest, DotenvValueWinsOverTheEnvironmentWhichWinsOverTheDefault) {
  Config started;
  MapEnv env(std::map<std::string, std::string>{{"RUST_LOG", "warn"}});
  // No .env: the environment.
  auto r = reread_log_level(started, env, dir_ / ".env");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->level, LogLevel::kWarn);
  EXPECT_EQ(r->source, "RUST_LOG (environment)");
  // .env sets LOG_LEVEL: it wins, the environment cannot change under us.
  write_env("LOG_LEVEL=debug\n");
  r = reread_log_level(started, env, dir_ / ".env");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->level, LogLevel::kDebug);
  // RUST_LOG before LOG_LEVEL within the file.
  write_env("LOG_LEVEL=debug\nRUST_LOG=error\n");
  r = reread_log_level(started, env, dir_ / ".env");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->level, LogLevel::kError);
  // Neither anywhere: info.
  write_env("OTHER=1\n");
  r = reread_log_level(started, MapEnv{}, dir_ / ".env");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->level, LogLevel::kInfo);
  EXPECT_EQ(r->source, "default");
}

TEST_F(ReloadTest, FlagPinsTheLevelAndABadValueIsAnError) {
  Config started;
  started.log_level = LogLevel::kTrace;
  started.log_level_pinned = true;
  write_env("LOG_LEVEL=error\n");
  auto r = reread_log_level(started, MapEnv{}, dir_ / ".env");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->level, LogLevel::kTrace);

  started.log_level_pinned = false;
  write_env("LOG_LEVEL=loud\n");
  r = reread_log_level(started, MapEnv{}, dir_ / ".env");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("LOG_LEVEL"), std::string::npos) << r.message();
}

TEST_F(ReloadTest, ReloadAppliesTheLevelAndKeepsItOnABadValue) {
  Config started;
  LogOptions o;
  o.async = false;
  o.file = dir_ / "node.log";
  ASSERT_TRUE(setup_logging(o).ok());
  spdlog::debug("hidden before");
  write_env("RUST_LOG=debug\n");
  const std::string line = reload_logging(started, MapEnv{}, dir_ / ".env");
  EXPECT_NE(line.find("log level debug"), std::string::npos) << line;
  spdlog::debug("shown after");
  write_env("RUST_LOG=nonsense\n");
  const std::string kept = reload_logging(started, MapEnv{}, dir_ / ".env");
  EXPECT_NE(kept.find("log level kept"), std::string::npos) << kept;
  spdlog::debug("still shown");
  spdlog::default_logger()->flush();
  const std::string text = read(dir_ / "node.log");
  EXPECT_EQ(text.find("hidden before"), std::string::npos) << text;
  EXPECT_NE(text.find("shown after"), std::string::npos) << text;
  EXPECT_NE(text.find("still shown"), std::string::npos) << text;
}

TEST_F(ReloadTest, LogFileIsAppendedToAndReopenedAfterARotation) {
  const auto path = dir_ / "node.log";
  std::ofstream(path) << "kept from before\n";
  LogOptions o;
  o.async = false;
  o.file = path;
  ASSERT_TRUE(setup_logging(o).ok());
  spdlog::info("line one");
  spdlog::default_logger()->flush();
  // logrotate: move the file away, then HUP.
  std::filesystem::rename(path, dir_ / "node.log.1");
  spdlog::info("line two");  // still goes to the moved file
  const std::string line = reload_logging(Config{}, MapEnv{}, dir_ / ".env");
  EXPECT_NE(line.find("reopened"), std::string::npos) << line;
  spdlog::info("line three");
  spdlog::default_logger()->flush();
  const std::string old_text = read(dir_ / "node.log.1");
  const std::string new_text = read(path);
  EXPECT_NE(old_text.find("kept from before"), std::string::npos) << old_text;
  EXPECT_NE(old_text.find("line one"), std::string::npos);
  EXPECT_NE(old_text.find("line two"), std::string::npos);
  EXPECT_EQ(new_text.find("line two"), std::string::npos) << new_text;
  EXPECT_NE(new_text.find("line three"), std::string::npos) << new_text;
}

TEST_F(ReloadTest, AnUnwritableLogFileIsAnErrorAtSetup) {
  LogOptions o;
  o.async = false;
  o.file = dir_ / "no-such-dir" / "sub" / "node.log";
  // spdlog's file_helper creates missing directories; a path through a
  // regular file cannot be created.
  std::ofstream(dir_ / "no-such-dir") << "a file";
  auto st = setup_logging(o);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("LOG_FILE"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace mp::app
