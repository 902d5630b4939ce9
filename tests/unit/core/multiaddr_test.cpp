#include "core/multiaddr.hpp"

#include <gtest/gtest.h>

#include <random>
#include <unordered_set>

#include "core/peer_id.hpp"

namespace mp {
namespace {

Multiaddr ma(std::string_view text) {
  auto r = Multiaddr::parse(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.message();
  return r.ok() ? r.value() : Multiaddr{};
}

// Text <-> binary vectors. The first three are from go-multiaddr's
// multiaddr_test.go (TestStringToBytes); the rest were produced with
// js-libp2p's @multiformats/multiaddr 13.0.3 (multiaddr(text).bytes).
struct Vector {
  const char* text;
  const char* hex;
};
constexpr Vector kVectors[] = {
    {"/ip4/127.0.0.1/udp/1234", "047f000001910204d2"},
    {"/ip4/127.0.0.1/tcp/4321", "047f0000010610e1"},
    {"/ip4/127.0.0.1/udp/1234/ip4/127.0.0.1/tcp/4321", "047f000001910204d2047f0000010610e1"},
    {"/ip4/127.0.0.1/tcp/4001", "047f000001060fa1"},
    {"/ip6/::1/tcp/4001", "2900000000000000000000000000000001060fa1"},
    {"/ip6zone/x%y/ip6/fe80::1/udp/1234/quic-v1",
     "2a0378257929fe800000000000000000000000000001910204d2cd03"},
    {"/dns4/example.com/tcp/443/wss", "360b6578616d706c652e636f6d0601bbde03"},
    {"/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
     "3813626f6f7473747261702e6c69627032702e696fa50322122006b3608aa000274049eb28ad8e793a26ff6fab2"
     "81a7d3bd77cd18eb745dfaabb"},
    {"/dns6/x.io/tcp/1/tls/sni/x.io/ws", "3704782e696f060001c003c10304782e696fdd03"},
    {"/dns/a.b/udp/1/quic", "3503612e6291020001cc03"},
    {"/ip4/1.2.3.4/tcp/4001/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN/p2p-circuit/p2p/"
     "12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV",
     "0401020304060fa1a50322122006b3608aa000274049eb28ad8e793a26ff6fab281a7d3bd77cd18eb745dfaabba2"
     "02a503260024080112202d3de6d16ae87f7a933fe1552162a2d3f04951e90e8051e4ee2c18f002dd0fb4"},
    {"/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/"
     "uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g/certhash/"
     "uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g",
     "047f000001910204d2cd03d103d203221220c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a396071"
     "4caef0c4f2d203221220c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"},
    {"/ip4/1.2.3.4/udp/1/webrtc-direct/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g",
     "0401020304910200019802d203221220c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef"
     "0c4f2"},
    {"/ip4/1.2.3.4/tcp/1/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV/p2p-circuit/"
     "webrtc",
     "0401020304060001a503260024080112202d3de6d16ae87f7a933fe1552162a2d3f04951e90e8051e4ee2c18f00"
     "2dd0fb4a2029902"},
    {"/ip4/1.2.3.4/tcp/80/http", "0401020304060050e003"},
    {"/ip4/1.2.3.4/tcp/443/tls/http", "04010203040601bbc003e003"},
    {"/ip4/1.2.3.4/tcp/1/noise", "0401020304060001c603"},
    {"/ip6/2001:db8::1/tcp/1/https", "2920010db8000000000000000000000001060001bb03"},
};

TEST(Multiaddr, TextBinaryVectors) {
  for (const auto& v : kVectors) {
    const Multiaddr a = ma(v.text);
    EXPECT_EQ(to_hex(a.bytes()), v.hex) << v.text;
    EXPECT_EQ(a.to_string(), v.text);
    auto b = Multiaddr::from_bytes(from_hex(v.hex));
    ASSERT_TRUE(b.ok()) << v.text << ": " << b.message();
    EXPECT_EQ(b->to_string(), v.text);
    EXPECT_EQ(*b, a);
  }
}

// Inputs go-multiaddr accepts ("good" in multiaddr_test.go, for the
// protocols we support), with the text we print for them.
TEST(Multiaddr, GoMultiaddrGoodInputs) {
  struct {
    const char* in;
    const char* out;
  } cases[] = {
      {"/ip4/1.2.3.4", "/ip4/1.2.3.4"},
      {"/ip4/0.0.0.0", "/ip4/0.0.0.0"},
      {"/ip6/::1", "/ip6/::1"},
      {"/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21/udp/1234/quic-v1",
       "/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21/udp/1234/quic-v1"},
      {"/ip6zone/x/ip6/fe80::1", "/ip6zone/x/ip6/fe80::1"},
      {"/ip6zone/x%y/ip6/::", "/ip6zone/x%y/ip6/::"},
      {"/udp/0", "/udp/0"},
      {"/tcp/65535", "/tcp/65535"},
      {"/ipfs/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
       "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC"},
      // CID forms of the same peers (base36 and base32), printed as base58btc.
      {"/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7",
       "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC"},
      {"/p2p/bafzbeigvf25ytwc3akrijfecaotc74udrhcxzh2cx3we5qqnw5vgrei4bm",
       "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC"},
      {"/p2p/k51qzi5uqu5dhb6l8spkdx7yxafegfkee5by8h7lmjh2ehc2sgg34z7c15vzqs",
       "/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV"},
      {"/p2p/bafzaajaiaejcalj543iwv2d7pkjt7ykvefrkfu7qjfi6sduakhso4lay6abn2d5u",
       "/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV"},
      {"/tcp/1234/tls/http", "/tcp/1234/tls/http"},
      {"/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/tcp/1234",
       "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/tcp/1234"},
      {"/ip4/127.0.0.1/tcp/1234/", "/ip4/127.0.0.1/tcp/1234"},
      {"/ip4/127.0.0.1/udp/1234/quic", "/ip4/127.0.0.1/udp/1234/quic"},
      // Same bytes (d50110...), written in base64url (checked with node's Buffer).
      {"/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/b2uaraocy6yrdblb4sfptaddgimjmmpy",
       "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/u1QEQOFj2IjCsPJFfMAxmQxLGPw"},
      {"/ip4/127.0.0.1/tcp/127/tls/ws", "/ip4/127.0.0.1/tcp/127/tls/ws"},
      {"/ip4/127.0.0.1/tcp/127/wss", "/ip4/127.0.0.1/tcp/127/wss"},
      {"/ip4/127.0.0.1/tcp/127/webrtc-direct", "/ip4/127.0.0.1/tcp/127/webrtc-direct"},
      {"/ip4/127.0.0.1/tcp/127/webrtc", "/ip4/127.0.0.1/tcp/127/webrtc"},
      {"/ip6/0:0:0:0:0:0:0:1/tcp/1", "/ip6/::1/tcp/1"},
      {"/ip6/::ffff:1.2.3.4/tcp/1", "/ip6/::ffff:1.2.3.4/tcp/1"},
  };
  for (const auto& c : cases) {
    const Multiaddr a = ma(c.in);
    EXPECT_EQ(a.to_string(), c.out) << c.in;
    // The printed text parses back to the same bytes.
    EXPECT_EQ(ma(a.to_string()), a) << c.in;
  }
}

// Inputs go-multiaddr refuses ("bad" in multiaddr_test.go) plus our own.
TEST(Multiaddr, RejectsBadText) {
  for (const char* bad : {
           "",
           "/",
           "//",
           "ip4/1.2.3.4",
           "/ip4",
           "/ip4/::1",
           "/ip4/fdpsofodsajfdoisa",
           "/ip6",
           "/ip6zone",
           "/ip6zone/",
           "/ip6zone//ip6/fe80::1",
           "/udp",
           "/tcp",
           "/udp/65536",
           "/tcp/65536",
           "/quic/65536",
           "/quic-v1/65536",
           "/ip4/127.0.0.1/udp/jfodsajfidosajfoidsa",
           "/ip4/127.0.0.1/udp",
           "/ip4/127.0.0.1/tcp",
           "/ip4/127.0.0.1/quic/1234",
           "/ip4/127.0.0.1/quic-v1/1234",
           "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash",
           // one character missing from the certhash
           "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/b2uaraocy6yrdblb4sfptaddgimjmmp",
           "/ip4/127.0.0.1/ipfs",
           "/ip4/127.0.0.1/ipfs/tcp",
           "/ip4/127.0.0.1/p2p",
           "/ip4/127.0.0.1/p2p/tcp",
           "/unix",
           "/ip4/1.2.3.4/tcp/80/unix",
           "/ip4/1.2.3.4/tcp/-1",
           "/ip4/127.0.0.1/tcp/9090/http/p2p-webcrt-direct",
           // sha256 multihash with a digest longer than 32 bytes
           "/p2p/QmxoHT6iViN5xAjoz1VZ553cL31U9F94ht3QvWR1FrEbZY",
           "/ip4/1.2.3.4//tcp/1",
           "/ip4/1.2.3.4/tcp/+1",
           "/ip4/01.2.3.4.5",
           "/dns4/",
           "/ip4/1.2.3.4/tcp/00000001",
           "/ip6/1::2::3",
           "/ip6/fe80::1%eth0",
       }) {
    auto r = Multiaddr::parse(bad);
    EXPECT_FALSE(r.ok()) << bad << " parsed as " << r->to_string();
  }
}

TEST(Multiaddr, RejectsBadBytes) {
  for (const char* bad : {
           "",
           "04",              // ip4 without address
           "047f0000",        // short ip4
           "047f00000106",    // tcp short
           "047f0000010610",  // tcp short by one
           "2900",            // short ip6
           "3500",            // empty dns name
           "35056578616d",    // length past the end
           "35012f",          // "/" inside a name
           "350100",          // control character
           "a50300",          // empty p2p
           "a503021220",      // sha256 multihash without digest
           "d2030100",        // certhash not a multihash
           "ff7f",            // unknown code
           "80",              // truncated varint
           "8000",            // non-minimal varint
           "ffffffffffffffffffff01",
           "cc0300",  // trailing byte after quic: 0 is not a protocol we know
       }) {
    auto r = Multiaddr::from_bytes(from_hex(bad));
    EXPECT_FALSE(r.ok()) << bad << " parsed as " << r->to_string();
  }
}

TEST(Multiaddr, PeerIdHelpers) {
  const auto id = *PeerId::parse("12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV");
  const Multiaddr base = ma("/ip4/1.2.3.4/tcp/4001");
  EXPECT_FALSE(base.peer_id().has_value());

  const Multiaddr with = base.with_peer_id(id);
  EXPECT_EQ(with.to_string(),
            "/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV");
  ASSERT_TRUE(with.peer_id().has_value());
  EXPECT_EQ(*with.peer_id(), id);
  EXPECT_EQ(with.with_peer_id(id), with);  // idempotent
  EXPECT_EQ(with.without_peer_id(), base);
  EXPECT_EQ(base.without_peer_id(), base);
  EXPECT_EQ(*with.value_of(Proto::kP2p), id.to_base58());
  EXPECT_EQ(*with.value_of(Proto::kTcp), "4001");
  EXPECT_FALSE(with.value_of(Proto::kUdp).has_value());

  const Multiaddr circuit = with.encapsulate(ma("/p2p-circuit"));
  EXPECT_TRUE(circuit.is_circuit());
  EXPECT_FALSE(with.is_circuit());
  EXPECT_FALSE(circuit.peer_id().has_value());  // trailing component is p2p-circuit
  EXPECT_EQ(circuit.to_string(), with.to_string() + "/p2p-circuit");
  EXPECT_EQ(circuit.bytes(), ma(circuit.to_string()).bytes());
  EXPECT_EQ(*circuit.value_of(Proto::kP2pCircuit), "");
}

TEST(Multiaddr, TcpEndpoint) {
  auto e = ma("/ip4/10.0.0.1/tcp/4001/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC")
               .tcp_endpoint();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->first, "10.0.0.1");
  EXPECT_EQ(e->second, 4001);
  e = ma("/ip6/2001:db8::1/tcp/65535").tcp_endpoint();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->first, "2001:db8::1");
  EXPECT_EQ(e->second, 65535);
  EXPECT_FALSE(ma("/ip4/1.2.3.4/udp/1").tcp_endpoint().has_value());
  EXPECT_FALSE(ma("/dns4/example.com/tcp/1").tcp_endpoint().has_value());
  EXPECT_FALSE(ma("/tcp/1").tcp_endpoint().has_value());
  EXPECT_FALSE(Multiaddr{}.tcp_endpoint().has_value());

  EXPECT_EQ(Multiaddr::ip_tcp("127.0.0.1", 4001).to_string(), "/ip4/127.0.0.1/tcp/4001");
  EXPECT_EQ(Multiaddr::ip_tcp("::1", 80).to_string(), "/ip6/::1/tcp/80");
  EXPECT_TRUE(Multiaddr::ip_tcp("not-an-ip", 80).empty());
}

TEST(Multiaddr, PrivateOrLocal) {
  for (const char* priv : {
           "/ip4/127.0.0.1/tcp/1",
           "/ip4/127.255.0.9",
           "/ip4/10.1.2.3",
           "/ip4/172.16.0.1",
           "/ip4/172.31.255.255",
           "/ip4/192.168.1.1",
           "/ip4/100.64.0.1",
           "/ip4/100.127.255.255",
           "/ip4/169.254.1.1",
           "/ip4/0.0.0.0",
           "/ip4/224.0.0.1",
           "/ip4/255.255.255.255",
           "/ip4/192.0.2.5",
           "/ip4/198.18.0.1",
           "/ip6/::1",
           "/ip6/::",
           "/ip6/fc00::1",
           "/ip6/fd12:3456::1",
           "/ip6/fe80::1",
           "/ip6/febf::1",
           "/ip6/ff02::1",
           "/ip6/2001:db8::1",
           "/ip6/::ffff:10.0.0.1",
           "/ip6/::ffff:127.0.0.1",
           "/ip6zone/eth0/ip6/fe80::1/tcp/1",
           "/ip4/192.168.0.1/tcp/1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/p2p-circuit",
       }) {
    EXPECT_TRUE(ma(priv).is_private_or_local()) << priv;
  }
  for (const char* pub : {
           "/ip4/1.2.3.4/tcp/1",
           "/ip4/8.8.8.8",
           "/ip4/172.15.255.255",
           "/ip4/172.32.0.1",
           "/ip4/100.63.255.255",
           "/ip4/100.128.0.1",
           "/ip4/169.253.1.1",
           "/ip4/192.169.0.1",
           "/ip6/2606:4700::1111",
           "/ip6/::ffff:8.8.8.8",
           "/ip6/2001:4860::8888",
           "/dns4/localhost/tcp/1",
           "/dnsaddr/bootstrap.libp2p.io",
       }) {
    EXPECT_FALSE(ma(pub).is_private_or_local()) << pub;
  }
}

TEST(Multiaddr, EqualityOrderHash) {
  const Multiaddr a = ma("/ip4/127.0.0.1/tcp/1234");
  const Multiaddr b = ma("/ip4/127.0.0.1/tcp/1234/");
  const Multiaddr c = ma("/ip4/127.0.0.1/udp/1234");
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == c);
  EXPECT_TRUE((a < c) != (c < a));
  EXPECT_FALSE(a < b);
  std::unordered_set<Multiaddr> set{a, b, c};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(proto_name(Proto::kP2pCircuit), std::string("p2p-circuit"));
}

TEST(Multiaddr, RandomInputNeverCrashes) {
  std::mt19937 rng(2024);
  const Bytes seed = from_hex(kVectors[10].hex);
  for (int i = 0; i < 30000; ++i) {
    Bytes b;
    if (i % 2 == 0) {
      b.resize(rng() % 48);
      for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    } else {
      b = seed;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int j = 0; j < flips; ++j) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
      if (rng() % 4 == 0) b.resize(rng() % b.size());
    }
    auto r = Multiaddr::from_bytes(b);
    if (r.ok()) {
      // Whatever we accept prints and parses back to the same bytes.
      auto back = Multiaddr::parse(r->to_string());
      ASSERT_TRUE(back.ok()) << to_hex(b) << " -> " << r->to_string() << ": " << back.message();
      EXPECT_EQ(back->bytes(), b);
      (void)r->is_private_or_local();
      (void)r->tcp_endpoint();
      (void)r->peer_id();
    }
  }
  const std::string pieces[] = {
      "/",        "ip4",     "ip6",
      "tcp",      "udp",     "1.2.3.4",
      "::1",      "p2p",     "12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV",
      "65535",    "dns",     "x",
      "certhash", "uEiDDq4", "%",
      "",         "quic-v1", "99999"};
  for (int i = 0; i < 30000; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 8);
    for (int j = 0; j < n; ++j) s += pieces[rng() % std::size(pieces)];
    auto r = Multiaddr::parse(s);
    if (r.ok()) {
      auto back = Multiaddr::from_bytes(r->bytes());
      ASSERT_TRUE(back.ok()) << s;
      EXPECT_EQ(back->to_string(), r->to_string());
    }
  }
}

}  // namespace
}  // namespace mp
