#include "host/resource_budget.hpp"

#include <gtest/gtest.h>

namespace mp::host {
namespace {

BudgetLimits small() {
  BudgetLimits l;
  l.node = 1000;
  l.per_ip = 500;
  l.per_peer = 300;
  l.per_connection = 200;
  l.per_stream = 100;
  return l;
}

TEST(ResourceBudget, DerivesNarrowerScopesFromTheNodeTotal) {
  const auto l = BudgetLimits::from_node_total(512u << 20);
  EXPECT_EQ(l.node, 512u << 20);
  EXPECT_EQ(l.per_ip, 64u << 20);
  EXPECT_EQ(l.per_peer, 32u << 20);
  EXPECT_EQ(l.per_connection, 16u << 20);
  EXPECT_EQ(l.per_stream, 256u << 10);
  const auto tiny = BudgetLimits::from_node_total(4u << 20);
  EXPECT_LE(tiny.per_connection, tiny.per_ip);
  EXPECT_LE(tiny.per_stream, tiny.per_connection);
}

TEST(ResourceBudget, RefusesAtTheNarrowestFullScope) {
  auto b = ResourceBudget::create(small());
  auto c = b->open_connection("10.0.0.1");
  EXPECT_EQ(c->reserve(0, 100), std::nullopt);
  EXPECT_EQ(c->reserve(100, 1), Scope::kStream);  // that stream already holds its 100
  EXPECT_EQ(c->reserve(0, 100), std::nullopt);
  EXPECT_EQ(c->reserve(0, 1), Scope::kConnection);
  EXPECT_EQ(b->refusals(Scope::kStream), 1u);
  EXPECT_EQ(b->refusals(Scope::kConnection), 1u);
  EXPECT_EQ(c->held(), 200u);
  EXPECT_EQ(b->node_held(), 200u);
  c->release(150);
  EXPECT_EQ(c->held(), 50u);
  EXPECT_EQ(b->ip_held("10.0.0.1"), 50u);
}

TEST(ResourceBudget, PeerIpAndNodeScopesSpanConnections) {
  auto b = ResourceBudget::create(small());
  auto c1 = b->open_connection("10.0.0.1");
  auto c2 = b->open_connection("10.0.0.1");
  c1->set_peer("A");
  c2->set_peer("A");
  EXPECT_EQ(c1->reserve(0, 100), std::nullopt);
  EXPECT_EQ(c1->reserve(0, 100), std::nullopt);
  EXPECT_EQ(c2->reserve(0, 100), std::nullopt);
  EXPECT_EQ(c2->reserve(0, 1), Scope::kPeer);  // A holds 300

  auto c3 = b->open_connection("10.0.0.1");  // other peer, same IP
  c3->set_peer("B");
  EXPECT_EQ(c3->reserve(0, 100), std::nullopt);
  EXPECT_EQ(c3->reserve(0, 100), std::nullopt);
  auto c4 = b->open_connection("10.0.0.1");
  c4->set_peer("C");
  EXPECT_EQ(c4->reserve(0, 1), Scope::kIp);  // the IP holds 500

  auto d1 = b->open_connection("10.0.0.2");
  auto d2 = b->open_connection("10.0.0.3");
  auto d3 = b->open_connection("10.0.0.4");
  EXPECT_EQ(d1->reserve(200), std::nullopt);
  EXPECT_EQ(d2->reserve(200), std::nullopt);
  EXPECT_EQ(b->node_held(), 900u);
  EXPECT_EQ(d3->reserve(101), Scope::kNode);
  EXPECT_EQ(d3->reserve(100), std::nullopt);
  EXPECT_EQ(b->refusals(Scope::kNode), 1u);
}

TEST(ResourceBudget, ClosingAConnectionReleasesWhatItHeld) {
  auto b = ResourceBudget::create(small());
  {
    auto c = b->open_connection("10.0.0.1");
    EXPECT_EQ(c->reserve(0, 50), std::nullopt);
    c->set_peer("A");  // bytes reserved before the peer was known move to it
    EXPECT_EQ(b->peer_held("A"), 50u);
    EXPECT_EQ(c->reserve(0, 50), std::nullopt);
    EXPECT_EQ(b->peer_held("A"), 100u);
  }
  EXPECT_EQ(b->node_held(), 0u);
  EXPECT_EQ(b->node_held_atomic(), 0u);
  EXPECT_EQ(b->ip_held("10.0.0.1"), 0u);
  EXPECT_EQ(b->peer_held("A"), 0u);
}

TEST(ResourceBudget, OverReleaseDoesNotUnderflow) {
  auto b = ResourceBudget::create(small());
  auto c = b->open_connection("10.0.0.1");
  EXPECT_EQ(c->reserve(10), std::nullopt);
  c->release(1000);
  EXPECT_EQ(c->held(), 0u);
  EXPECT_EQ(b->node_held(), 0u);
}

}  // namespace
}  // namespace mp::host
