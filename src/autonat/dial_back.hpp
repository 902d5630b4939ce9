// DialBacks: what the AutoNAT v1 and v2 servers share to dial a client back.
//
// - A dialer host with a throwaway identity of its own: it never listens, and
//   its connections are not in our host's registry, events or peer store. A
//   dial-back from our own Peer ID would be a second connection to the client
//   that the client may pick for its next stream to us, and closing it after
//   the dial-back would break that stream (issue 15). go-libp2p dials back from
//   a separate host key too, and autonat-v2.md says clients must rely on the
//   nonce, not on the Peer ID, because "the server is free to use a separate
//   peerID for the dial backs".
// - The rate limits (per peer and in total, one budget for v1 and v2 together)
//   and the cap on dial-backs in flight.
// - The overall timeout of one dial-back.
//
// Threading: the host's io_context thread.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "autonat/rate_limiter.hpp"
#include "host/host.hpp"
#include "identify/service.hpp"

namespace mp::autonat {

struct DialBackLimits {
  RateLimiter::Limits rate{};
  std::chrono::milliseconds timeout{15'000};  // whole dial-back, all addresses
  std::size_t max_concurrent = 16;            // dial-backs in flight
};

// Whether `host` listens on QUIC: then QUIC addresses are dialled back too
// (the dialer host dials QUIC from an ephemeral UDP port).
bool listens_on_quic(const host::Host& host);

class DialBacks {
 public:
  enum class Admission { kOk, kRateLimited, kBusy };
  // One dial-back: runs on the dialer host and records its outcome in state
  // the caller shares with it (it may outlive the caller after a timeout).
  using Attempt = std::function<asio::awaitable<void>(host::Host& dialer)>;

  // `main`: our host's configuration, from which the dialer's is derived;
  // `network`: our host's connection executors, on which the dial-back
  // connections live in turn (none: on `executor`).
  DialBacks(asio::any_io_executor executor, const host::HostConfig& main, DialBackLimits limits,
            std::vector<asio::any_io_executor> network = {});
  ~DialBacks();
  DialBacks(const DialBacks&) = delete;
  DialBacks& operator=(const DialBacks&) = delete;

  // May `peer` have one more dial-back now? Counts it when kOk.
  Admission admit(const PeerId& peer);
  // Runs `attempt` under the cap; true if it finished within the timeout.
  // `attempt` is called before the first suspension, so a reference is enough.
  // Throws std::runtime_error after shutdown(): a dial-back that cannot be
  // made must not be answered as an unreachable address.
  asio::awaitable<bool> run(const Attempt& attempt);
  // The Peer ID clients see dial-backs come from.
  const PeerId& dialer_peer() const { return dialer_->local_peer(); }
  // Closes the dialer's connections (node shutdown); no dial-back runs after.
  void shutdown() {
    shut_down_ = true;
    dialer_->shutdown();
  }

 private:
  asio::any_io_executor executor_;
  DialBackLimits limits_;
  RateLimiter limiter_;
  std::unique_ptr<host::Host> dialer_;
  // The asker identifies the dial-back connection like any other.
  std::unique_ptr<identify::Service> dialer_identify_;
  std::shared_ptr<std::size_t> in_flight_ = std::make_shared<std::size_t>(0);
  bool shut_down_ = false;
};

}  // namespace mp::autonat
