// HostConfig: what a host and the services on it are built with. The node
// fills it from the options table (app/node_config.cpp); tests from defaults.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "core/multiaddr.hpp"
#include "host/limits.hpp"

namespace mp::host {

// QUIC_RETRY: when the QUIC listener asks a new client to prove its address
// with a Retry before any handshake state (quic/address_validation.hpp).
enum class QuicRetry {
  kAuto,  // when half of the handshake slots (max_handshakes) are taken
  kAlways,
  kNever,
};

struct HostConfig {
  std::vector<Multiaddr> listen_addrs;
  std::string protocol_version = "/mepassa/1.0.0";
  std::string agent_version = std::string("mepassa-bootstrap/") + MP_VERSION;
  Limits limits;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};   // the Rust node's idle_connection_timeout
  std::chrono::milliseconds ping_interval{15'000};  // rust-libp2p ping default (ping::Service)
  std::chrono::milliseconds ping_timeout{20'000};
  std::chrono::milliseconds stream_negotiation_timeout{10'000};
  std::chrono::milliseconds dial_timeout{10'000};
  // MAX_MEMORY_MB: what peers may make us hold (Yamux buffers and queues,
  // parsed identify), per node; narrower scopes are derived from it.
  std::size_t max_memory_bytes = std::size_t{512} << 20;
  // Inbound sockets still in the handshakes (MAX_HANDSHAKES,
  // MAX_HANDSHAKES_PER_IP), apart from established connections.
  std::size_t max_handshakes = 256;
  std::size_t max_handshakes_per_ip = 32;
  // The first multistream-select exchange of an inbound socket must be done
  // by then (a slowloris socket sends a few bytes and stalls).
  std::chrono::milliseconds handshake_first_exchange_timeout{3'000};
  // A write of a protocol handler (its answer) that cannot complete by then
  // resets the stream.
  std::chrono::milliseconds answer_timeout{10'000};
  // Identify pushes per connection (identify::Service): a burst, then one
  // per interval.
  std::size_t identify_push_burst = 3;
  std::chrono::milliseconds identify_push_interval{10'000};
  QuicRetry quic_retry = QuicRetry::kAuto;
  // QUIC packets written back to back leave in one sendmsg with UDP
  // segmentation offload (benchmarks turn it off to compare).
  bool quic_gso = true;
};

}  // namespace mp::host
