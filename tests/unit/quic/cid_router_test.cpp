#include "quic/cid_router.hpp"

#include <gtest/gtest.h>

#include "quic/address.hpp"

namespace mp::quic {
namespace {

// A QUIC v1 long header (Initial) with the given connection IDs; the rest of
// the packet is not looked at by the router.
Bytes long_header(const std::string& dcid, const std::string& scid, std::uint32_t version = 1) {
  Bytes b{0xc0};
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(version >> shift));
  b.push_back(static_cast<std::uint8_t>(dcid.size()));
  b.insert(b.end(), dcid.begin(), dcid.end());
  b.push_back(static_cast<std::uint8_t>(scid.size()));
  b.insert(b.end(), scid.begin(), scid.end());
  b.resize(1200, 0);
  return b;
}

TEST(QuicParseHeader, LongHeaderGivesVersionAndBothIds) {
  const std::string dcid(8, 'd'), scid(5, 's');
  auto h = parse_header(long_header(dcid, scid));
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->long_header);
  EXPECT_EQ(h->version, 1u);
  EXPECT_EQ(h->dcid, dcid);
  EXPECT_EQ(h->scid, scid);
}

TEST(QuicParseHeader, ShortHeaderTakesOurIdLength) {
  Bytes b{0x40};
  const std::string dcid(kCidLength, 'x');
  b.insert(b.end(), dcid.begin(), dcid.end());
  b.resize(40, 0);
  auto h = parse_header(b);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->long_header);
  EXPECT_EQ(h->dcid, dcid);
}

TEST(QuicParseHeader, RefusesGarbage) {
  EXPECT_FALSE(parse_header(Bytes{}));
  EXPECT_FALSE(parse_header(Bytes{0x40, 1, 2}));  // shorter than our ID
  Bytes too_long_cid = long_header(std::string(21, 'd'), "s");
  EXPECT_FALSE(parse_header(too_long_cid));        // RFC 9000: IDs are at most 20 bytes
  Bytes truncated{0xc0, 0, 0, 0, 1, 20, 1, 2};
  EXPECT_FALSE(parse_header(truncated));
}

TEST(QuicParseHeader, OtherVersionsStillRouteByIds) {
  auto h = parse_header(long_header("abcdefgh", "s", 0xff00001d));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->version, 0xff00001du);
  EXPECT_EQ(h->dcid, "abcdefgh");
}

TEST(QuicCidRouter, RoutesEveryIdOfAConnectionAndForgetsThemTogether) {
  CidRouter r;
  EXPECT_TRUE(r.add("orig", 1));
  EXPECT_TRUE(r.add("ours-1", 1));
  EXPECT_TRUE(r.add("ours-2", 1));
  EXPECT_TRUE(r.add("other", 2));
  EXPECT_FALSE(r.add("other", 1));  // an ID in use is never taken over
  EXPECT_EQ(r.find("ours-2"), 1u);
  EXPECT_EQ(r.find("other"), 2u);
  r.remove("ours-1");
  EXPECT_FALSE(r.find("ours-1"));
  r.remove_all(1);
  EXPECT_FALSE(r.find("orig"));
  EXPECT_FALSE(r.find("ours-2"));
  EXPECT_EQ(r.find("other"), 2u);
  EXPECT_EQ(r.size(), 1u);
  r.remove_all(2);
  EXPECT_EQ(r.size(), 0u);
}

TEST(QuicAddress, ParsesQuicV1OnlyAndWritesItBack) {
  auto ma = Multiaddr::parse("/ip4/127.0.0.1/udp/4001/quic-v1");
  ASSERT_TRUE(ma);
  auto ep = quic_endpoint(*ma);
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->first, "127.0.0.1");
  EXPECT_EQ(ep->second, 4001);
  EXPECT_EQ(quic_multiaddr("::1", 9).to_string(), "/ip6/::1/udp/9/quic-v1");
  EXPECT_FALSE(is_quic(*Multiaddr::parse("/ip4/127.0.0.1/tcp/4001")));
  EXPECT_FALSE(is_quic(*Multiaddr::parse("/ip4/127.0.0.1/udp/4001/quic")));
  EXPECT_TRUE(is_quic(*Multiaddr::parse(
      "/ip4/1.2.3.4/udp/1/quic-v1/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA")));
}

}  // namespace
}  // namespace mp::quic
