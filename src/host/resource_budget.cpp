#include "host/resource_budget.hpp"

#include <algorithm>
#include <cstdint>

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
  // Releases whatever it still holds (the lock is taken inside).
  budget_->release(*this, SIZE_MAX);
}

std::optional<Scope> ConnectionAccount::reserve(std::size_t stream_held, std::size_t n) {
  return budget_->reserve(*this, stream_held, n, true);
}

std::optional<Scope> ConnectionAccount::reserve(std::size_t n) {
  return budget_->reserve(*this, 0, n, false);
}

void ConnectionAccount::release(std::size_t n) {
  budget_->release(*this, n);
}

void ConnectionAccount::set_peer(std::string peer_key) {
  budget_->set_peer(*this, std::move(peer_key));
}

std::size_t ConnectionAccount::held() const {
  return budget_->held(*this);
}

std::unique_ptr<ConnectionAccount> ResourceBudget::open_connection(std::string ip) {
  return std::unique_ptr<ConnectionAccount>(
      new ConnectionAccount(shared_from_this(), std::move(ip)));
}

std::size_t ResourceBudget::node_held() const {
  std::lock_guard lock(mu_);
  return node_;
}

std::size_t ResourceBudget::ip_held(const std::string& ip) const {
  std::lock_guard lock(mu_);
  return ip_held_locked(ip);
}

std::size_t ResourceBudget::peer_held(const std::string& peer) const {
  std::lock_guard lock(mu_);
  return peer_held_locked(peer);
}

std::size_t ResourceBudget::held(const ConnectionAccount& a) const {
  std::lock_guard lock(mu_);
  return a.held_;
}

std::size_t ResourceBudget::ip_held_locked(const std::string& ip) const {
  auto it = per_ip_.find(ip);
  return it == per_ip_.end() ? 0 : it->second;
}

std::size_t ResourceBudget::peer_held_locked(const std::string& peer) const {
  auto it = per_peer_.find(peer);
  return it == per_peer_.end() ? 0 : it->second;
}

std::optional<Scope> ResourceBudget::reserve(ConnectionAccount& a, std::size_t stream_held,
                                             std::size_t n, bool has_stream) {
  // Narrowest scope first: the refusal names what the caller should drop.
  auto over = [n](std::size_t held, std::size_t limit) { return held > limit || n > limit - held; };
  // The stream scope is the caller's own count: no shared state.
  if (has_stream && over(stream_held, limits_.per_stream)) {
    refuse(Scope::kStream);
    return Scope::kStream;
  }
  std::optional<Scope> refused;
  {
    std::lock_guard lock(mu_);
    if (over(a.held_, limits_.per_connection)) {
      refused = Scope::kConnection;
    } else if (!a.peer_.empty() && over(peer_held_locked(a.peer_), limits_.per_peer)) {
      refused = Scope::kPeer;
    } else if (over(ip_held_locked(a.ip_), limits_.per_ip)) {
      refused = Scope::kIp;
    } else if (over(node_, limits_.node)) {
      refused = Scope::kNode;
    } else if (n > 0) {
      a.held_ += n;
      per_ip_[a.ip_] += n;
      if (!a.peer_.empty()) per_peer_[a.peer_] += n;
      node_ += n;
      publish();
    }
  }
  if (refused) refuse(*refused);
  return refused;
}

void ResourceBudget::release(ConnectionAccount& a, std::size_t n) {
  std::lock_guard lock(mu_);
  n = std::min(n, a.held_);
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

void ResourceBudget::set_peer(ConnectionAccount& a, std::string peer) {
  std::lock_guard lock(mu_);
  if (!a.peer_.empty()) return;
  a.peer_ = std::move(peer);
  if (a.held_ > 0) per_peer_[a.peer_] += a.held_;
}

}  // namespace mp::host
