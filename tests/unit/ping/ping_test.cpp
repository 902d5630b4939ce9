#include "ping/ping.hpp"

#include <gtest/gtest.h>

#include "support/run_coro.hpp"
#include "support/scripted_stream.hpp"

namespace mp::ping {
namespace {

TEST(PingServe, EchoesEveryPayloadInOrder) {
  Bytes in;
  for (int i = 0; i < 3 * 32; ++i) in.push_back(static_cast<std::uint8_t>(i));
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, SIZE_MAX}) {
    test::ScriptedStream s(in, chunk);
    EXPECT_EQ(test::run_coro(serve(s)), 3u);
    EXPECT_EQ(s.output, in);
    EXPECT_TRUE(s.closed_write);
  }
}

TEST(PingServe, RejectsPartialPayload) {
  test::ScriptedStream s(Bytes(40, 0x42));
  EXPECT_THROW(test::run_coro(serve(s)), net::ProtocolError);
  EXPECT_EQ(s.output.size(), 32u);  // the whole first ping was still answered
}

TEST(PingOnce, FailsOnWrongEcho) {
  test::ScriptedStream s(Bytes(32, 0x00));
  EXPECT_THROW(test::run_coro(ping_once(s)), net::ProtocolError);
  EXPECT_EQ(s.output.size(), 32u);
}

TEST(PingOnce, FailsOnMissingEcho) {
  test::ScriptedStream s(Bytes{});
  EXPECT_THROW(test::run_coro(ping_once(s)), net::ProtocolError);
}

}  // namespace
}  // namespace mp::ping
