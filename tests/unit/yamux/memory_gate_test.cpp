// Session + MemoryGate: bytes a remote makes us hold (unread DATA, queued
// answers) are reserved from the gate, and when it refuses, the stream that
// would pass the limit is reset while the session and its other streams go on.
#include <gtest/gtest.h>

#include <asio/detached.hpp>
#include <vector>

#include "net/memory_pipe.hpp"
#include "test_util.hpp"
#include "yamux/session.hpp"

namespace mp::yamux {
namespace {

using test::read_frame;
using test::run_to_completion;
using test::write_frame;

// A gate with one limit for the whole session.
class CountingGate final : public MemoryGate {
 public:
  explicit CountingGate(std::size_t limit) : limit_(limit) {}
  bool reserve(std::size_t, std::size_t n) override {
    if (n > limit_ - held) {
      ++refused;
      return false;
    }
    held += n;
    return true;
  }
  void release(std::size_t n) override { held -= n; }
  std::size_t held = 0;
  int refused = 0;

 private:
  std::size_t limit_;
};

struct Raw {
  std::shared_ptr<Session> session;
  std::unique_ptr<net::MemoryStream> peer;
};

Raw make_raw(asio::io_context& io, std::shared_ptr<MemoryGate> gate) {
  Config cfg;
  cfg.memory = std::move(gate);
  auto [a, b] = net::make_memory_pipe(io.get_executor());
  return {Session::create(io.get_executor(), std::move(a), false, cfg), std::move(b)};
}

TEST(YamuxMemoryGate, UnreadDataOverTheLimitResetsOnlyThatStream) {
  asio::io_context io;
  auto gate = std::make_shared<CountingGate>(250 * 1024);
  Raw r = make_raw(io, gate);
  std::vector<std::shared_ptr<Stream>> held;  // the application never reads
  r.session->start([&](std::shared_ptr<Stream> s) { held.push_back(std::move(s)); });
  const Bytes chunk = test::pattern(1, 100 * 1024);
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(*r.peer);
    for (std::uint32_t id : {1u, 3u, 5u}) {
      co_await write_frame(*r.peer, {FrameType::window_update, flags::syn, id, 0});
      co_await write_frame(
          *r.peer, {FrameType::data, 0, id, static_cast<std::uint32_t>(chunk.size())}, chunk);
    }
    // Stream 5's 100 KiB would pass 250 KiB: it is reset, 1 and 3 are not.
    auto f = co_await read_frame(in);
    while (f && !(f->header.flags & flags::rst)) f = co_await read_frame(in);
    EXPECT_TRUE(f);
    if (f) {
      EXPECT_EQ(f->header.stream_id, 5u);
    }
    EXPECT_EQ(gate->held, 200u * 1024);
    EXPECT_EQ(gate->refused, 1);
    EXPECT_EQ(r.session->counters().streams_reset_memory, 1u);
    EXPECT_EQ(r.session->stream_count(), 2u);
    EXPECT_FALSE(r.session->is_closed());

    // The reset stream's reader fails at once; the others read their data,
    // which gives the reservation back.
    std::uint8_t buf[4096];
    if (held.size() != 3u) {
      ADD_FAILURE() << "expected 3 streams, got " << held.size();
      r.peer->reset();
      co_return;
    }
    try {
      co_await held[2]->read_some(buf);
      ADD_FAILURE() << "read on a stream reset for memory succeeded";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), make_error_code(Errc::stream_reset));
    }
    std::size_t got = 0;
    while (got < chunk.size()) got += co_await held[0]->read_some(buf);
    EXPECT_EQ(gate->held, 100u * 1024);

    // A new stream fits again.
    co_await write_frame(*r.peer, {FrameType::data, flags::syn, 7, 4}, as_bytes("ping"));
    // The session handles frames in order: once our PING is answered, stream 7 was taken.
    co_await write_frame(*r.peer, {FrameType::ping, flags::syn, 0, 9});
    auto g = co_await read_frame(in);
    while (g && g->header.type != FrameType::ping) g = co_await read_frame(in);
    EXPECT_EQ(held.size(), 4u);
    EXPECT_EQ(gate->refused, 1);
    EXPECT_EQ(gate->held, 100u * 1024 + 4);
    r.peer->reset();
  });
  held.clear();
  EXPECT_EQ(gate->held, 0u);  // closing the session gave everything back
}

TEST(YamuxMemoryGate, AnswerOverTheLimitResetsTheStream) {
  asio::io_context io;
  auto gate = std::make_shared<CountingGate>(10 * 1024);
  Raw r = make_raw(io, gate);
  bool write_failed = false;
  r.session->start([&](std::shared_ptr<Stream> s) {
    asio::co_spawn(
        io,
        [s, &write_failed]() -> asio::awaitable<void> {
          try {
            co_await s->write(test::pattern(2, 20 * 1024));  // one 16 KiB frame does not fit
          } catch (const std::system_error& e) {
            write_failed = e.code() == make_error_code(Errc::stream_reset);
          }
        },
        asio::detached);
  });
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(*r.peer);
    co_await write_frame(*r.peer, {FrameType::window_update, flags::syn, 1, 0});
    auto f = co_await read_frame(in);
    while (f && !(f->header.flags & flags::rst)) f = co_await read_frame(in);
    EXPECT_TRUE(f);
    r.peer->reset();
  });
  EXPECT_TRUE(write_failed);
  EXPECT_EQ(r.session->counters().streams_reset_memory, 1u);
  EXPECT_EQ(gate->held, 0u);
}

}  // namespace
}  // namespace mp::yamux
