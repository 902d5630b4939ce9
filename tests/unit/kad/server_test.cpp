// serve_stream over an in-memory pipe: many requests per stream, and the
// stream ends on malformed, oversized or refused input.
#include "kad/server.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <system_error>

#include "core/varint.hpp"
#include "net/buffered_reader.hpp"
#include "net/memory_pipe.hpp"
#include "test_util.hpp"

namespace mp::kad {
namespace {

using test::kBigKey;
using test::kKeyX;
using test::kValue;
using test::public_addr;
using test::random_peer;

struct Harness {
  std::mt19937_64 rng{77};
  PeerId self = random_peer(rng);
  PeerId remote = random_peer(rng);
  Kademlia kad;
  asio::io_context io;
  std::shared_ptr<net::MemoryStream> server_end;
  std::unique_ptr<net::MemoryStream> client_end;
  bool server_done = false;

  explicit Harness(KadConfig c = {}) : kad(self, std::move(c), Clock::now()) {
    for (std::uint32_t i = 0; i < 100; ++i) {
      (void)kad.on_peer_identified(random_peer(rng), {public_addr(i)}, true, Clock::now());
    }
    auto [a, b] = net::make_memory_pipe(io.get_executor());
    server_end = std::move(a);
    client_end = std::move(b);
    asio::co_spawn(
        io,
        [this]() -> asio::awaitable<void> {
          co_await serve_stream(kad, server_end, remote);
          server_done = true;
        },
        asio::detached);
  }

  // Runs `client` against the server; returns the exception it ended with.
  std::exception_ptr run(std::function<asio::awaitable<void>(net::ByteStream&)> client) {
    std::exception_ptr error;
    bool client_done = false;
    asio::co_spawn(io, client(*client_end), [&](std::exception_ptr e) {
      error = e;
      client_done = true;
    });
    io.run_for(std::chrono::seconds(10));
    EXPECT_TRUE(client_done);
    return error;
  }
};

asio::awaitable<Message> roundtrip(net::ByteStream& s, net::BufferedReader& r, const Message& req) {
  co_await net::write_length_prefixed(s, encode_message(req));
  auto bytes = co_await r.read_length_prefixed(kMaxMessageSize);
  if (!bytes) throw std::runtime_error("server closed the stream");
  auto m = decode_message(*bytes);
  if (!m) throw std::runtime_error(m.message());
  co_return m.value();
}

TEST(KadServer, AnswersManyRequestsOnOneStreamUntilEof) {
  Harness h;
  std::vector<Message> answers;
  bool saw_eof = false;
  // Built outside the coroutine: GCC 12 miscompiles initializer lists there.
  const Bytes add_provider = encode_message(
      make_add_provider(Bytes{0x12, 0x01, 0x07}, PeerInfo{h.remote, {public_addr(1)}}));
  auto err = h.run([&](net::ByteStream& s) -> asio::awaitable<void> {
    net::BufferedReader r(s);
    answers.push_back(co_await roundtrip(s, r, make_find_node(random_peer(h.rng).bytes())));
    answers.push_back(co_await roundtrip(s, r, make_ping()));
    answers.push_back(
        co_await roundtrip(s, r, make_put_value(kKeyX, kValue)));
    // ADD_PROVIDER has no answer; the PING after it proves the stream lives on.
    co_await net::write_length_prefixed(s, add_provider);
    answers.push_back(co_await roundtrip(s, r, make_get_value(kKeyX)));
    co_await s.close_write();
    saw_eof = !(co_await r.read_length_prefixed(kMaxMessageSize)).has_value();
  });
  EXPECT_EQ(err, nullptr);
  ASSERT_EQ(answers.size(), 4u);
  EXPECT_EQ(answers[0].type(), pb::Message_MessageType_FIND_NODE);
  EXPECT_EQ(answers[0].closerpeers_size(), static_cast<int>(kK));
  EXPECT_EQ(answers[1].type(), pb::Message_MessageType_PING);
  EXPECT_EQ(answers[2].record().value(), "value");
  EXPECT_EQ(answers[3].record().value(), "value");
  EXPECT_TRUE(saw_eof);
  EXPECT_TRUE(h.server_done);
  EXPECT_EQ(h.kad.providers().total(), 1u);
  EXPECT_EQ(h.kad.counters().responses_sent.load(), 4u);
  EXPECT_EQ(h.kad.counters().inbound_streams.load(), 1u);
}

TEST(KadServer, MalformedProtobufEndsTheStream) {
  Harness h;
  auto err = h.run(test::send_malformed);  // must throw: reset
  EXPECT_NE(err, nullptr);
  EXPECT_TRUE(h.server_done);
  EXPECT_EQ(h.kad.counters().refused(Refusal::kMalformed), 1u);
}

TEST(KadServer, OversizedLengthPrefixEndsTheStreamBeforeBuffering) {
  Harness h;
  auto err = h.run([&](net::ByteStream& s) -> asio::awaitable<void> {
    net::BufferedReader r(s);
    // Announce 1 MiB, send only the prefix: the server must not wait for it.
    co_await s.write(varint::encode(1024 * 1024));
    (void)co_await r.read_length_prefixed(kMaxMessageSize);
  });
  EXPECT_NE(err, nullptr);
  EXPECT_TRUE(h.server_done);
  EXPECT_EQ(h.kad.counters().refused(Refusal::kOversized), 1u);
}

TEST(KadServer, RefusedPutValueEndsTheStream) {
  Harness h;
  auto err = h.run([&](net::ByteStream& s) -> asio::awaitable<void> {
    net::BufferedReader r(s);
    // 20 KiB: under the message limit, over the record limit.
    (void)co_await roundtrip(s, r, make_put_value(kBigKey, Bytes(20 * 1024, 0x78)));
  });
  EXPECT_NE(err, nullptr);
  EXPECT_TRUE(h.server_done);
  EXPECT_EQ(h.kad.counters().refused(Refusal::kRecordTooLarge), 1u);
  EXPECT_EQ(h.kad.records().size(), 0u);
}

TEST(KadServer, IdleStreamIsClosed) {
  KadConfig c;
  c.inbound_idle_timeout = std::chrono::milliseconds(50);
  Harness h(c);
  auto err = h.run([&](net::ByteStream& s) -> asio::awaitable<void> {
    net::BufferedReader r(s);
    (void)co_await r.read_length_prefixed(kMaxMessageSize);  // nothing sent: reset
  });
  EXPECT_NE(err, nullptr);
  EXPECT_TRUE(h.server_done);
}

}  // namespace
}  // namespace mp::kad
