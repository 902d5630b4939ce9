// The "unreachable twice" rule without sockets: one failure is forgiven, the
// second in a row removes the peer, a connection forgives, peers are counted
// apart, and nothing is kept for a peer once it is removed or reached.
#include "kad/dial_failures.hpp"

#include <gtest/gtest.h>

#include "core/keys.hpp"

namespace mp::kad {
namespace {

PeerId some_peer() { return PeerId::from_public_key(Ed25519KeyPair::generate().public_key()); }

TEST(DialFailures, TheSecondFailureInARowRemovesThePeer) {
  DialFailures f;
  const PeerId p = some_peer();
  EXPECT_FALSE(f.failed(p));
  EXPECT_EQ(f.size(), 1u);
  EXPECT_TRUE(f.failed(p));
  EXPECT_EQ(f.size(), 0u);  // forgotten once removed
  // A peer that comes back starts again from one forgiven failure.
  EXPECT_FALSE(f.failed(p));
}

TEST(DialFailures, AConnectionForgivesEarlierFailures) {
  DialFailures f;
  const PeerId p = some_peer();
  EXPECT_FALSE(f.failed(p));
  f.reached(p);
  EXPECT_EQ(f.size(), 0u);
  EXPECT_FALSE(f.failed(p));  // not "twice in a row"
  EXPECT_TRUE(f.failed(p));
}

TEST(DialFailures, PeersAreCountedApart) {
  DialFailures f;
  const PeerId a = some_peer(), b = some_peer();
  EXPECT_FALSE(f.failed(a));
  EXPECT_FALSE(f.failed(b));
  EXPECT_EQ(f.size(), 2u);
  EXPECT_TRUE(f.failed(b));
  EXPECT_TRUE(f.failed(a));
  EXPECT_EQ(f.size(), 0u);
}

}  // namespace
}  // namespace mp::kad
