// RUST_LOG / LOG_LEVEL values reduced to the node's one level.
#include "app/log_filter.hpp"

#include <gtest/gtest.h>

namespace mp::app {
namespace {

TEST(LogFilter, PlainLevelsAndTracingFilters) {
  struct Case {
    const char* text;
    LogLevel level;
  } cases[] = {
      {"trace", LogLevel::kTrace},      {"DEBUG", LogLevel::kDebug},
      {"info", LogLevel::kInfo},        {"warn", LogLevel::kWarn},
      {"warning", LogLevel::kWarn},     {"error", LogLevel::kError},
      {"off", LogLevel::kOff},          {"3", LogLevel::kInfo},
      {"info,libp2p=debug", LogLevel::kInfo},
      {"warn,libp2p_kad=trace,mepassa=info", LogLevel::kWarn},
      // No bare level: the most verbose target level applies to the node.
      {"libp2p=debug,other=warn", LogLevel::kDebug},
      {" info , libp2p=debug ", LogLevel::kInfo},
  };
  for (const auto& c : cases) {
    auto r = parse_log_filter(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.message();
    EXPECT_EQ(r->level, c.level) << c.text;
  }
}

TEST(LogFilter, UnknownLevelsAreErrors) {
  for (const char* t : {"verbose", "", " , ", "infoo", "libp2p"}) {
    EXPECT_FALSE(parse_log_filter(t).ok()) << "'" << t << "'";
  }
  // A target directive with an unreadable level is ignored with a warning.
  auto r = parse_log_filter("info,libp2p=loud");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->level, LogLevel::kInfo);
  EXPECT_EQ(r->warnings.size(), 1u);
}

TEST(LogFilter, LevelNamesRoundTrip) {
  for (auto l : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError,
                 LogLevel::kOff}) {
    auto r = parse_log_filter(to_string(l));
    ASSERT_TRUE(r.ok()) << to_string(l);
    EXPECT_EQ(r->level, l);
  }
}

}  // namespace
}  // namespace mp::app
