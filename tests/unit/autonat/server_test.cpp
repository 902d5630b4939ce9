// The AutoNAT server glue with two in-process Hosts over loopback TCP: a
// reachable address is dialled back on a new connection from the dial-back
// identity (OK), a closed port gives E_DIAL_ERROR, a malformed request
// E_BAD_REQUEST, and the asker's own connection to us survives it all.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "autonat/server.hpp"
#include "net/buffered_reader.hpp"
#include "ping/ping.hpp"
#include "ping/service.hpp"
#include "support/loopback_host.hpp"

namespace mp::autonat {
namespace {

using namespace std::chrono_literals;

using test::loopback_config;

pb::Message dial_request(const PeerId& id, const Multiaddr& addr) {
  pb::Message m;
  m.set_type(pb::Message::DIAL);
  auto* info = m.mutable_dial()->mutable_peer();
  info->set_id(id.bytes().data(), id.bytes().size());
  info->add_addrs(addr.bytes().data(), addr.bytes().size());
  return m;
}

asio::awaitable<std::optional<pb::Message>> ask(host::Host& client, const Multiaddr& server, Bytes request) {
  auto conn = co_await client.dial(server);
  std::vector<std::string> protos{std::string(kProtocol)};
  auto s = co_await conn->open_stream(std::move(protos));
  co_await net::write_length_prefixed(*s.stream, request);
  co_await s.stream->close_write();
  net::BufferedReader rd(*s.stream);
  auto raw = co_await rd.read_length_prefixed(kMaxMessageSize);
  if (!raw) co_return std::nullopt;
  co_return decode(*raw);
}

struct Outcome {
  std::optional<pb::Message> reachable, reachable_again, unreachable, malformed;
  std::shared_ptr<host::Connection> first_conn, last_conn;
  bool pinged = false;
};

asio::awaitable<void> scenario(host::Host& server, host::Host& client, std::uint16_t closed_port, Outcome& out) {
  const auto saddr = server.listen_addrs().at(0).with_peer_id(server.local_peer());
  out.first_conn = co_await client.dial(saddr);
  // Two dial-backs back to back, then a ping on the connection we asked on
  // (issue 15: a dial-back from the server's own Peer ID broke the next stream).
  out.reachable = co_await ask(client, saddr, encode(dial_request(client.local_peer(), client.listen_addrs().at(0))));
  out.reachable_again =
      co_await ask(client, saddr, encode(dial_request(client.local_peer(), client.listen_addrs().at(0))));
  out.last_conn = co_await client.dial(saddr);
  std::vector<std::string> ping_protocol{std::string(ping::kProtocol)};
  auto ping = co_await out.first_conn->open_stream(std::move(ping_protocol));
  co_await ping::ping_once(*ping.stream);
  out.pinged = true;
  out.unreachable =
      co_await ask(client, saddr, encode(dial_request(client.local_peer(), Multiaddr::ip_tcp("127.0.0.1", closed_port))));
  Bytes garbage{0xff, 0xff, 0xff};
  out.malformed = co_await ask(client, saddr, garbage);
}

TEST(AutonatServer, DialsBackOnNewConnection) {
  asio::io_context io;
  host::Host server(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  host::Host client(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  ping::Service server_ping(server);
  ASSERT_TRUE(server.listen().ok());
  ASSERT_TRUE(client.listen().ok());
  std::size_t inbound_at_client = 0;
  std::size_t inbound_from_server = 0;
  client.events().subscribe([&](const host::Event& e) {
    if (const auto* est = std::get_if<host::ConnectionEstablished>(&e)) {
      if (est->direction == host::Direction::kInbound) {
        ++inbound_at_client;
        inbound_from_server += est->peer == server.local_peer();
      }
    }
  });
  AutonatConfig cfg;
  cfg.allow_private = true;  // everything here is loopback
  AutonatServer autonat(io.get_executor(), server, cfg);
  autonat.install();

  // A port nobody listens on.
  std::uint16_t closed_port = 0;
  {
    asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed_port = a.local_endpoint().port();
  }

  Outcome out;
  bool done = false;
  std::exception_ptr error;
  asio::co_spawn(io, scenario(server, client, closed_port, out), [&](std::exception_ptr e) {
    done = true;
    error = e;
    server.shutdown();
    client.shutdown();
    io.stop();
  });
  io.run_for(30s);
  ASSERT_TRUE(done) << "timed out";
  if (error) std::rethrow_exception(error);

  ASSERT_TRUE(out.reachable);
  EXPECT_EQ(out.reachable->dialresponse().status(), pb::Message::OK) << out.reachable->dialresponse().statustext();
  EXPECT_EQ(Bytes(out.reachable->dialresponse().addr().begin(), out.reachable->dialresponse().addr().end()),
            client.listen_addrs().at(0).bytes());
  ASSERT_TRUE(out.reachable_again);
  EXPECT_EQ(out.reachable_again->dialresponse().status(), pb::Message::OK);
  // Each dial-back was a new connection, from the dial-back identity, never
  // from the server's own Peer ID: the asker's connection stayed the only
  // one to us, open and usable.
  EXPECT_EQ(inbound_at_client, 2u);
  EXPECT_EQ(inbound_from_server, 0u);
  EXPECT_NE(autonat.dial_back_peer(), server.local_peer());
  EXPECT_EQ(out.last_conn, out.first_conn);
  EXPECT_TRUE(out.first_conn->is_open());
  EXPECT_TRUE(out.pinged);
  ASSERT_TRUE(out.unreachable);
  EXPECT_EQ(out.unreachable->dialresponse().status(), pb::Message::E_DIAL_ERROR);
  ASSERT_TRUE(out.malformed);
  EXPECT_EQ(out.malformed->dialresponse().status(), pb::Message::E_BAD_REQUEST);
  EXPECT_EQ(autonat.counters().ok.load(), 2u);
  EXPECT_EQ(autonat.counters().dial_error.load(), 1u);
  EXPECT_EQ(autonat.counters().bad_request.load(), 1u);
}

// After shutdown the dial-back cannot start: E_INTERNAL_ERROR (our failure,
// as v2 answers), counted under internal_error, never as unreachable.
TEST(AutonatServer, InternalErrorWhenTheDialBackCannotStart) {
  asio::io_context io;
  host::Host server(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  host::Host client(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  ASSERT_TRUE(server.listen().ok());
  ASSERT_TRUE(client.listen().ok());
  AutonatConfig cfg;
  cfg.allow_private = true;  // everything here is loopback
  AutonatServer autonat(io.get_executor(), server, cfg);
  autonat.install();
  autonat.shutdown();

  std::optional<pb::Message> reply;
  bool done = false;
  std::exception_ptr error;
  const auto saddr = server.listen_addrs().at(0).with_peer_id(server.local_peer());
  asio::co_spawn(io, ask(client, saddr, encode(dial_request(client.local_peer(), client.listen_addrs().at(0)))),
                 [&](std::exception_ptr e, std::optional<pb::Message> r) {
                   done = true;
                   error = e;
                   reply = std::move(r);
                   server.shutdown();
                   client.shutdown();
                   io.stop();
                 });
  io.run_for(30s);
  ASSERT_TRUE(done) << "timed out";
  if (error) std::rethrow_exception(error);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->dialresponse().status(), pb::Message::E_INTERNAL_ERROR) << reply->dialresponse().statustext();
  const auto& c = autonat.counters();
  EXPECT_EQ(c.internal_error.load(), 1u);
  EXPECT_EQ(c.dial_refused.load() + c.dial_error.load() + c.ok.load() + c.bad_request.load(), 0u);
  EXPECT_NE(metrics_text(c).find("mepassa_autonat_responses_total{status=\"internal_error\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace mp::autonat
