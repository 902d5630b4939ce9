#include "host/resource_budget.hpp"

#include <algorithm>

namespace mp::host {

BudgetLimits BudgetLimits::from_node_total(std::size_t node_bytes) {
  BudgetLimits l;
  l.node = node_bytes;
  l.per_ip = node_bytes / 8;
  l.per_peer = node_bytes / 16;
  l.per_connection = std::max<std::size_t>(node_bytes / 32, std::size_t{1} << 20);
  l.per_connection = std::min(l.per_connection, l.per_ip);
  l.per_stream = std::min<std::size_t>(std::size_t{256} << 10, l.per_connection);
  return l;
}

ConnectionAccount::~ConnectionAccount() {
  if (held_ > 0) budget_->release(*this, held_);
}

std::optional<Scope> ConnectionAccount::reserve(std::size_t stream_held, std::size_t n) {
  return budget_->reserve(*this, stream_held, n, true);
}

std::optional<Scope> ConnectionAccount::reserve(std::size_t n) {
  return budget_->reserve(*this, 0, n, false);
}

void ConnectionAccount::release(std::size_t n) {
  budget_->release(*this, std::min(n, held_));
}

void ConnectionAccount::set_peer(std::string peer_key) {
  if (!peer_.empty()) return;
  budget_->move_peer(*this, peer_key);
}

std::unique_ptr<ConnectionAccount> ResourceBudget::open_connection(std::string ip) {
  return std::unique_ptr<ConnectionAccount>(
      new ConnectionAccount(shared_from_this(), std::move(ip)));
}

std::size_t ResourceBudget::ip_held(const std::string& ip) const {
  auto it = per_ip_.find(ip);
  return it == per_ip_.end() ? 0 : it->second;
}

std::size_t ResourceBudget::peer_held(const std::string& peer) const {
  auto it = per_peer_.find(peer);
  return it == per_peer_.end() ? 0 : it->second;
}

std::optional<Scope> ResourceBudget::reserve(ConnectionAccount& a, std::size_t stream_held,
                                             std::size_t n, bool has_stream) {
  // Narrowest scope first: the refusal names what the caller should drop.
  auto over = [n](std::size_t held, std::size_t limit) { return held > limit || n > limit - held; };
  std::optional<Scope> refused;
  if (has_stream && over(stream_held, limits_.per_stream)) {
    refused = Scope::kStream;
  } else if (over(a.held_, limits_.per_connection)) {
    refused = Scope::kConnection;
  } else if (!a.peer_.empty() && over(peer_held(a.peer_), limits_.per_peer)) {
    refused = Scope::kPeer;
  } else if (over(ip_held(a.ip_), limits_.per_ip)) {
    refused = Scope::kIp;
  } else if (over(node_, limits_.node)) {
    refused = Scope::kNode;
  }
  if (refused) {
    refuse(*refused);
    return refused;
  }
  if (n == 0) return std::nullopt;
  a.held_ += n;
  per_ip_[a.ip_] += n;
  if (!a.peer_.empty()) per_peer_[a.peer_] += n;
  node_ += n;
  publish();
  return std::nullopt;
}

void ResourceBudget::release(ConnectionAccount& a, std::size_t n) {
  if (n == 0) return;
  a.held_ -= n;
  auto drop = [n](std::unordered_map<std::string, std::size_t>& m, const std::string& key) {
    auto it = m.find(key);
    if (it == m.end()) return;
    it->second -= std::min(n, it->second);
    if (it->second == 0) m.erase(it);
  };
  drop(per_ip_, a.ip_);
  if (!a.peer_.empty()) drop(per_peer_, a.peer_);
  node_ -= std::min(n, node_);
  publish();
}

void ResourceBudget::move_peer(ConnectionAccount& a, const std::string& peer) {
  a.peer_ = peer;
  if (a.held_ > 0) per_peer_[peer] += a.held_;
}

}  // namespace mp::host
