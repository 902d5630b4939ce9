// A host whose inbound connections live on network threads (NETWORK_THREADS
// >= 2): each connection on one thread's io_context in turn, its streams
// served there; handlers of the host's state on the host's thread through a
// ForeignStream, connection-thread handlers where the connection is; the
// host's own streams and closes hop to the connection's thread.
#include <gtest/gtest.h>

#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <future>
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
#include "support/loopback_host.hpp"
#include "support/run_coro.hpp"

namespace mp::host {
namespace {

using namespace std::chrono_literals;

// Echoes one message and records the thread it ran on.
struct EchoProbe {
  std::mutex m;
  std::set<std::thread::id> threads;
  std::atomic<int> served{0};
  bool saw_foreign_stream = false;

  StreamHandler handler() {
    return [this](StreamContext ctx) { return serve(this, std::move(ctx)); };
  }
  static asio::awaitable<void> serve(EchoProbe* self, StreamContext ctx) {
    {
      std::lock_guard lock(self->m);
      self->threads.insert(std::this_thread::get_id());
      if (dynamic_cast<net::ForeignStream*>(ctx.stream.get())) self->saw_foreign_stream = true;
    }
    std::uint8_t buf[64];
    const std::size_t n = co_await ctx.stream->read_some(buf);
    co_await ctx.stream->write(BytesView(buf, n));
    co_await ctx.stream->close_write();
    self->served.fetch_add(1);
  }
};

asio::awaitable<std::string> echo(Connection& conn, std::string protocol, std::string msg) {
  std::vector<std::string> protos{std::move(protocol)};
  auto s = co_await conn.open_stream(std::move(protos));
  co_await s.stream->write(as_bytes(msg));
  co_await s.stream->close_write();
  std::string out;
  std::uint8_t buf[64];
  for (;;) {
    const std::size_t n = co_await s.stream->read_some(buf);
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(buf), n);
  }
  co_return out;
}

asio::awaitable<void> until(std::function<bool()> done, int tries = 1000) {
  for (int i = 0; i < tries && !done(); ++i) {
    asio::steady_timer t(co_await asio::this_coro::executor, 10ms);
    co_await t.async_wait(asio::use_awaitable);
  }
}

TEST(NetworkThreads, ConnectionsLiveOnTheNetworkThreadsInTurnAndTheirStreamsWork) {
  // The pool outlives `io`: operations still queued on io when it goes (an
  // accept the closing acceptor aborted) hold sockets of the pool's contexts.
  net::ContextPool pool(2);
  asio::io_context io;
  const auto network = pool.executors();
  std::vector<std::thread::id> network_threads;
  for (const auto& ex : network) {
    std::promise<std::thread::id> p;
    asio::post(ex, [&] { p.set_value(std::this_thread::get_id()); });
    network_threads.push_back(p.get_future().get());
  }
  {
    Host a(io.get_executor(), test::loopback_config(), Ed25519KeyPair::generate());
    Host b(io.get_executor(), test::loopback_config(), Ed25519KeyPair::generate(), network);
    identify::Service identify_a(a), identify_b(b);
    ping::Service ping_a(a), ping_b(b);
    EchoProbe on_host, on_connection;
    b.set_handler("/test/echo-host/1", on_host.handler());
    b.set_handler("/test/echo-conn/1", on_connection.handler(), HandlerThread::kConnection);
    std::size_t identified_on_b = 0;
    b.events().subscribe([&](const Event& e) {
      identified_on_b += std::holds_alternative<IdentifyReceived>(e) ? 1 : 0;
    });
    ASSERT_TRUE(b.listen().ok());

    std::vector<std::shared_ptr<Connection>> on_b;
    test::run_in(io, [&]() -> asio::awaitable<void> {
      const auto target = b.listen_addrs().at(0).with_peer_id(b.local_peer());
      for (int i = 0; i < 4; ++i) {
        auto conn = co_await a.dial(target, std::nullopt, /*force_new=*/true);
        EXPECT_EQ(co_await echo(*conn, "/test/echo-host/1", "host " + std::to_string(i)),
                  "host " + std::to_string(i));
        EXPECT_EQ(co_await echo(*conn, "/test/echo-conn/1", "conn " + std::to_string(i)),
                  "conn " + std::to_string(i));
      }
      co_await until([&] { return identified_on_b >= 4 && b.connections().size() == 4; });
      on_b = b.connections();
      // The host's thread opens a stream on each connection (it hops to the
      // connection's thread) and pings a.
      for (auto& c : on_b) {
        std::vector<std::string> protos{std::string(ping::kProtocol)};
        auto s = co_await c->open_stream(std::move(protos));
        EXPECT_NE(dynamic_cast<net::ForeignStream*>(s.stream.get()), nullptr);
        co_await ping::ping_once(*s.stream);
        co_await s.stream->close_write();
      }
      // Closed from the host's thread: the close hops over, the end comes back.
      for (auto& c : on_b) c->close("test");
      co_await until([&] { return b.connections().empty() && a.connections().empty(); });
    }());

    // The four connections went to the two network threads in turn.
    ASSERT_EQ(on_b.size(), 4u);
    std::size_t on_first = 0, on_second = 0;
    for (const auto& c : on_b) {
      on_first += c->executor() == network[0] ? 1 : 0;
      on_second += c->executor() == network[1] ? 1 : 0;
    }
    EXPECT_EQ(on_first, 2u);
    EXPECT_EQ(on_second, 2u);
    // Host handlers ran on the host's (this) thread through a ForeignStream;
    // connection handlers on the network threads, with the stream itself.
    EXPECT_EQ(on_host.served.load(), 4);
    EXPECT_EQ(on_host.threads, std::set<std::thread::id>{std::this_thread::get_id()});
    EXPECT_TRUE(on_host.saw_foreign_stream);
    EXPECT_EQ(on_connection.served.load(), 4);
    EXPECT_EQ(on_connection.threads,
              (std::set<std::thread::id>{network_threads[0], network_threads[1]}));
    EXPECT_FALSE(on_connection.saw_foreign_stream);
    EXPECT_GE(identified_on_b, 4u);
    EXPECT_TRUE(b.connections().empty());
    EXPECT_EQ(b.stats().connections_current.load(), 0u);
    EXPECT_EQ(b.budget().node_held_atomic(), 0u);
    on_b.clear();
    pool.stop();  // before the hosts go: nothing runs on their connections' threads
  }
}

// Our own dials (NETWORK_THREADS >= 2): each dialled connection is made,
// upgraded and lives on the next network thread; the caller gets it, or the
// dial's error, back on the host's thread.
TEST(NetworkThreads, DialledConnectionsLiveOnTheNetworkThreadsAndFailOnTheHostsThread) {
  net::ContextPool pool(2);
  asio::io_context io;
  const auto network = pool.executors();
  std::set<std::thread::id> network_threads;
  for (const auto& ex : network) {
    std::promise<std::thread::id> p;
    asio::post(ex, [&] { p.set_value(std::this_thread::get_id()); });
    network_threads.insert(p.get_future().get());
  }
  const auto main_thread = std::this_thread::get_id();
  {
    Host a(io.get_executor(), test::loopback_config(), Ed25519KeyPair::generate(), network);
    Host b(io.get_executor(), test::loopback_config(), Ed25519KeyPair::generate());
    identify::Service identify_a(a), identify_b(b);
    ping::Service ping_a(a), ping_b(b);
    EchoProbe b_echo, a_on_host, a_on_connection;
    b.set_handler("/test/echo-host/1", b_echo.handler());
    a.set_handler("/test/echo-host/1", a_on_host.handler());
    a.set_handler("/test/echo-conn/1", a_on_connection.handler(), HandlerThread::kConnection);
    ASSERT_TRUE(a.listen().ok());
    ASSERT_TRUE(b.listen().ok());
    const auto b_addr = b.listen_addrs().at(0);

    // A port nobody listens on: bound, then closed.
    std::uint16_t closed_port = 0;
    {
      asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
      closed_port = probe.local_endpoint().port();
    }

    std::vector<std::shared_ptr<Connection>> dialled;
    std::vector<std::thread::id> resumed_on;
    bool refused = false, mismatch = false;
    test::run_in(io, [&]() -> asio::awaitable<void> {
      for (int i = 0; i < 4; ++i) {
        auto conn = co_await a.dial(b_addr.with_peer_id(b.local_peer()), std::nullopt,
                                    /*force_new=*/true);
        resumed_on.push_back(std::this_thread::get_id());
        EXPECT_EQ(conn->remote_peer(), b.local_peer());
        // From the host's thread: the stream hops to the connection's thread.
        EXPECT_EQ(co_await echo(*conn, "/test/echo-host/1", "a->b " + std::to_string(i)),
                  "a->b " + std::to_string(i));
        dialled.push_back(std::move(conn));
      }
      // Without force_new the dial reuses a connection.
      auto again = co_await a.dial(b_addr.with_peer_id(b.local_peer()));
      EXPECT_NE(std::find(dialled.begin(), dialled.end(), again), dialled.end());
      co_await until([&] { return b.connections().size() == 4; });
      // The other way: b opens streams on its ends; a serves them on the
      // connection's thread or, for a host handler, on this one.
      for (auto& c : b.connections()) {
        EXPECT_EQ(co_await echo(*c, "/test/echo-conn/1", "b->a conn"), "b->a conn");
        EXPECT_EQ(co_await echo(*c, "/test/echo-host/1", "b->a host"), "b->a host");
      }
      // A dial to a closed port fails, and its error is thrown here.
      try {
        (void)co_await a.dial(*Multiaddr::parse("/ip4/127.0.0.1/tcp/" +
                                                std::to_string(closed_port)));
      } catch (const std::system_error& e) {
        refused = e.code() == asio::error::connection_refused;
        EXPECT_EQ(std::this_thread::get_id(), main_thread);
      }
      // A peer that is not the one expected fails the handshake.
      try {
        (void)co_await a.dial(b_addr, PeerId::from_public_key(
                                          Ed25519KeyPair::generate().public_key()),
                              /*force_new=*/true);
      } catch (const std::exception&) {
        mismatch = true;
        EXPECT_EQ(std::this_thread::get_id(), main_thread);
      }
      for (auto& c : dialled) c->close("test");
      co_await until([&] { return a.connections().empty() && b.connections().empty(); });
    }());

    ASSERT_EQ(dialled.size(), 4u);
    std::size_t on_first = 0, on_second = 0;
    for (const auto& c : dialled) {
      on_first += c->executor() == network[0] ? 1 : 0;
      on_second += c->executor() == network[1] ? 1 : 0;
      EXPECT_EQ(c->direction(), Direction::kOutbound);
    }
    EXPECT_EQ(on_first, 2u);
    EXPECT_EQ(on_second, 2u);
    for (const auto& t : resumed_on) EXPECT_EQ(t, main_thread);
    EXPECT_TRUE(refused);
    EXPECT_TRUE(mismatch);
    EXPECT_EQ(b_echo.served.load(), 4);
    EXPECT_EQ(a_on_connection.served.load(), 4);
    EXPECT_EQ(a_on_connection.threads, network_threads);
    EXPECT_EQ(a_on_host.served.load(), 4);
    EXPECT_EQ(a_on_host.threads, std::set<std::thread::id>{main_thread});
    EXPECT_TRUE(a_on_host.saw_foreign_stream);
    EXPECT_EQ(a.stats().connections_current.load(), 0u);
    EXPECT_EQ(a.budget().node_held_atomic(), 0u);
    dialled.clear();
    pool.stop();
  }
}

// The node's shutdown with a dial in flight on a network thread: the host
// shuts down, the pool stops with the dial waiting for an answer that never
// comes, then the hosts, the host's io_context and the pool go, in the
// node's order. Nothing of one context may outlive it (ASan checks).
TEST(NetworkThreads, ClosingWithADialInFlightOnANetworkThreadEndsCleanly) {
  net::ContextPool pool(1);
  asio::io_context io;
  // Accepts and says nothing: the dial waits in multistream-select.
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::optional<asio::ip::tcp::socket> held;
  silent.async_accept([&](std::error_code ec, asio::ip::tcp::socket s) {
    if (!ec) held.emplace(std::move(s));
  });
  {
    Host a(io.get_executor(), test::loopback_config(), Ed25519KeyPair::generate(),
           pool.executors());
    const auto target = Multiaddr::ip_tcp("127.0.0.1", silent.local_endpoint().port());
    asio::co_spawn(io, a.dial(target), asio::detached);
    test::run_in(io, until([&] { return held.has_value(); }));
    ASSERT_TRUE(held.has_value());
    a.shutdown();
    pool.stop();
  }
}

}  // namespace
}  // namespace mp::host
