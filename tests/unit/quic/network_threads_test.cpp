// Inbound QUIC connections on network threads (NETWORK_THREADS >= 2): each
// lives on the executor the host gave it (the host's own included, in
// turn), the datagrams main's socket receives for it are handed over and
// read there, its streams are served there, and closing the transport ends
// connections on every thread.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "host/host.hpp"
#include "identify/service.hpp"
#include "net/context_pool.hpp"
#include "net/foreign_stream.hpp"
#include "net/hop.hpp"
#include "ping/ping.hpp"
#include "ping/service.hpp"
#include "quic/quic_transport.hpp"
#include "support/poll.hpp"
#include "support/run_coro.hpp"

namespace mp::quic {
namespace {

using namespace std::chrono_literals;

host::HostConfig quic_config() {
  host::HostConfig c;
  c.listen_addrs = {*Multiaddr::parse("/ip4/127.0.0.1/udp/0/quic-v1")};
  c.ping_interval = std::chrono::hours(1);
  c.handshake_timeout = 5s;
  return c;
}

// Echoes what it reads and records, per connection, the thread it ran on
// and whether that is the connection's executor's.
struct EchoProbe {
  std::mutex m;
  std::map<std::uint64_t, std::thread::id> thread_of;
  std::atomic<int> served{0};
  std::atomic<int> off_its_thread{0};
  std::atomic<int> foreign{0};

  host::StreamHandler handler() {
    return [this](host::StreamContext ctx) { return serve(this, std::move(ctx)); };
  }
  static asio::awaitable<void> serve(EchoProbe* self, host::StreamContext ctx) {
    if (!net::runs_here(ctx.connection->executor())) self->off_its_thread.fetch_add(1);
    if (dynamic_cast<net::ForeignStream*>(ctx.stream.get())) self->foreign.fetch_add(1);
    {
      std::lock_guard lock(self->m);
      self->thread_of[ctx.connection->id()] = std::this_thread::get_id();
    }
    Bytes buf(4096);
    for (;;) {
      const std::size_t n = co_await ctx.stream->read_some(buf);
      if (n == 0) break;
      co_await ctx.stream->write(BytesView(buf.data(), n));
    }
    co_await ctx.stream->close_write();
    self->served.fetch_add(1);
  }
};

asio::awaitable<Bytes> echo(host::Connection& conn, std::string protocol, Bytes msg) {
  std::vector<std::string> protos{std::move(protocol)};
  auto s = co_await conn.open_stream(std::move(protos));
  co_await s.stream->write(msg);
  co_await s.stream->close_write();
  Bytes out;
  Bytes buf(8192);
  for (;;) {
    const std::size_t n = co_await s.stream->read_some(buf);
    if (n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
  co_return out;
}

std::thread::id thread_of(const asio::any_io_executor& ex) {
  std::promise<std::thread::id> p;
  asio::post(ex, [&] { p.set_value(std::this_thread::get_id()); });
  return p.get_future().get();
}

TEST(QuicNetworkThreads, InboundConnectionsLiveOnTheirThreadsAndEndWithTheTransport) {
  // The pool outlives `io`, and is stopped before the hosts go.
  net::ContextPool pool(2);
  asio::io_context io;
  // As the node: the host's own executor is network thread 0.
  std::vector<asio::any_io_executor> network{io.get_executor()};
  for (const auto& ex : pool.executors()) network.push_back(ex);
  const std::thread::id main_thread = std::this_thread::get_id();
  std::map<std::thread::id, std::size_t> index_of_thread{{main_thread, 0}};
  for (std::size_t i = 1; i < network.size(); ++i) index_of_thread[thread_of(network[i])] = i;
  {
    host::Host a(io.get_executor(), quic_config(), Ed25519KeyPair::generate());
    host::Host b(io.get_executor(), quic_config(), Ed25519KeyPair::generate(), network);
    identify::Service identify_a(a), identify_b(b);
    ping::Service ping_a(a), ping_b(b);
    EchoProbe on_connection, on_host;
    b.set_handler("/test/echo-conn/1", on_connection.handler(), host::HandlerThread::kConnection);
    b.set_handler("/test/echo-host/1", on_host.handler());
    ASSERT_TRUE(a.listen().ok());
    ASSERT_TRUE(b.listen().ok());

    constexpr int kConnections = 6;
    std::vector<std::shared_ptr<host::Connection>> on_b;
    test::run_in(io, [&]() -> asio::awaitable<void> {
      const auto target = b.listen_addrs().at(0).with_peer_id(b.local_peer());
      std::vector<std::shared_ptr<host::Connection>> on_a;
      for (int i = 0; i < kConnections; ++i)
        on_a.push_back(co_await a.dial(target, std::nullopt, /*force_new=*/true));
      // 100 KiB each way on every connection: beyond the stream window, so
      // credit and acknowledgements cross threads too.
      for (int i = 0; i < kConnections; ++i) {
        Bytes msg(100 * 1024);
        for (std::size_t k = 0; k < msg.size(); ++k) msg[k] = static_cast<std::uint8_t>(k * 7 + i);
        EXPECT_EQ(co_await echo(*on_a[i], "/test/echo-conn/1", msg), msg);
        Bytes small(100, static_cast<std::uint8_t>(i));
        EXPECT_EQ(co_await echo(*on_a[i], "/test/echo-host/1", small), small);
      }
      EXPECT_TRUE(co_await test::eventually(
          [&] { return b.connections().size() == static_cast<std::size_t>(kConnections); }));
      on_b = b.connections();
      // The host's thread opens a stream on each (it hops over) and pings a.
      for (auto& c : on_b) {
        std::vector<std::string> protos{std::string(ping::kProtocol)};
        auto s = co_await c->open_stream(std::move(protos));
        EXPECT_EQ(dynamic_cast<net::ForeignStream*>(s.stream.get()) != nullptr,
                  c->executor() != network[0]);
        co_await ping::ping_once(*s.stream);
        co_await s.stream->close_write();
      }
      // Closing b's transport ends the connections on every thread: each
      // says CONNECTION_CLOSE from its own thread, and a hears it.
      b.shutdown();
      EXPECT_TRUE(co_await test::eventually([&] { return a.connections().empty(); }));
      EXPECT_TRUE(co_await test::eventually([&] { return b.connections().empty(); }));
      a.shutdown();
    }(), 60s);

    // Spread over the three executors in turn, two each.
    ASSERT_EQ(on_b.size(), static_cast<std::size_t>(kConnections));
    std::map<std::size_t, int> per_thread;
    for (const auto& c : on_b) {
      std::size_t i = 0;
      while (i < network.size() && c->executor() != network[i]) ++i;
      ASSERT_LT(i, network.size());
      ++per_thread[i];
    }
    EXPECT_EQ(per_thread, (std::map<std::size_t, int>{{0, 2}, {1, 2}, {2, 2}}));
    // Each connection-thread handler ran on its connection's executor, with
    // the stream itself; together on all three threads.
    EXPECT_EQ(on_connection.served.load(), kConnections);
    EXPECT_EQ(on_connection.off_its_thread.load(), 0);
    EXPECT_EQ(on_connection.foreign.load(), 0);
    std::set<std::size_t> threads_used;
    for (const auto& c : on_b) {
      auto it = on_connection.thread_of.find(c->id());
      ASSERT_NE(it, on_connection.thread_of.end());
      threads_used.insert(index_of_thread.at(it->second));
      std::size_t i = 0;
      while (c->executor() != network[i]) ++i;
      EXPECT_EQ(index_of_thread.at(it->second), i);
    }
    EXPECT_EQ(threads_used.size(), 3u);
    // Host handlers ran on the host's thread: through a ForeignStream for
    // the four connections elsewhere.
    EXPECT_EQ(on_host.served.load(), kConnections);
    EXPECT_EQ(on_host.foreign.load(), 4);
    // The datagrams of those four came in on the host's socket and were
    // handed over to their threads.
    const auto& stats = b.quic().datagram_stats();
    EXPECT_GT(stats.handed_over.load(), 0u);
    EXPECT_EQ(stats.get(DropReason::kBacklog), 0u);
    EXPECT_EQ(b.stats().connections_current.load(), 0u);
    EXPECT_EQ(b.handshakes_in_progress(), 0u);
    on_b.clear();
    pool.stop();  // before the hosts go: nothing runs on their connections' threads
  }
}

}  // namespace
}  // namespace mp::quic
