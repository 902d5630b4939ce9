// ResourceBudget: how much memory peers may make the node hold, in the
// spirit of go-libp2p's resource manager. Bytes are accounted in nested
// scopes (stream < connection < peer < IP < node); a reservation succeeds
// only if every scope it belongs to stays within its limit, and a refusal
// names the narrowest scope that was full. Pure bookkeeping, no I/O: the
// Yamux session asks before it buffers received bytes or queues an answer,
// the host before it keeps a parsed identify.
//
// Contract: every successful reserve() is matched by release() of the same
// bytes on the same ConnectionAccount (closing an account releases what it
// still holds). Refusals are counted by scope; the caller decides what to
// drop (the stream whose data would exceed it, never the whole node).
//
// Threading: every public member of ResourceBudget and ConnectionAccount may
// be called from any thread (Yamux sessions on the network threads, QUIC and
// the services on the owner thread, one account possibly from both). One
// mutex inside the budget guards all its scopes: each operation is a few map
// lookups, so it is held briefly and rarely contended. Refusal counters and
// node_held_atomic() are read without it.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mp::host {

enum class Scope : std::size_t { kStream, kConnection, kPeer, kIp, kNode, kCount };
inline constexpr std::array<std::string_view, static_cast<std::size_t>(Scope::kCount)> kScopeNames =
    {"stream", "connection", "peer", "ip", "node"};

struct BudgetLimits {
  std::size_t node = 512u << 20;
  std::size_t per_ip = 64u << 20;
  std::size_t per_peer = 32u << 20;
  std::size_t per_connection = 16u << 20;
  std::size_t per_stream = 256u << 10;

  // The node total (MAX_MEMORY_MB) and the narrower scopes derived from it:
  // one IP may take 1/8 of the node, one peer 1/16, one connection 1/32 (at
  // least 1 MiB, so an honest connection always fits a few kad answers),
  // one stream a Yamux window (256 KiB) or less.
  static BudgetLimits from_node_total(std::size_t node_bytes);
};

class ResourceBudget;

// What one connection holds. Created before the peer is known (handshake)
// or after; the peer is set once. Destroying it releases what it holds.
class ConnectionAccount {
 public:
  ~ConnectionAccount();
  ConnectionAccount(const ConnectionAccount&) = delete;
  ConnectionAccount& operator=(const ConnectionAccount&) = delete;

  // Reserves `n` more bytes for a stream of this connection that already
  // holds `stream_held`. Returns the scope that refused, or nullopt.
  std::optional<Scope> reserve(std::size_t stream_held, std::size_t n);
  // Reserves without a stream (e.g. parsed identify kept per connection).
  std::optional<Scope> reserve(std::size_t n);
  void release(std::size_t n);

  // Sets the peer once (later calls are ignored); what the account holds
  // from then on also counts for the peer.
  void set_peer(std::string peer_key);
  std::size_t held() const;
  const std::string& ip() const { return ip_; }

 private:
  friend class ResourceBudget;
  ConnectionAccount(std::shared_ptr<ResourceBudget> budget, std::string ip)
      : budget_(std::move(budget)), ip_(std::move(ip)) {}
  std::shared_ptr<ResourceBudget> budget_;
  const std::string ip_;
  std::string peer_;      // guarded by budget_->mu_
  std::size_t held_ = 0;  // guarded by budget_->mu_
};

class ResourceBudget : public std::enable_shared_from_this<ResourceBudget> {
 public:
  static std::shared_ptr<ResourceBudget> create(BudgetLimits limits) {
    return std::shared_ptr<ResourceBudget>(new ResourceBudget(limits));
  }

  std::unique_ptr<ConnectionAccount> open_connection(std::string ip);

  const BudgetLimits& limits() const { return limits_; }
  std::size_t node_held() const;
  std::size_t ip_held(const std::string& ip) const;
  std::size_t peer_held(const std::string& peer) const;
  // Refusals so far for each scope (read from any thread).
  std::uint64_t refusals(Scope s) const {
    return refusals_[static_cast<std::size_t>(s)].load(std::memory_order_relaxed);
  }
  // Bytes held node-wide, readable from any thread (for /metrics).
  std::uint64_t node_held_atomic() const { return node_atomic_.load(std::memory_order_relaxed); }

 private:
  friend class ConnectionAccount;
  explicit ResourceBudget(BudgetLimits limits) : limits_(limits) {}
  std::optional<Scope> reserve(ConnectionAccount& a, std::size_t stream_held, std::size_t n,
                               bool has_stream);
  // Releases min(n, what `a` holds).
  void release(ConnectionAccount& a, std::size_t n);
  void set_peer(ConnectionAccount& a, std::string peer);
  std::size_t held(const ConnectionAccount& a) const;
  // The *_locked helpers expect mu_ held.
  std::size_t ip_held_locked(const std::string& ip) const;
  std::size_t peer_held_locked(const std::string& peer) const;
  void refuse(Scope s) {
    refusals_[static_cast<std::size_t>(s)].fetch_add(1, std::memory_order_relaxed);
  }
  void publish() { node_atomic_.store(node_, std::memory_order_relaxed); }

  const BudgetLimits limits_;
  mutable std::mutex mu_;
  // Guarded by mu_ (as are every account's held_ and peer_).
  std::size_t node_ = 0;
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::unordered_map<std::string, std::size_t> per_peer_;
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Scope::kCount)> refusals_{};
  std::atomic<std::uint64_t> node_atomic_{0};
};

}  // namespace mp::host
