// Session glue over an in-memory pipe: two sessions talking to each other,
// or one session and a hand-written raw peer that sends exact frames
// (including broken ones).
#include "yamux/session.hpp"

#include <gtest/gtest.h>

#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "net/memory_pipe.hpp"
#include "test_util.hpp"

namespace mp::yamux {
namespace {

using test::read_all;
using test::read_frame;
using test::read_until;
using test::run_to_completion;
using test::WaitGroup;
using test::write_frame;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Runs `fn` as its own coroutine; failures are reported, and wg.done() is
// always called. Pass counted=true when the caller already did wg.add()
// (coroutines started by the remote's frames must be counted before the
// test waits, or the wait may end before they exist).
template <typename F>
void spawn(asio::io_context& io, WaitGroup& wg, F fn, bool counted = false) {
  if (!counted) wg.add();
  asio::co_spawn(io, std::move(fn), [&wg](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        ADD_FAILURE() << "coroutine failed: " << ex.what();
      }
    }
    wg.done();
  });
}

// Expects `op` to throw std::system_error with `code`.
template <typename Op>
asio::awaitable<void> expect_error(Errc code, Op op) {
  try {
    co_await op();
    ADD_FAILURE() << "expected " << make_error_code(code).message();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), make_error_code(code)) << e.what();
  }
}

void echo(asio::io_context& io, std::shared_ptr<Stream> s) {
  asio::co_spawn(
      io,
      [s]() -> asio::awaitable<void> {
        std::uint8_t buf[16 * 1024];
        try {
          for (;;) {
            const std::size_t n = co_await s->read_some(buf);
            if (n == 0) break;
            co_await s->write(BytesView(buf, n));
          }
          co_await s->close_write();
        } catch (const std::system_error&) {
        }
      },
      asio::detached);
}

class YamuxSession : public ::testing::Test {
 protected:
  struct Pair {
    std::shared_ptr<Session> client;
    std::shared_ptr<Session> server;
  };
  Pair make_pair(Config client_cfg = {}, Config server_cfg = {}) {
    auto [a, b] = net::make_memory_pipe(io.get_executor());
    return {Session::create(io.get_executor(), std::move(a), true, client_cfg),
            Session::create(io.get_executor(), std::move(b), false, server_cfg)};
  }
  struct Raw {
    std::shared_ptr<Session> session;
    std::unique_ptr<net::MemoryStream> peer;
  };
  // A session and the raw other end of its connection.
  Raw make_raw(bool session_is_client, Config cfg = {}) {
    auto [a, b] = net::make_memory_pipe(io.get_executor());
    return {Session::create(io.get_executor(), std::move(a), session_is_client, cfg), std::move(b)};
  }

  asio::io_context io;
};

// ------------------------------------------------------------ session pairs

TEST_F(YamuxSession, OpenStreamAndEcho) {
  Pair p = make_pair();
  int client_closed = 0;
  int server_closed = 0;
  std::string server_reason;
  p.client->set_close_handler([&](const std::string&) { ++client_closed; });
  p.server->set_close_handler([&](const std::string& r) {
    ++server_closed;
    server_reason = r;
  });
  p.server->start([&](std::shared_ptr<Stream> s) { echo(io, std::move(s)); });
  p.client->start([](std::shared_ptr<Stream>) { ADD_FAILURE() << "unexpected inbound stream"; });

  run_to_completion(io, [&]() -> asio::awaitable<void> {
    auto s = co_await p.client->open_stream();
    EXPECT_EQ(s->id(), 1u);
    EXPECT_TRUE(s->is_outbound());
    co_await s->write(as_bytes("hello yamux"));
    co_await s->close_write();
    const Bytes got = co_await read_all(*s);
    EXPECT_EQ(as_string(got), "hello yamux");
    EXPECT_EQ(s->phase(), StreamPhase::closed);
    EXPECT_EQ(p.client->stream_count(), 0u);

    auto s2 = co_await p.client->open_stream();
    EXPECT_EQ(s2->id(), 3u);  // client ids are odd and increasing
    co_await s2->write(as_bytes("x"));
    std::uint8_t b[4];
    EXPECT_EQ(co_await s2->read_some(b), 1u);
    p.client->close();
  });
  EXPECT_EQ(client_closed, 1);
  EXPECT_EQ(server_closed, 1);
  EXPECT_EQ(server_reason, "connection closed by remote");
  EXPECT_EQ(p.client->close_reason(), "closed locally");
  EXPECT_EQ(p.server->remote_go_away(), GoAwayCode::normal);
  EXPECT_EQ(p.server->counters().streams_inbound, 2u);
  EXPECT_GT(p.client->counters().frames_out, 0u);
  EXPECT_EQ(p.client->counters().bytes_out, p.server->counters().bytes_in);
}

// Over a connection that can wait for readiness (the memory pipe, as TCP
// and Noise), an idle session holds no read buffer; a burst larger than the
// buffer after the wait still arrives intact, and the buffer goes again.
TEST_F(YamuxSession, ReadBufferIsFreedWhileIdle) {
  Config cfg;
  cfg.read_buffer_size = 4 * 1024;
  Pair p = make_pair(cfg, cfg);
  p.server->start([&](std::shared_ptr<Stream> s) { echo(io, std::move(s)); });
  p.client->start([](std::shared_ptr<Stream>) {});
  Bytes big(50000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
  std::vector<bool> held;

  run_to_completion(io, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    // Before any frame both readers wait without a buffer.
    co_await asio::post(ex, asio::use_awaitable);
    held.push_back(p.client->holds_read_buffer());
    held.push_back(p.server->holds_read_buffer());
    for (int round = 0; round < 2; ++round) {
      auto s = co_await p.client->open_stream();
      co_await s->write(big);
      co_await s->close_write();
      const Bytes got = co_await read_all(*s);
      EXPECT_TRUE(got == big) << "round " << round;
      // Let both readers go back to waiting (in-memory: no time involved).
      for (int i = 0; i < 4; ++i) co_await asio::post(ex, asio::use_awaitable);
      held.push_back(p.client->holds_read_buffer());
      held.push_back(p.server->holds_read_buffer());
    }
    p.client->close();
  });
  EXPECT_EQ(held, std::vector<bool>(6, false));
  EXPECT_EQ(p.server->counters().streams_inbound, 2u);
}

constexpr std::size_t kStreams = 50;
constexpr std::size_t kSize = 300 * 1024;

TEST_F(YamuxSession, FiftyConcurrentStreamsOf300KiB) {
  // Each stream carries more than a window each way, while the echo side
  // only reads as fast as it can write back: windows, WINDOW_UPDATEs and
  // the bounded write queue all get exercised.
  Config small_queue;
  small_queue.write_queue_limit = 64 * 1024;
  Pair p = make_pair(small_queue, {});
  p.server->start([&](std::shared_ptr<Stream> s) { echo(io, std::move(s)); });
  p.client->start(nullptr);

  std::size_t intact = 0;
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    WaitGroup wg(io.get_executor());
    for (std::size_t i = 0; i < kStreams; ++i) {
      std::shared_ptr<Stream> s = co_await p.client->open_stream();
      spawn(io, wg, [s, i]() -> asio::awaitable<void> {
        const Bytes data = test::pattern(i, kSize);
        const std::size_t chunk = 1000 + i * 997;  // odd sizes, some above a frame
        for (std::size_t off = 0; off < kSize; off += chunk) {
          co_await s->write(BytesView(data).subspan(off, std::min(chunk, kSize - off)));
        }
        co_await s->close_write();
      });
      spawn(io, wg, [s, i, &intact]() -> asio::awaitable<void> {
        const Bytes got = co_await read_all(*s);
        EXPECT_EQ(got.size(), kSize);
        if (got == test::pattern(i, kSize)) ++intact;
      });
    }
    co_await wg.wait();
    EXPECT_EQ(p.client->stream_count(), 0u);
    p.client->close();
  });
  EXPECT_EQ(intact, kStreams);
  EXPECT_EQ(p.server->counters().streams_inbound, kStreams);
  EXPECT_EQ(p.server->counters().streams_refused, 0u);
}

TEST_F(YamuxSession, HalfCloseLetsTheOtherSideAnswer) {
  Pair p = make_pair();
  WaitGroup* server_wg = nullptr;
  p.server->start([&](std::shared_ptr<Stream> s) {
    spawn(io, *server_wg, [s]() -> asio::awaitable<void> {
      const Bytes req = co_await read_all(*s);
      EXPECT_EQ(as_string(req), "request");
      EXPECT_EQ(s->phase(), StreamPhase::half_closed_remote);
      co_await s->write(as_bytes("response"));
      co_await s->close_write();
      EXPECT_EQ(s->phase(), StreamPhase::closed);
    }, /*counted=*/true);
  });
  p.client->start(nullptr);
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    WaitGroup wg(io.get_executor());
    server_wg = &wg;
    wg.add();  // the server-side handler
    auto s = co_await p.client->open_stream();
    co_await s->write(as_bytes("request"));
    co_await s->close_write();
    EXPECT_EQ(s->phase(), StreamPhase::half_closed_local);
    co_await expect_error(Errc::stream_closed, [&]() { return s->write(as_bytes("more")); });
    EXPECT_EQ(as_string(co_await read_all(*s)), "response");
    std::uint8_t b[1];
    EXPECT_EQ(co_await s->read_some(b), 0u);  // EOF stays EOF
    co_await wg.wait();
    EXPECT_EQ(p.server->stream_count(), 0u);
    p.client->close();
  });
}

TEST_F(YamuxSession, ResetByRemoteFailsReadsAndWrites) {
  Pair p = make_pair();
  p.server->start([&](std::shared_ptr<Stream> s) {
    asio::co_spawn(io, [s]() -> asio::awaitable<void> {
      std::uint8_t b[1];
      co_await s->read_some(b);
      s->reset();
      EXPECT_EQ(s->phase(), StreamPhase::reset);
    }, asio::detached);
  });
  p.client->start(nullptr);
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    auto s = co_await p.client->open_stream();
    co_await s->write(as_bytes("x"));
    std::uint8_t b[8];
    co_await expect_error(Errc::stream_reset, [&]() { return s->read_some(b); });
    co_await expect_error(Errc::stream_reset, [&]() { return s->write(as_bytes("y")); });
    EXPECT_EQ(s->phase(), StreamPhase::reset);
    EXPECT_EQ(p.client->stream_count(), 0u);
    EXPECT_EQ(p.server->stream_count(), 0u);
    p.client->close();
  });
}

TEST_F(YamuxSession, LocalResetAndDroppedStreamReachTheRemote) {
  Pair p = make_pair();
  int resets_seen = 0;
  WaitGroup* wg_ptr = nullptr;
  p.server->start([&](std::shared_ptr<Stream> s) {
    spawn(io, *wg_ptr, [s, &resets_seen]() -> asio::awaitable<void> {
      std::uint8_t b[8];
      try {
        for (;;) co_await s->read_some(b);
      } catch (const std::system_error& e) {
        if (e.code() == make_error_code(Errc::stream_reset)) ++resets_seen;
      }
    }, /*counted=*/true);
  });
  p.client->start(nullptr);
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    WaitGroup wg(io.get_executor());
    wg_ptr = &wg;
    wg.add(2);  // the two server-side readers
    auto s1 = co_await p.client->open_stream();
    co_await s1->write(as_bytes("a"));
    s1->reset();
    std::uint8_t b[1];
    co_await expect_error(Errc::stream_reset, [&]() { return s1->read_some(b); });
    {
      // Dropping an unfinished stream resets it.
      auto s2 = co_await p.client->open_stream();
      co_await s2->write(as_bytes("b"));
    }
    co_await wg.wait();
    EXPECT_EQ(p.client->stream_count(), 0u);
    p.client->close();
  });
  EXPECT_EQ(resets_seen, 2);
}

TEST_F(YamuxSession, InboundStreamsBeyondMaxAreRefused) {
  Config server_cfg;
  server_cfg.max_streams = 2;
  Pair p = make_pair({}, server_cfg);
  std::vector<std::shared_ptr<Stream>> held;
  p.server->start([&](std::shared_ptr<Stream> s) { held.push_back(std::move(s)); });
  p.client->start(nullptr);
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    auto s1 = co_await p.client->open_stream();
    auto s2 = co_await p.client->open_stream();
    auto s3 = co_await p.client->open_stream();
    co_await s3->write(as_bytes("data that will be dropped"));
    std::uint8_t b[8];
    co_await expect_error(Errc::stream_reset, [&]() { return s3->read_some(b); });
    EXPECT_EQ(p.server->stream_count(), 2u);
    EXPECT_EQ(p.server->counters().streams_refused, 1u);
    EXPECT_EQ(held.size(), 2u);
    // The two accepted streams still work.
    co_await s1->write(as_bytes("ok"));
    co_await s2->close_write();
    p.client->close();
  });
  held.clear();
}

TEST_F(YamuxSession, CloseFailsPendingOperationsOnBothSides) {
  Pair p = make_pair();
  int client_closed = 0;
  int server_closed = 0;
  p.client->set_close_handler([&](const std::string&) { ++client_closed; });
  p.server->set_close_handler([&](const std::string&) { ++server_closed; });
  WaitGroup* wg_ptr = nullptr;
  bool server_read_failed = false;
  p.server->start([&](std::shared_ptr<Stream> s) {
    spawn(io, *wg_ptr, [s, &server_read_failed]() -> asio::awaitable<void> {
      std::uint8_t b[8];
      try {
        while (co_await s->read_some(b) > 0) {
        }
      } catch (const std::system_error& e) {
        server_read_failed = e.code() == make_error_code(Errc::session_closed);
      }
    }, /*counted=*/true);
  });
  p.client->start(nullptr);
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    WaitGroup wg(io.get_executor());
    wg_ptr = &wg;
    wg.add();  // the server-side reader
    auto s = co_await p.client->open_stream();
    co_await s->write(as_bytes("hi"));
    spawn(io, wg, [s]() -> asio::awaitable<void> {
      std::uint8_t b[8];
      co_await expect_error(Errc::session_closed, [&]() { return s->read_some(b); });
    });
    // Let the read start waiting, then close underneath it.
    asio::steady_timer t(io.get_executor(), std::chrono::milliseconds(1));
    co_await t.async_wait(asio::use_awaitable);
    p.client->close();
    p.client->close();  // idempotent
    co_await wg.wait();
    co_await expect_error(Errc::session_closed, [&]() { return p.client->open_stream(); });
  });
  EXPECT_TRUE(server_read_failed);
  EXPECT_EQ(client_closed, 1);
  EXPECT_EQ(server_closed, 1);
}

TEST_F(YamuxSession, GoAwayStopsNewStreamsAndLetsOpenOnesFinish) {
  Pair p = make_pair();
  p.server->start([&](std::shared_ptr<Stream> s) { echo(io, std::move(s)); });
  p.client->start(nullptr);
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    auto s = co_await p.client->open_stream();
    co_await s->write(as_bytes("a"));
    std::uint8_t b[1];
    EXPECT_EQ(co_await s->read_some(b), 1u);  // the server holds the stream now

    p.server->go_away();
    EXPECT_FALSE(p.server->is_closed());  // one stream still open
    co_await expect_error(Errc::go_away, [&]() { return p.server->open_stream(); });

    // The echo of "b" comes after the GoAway frame on the wire.
    co_await s->write(as_bytes("b"));
    EXPECT_EQ(co_await s->read_some(b), 1u);
    EXPECT_EQ(p.client->remote_go_away(), GoAwayCode::normal);
    co_await expect_error(Errc::go_away, [&]() { return p.client->open_stream(); });

    co_await s->close_write();
    EXPECT_EQ(co_await read_all(*s), Bytes{});
  });
  // The server closed once its last stream finished; the client followed.
  EXPECT_EQ(p.server->close_reason(), "local go away complete");
  EXPECT_EQ(p.client->close_reason(), "connection closed by remote");
}

TEST_F(YamuxSession, LargerInitialWindowIsAnnouncedAndUsed) {
  Config big;
  big.initial_window = 1024 * 1024;
  Pair p = make_pair(big, big);
  p.server->start([&](std::shared_ptr<Stream> s) { echo(io, std::move(s)); });
  p.client->start(nullptr);
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    auto s = co_await p.client->open_stream();
    const Bytes data = test::pattern(7, 900 * 1024);
    co_await s->write(data);
    co_await s->close_write();
    EXPECT_EQ(co_await read_all(*s), data);
    p.client->close();
  });
}

// ------------------------------------------------------------ raw peer

TEST_F(YamuxSession, OutboundSynIsAWindowUpdate) {
  Raw r = make_raw(/*session_is_client=*/true);
  r.session->start(nullptr);
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    auto s = co_await r.session->open_stream();
    net::BufferedReader in(*r.peer);
    const Bytes syn = co_await in.read_exact(kHeaderSize);
    EXPECT_EQ(to_hex(syn), "000100010000000100000000");
    co_await s->write(as_bytes("hi"));
    auto f = co_await read_frame(in);
    EXPECT_EQ(f->header, (FrameHeader{FrameType::data, 0, 1, 2}));
    r.peer->reset();
  });
  EXPECT_EQ(r.session->close_reason(), "connection reset");
}

// Forwards to another stream and counts the writes (each would be one send).
class CountingStream final : public net::ByteStream {
 public:
  explicit CountingStream(std::unique_ptr<net::ByteStream> inner) : inner_(std::move(inner)) {}
  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf) override {
    co_return co_await inner_->read_some(buf);
  }
  asio::awaitable<void> write(BytesView data) override {
    ++writes;
    co_await inner_->write(data);
  }
  asio::awaitable<void> close_write() override { co_await inner_->close_write(); }
  void reset() override { inner_->reset(); }
  int writes = 0;

 private:
  std::unique_ptr<net::ByteStream> inner_;
};

TEST_F(YamuxSession, FirstBytesGoOutInTheSameWriteAsTheFirstFrames) {
  auto pipe = net::make_memory_pipe(io.get_executor());
  auto counting = std::make_unique<CountingStream>(std::move(pipe.first));
  auto peer = std::move(pipe.second);
  CountingStream* wire = counting.get();
  auto session = Session::create(io.get_executor(), std::move(counting), /*is_client=*/false);
  const Bytes answer = to_bytes(std::string("\x0d/yamux/1.0.0\n"));
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    session->write_first(answer);
    session->start(nullptr);
    session->write_first(to_bytes(std::string("late")));  // after start: ignored
    auto s = co_await session->open_stream();
    co_await s->write(as_bytes("hi"));
    net::BufferedReader in(*peer);
    EXPECT_EQ(co_await in.read_exact(answer.size()), answer);
    auto syn = co_await read_frame(in);
    EXPECT_EQ(syn->header, (FrameHeader{FrameType::window_update, flags::syn, 2, 0}));
    auto data = co_await read_frame(in);
    EXPECT_EQ(data->header, (FrameHeader{FrameType::data, 0, 2, 2}));
    EXPECT_EQ(data->payload, to_bytes(std::string("hi")));
    EXPECT_EQ(wire->writes, 1);
    peer->reset();
  });
}

TEST_F(YamuxSession, InboundStreamIsAckedWithTheFirstFrame) {
  Raw r = make_raw(/*session_is_client=*/false);
  r.session->start([&](std::shared_ptr<Stream> s) {
    asio::co_spawn(io, [s]() -> asio::awaitable<void> {
      co_await s->write(as_bytes("hi"));
      co_await s->write(as_bytes("yo"));
      co_await s->close_write();
    }, asio::detached);
  });
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(*r.peer);
    co_await write_frame(*r.peer, {FrameType::window_update, flags::syn, 1, 0});
    auto f1 = co_await read_frame(in);
    EXPECT_EQ(f1->header, (FrameHeader{FrameType::data, flags::ack, 1, 2}));
    EXPECT_EQ(as_string(f1->payload), "hi");
    auto f2 = co_await read_frame(in);
    EXPECT_EQ(f2->header, (FrameHeader{FrameType::data, 0, 1, 2}));
    auto f3 = co_await read_frame(in);
    EXPECT_EQ(f3->header, (FrameHeader{FrameType::window_update, flags::fin, 1, 0}));
    co_await r.peer->close_write();
    // The handler dropped the stream after its FIN: no RST follows.
    EXPECT_FALSE(co_await read_frame(in));
  });
}

TEST_F(YamuxSession, WindowUpdateOnlyAfterTheApplicationReadsHalf) {
  Raw r = make_raw(false);
  std::shared_ptr<Stream> held;
  std::size_t consumed = 0;
  r.session->start([&](std::shared_ptr<Stream> s) {
    held = s;
    asio::co_spawn(io, [s, &consumed]() -> asio::awaitable<void> {
      std::uint8_t buf[16 * 1024];
      while (consumed < 128 * 1024) {
        const std::size_t want = std::min(sizeof buf, 128 * 1024 - consumed);
        consumed += co_await s->read_some(std::span(buf, want));
      }
    }, asio::detached);
  });
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(*r.peer);
    const Bytes data = test::pattern(1, 200 * 1024);
    co_await write_frame(*r.peer, {FrameType::data, flags::syn, 1, 200 * 1024}, data);
    auto f = co_await read_frame(in);
    EXPECT_EQ(f->header, (FrameHeader{FrameType::window_update, flags::ack, 1, 128 * 1024}));
    EXPECT_EQ(consumed, 128u * 1024);
    EXPECT_EQ(held->buffered(), 72u * 1024);
    co_await r.peer->close_write();
    EXPECT_FALSE(co_await read_frame(in));
  });
}

TEST_F(YamuxSession, WritesWaitForSendWindow) {
  Raw r = make_raw(false);
  bool wrote_all = false;
  r.session->start([&](std::shared_ptr<Stream> s) {
    asio::co_spawn(io, [s, &wrote_all]() -> asio::awaitable<void> {
      co_await s->write(test::pattern(3, 1024 * 1024));
      wrote_all = true;
      co_await s->close_write();
    }, asio::detached);
  });
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(*r.peer);
    co_await write_frame(*r.peer, {FrameType::window_update, flags::syn, 1, 0});
    std::size_t received = 0;
    while (received < kInitialWindow) {
      auto f = co_await read_frame(in);
      EXPECT_EQ(f->header.type, FrameType::data);
      EXPECT_LE(f->header.length, 16u * 1024);  // Config::max_send_frame
      received += f->payload.size();
    }
    // A ping round trip: anything the writer could still send would be
    // queued before the answer.
    co_await write_frame(*r.peer, {FrameType::ping, flags::syn, 0, 7});
    for (;;) {
      auto f = co_await read_frame(in);
      if (f->header.type == FrameType::ping) {
        EXPECT_EQ(f->header, (FrameHeader{FrameType::ping, flags::ack, 0, 7}));
        break;
      }
      received += f->payload.size();
    }
    EXPECT_EQ(received, kInitialWindow);
    EXPECT_FALSE(wrote_all);
    co_await write_frame(*r.peer, {FrameType::window_update, 0, 1, 1024 * 1024});
    Bytes all;
    for (;;) {
      auto f = co_await read_frame(in);
      if (f->header.flags & flags::fin) break;
      received += f->payload.size();
    }
    EXPECT_EQ(received, 1024u * 1024);
    EXPECT_TRUE(wrote_all);
    co_await r.peer->close_write();
  });
}

TEST_F(YamuxSession, PingIsAnswered) {
  Raw r = make_raw(false);
  r.session->start(nullptr);
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(*r.peer);
    co_await write_frame(*r.peer, {FrameType::ping, flags::syn, 0, 0xdeadbeef});
    auto f = co_await read_frame(in);
    EXPECT_EQ(f->header, (FrameHeader{FrameType::ping, flags::ack, 0, 0xdeadbeef}));
    // An unsolicited ping answer is ignored.
    co_await write_frame(*r.peer, {FrameType::ping, flags::ack, 0, 5});
    co_await r.peer->close_write();
    EXPECT_FALSE(co_await read_frame(in));
  });
  EXPECT_EQ(r.session->counters().pings_answered, 1u);
  EXPECT_EQ(r.session->close_reason(), "connection closed by remote");
}

TEST_F(YamuxSession, KeepaliveEndsSessionWhenPingsGoUnanswered) {
  Config cfg;
  cfg.keepalive_interval = std::chrono::milliseconds(5);
  Raw r = make_raw(true, cfg);
  r.session->start(nullptr);
  int pings = 0;
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(*r.peer);
    // Never answered: one ping, then the session gives up (whatever the
    // interval, a second ping would mean the first was forgotten).
    while (auto f = co_await read_frame(in)) {
      if (f->header.type == FrameType::ping && f->header.flags == flags::syn) ++pings;
    }
  });
  EXPECT_EQ(pings, 1);
  EXPECT_EQ(r.session->close_reason(), "keepalive ping not answered");
}

TEST_F(YamuxSession, KeepaliveAnsweredPingsKeepTheSession) {
  // The interval only has to be longer than the test takes to answer.
  Config cfg;
  cfg.keepalive_interval = std::chrono::milliseconds(500);
  Raw r = make_raw(true, cfg);
  r.session->start(nullptr);
  std::vector<std::uint32_t> ids;
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(*r.peer);
    for (int i = 0; i < 3; ++i) {
      auto p = co_await read_frame(in);
      if (!p) break;  // the session ended: asserted below
      EXPECT_EQ(p->header.type, FrameType::ping);
      EXPECT_EQ(p->header.flags, flags::syn);
      ids.push_back(p->header.length);
      co_await write_frame(*r.peer, {FrameType::ping, flags::ack, 0, p->header.length});
    }
    co_await r.peer->close_write();
    while (co_await read_frame(in)) {
    }
  });
  // Each answer let the session go on to a new ping; it ended because we did.
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_NE(ids[1], ids[2]);
  EXPECT_EQ(r.session->close_reason(), "connection closed by remote");
}

// Runs `frames` from a raw client against a server session and expects a
// GoAway(protocol error) and the end of the session.
void expect_protocol_error(asio::io_context& io, std::shared_ptr<Session> session,
                           net::MemoryStream& peer, std::vector<test::RawFrame> frames,
                           const std::string& reason_part) {
  std::vector<std::shared_ptr<Stream>> held;  // accepted, never read
  int closed = 0;
  session->set_close_handler([&](const std::string&) { ++closed; });
  session->start([&](std::shared_ptr<Stream> s) { held.push_back(std::move(s)); });
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(peer);
    for (const auto& f : frames) co_await write_frame(peer, f.header, f.payload);
    auto g = co_await read_until(in, FrameType::go_away);
    EXPECT_TRUE(g.has_value());
    if (g) {
      EXPECT_EQ(g->header.length, static_cast<std::uint32_t>(GoAwayCode::protocol_error));
    }
    EXPECT_FALSE(co_await read_frame(in));  // then EOF
    co_await peer.close_write();
  });
  EXPECT_TRUE(session->is_closed());
  EXPECT_EQ(closed, 1);
  EXPECT_TRUE(contains(session->close_reason(), reason_part)) << session->close_reason();
  held.clear();
}

TEST_F(YamuxSession, ReusingAnOpenStreamIdIsAProtocolError) {
  Raw r = make_raw(false);
  expect_protocol_error(io, r.session, *r.peer,
                        {{{FrameType::window_update, flags::syn, 1, 0}, {}},
                         {{FrameType::window_update, flags::syn, 1, 0}, {}}},
                        "reuses stream id 1");
}

TEST_F(YamuxSession, ReusingAClosedStreamIdIsAProtocolError) {
  Raw r = make_raw(false);
  expect_protocol_error(io, r.session, *r.peer,
                        {{{FrameType::window_update, flags::syn, 1, 0}, {}},
                         {{FrameType::window_update, flags::rst, 1, 0}, {}},
                         {{FrameType::data, flags::syn, 1, 1}, {0x42}}},
                        "reuses stream id 1");
}

TEST_F(YamuxSession, WrongParityIsAProtocolError) {
  Raw r = make_raw(false);  // the peer is the client: odd ids only
  expect_protocol_error(io, r.session, *r.peer, {{{FrameType::window_update, flags::syn, 2, 0}, {}}},
                        "wrong parity");
}

TEST_F(YamuxSession, DataBeyondTheReceiveWindowIsAProtocolError) {
  Raw r = make_raw(false);
  expect_protocol_error(io, r.session, *r.peer,
                        {{{FrameType::data, flags::syn, 1, kInitialWindow}, test::pattern(0, kInitialWindow)},
                         {{FrameType::data, 0, 1, 1}, {0x01}}},
                        "exceeds the receive window");
}

TEST_F(YamuxSession, OversizedFrameIsAProtocolError) {
  Config cfg;
  cfg.max_frame = 1024;
  Raw r = make_raw(false, cfg);
  // Only the header: the session must refuse before reading the payload.
  expect_protocol_error(io, r.session, *r.peer, {{{FrameType::data, flags::syn, 1, 1025}, {}}},
                        "exceeds the limit");
}

TEST_F(YamuxSession, BadVersionIsAProtocolError) {
  Raw r = make_raw(false);
  r.session->start(nullptr);
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(*r.peer);
    co_await r.peer->write(from_hex("010100010000000100000000"));
    auto g = co_await read_until(in, FrameType::go_away);
    EXPECT_EQ(g->header.length, 1u);
    co_await r.peer->close_write();
  });
  EXPECT_TRUE(contains(r.session->close_reason(), "version"));
}

TEST_F(YamuxSession, RemoteGoAwayWithErrorEndsTheSession) {
  Raw r = make_raw(true);
  r.session->start(nullptr);
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    auto s = co_await r.session->open_stream();
    net::BufferedReader in(*r.peer);
    co_await write_frame(*r.peer, {FrameType::go_away, 0, 0, 2});
    std::uint8_t b[1];
    co_await expect_error(Errc::session_closed, [&]() { return s->read_some(b); });
    while (co_await read_frame(in)) {
    }
    co_await r.peer->close_write();
  });
  EXPECT_EQ(r.session->remote_go_away(), GoAwayCode::internal_error);
  EXPECT_EQ(r.session->close_reason(), "remote sent GoAway (internal error)");
}

TEST_F(YamuxSession, InboundStreamsAfterOurGoAwayAreRefused) {
  Raw r = make_raw(false);
  std::vector<std::shared_ptr<Stream>> held;
  r.session->start([&](std::shared_ptr<Stream> s) { held.push_back(std::move(s)); });
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(*r.peer);
    co_await write_frame(*r.peer, {FrameType::window_update, flags::syn, 1, 0});
    co_await write_frame(*r.peer, {FrameType::ping, flags::syn, 0, 1});
    co_await read_until(in, FrameType::ping);  // stream 1 is accepted now
    r.session->go_away();
    auto g = co_await read_frame(in);
    EXPECT_EQ(g->header, (FrameHeader{FrameType::go_away, 0, 0, 0}));
    co_await write_frame(*r.peer, {FrameType::window_update, flags::syn, 3, 0});
    auto rst = co_await read_frame(in);
    EXPECT_EQ(rst->header, (FrameHeader{FrameType::window_update, flags::rst, 3, 0}));
    EXPECT_EQ(held.size(), 1u);
    // Closing the last stream completes the go-away.
    co_await write_frame(*r.peer, {FrameType::window_update, flags::fin, 1, 0});
    co_await held[0]->close_write();
    auto fin = co_await read_frame(in);
    EXPECT_EQ(fin->header, (FrameHeader{FrameType::window_update, flags::ack | flags::fin, 1, 0}));
    EXPECT_FALSE(co_await read_frame(in));
    co_await r.peer->close_write();
  });
  EXPECT_EQ(r.session->counters().streams_refused, 1u);
  EXPECT_EQ(r.session->close_reason(), "local go away complete");
  held.clear();
}

TEST_F(YamuxSession, AckBacklogLimitsUnacknowledgedOutboundStreams) {
  Config cfg;
  cfg.max_ack_backlog = 2;
  Raw r = make_raw(true, cfg);
  r.session->start(nullptr);
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(*r.peer);
    auto s1 = co_await r.session->open_stream();
    auto s2 = co_await r.session->open_stream();
    std::shared_ptr<Stream> s3;
    WaitGroup wg(io.get_executor());
    spawn(io, wg, [&]() -> asio::awaitable<void> { s3 = co_await r.session->open_stream(); });
    EXPECT_EQ((co_await read_frame(in))->header.stream_id, 1u);
    EXPECT_EQ((co_await read_frame(in))->header.stream_id, 3u);
    co_await write_frame(*r.peer, {FrameType::ping, flags::syn, 0, 9});
    co_await read_until(in, FrameType::ping);
    EXPECT_EQ(s3, nullptr);  // still waiting for an ACK
    co_await write_frame(*r.peer, {FrameType::window_update, flags::ack, 1, 0});
    co_await wg.wait();
    if (!s3) {
      ADD_FAILURE() << "third stream not opened";
      co_return;
    }
    EXPECT_EQ(s3->id(), 5u);
    EXPECT_EQ(s1->phase(), StreamPhase::established);
    EXPECT_EQ(s2->phase(), StreamPhase::syn_sent);
    r.peer->reset();
  });
}

TEST_F(YamuxSession, ConnectionResetFailsStreamsAndReportsOnce) {
  Raw r = make_raw(false);
  int closed = 0;
  std::string reason;
  r.session->set_close_handler([&](const std::string& why) {
    ++closed;
    reason = why;
  });
  bool read_failed = false;
  WaitGroup* wg_ptr = nullptr;
  r.session->start([&](std::shared_ptr<Stream> s) {
    spawn(io, *wg_ptr, [s, &read_failed]() -> asio::awaitable<void> {
      std::uint8_t b[4];
      try {
        co_await s->read_some(b);
      } catch (const std::system_error& e) {
        read_failed = e.code() == make_error_code(Errc::session_closed);
      }
    }, /*counted=*/true);
  });
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    WaitGroup wg(io.get_executor());
    wg_ptr = &wg;
    wg.add();  // the session-side reader
    net::BufferedReader in(*r.peer);
    co_await write_frame(*r.peer, {FrameType::window_update, flags::syn, 1, 0});
    co_await write_frame(*r.peer, {FrameType::ping, flags::syn, 0, 1});
    co_await read_until(in, FrameType::ping);
    r.peer->reset();
    co_await wg.wait();
  });
  EXPECT_TRUE(read_failed);
  EXPECT_EQ(closed, 1);
  EXPECT_EQ(reason, "connection reset");
}

TEST_F(YamuxSession, FramesForUnknownStreamsAreIgnored) {
  Raw r = make_raw(false);
  r.session->start(nullptr);
  run_to_completion(io, [&]() -> asio::awaitable<void> {
    net::BufferedReader in(*r.peer);
    co_await write_frame(*r.peer, {FrameType::data, 0, 7, 3}, from_hex("010203"));
    co_await write_frame(*r.peer, {FrameType::window_update, 0, 9, 100});
    co_await write_frame(*r.peer, {FrameType::ping, flags::syn, 0, 1});
    auto f = co_await read_frame(in);
    EXPECT_EQ(f->header.type, FrameType::ping);  // still alive, nothing else sent
    co_await r.peer->close_write();
  });
  EXPECT_EQ(r.session->counters().frames_unknown_stream, 2u);
}

// The host's owner thread reads stream_count(), last_remote_activity() and
// streams_refused() of sessions running on other threads: from a second
// thread the values are always sensible while a session works.
TEST_F(YamuxSession, ActivityReadersWorkFromAnotherThread) {
  Config server_cfg;
  server_cfg.max_streams = 2;
  Pair p = make_pair({}, server_cfg);
  const auto created = p.server->last_remote_activity();
  std::vector<std::shared_ptr<Stream>> held;
  p.server->start([&](std::shared_ptr<Stream> s) {
    held.push_back(s);
    echo(io, std::move(s));
  });
  p.client->start(nullptr);

  struct Seen {
    std::size_t max_streams = 0;
    std::uint64_t max_refused = 0;
    bool activity_went_back = false;
    bool refused_went_back = false;
  } seen;
  // The reader's passes so far; the session waits for a few more at each
  // step, so reads interleave with the exchange however threads are run.
  std::atomic<std::uint64_t> reads{0};
  auto let_reader_run = [&reads] {
    const auto from = reads.load(std::memory_order_acquire);
    while (reads.load(std::memory_order_acquire) < from + 2) std::this_thread::yield();
  };
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    auto last = p.server->last_remote_activity();
    std::uint64_t refused = 0;
    while (!stop.load(std::memory_order_acquire)) {
      seen.max_streams = std::max(seen.max_streams, p.server->stream_count());
      const auto now = p.server->last_remote_activity();
      if (now < last) seen.activity_went_back = true;
      last = now;
      const auto r = p.server->streams_refused();
      if (r < refused) seen.refused_went_back = true;
      refused = r;
      seen.max_refused = std::max(seen.max_refused, r);
      reads.fetch_add(1, std::memory_order_release);
      std::this_thread::yield();
    }
  });

  run_to_completion(io, [&]() -> asio::awaitable<void> {
    let_reader_run();
    auto s1 = co_await p.client->open_stream();
    auto s2 = co_await p.client->open_stream();
    auto s3 = co_await p.client->open_stream();  // over max_streams: refused
    co_await s3->write(as_bytes("refused"));
    std::uint8_t b[64];
    co_await expect_error(Errc::stream_reset, [&]() { return s3->read_some(b); });
    for (int round = 0; round < 20; ++round) {
      let_reader_run();
      auto& s = round % 2 == 0 ? s1 : s2;
      co_await s->write(as_bytes("ping"));
      std::size_t got = 0;
      while (got < 4) got += co_await s->read_some(std::span(b).subspan(got));
    }
    co_await s1->close_write();
    co_await s2->close_write();
    EXPECT_EQ(as_string(co_await read_all(*s1)), "");
    EXPECT_EQ(as_string(co_await read_all(*s2)), "");
    held.clear();
    let_reader_run();
    p.client->close();
  });
  stop.store(true, std::memory_order_release);
  reader.join();

  EXPECT_LE(seen.max_streams, 2u);
  EXPECT_LE(seen.max_refused, 1u);
  EXPECT_FALSE(seen.activity_went_back);
  EXPECT_FALSE(seen.refused_went_back);
  EXPECT_EQ(p.server->stream_count(), 0u);
  EXPECT_EQ(p.server->streams_refused(), 1u);
  EXPECT_EQ(p.server->streams_refused(), p.server->counters().streams_refused);
  EXPECT_GT(p.server->last_remote_activity(), created);
}

}  // namespace
}  // namespace mp::yamux
