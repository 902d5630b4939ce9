// Circuit Relay v2 codec: messages round-trip with the spec's field numbers,
// missing required fields are malformed, and the relay's answers carry what
// the spec says they must.
#include <gtest/gtest.h>

#include "core/multiaddr.hpp"
#include "relay/protocol.hpp"

namespace mp::relay {
namespace {

TEST(RelayCodec, ReserveRequestFromSpecBytes) {
  // HopMessage{type = RESERVE}: field 1 varint 0, as js/go clients send it.
  const Bytes wire{0x08, 0x00};
  auto m = decode_hop(wire);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type(), pb::HopMessage::RESERVE);
  EXPECT_FALSE(m->has_peer());
}

TEST(RelayCodec, MissingRequiredTypeIsMalformed) {
  EXPECT_FALSE(decode_hop(Bytes{}));                       // no type
  EXPECT_FALSE(decode_hop(Bytes{0x12, 0x00}));             // peer{} only: no type, and peer lacks id
  EXPECT_FALSE(decode_hop(Bytes{0x08, 0x01, 0x12, 0x00}));  // CONNECT with peer{} lacking its required id
  EXPECT_FALSE(decode_hop(Bytes{0x08}));                    // truncated
  EXPECT_FALSE(decode_hop(Bytes{0xff, 0xff, 0xff}));        // garbage
}

TEST(RelayCodec, ConnectCarriesPeerId) {
  auto id = PeerId::parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
  ASSERT_TRUE(id);
  pb::HopMessage m;
  m.set_type(pb::HopMessage::CONNECT);
  m.mutable_peer()->set_id(id->bytes().data(), id->bytes().size());
  const Bytes wire = encode(m);
  EXPECT_EQ(wire[0], 0x08);  // field 1, varint
  EXPECT_EQ(wire[1], 0x01);  // CONNECT
  EXPECT_EQ(wire[2], 0x12);  // field 2, length-delimited
  auto back = decode_hop(wire);
  ASSERT_TRUE(back);
  EXPECT_EQ(as_bytes(back->peer().id()).size(), id->bytes().size());
}

TEST(RelayCodec, StatusRefusalIsTypeAndStatusOnly) {
  // STATUS = 2 (field 1), RESOURCE_LIMIT_EXCEEDED = 201 (field 5: 0x28, varint 0xc9 0x01).
  const Bytes wire = encode(hop_status(pb::RESOURCE_LIMIT_EXCEEDED));
  EXPECT_EQ(wire, (Bytes{0x08, 0x02, 0x28, 0xc9, 0x01}));
  EXPECT_STREQ(status_name(pb::NO_RESERVATION), "NO_RESERVATION");
}

TEST(RelayCodec, ReservationOkCarriesExpireAddrsVoucherAndLimit) {
  auto addr = Multiaddr::parse("/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
  ASSERT_TRUE(addr);
  std::vector<Multiaddr> addrs{*addr};
  const Bytes voucher{1, 2, 3};
  CircuitLimit limit{std::chrono::seconds(120), 1'000'000};
  auto m = decode_hop(encode(hop_reservation_ok(1'700'000'000, addrs, voucher, limit)));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type(), pb::HopMessage::STATUS);
  EXPECT_EQ(m->status(), pb::OK);
  EXPECT_EQ(m->reservation().expire(), 1'700'000'000u);
  ASSERT_EQ(m->reservation().addrs_size(), 1);
  EXPECT_EQ(Bytes(m->reservation().addrs(0).begin(), m->reservation().addrs(0).end()), addr->bytes());
  EXPECT_EQ(m->reservation().voucher(), std::string("\x01\x02\x03"));
  EXPECT_EQ(m->limit().duration(), 120u);
  EXPECT_EQ(m->limit().data(), 1'000'000u);
}

TEST(RelayCodec, StopConnectNamesInitiatorAndLimit) {
  auto id = PeerId::parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
  ASSERT_TRUE(id);
  CircuitLimit limit{std::chrono::seconds(5), 42};
  auto m = decode_stop(encode(stop_connect(*id, limit)));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type(), pb::StopMessage::CONNECT);
  EXPECT_EQ(Bytes(m->peer().id().begin(), m->peer().id().end()), id->bytes());
  EXPECT_EQ(m->limit().duration(), 5u);
  EXPECT_EQ(m->limit().data(), 42u);
  // A target's STATUS OK answer: {type = STATUS(1), status = OK(100)} = 08 01 20 64.
  auto ok = decode_stop(Bytes{0x08, 0x01, 0x20, 0x64});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status(), pb::OK);
}

TEST(RelayCodec, NoLimitsMeansNoLimitField) {
  const CircuitLimit none{std::chrono::seconds(0), 0};
  EXPECT_FALSE(decode_hop(encode(hop_connect_ok(none)))->has_limit());
  auto id = PeerId::parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
  ASSERT_TRUE(id);
  EXPECT_FALSE(decode_stop(encode(stop_connect(*id, none)))->has_limit());
  EXPECT_TRUE(decode_hop(encode(hop_connect_ok(CircuitLimit{std::chrono::seconds(0), 5})))->has_limit());
}

}  // namespace
}  // namespace mp::relay
