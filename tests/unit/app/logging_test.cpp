// Logging: levels reach spdlog, text lines look like tracing's, JSON lines
// are one valid object each with ts/level/logger/msg.
#include "app/logging.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

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
    setup_logging(o);
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
  setup_logging(o);
  for (int i = 0; i < 10; ++i) spdlog::info("async {}", i);
  // shutdown_logging() drains the queue and joins the logging thread.
  shutdown_logging();
  EXPECT_EQ(lines_of(out_.str()).size(), 10u) << out_.str();
  EXPECT_EQ(log_messages_dropped(), 0u);
}

}  // namespace
}  // namespace mp::app
