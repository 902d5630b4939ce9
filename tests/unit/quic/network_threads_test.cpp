// Inbound QUIC connections on network threads (NETWORK_THREADS >= 2): each
// lives on the executor the host gave it (the host's own included, in
// turn), the datagrams main's socket receives for it are handed over and
// read there, its streams are served there, and closing the transport ends
// connections on every thread.
#include <gtest/gtest.h>

#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <array>
#include <atomic>
#include <future>
#include <iostream>
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
#include "quic/address.hpp"
#include "quic/cid_router.hpp"
#include "quic/quic_transport.hpp"
#include "quic_client.hpp"
#include "quic_fixture.hpp"
#include "tls/certificate.hpp"
#include "support/poll.hpp"
#include "support/run_coro.hpp"

namespace mp::quic {
namespace {

using namespace std::chrono_literals;

using test::client_initials;
using test::echo;

host::HostConfig quic_config() { return test::quic_config(5s); }

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
    co_await test::echo_back(*ctx.stream);
    self->served.fetch_add(1);
  }
};

// How many of `conns` live on each of `network`, by index (network.size():
// on none of them).
std::map<std::size_t, int> count_per_thread(
    const std::vector<std::shared_ptr<host::Connection>>& conns,
    const std::vector<asio::any_io_executor>& network) {
  std::map<std::size_t, int> per_thread;
  for (const auto& c : conns) {
    std::size_t i = 0;
    while (i < network.size() && c->executor() != network[i]) ++i;
    ++per_thread[i];
  }
  return per_thread;
}

std::thread::id thread_of(const asio::any_io_executor& ex) {
  std::promise<std::thread::id> p;
  asio::post(ex, [&] { p.set_value(std::this_thread::get_id()); });
  return p.get_future().get();
}

// As the node: the host's own executor is network thread 0, then the pool's;
// and the index of each one's thread.
struct NodeThreads {
  NodeThreads(asio::io_context& io, net::ContextPool& pool) : executors{io.get_executor()} {
    for (const auto& ex : pool.executors()) executors.push_back(ex);
    index_of_thread[std::this_thread::get_id()] = 0;
    for (std::size_t i = 1; i < executors.size(); ++i) index_of_thread[thread_of(executors[i])] = i;
  }
  std::vector<asio::any_io_executor> executors;
  std::map<std::thread::id, std::size_t> index_of_thread;
};

TEST(QuicNetworkThreads, InboundConnectionsLiveOnTheirThreadsAndEndWithTheTransport) {
  // The pool outlives `io`, and is stopped before the hosts go.
  net::ContextPool pool(2);
  asio::io_context io;
  const NodeThreads node_threads(io, pool);
  const auto& network = node_threads.executors;
  const auto& index_of_thread = node_threads.index_of_thread;
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
    EXPECT_EQ(count_per_thread(on_b, network),
              (std::map<std::size_t, int>{{0, 2}, {1, 2}, {2, 2}}));
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

TEST(QuicNetworkThreads, AStalledHandshakeOnAnotherThreadIsEvictedForANewcomer) {
  net::ContextPool pool(2);
  asio::io_context io;
  // Only the pool's executors: every inbound connection lives off the
  // host's thread.
  const auto network = pool.executors();
  constexpr std::size_t kCap = 3;
  {
    auto server = quic_config();
    server.handshake_timeout = 600s;  // only the cap ends a stalled handshake here
    server.max_handshakes = kCap;
    server.max_handshakes_per_ip = kCap;
    server.quic_retry = host::QuicRetry::kNever;  // every Initial starts a handshake
    const auto client = test::quic_config(5s, "127.0.0.2");
    host::Host a(io.get_executor(), client, Ed25519KeyPair::generate());
    host::Host b(io.get_executor(), server, Ed25519KeyPair::generate(), network);
    ASSERT_TRUE(a.listen().ok());
    ASSERT_TRUE(b.listen().ok());
    const auto to = test::quic_endpoint_of(b);
    asio::ip::udp::socket raw(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto initials = client_initials(io, raw.local_endpoint(), to, kCap);

    std::shared_ptr<host::Connection> dialled;
    std::set<std::string> answered;
    test::run_in(io, [&]() -> asio::awaitable<void> {
      // kCap handshakes that never go on, one per Initial, on the network
      // threads: each answers from its thread through the host's socket.
      for (const auto& d : initials) raw.send_to(asio::buffer(d), to);
      std::array<std::uint8_t, 2048> buf{};
      while (answered.size() < kCap) {
        asio::ip::udp::endpoint from;
        std::error_code ec;
        asio::steady_timer t(io, 10s);
        t.async_wait([&](std::error_code e) {
          if (!e) raw.cancel();
        });
        const std::size_t n = co_await raw.async_receive_from(
            asio::buffer(buf), from, asio::redirect_error(asio::use_awaitable, ec));
        t.cancel();
        if (ec) break;
        // Each server connection answers to its client's connection ID.
        if (auto h = parse_header(BytesView(buf.data(), n))) answered.insert(h->dcid);
      }
      EXPECT_EQ(b.handshakes_in_progress(), kCap);
      // The table is full: a newcomer from another IP evicts one of them
      // (its end is posted to its thread) and connects.
      dialled = co_await a.dial(b.listen_addrs().at(0).with_peer_id(b.local_peer()));
      EXPECT_TRUE(co_await test::eventually([&] { return b.connections().size() == 1; }));
      EXPECT_TRUE(co_await test::eventually([&] { return b.handshakes_in_progress() == kCap - 1; }));
      b.shutdown();
      a.shutdown();
      EXPECT_TRUE(co_await test::eventually([&] { return b.connections().empty(); }));
    }(), 30s);
    EXPECT_EQ(answered.size(), kCap);
    EXPECT_TRUE(dialled);
    EXPECT_EQ(b.stats().refusals[static_cast<std::size_t>(host::Scope::kNode)]
                                [static_cast<std::size_t>(host::RefusalReason::kHandshakeEvicted)]
                                    .load(),
              1u);
    EXPECT_EQ(b.quic().datagram_stats().get(DropReason::kHandshakes), 0u);
    EXPECT_GT(b.quic().datagram_stats().handed_over.load(), 0u);
    dialled.reset();
    pool.stop();
  }
}

// The attack on the hand-over path: a connection's thread falls behind (here
// a task holds it until the test lets go) while a raw socket floods the
// node with 1200-byte short header datagrams carrying that connection's ID.
// The bytes in flight stay within the thread's share of kMaxHandedOver, the
// rest is dropped and counted as backlog; meanwhile a second client connects
// and is served (its connections go to the thread with room), and once the
// thread drains, the flooded connection itself still echoes.
TEST(QuicNetworkThreads, AFloodForAStalledThreadStaysWithinItsShareWhileOthersAreServed) {
  net::ContextPool pool(2);
  asio::io_context io;
  // Only the pool's executors: the first connection lives on network[0].
  const auto network = pool.executors();
  // The stalled thread waits for this; set at the latest when the test ends.
  std::promise<void> release;
  std::atomic<bool> released{false};
  auto let_go = [&] {
    if (!released.exchange(true)) release.set_value();
  };
  struct LetGo {
    std::function<void()> f;
    ~LetGo() { f(); }
  } guard{let_go};
  constexpr std::string_view kEcho = "/test/echo/1.0.0";
  constexpr std::size_t kDatagram = 1200;
  constexpr std::size_t kDrops = 2000;  // sent until so many were dropped: over 4 MiB in all
  constexpr std::size_t kMaxFlood = 20000;  // datagrams, 24 MB: far more than needed
  {
    host::Host a(io.get_executor(), quic_config(), Ed25519KeyPair::generate());
    host::Host c(io.get_executor(), test::quic_config(5s, "127.0.0.2"), Ed25519KeyPair::generate());
    host::Host b(io.get_executor(), quic_config(), Ed25519KeyPair::generate(), network);
    b.set_handler(std::string(kEcho), test::serve_echo);
    ASSERT_TRUE(a.listen().ok());
    ASSERT_TRUE(c.listen().ok());
    ASSERT_TRUE(b.listen().ok());
    test::LossyRelay relay(io.get_executor(), test::quic_endpoint_of(b));
    asio::ip::udp::socket raw(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto& stats = b.quic().datagram_stats();
    const std::size_t share = b.quic().thread_share();
    std::size_t sent = 0;
    std::uint64_t most_seen = 0;
    std::uint64_t handed_before = 0;
    std::uint64_t handed_during = 0;
    std::vector<std::shared_ptr<host::Connection>> on_b;
    test::run_in(io, [&]() -> asio::awaitable<void> {
      auto ex = co_await asio::this_coro::executor;
      asio::co_spawn(ex, relay.client_to_server(), asio::detached);
      asio::co_spawn(ex, relay.server_to_client(), asio::detached);
      // The honest connection, through the relay (which shows its ID).
      auto honest = co_await a.dial(relay.address(b.local_peer()));
      const Bytes hello(100, 0x11);
      EXPECT_EQ(co_await echo(*honest, std::string(kEcho), hello), hello);
      EXPECT_TRUE(co_await test::eventually([&] { return b.connections().size() == 1; }));
      EXPECT_EQ(b.connections().at(0)->executor(), network[0]);
      const std::string cid = relay.server_cid;
      EXPECT_EQ(cid.size(), kCidLength);
      // Its thread stops draining.
      std::atomic<bool> stalled{false};
      asio::post(network[0], [&stalled, wait = release.get_future()] {
        stalled = true;
        wait.wait();
      });
      co_await test::until([&] { return stalled.load(); });
      // The flood: short header datagrams for that ID, junk after it, from
      // another address. Sent 32 at a time, each time until the receive
      // loop (on this io_context) has taken them, so the kernel's buffer
      // never overflows; until the share is full and drops are counted.
      Bytes d(kDatagram);
      for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(i * 31 + 7);
      d[0] = 0x40 | (d[0] & 0x3f);  // short header, fixed bit
      std::copy(cid.begin(), cid.end(), d.begin() + 1);
      const auto to = test::quic_endpoint_of(b);
      handed_before = stats.handed_over.load();
      const auto taken = [&] {
        return stats.handed_over.load() - handed_before + stats.get(DropReason::kBacklog);
      };
      while (stats.get(DropReason::kBacklog) < kDrops && sent < kMaxFlood) {
        for (int i = 0; i < 32; ++i) raw.send_to(asio::buffer(d), to);
        sent += 32;
        co_await test::eventually([&] { return taken() >= sent; }, 2s);
        most_seen = std::max(most_seen, stats.handed_over_bytes.load());
      }
      handed_during = stats.handed_over.load() - handed_before;
      // A second client connects while the thread is still held: twice, so
      // that the turn comes to the full thread once; both land on the other
      // and are served.
      for (int i = 0; i < 2; ++i) {
        auto second = co_await c.dial(test::quic_address_of(b), std::nullopt, /*force_new=*/true);
        const Bytes msg(1000, static_cast<std::uint8_t>(i));
        EXPECT_EQ(co_await echo(*second, std::string(kEcho), msg), msg);
      }
      EXPECT_TRUE(co_await test::eventually([&] { return b.connections().size() == 3; }));
      on_b = b.connections();
      // The thread drains: the flood's datagrams are read (and discarded by
      // the connection: they do not decrypt), and the connection serves.
      let_go();
      Bytes msg(64 * 1024);
      for (std::size_t k = 0; k < msg.size(); ++k) msg[k] = static_cast<std::uint8_t>(k * 7);
      EXPECT_EQ(co_await echo(*honest, std::string(kEcho), msg), msg);
      EXPECT_TRUE(co_await test::eventually([&] { return stats.handed_over_bytes.load() == 0; }));
      b.shutdown();
      a.shutdown();
      c.shutdown();
      relay.close();
      EXPECT_TRUE(co_await test::eventually([&] { return b.connections().empty(); }));
    }(), 120s);
    const std::uint64_t dropped = stats.get(DropReason::kBacklog);
    std::cout << "[ flood    ] " << sent << " datagrams of " << kDatagram << " bytes sent, "
              << handed_during << " handed over, " << dropped << " dropped (backlog); at most "
              << stats.handed_over_bytes_peak.load() << " bytes in flight (thread share " << share
              << ", node cap " << QuicTransport::kMaxHandedOver << ")\n";
    // The bound held, and the share was filled before the drops began.
    EXPECT_GE(dropped, kDrops);
    EXPECT_GT(sent * kDatagram, QuicTransport::kMaxHandedOver);
    EXPECT_LE(stats.handed_over_bytes_peak.load(), QuicTransport::kMaxHandedOver);
    EXPECT_LE(most_seen, share);
    EXPECT_GT(most_seen + kDatagram, share);
    EXPECT_GE(handed_during, share / kDatagram);
    EXPECT_EQ(share, QuicTransport::kMaxHandedOver / network.size());
    // The second client's connections both live on the other thread.
    ASSERT_EQ(on_b.size(), 3u);
    std::size_t on_other = 0;
    for (const auto& conn : on_b) on_other += conn->executor() == network[1] ? 1 : 0;
    EXPECT_EQ(on_other, 2u);
    on_b.clear();
    pool.stop();
  }
}

// Our own QUIC dials: each dialled connection is made on the host's thread
// (its route first) and lives on the next connection executor in turn; the
// server's datagrams for it are handed over there; the caller gets it, or
// the dial's error, on the host's thread.
TEST(QuicNetworkThreads, DialledConnectionsLiveOnTheirThreadsAndServeBothWays) {
  net::ContextPool pool(2);
  asio::io_context io;
  const NodeThreads node_threads(io, pool);
  const auto& network = node_threads.executors;
  const auto& index_of_thread = node_threads.index_of_thread;
  const std::thread::id main_thread = std::this_thread::get_id();
  {
    host::Host a(io.get_executor(), quic_config(), Ed25519KeyPair::generate(), network);
    host::Host b(io.get_executor(), quic_config(), Ed25519KeyPair::generate());
    identify::Service identify_a(a), identify_b(b);
    ping::Service ping_a(a), ping_b(b);
    EchoProbe b_echo, a_on_connection;
    b.set_handler("/test/echo-host/1", b_echo.handler());
    a.set_handler("/test/echo-conn/1", a_on_connection.handler(), host::HandlerThread::kConnection);
    ASSERT_TRUE(a.listen().ok());
    ASSERT_TRUE(b.listen().ok());

    constexpr int kConnections = 6;
    std::vector<std::shared_ptr<host::Connection>> on_a;
    bool mismatch = false;
    std::size_t served_back = 0;
    test::run_in(io, [&]() -> asio::awaitable<void> {
      const auto target = b.listen_addrs().at(0).with_peer_id(b.local_peer());
      for (int i = 0; i < kConnections; ++i) {
        auto c = co_await a.dial(target, std::nullopt, /*force_new=*/true);
        EXPECT_EQ(std::this_thread::get_id(), main_thread);
        EXPECT_EQ(c->remote_peer(), b.local_peer());
        // 100 KiB from the host's thread: credit and acknowledgements cross
        // threads too.
        Bytes msg(100 * 1024);
        for (std::size_t k = 0; k < msg.size(); ++k) msg[k] = static_cast<std::uint8_t>(k * 3 + i);
        EXPECT_EQ(co_await echo(*c, "/test/echo-host/1", msg), msg);
        on_a.push_back(std::move(c));
      }
      EXPECT_TRUE(co_await test::eventually(
          [&] { return b.connections().size() == static_cast<std::size_t>(kConnections); }));
      // The other way: b's streams are served on a's connections' threads.
      for (auto& c : b.connections()) {
        Bytes small(200, 0x5a);
        if (co_await echo(*c, "/test/echo-conn/1", small) == small) ++served_back;
      }
      // A server that is not the one expected fails the TLS handshake,
      // and its error is thrown here.
      try {
        (void)co_await a.dial(b.listen_addrs().at(0),
                              PeerId::from_public_key(Ed25519KeyPair::generate().public_key()),
                              /*force_new=*/true);
      } catch (const std::exception& e) {
        mismatch = std::string(e.what()).find("peer id mismatch") != std::string::npos;
        EXPECT_EQ(std::this_thread::get_id(), main_thread);
      }
      for (auto& c : on_a) c->close("test");
      EXPECT_TRUE(co_await test::eventually([&] { return a.connections().empty(); }));
      EXPECT_TRUE(co_await test::eventually([&] { return b.connections().empty(); }));
      a.shutdown();
      b.shutdown();
    }(), 60s);

    // Spread over the three executors in turn, two each.
    ASSERT_EQ(on_a.size(), static_cast<std::size_t>(kConnections));
    EXPECT_EQ(count_per_thread(on_a, network),
              (std::map<std::size_t, int>{{0, 2}, {1, 2}, {2, 2}}));
    for (const auto& c : on_a) EXPECT_EQ(c->direction(), host::Direction::kOutbound);
    EXPECT_EQ(served_back, static_cast<std::size_t>(kConnections));
    EXPECT_EQ(a_on_connection.served.load(), kConnections);
    EXPECT_EQ(a_on_connection.off_its_thread.load(), 0);
    EXPECT_EQ(a_on_connection.foreign.load(), 0);
    std::set<std::size_t> threads_used;
    for (const auto& [id, t] : a_on_connection.thread_of)
      threads_used.insert(index_of_thread.at(t));
    EXPECT_EQ(threads_used.size(), 3u);
    EXPECT_EQ(b_echo.served.load(), kConnections);
    EXPECT_TRUE(mismatch);
    // The server's datagrams came in on a's socket and were handed over.
    EXPECT_GT(a.quic().datagram_stats().handed_over.load(), 0u);
    EXPECT_EQ(a.quic().datagram_stats().get(DropReason::kBacklog), 0u);
    EXPECT_EQ(a.stats().connections_current.load(), 0u);
    on_a.clear();
    pool.stop();
  }
}

// A QUIC dial on a network thread to a server that never answers, with
// the node's shutdown order: the host shuts down, the pool stops with the
// dial in flight, then the host, its io_context and the pool go (ASan
// checks nothing of one outlives it).
TEST(QuicNetworkThreads, ClosingWithADialInFlightOnANetworkThreadEndsCleanly) {
  net::ContextPool pool(1);
  asio::io_context io;
  asio::ip::udp::socket silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::array<std::uint8_t, 2048> buf{};
  asio::ip::udp::endpoint from;
  bool heard = false;
  silent.async_receive_from(asio::buffer(buf), from,
                            [&](std::error_code ec, std::size_t) { heard = !ec; });
  {
    host::Host a(io.get_executor(), quic_config(), Ed25519KeyPair::generate(), pool.executors());
    ASSERT_TRUE(a.listen().ok());
    const auto target = *Multiaddr::parse("/ip4/127.0.0.1/udp/" +
                                          std::to_string(silent.local_endpoint().port()) +
                                          "/quic-v1");
    asio::co_spawn(io, a.dial(target), asio::detached);
    test::run_in(io, [&]() -> asio::awaitable<void> {
      co_await test::until([&] { return heard; });
    }());
    // The first flight left from the network thread.
    ASSERT_TRUE(heard);
    a.shutdown();
    pool.stop();
  }
}

}  // namespace
}  // namespace mp::quic
