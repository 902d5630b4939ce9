// Relay: the Circuit Relay v2 server (libp2p/specs relay/circuit-v2.md).
// Serves the hop protocol: RESERVE (a slot with expiry, our relay addresses
// and a signed voucher) and CONNECT (opens the stop protocol to the target on
// its existing connection, then pipes bytes between the two streams under the
// circuit Limit). Decisions live in ReservationTable / CircuitTable; this is
// the thin coroutine glue around them.
//
// Threading: the host's io_context thread only. Counters are atomics so the
// metrics side may read them from anywhere.
#pragma once

#include <array>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <cstdint>
#include <memory>

#include "core/keys.hpp"
#include "host/host.hpp"
#include "relay/circuit_table.hpp"
#include "relay/limits.hpp"
#include "relay/protocol.hpp"
#include "relay/reservation_table.hpp"

namespace mp::relay {

// Index of a refusal reason in RelayCounters::refusals.
enum class Refusal : std::size_t {
  kReservationRefused = 0,
  kResourceLimitExceeded,
  kPermissionDenied,
  kConnectionFailed,
  kNoReservation,
  kMalformedMessage,
  kUnexpectedMessage,
  kCount
};
Refusal refusal_of(Status s);
const char* refusal_name(Refusal r);

struct RelayCounters {
  std::atomic<std::int64_t> reservations_current{0};
  std::atomic<std::int64_t> circuits_current{0};
  std::atomic<std::uint64_t> reservations_accepted{0};  // new and renewed
  std::atomic<std::uint64_t> reservations_renewed{0};
  std::atomic<std::uint64_t> reservations_refused{0};
  std::atomic<std::uint64_t> circuits_accepted{0};
  std::atomic<std::uint64_t> circuits_refused{0};
  std::atomic<std::uint64_t> circuits_failed{0};   // CONNECTION_FAILED towards the target
  std::atomic<std::uint64_t> circuits_limited{0};  // closed by the data cap or the duration
  std::atomic<std::uint64_t> bytes_relayed{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Refusal::kCount)> refusals{};
  // Reservations ([0]) and circuits ([1]) refused, by the limit that refused them.
  std::array<std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(LimitHit::kCount)>, 2>
      limit_refusals{};
};

class Relay {
 public:
  // `identity` signs reservation vouchers (the same key as the host's).
  Relay(asio::any_io_executor executor, host::Host& host, const Ed25519KeyPair& identity,
        RelayLimits limits);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Registers the hop handler, follows connection closes and starts the
  // expiry sweep.
  void install();
  void stop();

  const RelayCounters& counters() const { return counters_; }
  const RelayLimits& limits() const { return limits_; }
  std::size_t reservation_count() const { return reservations_.size(); }

  asio::awaitable<void> serve_hop(host::StreamContext ctx);

 private:
  asio::awaitable<void> handle_reserve(host::StreamContext& ctx);
  asio::awaitable<void> handle_connect(host::StreamContext& ctx, const pb::HopMessage& msg);
  asio::awaitable<void> refuse(net::ByteStream& stream, Status s, bool reservation);
  asio::awaitable<void> sweep_loop();
  void publish_gauges();

  asio::any_io_executor executor_;
  host::Host& host_;
  Ed25519KeyPair identity_;
  RelayLimits limits_;
  ReservationTable reservations_;
  CircuitTable circuits_;
  RelayCounters counters_;
  asio::steady_timer sweep_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mp::relay
