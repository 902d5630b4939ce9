// Batched datagrams: DatagramBatch (recvmmsg) on real loopback sockets, the
// transport's receive loop draining a queue longer than one turn, and
// packets written back to back leaving in one UDP_SEGMENT send.
#include "quic/datagram_batch.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/use_awaitable.hpp>

#include "host/host.hpp"
#include "quic/address.hpp"
#include "quic/quic_transport.hpp"
#include "quic_fixture.hpp"
#include "support/poll.hpp"
#include "support/run_coro.hpp"

namespace mp::quic {
namespace {

using namespace std::chrono_literals;

Bytes datagram(std::size_t size, std::uint8_t seed) {
  Bytes d(size);
  for (std::size_t i = 0; i < size; ++i) d[i] = static_cast<std::uint8_t>(seed + i * 13);
  return d;
}

// Reads into `batch` until `want` datagrams came or 5 s passed (poll(2)
// waits for them to be queued; it never decides that something is absent).
std::vector<std::pair<Bytes, bool>> receive_all(DatagramBatch& batch, asio::ip::udp::socket& s,
                                                std::size_t want, std::vector<int>& calls,
                                                asio::ip::udp::endpoint& from) {
  std::vector<std::pair<Bytes, bool>> got;
  const auto limit = std::chrono::steady_clock::now() + 5s;
  while (got.size() < want && std::chrono::steady_clock::now() < limit) {
    pollfd p{s.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int n = batch.receive(s.native_handle());
    if (n <= 0) continue;
    calls.push_back(n);
    for (int i = 0; i < n; ++i) {
      const auto slot = static_cast<std::size_t>(i);
      const BytesView d = batch.data(slot);
      got.emplace_back(Bytes(d.begin(), d.end()), batch.truncated(slot));
      from = batch.from(slot);
    }
  }
  return got;
}

TEST(DatagramBatch, ReadsManyDatagramsPerCallIntactAndFlagsOversizedOnes) {
  asio::io_context io;
  asio::ip::udp::socket rx(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::ip::udp::socket tx(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  rx.non_blocking(true);
  std::vector<Bytes> sent;
  for (std::size_t i = 0; i < 20; ++i) sent.push_back(datagram(1 + i * 70, static_cast<std::uint8_t>(i)));
  sent.push_back(datagram(DatagramBatch::kSlotSize + 500, 99));  // larger than a slot
  for (const auto& d : sent) tx.send_to(asio::buffer(d), rx.local_endpoint());

  DatagramBatch batch;
  std::vector<int> calls;
  asio::ip::udp::endpoint from;
  const auto got = receive_all(batch, rx, sent.size(), calls, from);
  ASSERT_EQ(got.size(), sent.size());
  for (std::size_t i = 0; i + 1 < sent.size(); ++i) {
    EXPECT_EQ(got[i].first, sent[i]) << i;
    EXPECT_FALSE(got[i].second) << i;
  }
  // The oversized one is cut at the slot and flagged.
  EXPECT_TRUE(got.back().second);
  EXPECT_EQ(got.back().first.size(), DatagramBatch::kSlotSize);
  EXPECT_EQ(from, tx.local_endpoint());
  // 21 datagrams need at least two calls; none returns more than a batch.
  EXPECT_GE(calls.size(), 2u);
  for (int n : calls) EXPECT_LE(n, static_cast<int>(DatagramBatch::kSlots));
  // With nothing queued, a call reads nothing and does not block.
  EXPECT_EQ(batch.receive(rx.native_handle()), 0);
}

TEST(DatagramBatch, FromReportsIpv6Senders) {
  asio::io_context io;
  std::error_code ec;
  asio::ip::udp::socket rx(io);
  rx.open(asio::ip::udp::v6(), ec);
  if (!ec) rx.bind(asio::ip::udp::endpoint(asio::ip::make_address("::1"), 0), ec);
  if (ec) GTEST_SKIP() << "no IPv6 loopback: " << ec.message();
  asio::ip::udp::socket tx(io, asio::ip::udp::endpoint(asio::ip::make_address("::1"), 0));
  rx.non_blocking(true);
  const Bytes d = datagram(100, 1);
  tx.send_to(asio::buffer(d), rx.local_endpoint());
  DatagramBatch batch;
  std::vector<int> calls;
  asio::ip::udp::endpoint from;
  const auto got = receive_all(batch, rx, 1, calls, from);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, d);
  EXPECT_EQ(from, tx.local_endpoint());
}

using test::quic_config;

asio::awaitable<void> wait_for_drops(host::Host& node, std::uint64_t want) {
  const auto& s = node.quic().datagram_stats();
  EXPECT_TRUE(co_await test::eventually([&] { return s.get(DropReason::kMalformed) >= want; }));
  node.shutdown();
}

// 100 datagrams queued before the node's io_context runs at all: more than
// a turn of the receive loop (4 batches of 16), so it must come back for
// the rest by itself. An oversized one is dropped as malformed.
TEST(DatagramBatch, TheTransportDrainsAQueueLongerThanATurn) {
  asio::io_context io;
  host::Host b(io.get_executor(), quic_config(), Ed25519KeyPair::generate());
  ASSERT_TRUE(b.listen().ok());
  const auto to = test::quic_endpoint_of(b);
  asio::ip::udp::socket sock(io, asio::ip::udp::endpoint(asio::ip::udp::v4(), 0));
  constexpr std::size_t kJunk = 100;
  for (std::size_t i = 0; i < kJunk; ++i) sock.send_to(asio::buffer(std::string("\x01")), to);
  sock.send_to(asio::buffer(datagram(DatagramBatch::kSlotSize + 1, 7)), to);
  const auto& stats = b.quic().datagram_stats();
  test::run_in(io, wait_for_drops(b, kJunk + 1), 20s);
  EXPECT_EQ(stats.get(DropReason::kMalformed), kJunk + 1);
  EXPECT_EQ(b.connections().size(), 0u);
}

constexpr std::string_view kSink = "/test/sink/1.0.0";

// Reads everything, then answers with the number of bytes read (8 bytes).
asio::awaitable<void> sink(host::StreamContext ctx) {
  Bytes buf(16384);
  std::uint64_t total = 0;
  for (;;) {
    const std::size_t n = co_await ctx.stream->read_some(buf);
    if (n == 0) break;
    total += n;
  }
  Bytes answer(8);
  for (int i = 0; i < 8; ++i) answer[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(total >> (8 * i));
  co_await ctx.stream->write(answer);
  co_await ctx.stream->close_write();
}

asio::awaitable<void> send_bulk(host::Host& a, host::Host& b, std::size_t bytes, std::uint64_t& echoed) {
  auto conn = co_await a.dial(b.listen_addrs()[0].with_peer_id(b.local_peer()));
  std::vector<std::string> protos{std::string(kSink)};
  auto s = co_await conn->open_stream(std::move(protos));
  const Bytes chunk = datagram(16384, 3);
  for (std::size_t sent = 0; sent < bytes; sent += chunk.size()) co_await s.stream->write(chunk);
  co_await s.stream->close_write();
  const Bytes answer = co_await test::read_to_end(*s.stream);
  echoed = 0;
  if (answer.size() == 8)
    for (int i = 7; i >= 0; --i) echoed = echoed << 8 | answer[static_cast<std::size_t>(i)];
  a.shutdown();
  b.shutdown();
}

// 1 MiB through one stream: the sender's packets go out in UDP_SEGMENT
// runs (several packets per send) and all of it arrives; with the offload
// turned off, the same transfer makes no segmented send.
TEST(QuicSegmentation, BulkDataLeavesInSegmentedSendsAndArrivesWhole) {
  for (const bool gso : {true, false}) {
    auto config = quic_config();
    config.quic_gso = gso;
    test::HostPair p(config);
    p.b.set_handler(std::string(kSink), [](host::StreamContext ctx) { return sink(std::move(ctx)); });
    ASSERT_TRUE(p.listen());
    constexpr std::size_t kBytes = 1024 * 1024;
    std::uint64_t received = 0;
    test::run_in(p.io, send_bulk(p.a, p.b, kBytes, received), 20s);
    EXPECT_EQ(received, kBytes) << "gso " << gso;
    const auto& stats = p.a.quic().datagram_stats();
    if (gso) {
      EXPECT_GT(stats.segmented_sends.load(), 0u);
      // Runs of more than one packet each, none longer than a batch.
      EXPECT_GT(stats.segmented_packets.load(), stats.segmented_sends.load());
      EXPECT_LE(stats.segmented_packets.load(),
                stats.segmented_sends.load() * QuicConnection::kMaxSegments);
    } else {
      EXPECT_EQ(stats.segmented_sends.load(), 0u);
    }
  }
}

}  // namespace
}  // namespace mp::quic
