#include "host/limits.hpp"

#include <gtest/gtest.h>

namespace mp::host {
namespace {

PeerId some_peer() { return PeerId::from_public_key(Ed25519KeyPair::generate().public_key()); }

TEST(ConnectionLimits, RefusesBeyondTheTotal) {
  ConnectionLimits l(Limits{2, 10, 4, 256});
  EXPECT_FALSE(l.admit_socket("10.0.0.1"));
  l.socket_opened("10.0.0.1");
  l.socket_opened("10.0.0.2");
  EXPECT_EQ(l.admit_socket("10.0.0.3"), LimitRefusal::kMaxConnections);
  l.socket_closed("10.0.0.2");
  EXPECT_FALSE(l.admit_socket("10.0.0.3"));
}

TEST(ConnectionLimits, RefusesBeyondThePerIpLimitOnlyForThatIp) {
  ConnectionLimits l(Limits{100, 2, 4, 256});
  l.socket_opened("10.0.0.1");
  l.socket_opened("10.0.0.1");
  EXPECT_EQ(l.admit_socket("10.0.0.1"), LimitRefusal::kMaxPerIp);
  EXPECT_FALSE(l.admit_socket("10.0.0.2"));
  l.socket_closed("10.0.0.1");
  EXPECT_FALSE(l.admit_socket("10.0.0.1"));
  EXPECT_EQ(l.sockets(), 1u);
}

TEST(ConnectionLimits, CountsConnectionsPerPeer) {
  ConnectionLimits l(Limits{100, 100, 2, 256});
  const PeerId a = some_peer(), b = some_peer();
  EXPECT_TRUE(l.admit_peer(a));
  l.peer_opened(a);
  l.peer_opened(a);
  EXPECT_FALSE(l.admit_peer(a));
  EXPECT_TRUE(l.admit_peer(b));
  EXPECT_EQ(l.connections_to(a), 2u);
  l.peer_closed(a);
  EXPECT_TRUE(l.admit_peer(a));
  l.peer_closed(a);
  l.peer_closed(a);  // extra close does not underflow
  EXPECT_EQ(l.connections_to(a), 0u);
}

}  // namespace
}  // namespace mp::host
