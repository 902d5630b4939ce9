// AutoNAT v1 server decisions: the spec's wire format, and which addresses
// may be dialled back (only the observed IP, plain TCP, never via a relay).
#include <gtest/gtest.h>

#include "autonat/protocol.hpp"
#include "autonat/rate_limiter.hpp"

namespace mp::autonat {
namespace {

using namespace std::chrono_literals;

PeerId peer(const char* seed) {
  return PeerId::from_public_key(Ed25519KeyPair::from_seed_string(seed).public_key());
}

pb::Message dial_request(const PeerId* id, const std::vector<std::string>& addrs) {
  pb::Message m;
  m.set_type(pb::Message::DIAL);
  auto* info = m.mutable_dial()->mutable_peer();
  if (id) info->set_id(id->bytes().data(), id->bytes().size());
  for (const auto& a : addrs) {
    auto ma = Multiaddr::parse(a);
    EXPECT_TRUE(ma) << a;
    info->add_addrs(ma->bytes().data(), ma->bytes().size());
  }
  return m;
}

DialRequestContext ctx_for(const PeerId& p, const char* ip, bool allow_private = false) {
  return DialRequestContext{p, ip, false, allow_private};
}

TEST(AutonatCodec, DialResponseWireFormat) {
  // {type = DIAL_RESPONSE(1), dialResponse{status = E_DIAL_REFUSED(101)}} = 08 01 1a 02 08 65
  EXPECT_EQ(encode(dial_response(pb::Message::E_DIAL_REFUSED, "")), (Bytes{0x08, 0x01, 0x1a, 0x02, 0x08, 0x65}));
  auto a = Multiaddr::parse("/ip4/1.2.3.4/tcp/4001");
  ASSERT_TRUE(a);
  auto m = decode(encode(dial_response(pb::Message::OK, "", &*a)));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->dialresponse().status(), pb::Message::OK);
  EXPECT_EQ(Bytes(m->dialresponse().addr().begin(), m->dialresponse().addr().end()), a->bytes());
  EXPECT_FALSE(decode(Bytes{0x08}));
}

TEST(AutonatPlan, DialsOnlyObservedIpPlainTcp) {
  const auto p = peer("client");
  auto plan = plan_dial(dial_request(&p, {"/ip4/93.184.216.34/tcp/4001", "/ip4/151.101.1.1/tcp/4001",
                                          "/ip4/93.184.216.34/tcp/4002/p2p/" + p.to_base58(),
                                          "/ip4/93.184.216.34/tcp/4003/ws", "/ip4/93.184.216.34/udp/4001/quic-v1",
                                          "/ip4/93.184.216.34/tcp/4001", "/dns4/example.com/tcp/4001"}),
                        ctx_for(p, "93.184.216.34"));
  auto* addrs = std::get_if<std::vector<Multiaddr>>(&plan);
  ASSERT_TRUE(addrs);
  ASSERT_EQ(addrs->size(), 2u);  // 4001 (once) and 4002; not the other IP, ws, quic or dns
  EXPECT_EQ((*addrs)[0].to_string(), "/ip4/93.184.216.34/tcp/4001");
  EXPECT_EQ((*addrs)[1].to_string(), "/ip4/93.184.216.34/tcp/4002");
}

// With QUIC (we listen on it): /udp/N/quic-v1 of the observed IP is dialled
// back too, in the requester's order, /p2p/ dropped; never QUIC on another
// IP, draft-29 /quic, /webtransport, or port 0.
TEST(AutonatPlan, DialsObservedIpQuicWhenWeSpeakIt) {
  const auto p = peer("client");
  auto req = dial_request(&p, {"/ip4/93.184.216.34/udp/4001/quic-v1/p2p/" + p.to_base58(),
                               "/ip4/151.101.1.1/udp/4001/quic-v1", "/ip4/93.184.216.34/udp/4002/quic",
                               "/ip4/93.184.216.34/udp/4003/quic-v1/webtransport",
                               "/ip4/93.184.216.34/udp/0/quic-v1", "/ip4/93.184.216.34/tcp/4001",
                               "/ip4/93.184.216.34/udp/4001/quic-v1"});
  auto ctx = ctx_for(p, "93.184.216.34");
  ctx.can_dial_quic = true;
  auto plan = plan_dial(req, ctx);
  auto* addrs = std::get_if<std::vector<Multiaddr>>(&plan);
  ASSERT_TRUE(addrs);
  ASSERT_EQ(addrs->size(), 2u);
  EXPECT_EQ((*addrs)[0].to_string(), "/ip4/93.184.216.34/udp/4001/quic-v1");
  EXPECT_EQ((*addrs)[1].to_string(), "/ip4/93.184.216.34/tcp/4001");

  // Without QUIC the same request is TCP only; a QUIC-only one is refused.
  ctx.can_dial_quic = false;
  auto tcp_only = plan_dial(req, ctx);
  ASSERT_TRUE(std::holds_alternative<std::vector<Multiaddr>>(tcp_only));
  ASSERT_EQ(std::get<std::vector<Multiaddr>>(tcp_only).size(), 1u);
  auto quic_only = dial_request(&p, {"/ip4/93.184.216.34/udp/4001/quic-v1"});
  EXPECT_TRUE(std::holds_alternative<Refuse>(plan_dial(quic_only, ctx)));
  ctx.can_dial_quic = true;
  EXPECT_TRUE(std::holds_alternative<std::vector<Multiaddr>>(plan_dial(quic_only, ctx)));
  // IPv6 too.
  auto six = dial_request(&p, {"/ip6/2001:db8::1/udp/4001/quic-v1"});
  auto six_ctx = ctx_for(p, "2001:db8::1", true);
  six_ctx.can_dial_quic = true;
  auto six_plan = plan_dial(six, six_ctx);
  ASSERT_TRUE(std::holds_alternative<std::vector<Multiaddr>>(six_plan));
  EXPECT_EQ(std::get<std::vector<Multiaddr>>(six_plan).at(0).to_string(), "/ip6/2001:db8::1/udp/4001/quic-v1");
}

TEST(AutonatPlan, OtherIpOnlyIsRefused) {
  const auto p = peer("client");
  auto plan = plan_dial(dial_request(&p, {"/ip4/151.101.1.1/tcp/4001"}), ctx_for(p, "93.184.216.34"));
  auto* r = std::get_if<Refuse>(&plan);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, pb::Message::E_DIAL_REFUSED);
}

TEST(AutonatPlan, PrivateAddressesNeedAllowPrivate) {
  const auto p = peer("client");
  auto req = dial_request(&p, {"/ip4/127.0.0.1/tcp/4001"});
  auto refused = plan_dial(req, ctx_for(p, "127.0.0.1"));
  ASSERT_TRUE(std::holds_alternative<Refuse>(refused));
  EXPECT_EQ(std::get<Refuse>(refused).status, pb::Message::E_DIAL_REFUSED);
  auto allowed = plan_dial(req, ctx_for(p, "127.0.0.1", true));
  ASSERT_TRUE(std::holds_alternative<std::vector<Multiaddr>>(allowed));
}

TEST(AutonatPlan, BadRequests) {
  const auto p = peer("client");
  const auto other = peer("other");
  // Someone else's id.
  auto r1 = plan_dial(dial_request(&other, {"/ip4/93.184.216.34/tcp/4001"}), ctx_for(p, "93.184.216.34"));
  EXPECT_EQ(std::get<Refuse>(r1).status, pb::Message::E_BAD_REQUEST);
  // No dial at all / wrong type.
  pb::Message empty;
  EXPECT_EQ(std::get<Refuse>(plan_dial(empty, ctx_for(p, "93.184.216.34"))).status, pb::Message::E_BAD_REQUEST);
  pb::Message resp = dial_response(pb::Message::OK, "");
  EXPECT_EQ(std::get<Refuse>(plan_dial(resp, ctx_for(p, "93.184.216.34"))).status, pb::Message::E_BAD_REQUEST);
  // No id is accepted (the connection says who asks).
  auto r2 = plan_dial(dial_request(nullptr, {"/ip4/93.184.216.34/tcp/4001"}), ctx_for(p, "93.184.216.34"));
  EXPECT_TRUE(std::holds_alternative<std::vector<Multiaddr>>(r2));
}

TEST(AutonatPlan, RelayedRequestsAreRefused) {
  const auto p = peer("client");
  DialRequestContext c = ctx_for(p, "93.184.216.34");
  c.relayed = true;
  auto r = plan_dial(dial_request(&p, {"/ip4/93.184.216.34/tcp/4001"}), c);
  EXPECT_EQ(std::get<Refuse>(r).status, pb::Message::E_DIAL_REFUSED);
}

TEST(AutonatPlan, AtMostMaxDialAddrs) {
  const auto p = peer("client");
  std::vector<std::string> many;
  for (int port = 5000; port < 5010; ++port) many.push_back("/ip4/93.184.216.34/tcp/" + std::to_string(port));
  auto plan = plan_dial(dial_request(&p, many), ctx_for(p, "93.184.216.34"));
  EXPECT_EQ(std::get<std::vector<Multiaddr>>(plan).size(), kMaxDialAddrs);
}

TEST(AutonatRateLimiter, PerPeerAndGlobalPerWindow) {
  RateLimiter rl({/*per_peer=*/2, /*global=*/3, /*window=*/60s});
  const auto t0 = RateLimiter::Clock::time_point{} + 1000s;
  const auto a = peer("a"), b = peer("b"), c = peer("c");
  EXPECT_TRUE(rl.allow(a, t0));
  EXPECT_TRUE(rl.allow(a, t0 + 1s));
  EXPECT_FALSE(rl.allow(a, t0 + 2s));  // per peer
  EXPECT_TRUE(rl.allow(b, t0 + 3s));
  EXPECT_FALSE(rl.allow(c, t0 + 4s));  // global
  EXPECT_TRUE(rl.allow(a, t0 + 61s));  // next window
  EXPECT_TRUE(rl.allow(c, t0 + 62s));
}

}  // namespace
}  // namespace mp::autonat
