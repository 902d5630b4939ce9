#include "core/peer_id.hpp"

#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <unordered_set>

#include "core/hash.hpp"
#include "spec_key_vectors.hpp"

namespace mp {
namespace {

namespace tv = test_vectors;

Bytes hex(std::string_view h) {
  return from_hex(h);
}

PublicKey key(const char* pb_hex) {
  auto k = PublicKey::from_protobuf(hex(pb_hex));
  EXPECT_TRUE(k.ok()) << k.message();
  return k.ok() ? k.value() : PublicKey{};
}

// Expected Peer IDs of the peer-ids.md test-vector keys, computed with
// js-libp2p (peerIdFromPublicKey(publicKeyFromProtobuf(bytes)), both text
// forms). js-libp2p 3.x could not read the ECDSA vector; that ID is
// base58btc(0x12 0x20 || sha256(encoding)) computed with node:crypto.
TEST(PeerId, SpecVectorKeys) {
  struct Case {
    const char* pub;
    const char* base58;
    const char* cid;
  } cases[] = {
      {tv::kEd25519Public, "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq",
       "bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6"},
      {tv::kSecp256k1Public, "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY",
       "bafzaajiiaijcca3xo7uzjzcsyilaj6i54cj44qk7kqzpoao5rti2pjx6udtdbp6kte"},
      {tv::kRsaPublic, "QmaeANgBs1DTSxWSrPPtobgQuxW8XTfsS4ydbK4rCHzqxG",
       "bafzbeifwzcumbiyql7bhv7fe7mixg6i7aohegq75k234m63bnw6dbicmzu"},
      {tv::kEcdsaPublic, "QmVMT29id3TUASyfZZ6k9hmNyc2nYabCo4uMSpDw4zrgDk", nullptr},
  };
  for (const auto& c : cases) {
    const PublicKey k = key(c.pub);
    const PeerId id = PeerId::from_public_key(k);
    EXPECT_EQ(id.to_base58(), c.base58);
    if (c.cid != nullptr) {
      EXPECT_EQ(id.to_cid(), c.cid);
    }
    EXPECT_TRUE(id.matches(k));

    auto from_b58 = PeerId::parse(c.base58);
    ASSERT_TRUE(from_b58.ok()) << from_b58.message();
    EXPECT_EQ(*from_b58, id);
    auto from_cid = PeerId::parse(id.to_cid());
    ASSERT_TRUE(from_cid.ok()) << from_cid.message();
    EXPECT_EQ(*from_cid, id);
  }
}

TEST(PeerId, IdentityVersusSha256) {
  const PeerId ed = PeerId::from_public_key(key(tv::kEd25519Public));
  // 36-byte encoding <= 42: identity multihash (0x00, length, key).
  EXPECT_EQ(
      to_hex(ed.bytes()),
      "0024" +
          std::string("080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"));
  auto extracted = ed.extract_public_key();
  ASSERT_TRUE(extracted.has_value());
  EXPECT_EQ(extracted->to_protobuf(), hex(tv::kEd25519Public));

  const PeerId rsa = PeerId::from_public_key(key(tv::kRsaPublic));
  const Sha256Digest d = sha256(hex(tv::kRsaPublic));
  EXPECT_EQ(to_hex(rsa.bytes()), "1220" + to_hex(d));
  EXPECT_FALSE(rsa.extract_public_key().has_value());
  EXPECT_FALSE(rsa.matches(key(tv::kEd25519Public)));
}

TEST(PeerId, SpecExamples) {
  // peer-ids.md "String representation": the same sha256 peer in both forms.
  auto a = PeerId::parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");
  auto b = PeerId::parse("bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe");
  ASSERT_TRUE(a.ok()) << a.message();
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(to_hex(a->bytes()),
            "12209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9");
  EXPECT_EQ(b->to_base58(), "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");
  EXPECT_EQ(a->to_cid(), "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe");

  auto ed = PeerId::parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
  ASSERT_TRUE(ed.ok()) << ed.message();
  EXPECT_EQ(to_hex(ed->bytes()),
            "0024080112202ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4df38dc613ea859c37eb1336b");
  EXPECT_EQ(ed->to_string(), "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
  EXPECT_EQ(ed->to_cid(), "bafzaajaiaejcal72gwuz2or47oyxxn6b3rkwdmmkrxgkjxzy3rqt5kczyn7lcm3l");
  auto pk = ed->extract_public_key();
  ASSERT_TRUE(pk.has_value());
  EXPECT_EQ(pk->type(), KeyType::kEd25519);
  EXPECT_TRUE(ed->matches(*pk));
}

TEST(PeerId, ParseRejects) {
  for (const char* bad : {
           "",
           "Qm",                                                          // empty multihash
           "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5",               // truncated
           "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N1",             // trailing
           "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx50",              // '0' not base58
           "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5S",         // truncated identity
           "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqx",  // truncated CID
           // CIDv1 dag-pb (0x70) rather than libp2p-key: a file, not a peer.
           "bafybeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe",
           "xyz",
           "/ip4/1.2.3.4",
       }) {
    EXPECT_FALSE(PeerId::parse(bad).ok()) << bad;
  }
  EXPECT_FALSE(PeerId::parse(std::string(10000, '1')).ok());
}

TEST(PeerId, FromBytesValidatesMultihash) {
  EXPECT_FALSE(PeerId::from_bytes({}).ok());
  EXPECT_FALSE(PeerId::from_bytes(hex("1220")).ok());                         // no digest
  EXPECT_FALSE(PeerId::from_bytes(hex("1210" + std::string(32, 'a'))).ok());  // 16-byte sha256
  EXPECT_FALSE(PeerId::from_bytes(hex("1320" + std::string(64, 'a'))).ok());  // sha512 code
  EXPECT_FALSE(PeerId::from_bytes(hex("002b" + std::string(86, 'a'))).ok());  // identity > 42
  EXPECT_TRUE(PeerId::from_bytes(hex("1220" + std::string(64, 'a'))).ok());
  EXPECT_TRUE(PeerId::from_bytes(hex("0003010203")).ok());
}

TEST(PeerId, HashAndOrder) {
  std::unordered_set<PeerId> set;
  const auto k1 = Ed25519KeyPair::generate(), k2 = Ed25519KeyPair::generate();
  const PeerId a = PeerId::from_public_key(k1.public_key());
  const PeerId b = PeerId::from_public_key(k2.public_key());
  set.insert(a);
  set.insert(b);
  set.insert(a);
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains(*PeerId::parse(a.to_base58())));
  EXPECT_TRUE((a < b) != (b < a));
  EXPECT_TRUE(PeerId{}.empty());
  EXPECT_FALSE(PeerId{}.matches(k1.public_key()));
}

TEST(PeerId, RandomTextAndBytesNeverCrash) {
  std::mt19937 rng(99);
  const std::string chars = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0OIl=/+-_";
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 80, ' ');
    for (auto& c : s) c = chars[rng() % chars.size()];
    if (i % 3 == 0 && !s.empty()) s[0] = 'b';
    if (i % 3 == 1 && s.size() > 1) s[0] = 'Q', s[1] = 'm';
    auto r = PeerId::parse(s);
    if (r.ok()) {
      EXPECT_EQ(*PeerId::parse(r->to_base58()), *r);
      (void)r->extract_public_key();
    }
    Bytes b(rng() % 50);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (i % 2 == 0 && b.size() >= 2) b[0] = 0, b[1] = static_cast<std::uint8_t>(b.size() - 2);
    auto p = PeerId::from_bytes(b);
    if (p.ok()) (void)p->extract_public_key();
  }
}

}  // namespace
}  // namespace mp

namespace mp {
namespace {

// FIPS 180-2 examples, and the same digest from several threads (each has
// its own reused context).
TEST(Sha256, KnownAnswersOnEveryThread) {
  auto hex = [](const Sha256Digest& d) { return to_hex(BytesView(d.data(), d.size())); };
  auto check = [&] {
    EXPECT_EQ(hex(sha256(BytesView{})),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hex(sha256(as_bytes("abc"))),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex(sha256(as_bytes("abc"))),  // the reused context starts afresh
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  };
  check();
  std::thread t(check);
  t.join();
}

}  // namespace
}  // namespace mp
