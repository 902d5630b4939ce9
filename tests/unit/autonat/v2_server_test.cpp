// The AutoNAT v2 server glue with two in-process Hosts over loopback TCP:
// E_INTERNAL_ERROR, the one response status no client can cause. It is
// answered when the dial-back cannot even be started, which is the case once
// the dial-backs are shut down (node shutdown): the client must not be told
// its address is unreachable (E_DIAL_ERROR) for a dial we never made.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include "autonat/server.hpp"
#include "autonat/v2_protocol.hpp"
#include "net/buffered_reader.hpp"
#include "support/loopback_host.hpp"

namespace mp::autonat::v2 {
namespace {

using namespace std::chrono_literals;

asio::awaitable<std::optional<pb::Message>> ask(host::Host& client, const Multiaddr& server, const Multiaddr& addr) {
  auto conn = co_await client.dial(server);
  std::vector<std::string> protos{std::string(kDialRequestProtocol)};
  auto s = co_await conn->open_stream(std::move(protos));
  pb::Message m;
  const auto bytes = addr.bytes();
  m.mutable_dialrequest()->add_addrs(bytes.data(), bytes.size());
  m.mutable_dialrequest()->set_nonce(42);
  co_await net::write_length_prefixed(*s.stream, encode(m));
  net::BufferedReader rd(*s.stream);
  auto raw = co_await rd.read_length_prefixed(kMaxMessageSize);
  if (!raw) co_return std::nullopt;
  co_return decode(*raw);
}

TEST(AutonatV2Server, InternalErrorWhenTheDialBackCannotStart) {
  asio::io_context io;
  host::Host server(io.get_executor(), test::loopback_config(), Ed25519KeyPair::generate());
  host::Host client(io.get_executor(), test::loopback_config(), Ed25519KeyPair::generate());
  ASSERT_TRUE(server.listen().ok());
  ASSERT_TRUE(client.listen().ok());
  std::size_t inbound_at_client = 0;
  client.events().subscribe([&](const host::Event& e) {
    if (const auto* est = std::get_if<host::ConnectionEstablished>(&e)) {
      inbound_at_client += est->direction == host::Direction::kInbound;
    }
  });
  AutonatConfig cfg;
  cfg.allow_private = true;  // everything here is loopback
  AutonatServer autonat(io.get_executor(), server, cfg);
  autonat.install();
  autonat.shutdown();  // the dial-backs stop; the server still answers

  std::optional<pb::Message> reply;
  bool done = false;
  std::exception_ptr error;
  const auto saddr = server.listen_addrs().at(0).with_peer_id(server.local_peer());
  // The client's own listen address on its observed IP: selected, no dial data.
  asio::co_spawn(io, ask(client, saddr, client.listen_addrs().at(0)),
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
  ASSERT_TRUE(reply->has_dialresponse());
  EXPECT_EQ(reply->dialresponse().status(), pb::DialResponse::E_INTERNAL_ERROR);
  EXPECT_EQ(reply->dialresponse().addridx(), 0u);
  EXPECT_EQ(reply->dialresponse().dialstatus(), pb::UNUSED);
  EXPECT_EQ(inbound_at_client, 0u);  // nothing was dialled
  const auto& c = autonat.v2_counters();
  EXPECT_EQ(c.internal_error.load(), 1u);
  EXPECT_EQ(c.ok.load() + c.dial_error.load() + c.dial_back_error.load(), 0u);
  EXPECT_NE(metrics_text(c).find("mepassa_autonat_v2_responses_total{status=\"internal_error\"} 1\n"),
            std::string::npos)
      << metrics_text(c);
}

}  // namespace
}  // namespace mp::autonat::v2
