// The hop service glue with three in-process Hosts over loopback TCP: a
// target reserves (and gets a voucher naming it), a source CONNECTs to it,
// the relay opens the stop stream with the initiator and the Limit, and bytes
// flow both ways through the circuit. Refusals use the spec's statuses.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "host/host.hpp"
#include "net/buffered_reader.hpp"
#include "relay/relay.hpp"
#include "relay/voucher.hpp"
#include "support/loopback_host.hpp"

namespace mp::relay {
namespace {

using namespace std::chrono_literals;

using test::loopback_config;

struct StopSeen {
  std::optional<PeerId> initiator;
  std::uint64_t limit_data = 0;
  std::string payload;
};

asio::awaitable<void> serve_stop(host::StreamContext ctx, StopSeen* seen) {
  net::BufferedReader rd(*ctx.stream);
  auto raw = co_await rd.read_length_prefixed(kMaxMessageSize);
  auto m = decode_stop(*raw);
  if (m && m->has_peer()) {
    auto id = PeerId::from_bytes(as_bytes(m->peer().id()));
    if (id) seen->initiator = *id;
    seen->limit_data = m->limit().data();
  }
  pb::StopMessage ok;
  ok.set_type(pb::StopMessage::STATUS);
  ok.set_status(pb::OK);
  co_await net::write_length_prefixed(*ctx.stream, encode(ok));
  std::string got(as_string(rd.buffered()));
  rd.consume(got.size());
  Bytes buf(1024);
  for (;;) {
    const std::size_t n = co_await ctx.stream->read_some(buf);
    if (n == 0) break;
    got.append(reinterpret_cast<const char*>(buf.data()), n);
  }
  seen->payload = got;
  const std::string pong = "pong";
  co_await ctx.stream->write(as_bytes(pong));
  co_await ctx.stream->close_write();
}

pb::HopMessage reserve_msg() {
  pb::HopMessage m;
  m.set_type(pb::HopMessage::RESERVE);
  return m;
}

pb::HopMessage connect_msg(const PeerId& to) {
  pb::HopMessage m;
  m.set_type(pb::HopMessage::CONNECT);
  m.mutable_peer()->set_id(to.bytes().data(), to.bytes().size());
  return m;
}

struct HopCall {
  host::NegotiatedStream stream;
  std::optional<pb::HopMessage> reply;
};

asio::awaitable<HopCall> hop(host::Host& from, const Multiaddr& relay_addr, pb::HopMessage msg) {
  auto conn = co_await from.dial(relay_addr);
  std::vector<std::string> protos{std::string(kHopProtocol)};
  HopCall call;
  call.stream = co_await conn->open_stream(std::move(protos));
  co_await net::write_length_prefixed(*call.stream.stream, encode(msg));
  net::BufferedReader rd(*call.stream.stream);
  auto raw = co_await rd.read_length_prefixed(kMaxMessageSize);
  if (raw) call.reply = decode_hop(*raw);
  co_return call;
}

struct Outcome {
  std::optional<pb::HopMessage> reserve, connect, no_reservation, to_self, over_cap;
  std::string back;
};

asio::awaitable<void> scenario(host::Host& r, host::Host& t, host::Host& s, host::Host& extra, Outcome& out) {
  const auto raddr = r.listen_addrs().at(0).with_peer_id(r.local_peer());
  auto reserved = co_await hop(t, raddr, reserve_msg());
  out.reserve = reserved.reply;
  // Cap is one reservation: the extra host is refused.
  out.over_cap = (co_await hop(extra, raddr, reserve_msg())).reply;
  out.no_reservation = (co_await hop(s, raddr, connect_msg(extra.local_peer()))).reply;
  out.to_self = (co_await hop(s, raddr, connect_msg(r.local_peer()))).reply;

  auto circuit = co_await hop(s, raddr, connect_msg(t.local_peer()));
  out.connect = circuit.reply;
  if (!out.connect || out.connect->status() != pb::OK) co_return;
  const std::string ping = "ping through the relay";
  co_await circuit.stream.stream->write(as_bytes(ping));
  co_await circuit.stream.stream->close_write();
  Bytes buf(1024);
  for (;;) {
    const std::size_t n = co_await circuit.stream.stream->read_some(buf);
    if (n == 0) break;
    out.back.append(reinterpret_cast<const char*>(buf.data()), n);
  }
}

TEST(HopService, ReserveConnectAndRelayBytes) {
  asio::io_context io;
  const auto relay_key = Ed25519KeyPair::generate();
  host::Host r(io.get_executor(), loopback_config(), relay_key);
  host::Host t(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  host::Host s(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  host::Host extra(io.get_executor(), loopback_config(), Ed25519KeyPair::generate());
  for (auto* h : {&r, &t, &s, &extra}) ASSERT_TRUE(h->listen().ok());
  RelayLimits limits;
  limits.max_reservations = 1;
  limits.circuit = CircuitLimit{std::chrono::seconds(60), 4096};
  Relay relay(io.get_executor(), r, relay_key, limits);
  relay.install();
  StopSeen seen;
  t.set_handler(std::string(kStopProtocol), [&seen](host::StreamContext ctx) { return serve_stop(std::move(ctx), &seen); });

  Outcome out;
  bool done = false;
  std::exception_ptr error;
  asio::co_spawn(io, scenario(r, t, s, extra, out), [&](std::exception_ptr e) {
    done = true;
    error = e;
    relay.stop();
    for (auto* h : {&r, &t, &s, &extra}) h->shutdown();
    io.stop();
  });
  io.run_for(20s);
  ASSERT_TRUE(done) << "timed out";
  if (error) std::rethrow_exception(error);

  ASSERT_TRUE(out.reserve);
  EXPECT_EQ(out.reserve->status(), pb::OK);
  ASSERT_TRUE(out.reserve->has_reservation());
  auto voucher = open_voucher(as_bytes(out.reserve->reservation().voucher()));
  ASSERT_TRUE(voucher) << voucher.message();
  EXPECT_EQ(voucher->relay, r.local_peer());
  EXPECT_EQ(voucher->peer, t.local_peer());
  EXPECT_EQ(voucher->expiration, out.reserve->reservation().expire());
  ASSERT_GE(out.reserve->reservation().addrs_size(), 1);
  auto first = Multiaddr::from_bytes(as_bytes(out.reserve->reservation().addrs(0)));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->peer_id(), r.local_peer());

  ASSERT_TRUE(out.over_cap);
  EXPECT_EQ(out.over_cap->status(), pb::RESERVATION_REFUSED);
  ASSERT_TRUE(out.no_reservation);
  EXPECT_EQ(out.no_reservation->status(), pb::NO_RESERVATION);
  ASSERT_TRUE(out.to_self);
  EXPECT_EQ(out.to_self->status(), pb::PERMISSION_DENIED);

  ASSERT_TRUE(out.connect);
  EXPECT_EQ(out.connect->status(), pb::OK);
  EXPECT_EQ(out.connect->limit().data(), 4096u);
  EXPECT_EQ(seen.initiator, s.local_peer());
  EXPECT_EQ(seen.limit_data, 4096u);
  EXPECT_EQ(seen.payload, "ping through the relay");
  EXPECT_EQ(out.back, "pong");
  const auto& c = relay.counters();
  EXPECT_EQ(c.bytes_relayed.load(), 22u + 4u);
  EXPECT_EQ(c.circuits_accepted.load(), 1u);
  EXPECT_EQ(c.refusals[static_cast<std::size_t>(Refusal::kNoReservation)].load(), 1u);
  EXPECT_EQ(c.refusals[static_cast<std::size_t>(Refusal::kPermissionDenied)].load(), 1u);
  EXPECT_EQ(c.refusals[static_cast<std::size_t>(Refusal::kReservationRefused)].load(), 1u);
}

}  // namespace
}  // namespace mp::relay
