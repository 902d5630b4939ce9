// HandshakeTable: inbound sockets still in the security/muxer handshakes,
// capped on their own (total and per remote IP), apart from established
// connections, so half-open sockets cannot fill MAX_CONNECTIONS. Pure
// bookkeeping, no I/O: the host asks before it starts a handshake, reports
// progress, and closes whatever socket the table tells it to evict.
//
// When the table is full a newcomer is not simply refused (that is what a
// slowloris attacker wants): the handshake that made the least progress is
// evicted in its favour, from the IP holding the most handshakes, the oldest
// among those; it must have had at least `min_age` (an honest handshake gets
// that long before it can be pushed out) unless its IP holds more handshakes
// than the newcomer's (so attackers reopening sockets fast cannot keep every
// entry young and shut out an IP with none). A full per-IP quota refuses the
// newcomer: that IP only competes with itself.
//
// The host holds one table for all its transports (TCP and QUIC), so
// MAX_HANDSHAKES and MAX_HANDSHAKES_PER_IP bound the node, not each
// transport; an entry remembers its transport, so a newcomer on one may
// evict a stalled handshake on the other (Host::admit_handshake).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "host/limits.hpp"
#include "host/resource_budget.hpp"

namespace mp::host {

// Order matters: later stages are more progress.
enum class HandshakeStage : std::uint8_t { kAccepted, kSecurity, kMuxer };

// A handshake's stage, written by the thread running the handshake and read
// by the table's owner when it looks for a victim: no message per stage.
using HandshakeProgress = std::shared_ptr<std::atomic<HandshakeStage>>;
// Raises `p` to `stage` (never lowers it).
inline void advance(const HandshakeProgress& p, HandshakeStage stage) {
  if (!p) return;
  HandshakeStage cur = p->load(std::memory_order_relaxed);
  while (stage > cur && !p->compare_exchange_weak(cur, stage, std::memory_order_relaxed)) {
  }
}

struct HandshakeAdmission {
  std::uint64_t id = 0;                  // 0 when refused
  std::optional<Scope> refused_by;       // kIp or kNode
  std::optional<std::uint64_t> evicted;  // a handshake to close now
  Transport evicted_transport = Transport::kTcp;  // whose it is
  HandshakeProgress progress;                     // the admitted one's stage
  bool admitted() const { return id != 0; }
};

class HandshakeTable {
 public:
  using Clock = std::chrono::steady_clock;

  HandshakeTable(std::size_t max_total, std::size_t max_per_ip,
                 std::chrono::milliseconds min_age = std::chrono::milliseconds(1000))
      : max_total_(max_total), max_per_ip_(max_per_ip), min_age_(min_age) {}

  HandshakeAdmission admit(const std::string& ip, Clock::time_point now,
                           Transport transport = Transport::kTcp);
  void advance(std::uint64_t id, HandshakeStage stage);
  // Finished, failed or evicted; unknown ids are ignored.
  void remove(std::uint64_t id);

  std::size_t size() const { return entries_.size(); }
  std::size_t count_for(const std::string& ip) const;

 private:
  struct Entry {
    std::string ip;
    Clock::time_point started;
    HandshakeProgress stage;
    Transport transport = Transport::kTcp;
  };
  std::size_t max_total_;
  std::size_t max_per_ip_;
  std::chrono::milliseconds min_age_;
  std::map<std::uint64_t, Entry> entries_;  // ascending id: oldest first
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::uint64_t next_id_ = 1;
};

}  // namespace mp::host
