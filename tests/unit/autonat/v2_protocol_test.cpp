// AutoNAT v2 decisions without sockets: which address of a DialRequest we
// dial (one, the first we are willing to), when dial data is owed, how it is
// counted, and the codec against the spec's field numbers.
#include <gtest/gtest.h>

#include "autonat/v2_protocol.hpp"

namespace mp::autonat::v2 {
namespace {

pb::DialRequest request(std::initializer_list<const char*> addrs, std::uint64_t nonce = 7) {
  pb::DialRequest r;
  for (const char* a : addrs) {
    const auto bytes = Multiaddr::parse(a)->bytes();
    r.add_addrs(bytes.data(), bytes.size());
  }
  r.set_nonce(nonce);
  return r;
}

RequestContext ctx(const char* ip = "1.2.3.4") {
  RequestContext c;
  c.observed_ip = ip;
  return c;
}

TEST(AutonatV2Select, FirstDialableAddressOnTheObservedIpNeedsNoData) {
  auto s = select_address(request({"/ip4/1.2.3.4/udp/4001/quic-v1", "/dns4/example.com/tcp/4001",
                                   "/ip4/1.2.3.4/tcp/4001", "/ip4/1.2.3.4/tcp/4002"}),
                          ctx());
  ASSERT_TRUE(std::holds_alternative<Selected>(s));
  const auto& sel = std::get<Selected>(s);
  EXPECT_EQ(sel.index, 2u);  // QUIC and DNS skipped, the first TCP address taken
  EXPECT_EQ(sel.addr.to_string(), "/ip4/1.2.3.4/tcp/4001");
  EXPECT_FALSE(sel.needs_dial_data);
}

TEST(AutonatV2Select, AnotherIpNeedsDialData) {
  auto s = select_address(request({"/ip4/5.6.7.8/tcp/4001"}), ctx());
  ASSERT_TRUE(std::holds_alternative<Selected>(s));
  EXPECT_TRUE(std::get<Selected>(s).needs_dial_data);
  EXPECT_EQ(std::get<Selected>(s).index, 0u);
}

TEST(AutonatV2Select, QuicAddressesWhenWeListenOnQuic) {
  auto c = ctx();
  c.can_dial_quic = true;
  // /webtransport over QUIC and QUIC with port 0 are not QUIC v1 addresses we dial.
  auto s = select_address(request({"/ip4/1.2.3.4/udp/0/quic-v1", "/ip4/1.2.3.4/udp/4001/quic-v1/webtransport",
                                   "/ip4/1.2.3.4/udp/4001/quic-v1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
                                   "/ip4/1.2.3.4/tcp/4001"}),
                          c);
  ASSERT_TRUE(std::holds_alternative<Selected>(s));
  const auto& sel = std::get<Selected>(s);
  EXPECT_EQ(sel.index, 2u);
  EXPECT_EQ(sel.addr.to_string(), "/ip4/1.2.3.4/udp/4001/quic-v1");  // /p2p/ dropped
  EXPECT_FALSE(sel.needs_dial_data);

  auto other = select_address(request({"/ip6/2a00:1450::1/udp/4001/quic-v1"}), [] {
    auto c6 = ctx("2a00:1450::2");
    c6.can_dial_quic = true;
    return c6;
  }());
  ASSERT_TRUE(std::holds_alternative<Selected>(other));
  EXPECT_TRUE(std::get<Selected>(other).needs_dial_data);

  auto priv = select_address(request({"/ip4/127.0.0.1/udp/4001/quic-v1"}), c);
  ASSERT_TRUE(std::holds_alternative<Rejected>(priv));
  EXPECT_EQ(std::get<Rejected>(priv).status, pb::DialResponse::E_DIAL_REFUSED);
}

TEST(AutonatV2Select, QuicRefusedWhenWeDoNotListenOnQuic) {
  auto s = select_address(request({"/ip4/1.2.3.4/udp/4001/quic-v1"}), ctx());
  ASSERT_TRUE(std::holds_alternative<Rejected>(s));
  EXPECT_EQ(std::get<Rejected>(s).status, pb::DialResponse::E_DIAL_REFUSED);
}

TEST(AutonatV2Select, PrivateAddressesOnlyWhenAllowed) {
  auto req = request({"/ip4/10.0.0.1/tcp/4001", "/ip4/127.0.0.1/tcp/4001"});
  auto refused = select_address(req, ctx("127.0.0.1"));
  ASSERT_TRUE(std::holds_alternative<Rejected>(refused));
  EXPECT_EQ(std::get<Rejected>(refused).status, pb::DialResponse::E_DIAL_REFUSED);
  auto c = ctx("127.0.0.1");
  c.allow_private = true;
  auto s = select_address(req, c);
  ASSERT_TRUE(std::holds_alternative<Selected>(s));
  EXPECT_EQ(std::get<Selected>(s).index, 0u);
  EXPECT_TRUE(std::get<Selected>(s).needs_dial_data);  // 10.0.0.1 is not the observed 127.0.0.1
}

TEST(AutonatV2Select, FamiliesWeCannotReachAreSkipped) {
  auto c = ctx();
  c.can_dial_ip6 = false;
  auto s = select_address(request({"/ip6/2606:4700::1111/tcp/4001", "/ip4/1.2.3.4/tcp/4001"}), c);
  ASSERT_TRUE(std::holds_alternative<Selected>(s));
  EXPECT_EQ(std::get<Selected>(s).index, 1u);
  c.can_dial_ip4 = false;
  EXPECT_TRUE(std::holds_alternative<Rejected>(select_address(request({"/ip4/1.2.3.4/tcp/4001"}), c)));
}

TEST(AutonatV2Select, RelayedAndEmptyRequests) {
  auto c = ctx();
  c.relayed = true;
  auto relayed = select_address(request({"/ip4/1.2.3.4/tcp/4001"}), c);
  ASSERT_TRUE(std::holds_alternative<Rejected>(relayed));
  EXPECT_EQ(std::get<Rejected>(relayed).status, pb::DialResponse::E_REQUEST_REJECTED);
  auto empty = select_address(request({}), ctx());
  ASSERT_TRUE(std::holds_alternative<Rejected>(empty));
  EXPECT_EQ(std::get<Rejected>(empty).status, pb::DialResponse::E_DIAL_REFUSED);
  auto circuit = select_address(
      request({"/ip4/1.2.3.4/tcp/4001/p2p-circuit"}), ctx());
  EXPECT_TRUE(std::holds_alternative<Rejected>(circuit));
}

TEST(AutonatV2DialData, CountsOnlyDataAndAllowsOvershoot) {
  DialDataCount count(10'000);
  pb::Message chunk;
  chunk.mutable_dialdataresponse()->set_data(std::string(4096, 'x'));
  EXPECT_TRUE(count.add(chunk));
  EXPECT_TRUE(count.add(chunk));
  EXPECT_FALSE(count.complete());
  EXPECT_TRUE(count.add(chunk));
  EXPECT_TRUE(count.complete());
  EXPECT_EQ(count.received(), 3u * 4096);
  // Anything but dial data in the middle is a protocol violation.
  EXPECT_FALSE(count.add(dial_response(pb::DialResponse::OK)));
}

TEST(AutonatV2Codec, SpecFieldNumbers) {
  // DialResponse{status=OK(200), addrIdx=1, dialStatus=OK(200)} inside Message field 2.
  const Bytes wire = encode(dial_response(pb::DialResponse::OK, 1, pb::OK));
  const Bytes expected{0x12, 0x08, 0x08, 0xc8, 0x01, 0x10, 0x01, 0x18, 0xc8, 0x01};
  EXPECT_EQ(wire, expected);
  // DialDataRequest{addrIdx=0 (default, omitted), numBytes=30000} in field 3.
  EXPECT_EQ(encode(dial_data_request(0, 30'000)), (Bytes{0x1a, 0x04, 0x10, 0xb0, 0xea, 0x01}));
  // DialBack{nonce} is fixed64, field 1.
  EXPECT_EQ(encode(dial_back(1)), (Bytes{0x09, 1, 0, 0, 0, 0, 0, 0, 0}));
  // A DialRequest as js-libp2p sends it decodes, and garbage does not.
  const Bytes req = encode([] {
    pb::Message m;
    *m.mutable_dialrequest() = request({"/ip4/1.2.3.4/tcp/4001"}, 42);
    return m;
  }());
  auto m = decode(req);
  ASSERT_TRUE(m && m->has_dialrequest());
  EXPECT_EQ(m->dialrequest().nonce(), 42u);
  EXPECT_FALSE(decode(Bytes{0xff, 0xff, 0xff}));
  EXPECT_STREQ(response_status_name(pb::DialResponse::E_REQUEST_REJECTED), "request_rejected");
  EXPECT_STREQ(dial_status_name(pb::E_DIAL_BACK_ERROR), "dial_back_error");
}

}  // namespace
}  // namespace mp::autonat::v2
