// AutonatV2Server: answers /libp2p/autonat/2/dial-request (libp2p/specs
// autonat/autonat-v2.md). Per request it picks one address (v2_protocol.hpp),
// asks for 30-100 kB of dial data first when that address is not on the
// requester's observed IP, then dials it from the dial-back identity
// (dial_back.hpp, the same rate limits and cap on dial-backs in flight as v1),
// sends the nonce on /libp2p/autonat/2/dial-back on that new connection,
// waits for the DialBackResponse, closes the connection and answers.
//
// Threading: the host's io_context thread; counters are atomics.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <array>
#include <atomic>
#include <cstdint>
#include <random>
#include <string>

#include "autonat/dial_back.hpp"
#include "autonat/v2_protocol.hpp"
#include "host/host.hpp"

namespace mp::net {
class BufferedReader;
}

namespace mp::autonat::v2 {

struct Counters {
  std::atomic<std::uint64_t> requests{0};
  // Responses by ResponseStatus: ok, request_rejected, dial_refused, internal_error.
  std::atomic<std::uint64_t> ok{0}, request_rejected{0}, dial_refused{0}, internal_error{0};
  // Dials by DialStatus (with ResponseStatus OK): ok, dial_error, dial_back_error.
  std::atomic<std::uint64_t> dial_ok{0}, dial_error{0}, dial_back_error{0};
  // Streams reset without an answer: malformed or unexpected messages, or
  // dial data that did not come in time.
  std::atomic<std::uint64_t> bad_request{0};
  std::atomic<std::uint64_t> dial_data_bytes{0};  // amplification defence, received
};

// Prometheus text for /metrics: answers by ResponseStatus, dial-backs by
// DialStatus, requests reset, dial data received.
std::string metrics_text(const Counters& c);

class AutonatV2Server {
 public:
  AutonatV2Server(asio::any_io_executor executor, host::Host& host, DialBacks& dial_backs, bool allow_private);
  AutonatV2Server(const AutonatV2Server&) = delete;
  AutonatV2Server& operator=(const AutonatV2Server&) = delete;

  void install();
  const Counters& counters() const { return counters_; }
  asio::awaitable<void> serve(host::StreamContext ctx);

 private:
  // nullopt: the stream is to be reset (protocol violation).
  asio::awaitable<std::optional<pb::Message>> answer(host::StreamContext& ctx, net::BufferedReader& reader,
                                                     const pb::DialRequest& request);
  void count(const pb::DialResponse& r);

  asio::any_io_executor executor_;
  host::Host& host_;
  DialBacks& dial_backs_;
  bool allow_private_;
  std::minstd_rand rng_{std::random_device{}()};
  Counters counters_;
};

}  // namespace mp::autonat::v2
