// AutonatServer: answers AutoNAT v1 DIAL requests (/libp2p/autonat/1.0.0,
// libp2p/specs autonat/autonat-v1.md) by dialing the requester back on a NEW
// connection (an existing one proves nothing) from the dial-back identity
// (dial_back.hpp), only at addresses on its observed IP, under per-peer and
// global rate limits, a cap on concurrent dial-backs and an overall timeout.
// The decisions are in protocol.hpp and rate_limiter.hpp; this is the
// coroutine glue.
//
// Threading: the host's io_context thread; counters are atomics.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "autonat/protocol.hpp"
#include "autonat/dial_back.hpp"
#include "autonat/v2_server.hpp"
#include "host/host.hpp"

namespace mp::autonat {

struct AutonatConfig {
  bool allow_private = false;  // ALLOW_PRIVATE_ADDRS
  DialBackLimits dial_backs{};
};

struct AutonatCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> dial_error{0};
  std::atomic<std::uint64_t> dial_refused{0};  // includes rate limited and busy
  std::atomic<std::uint64_t> rate_limited{0};
  std::atomic<std::uint64_t> bad_request{0};
  // The dial-back could not be started (the node is shutting down): like
  // v2's internal_error, never "unreachable".
  std::atomic<std::uint64_t> internal_error{0};
};

// Prometheus text for /metrics: AutoNAT v1 answers by status
// (mepassa_autonat_responses_total{status}). Atomics only: any thread.
std::string metrics_text(const AutonatCounters& c);

class AutonatServer {
 public:
  AutonatServer(asio::any_io_executor executor, host::Host& host, AutonatConfig config);
  ~AutonatServer();
  AutonatServer(const AutonatServer&) = delete;
  AutonatServer& operator=(const AutonatServer&) = delete;

  // Installs /libp2p/autonat/1.0.0 and the v2 server's dial-request protocol.
  void install();
  const AutonatCounters& counters() const { return counters_; }
  const v2::Counters& v2_counters() const { return v2_.counters(); }
  const PeerId& dial_back_peer() const { return dial_backs_.dialer_peer(); }
  // Closes dial-back connections still open (node shutdown).
  void shutdown() { dial_backs_.shutdown(); }

  asio::awaitable<void> serve(host::StreamContext ctx);

 private:
  asio::awaitable<pb::Message> answer(host::StreamContext& ctx, const pb::Message& request);
  asio::awaitable<pb::Message> dial_back(PeerId peer, std::vector<Multiaddr> addrs);
  void count(ResponseStatus s);

  asio::any_io_executor executor_;
  host::Host& host_;
  AutonatConfig config_;
  DialBacks dial_backs_;  // shared by v1 and v2: one rate budget per peer
  AutonatCounters counters_;
  v2::AutonatV2Server v2_;
};

}  // namespace mp::autonat
