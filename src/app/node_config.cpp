#include "app/node_config.hpp"

#include "app/options.hpp"

namespace mp::app {

host::HostConfig host_config(const Config& c) {
  host::HostConfig h;
  h.listen_addrs = c.listen_addrs;
  h.protocol_version = c.identify_protocol_version;
  h.limits.max_connections = c.max_connections;
  h.limits.max_connections_per_ip = c.max_connections_per_ip;
  h.limits.max_connections_per_peer = c.max_connections_per_peer;
  h.limits.max_streams_per_connection = c.max_streams_per_connection;
  h.handshake_timeout = c.handshake_timeout;
  h.idle_timeout = c.idle_timeout;
  h.ping_interval = c.ping_interval;
  h.max_memory_bytes = std::size_t{c.max_memory_mb} << 20;
  h.max_handshakes = c.max_handshakes;
  h.max_handshakes_per_ip = c.max_handshakes_per_ip;
  switch (c.quic_retry) {                 // QUIC_RETRY (issue 14)
    case QuicRetry::kAuto:
      h.quic_retry = host::QuicRetry::kAuto;
      break;
    case QuicRetry::kAlways:
      h.quic_retry = host::QuicRetry::kAlways;
      break;
    case QuicRetry::kNever:
      h.quic_retry = host::QuicRetry::kNever;
      break;
  }
  return h;
}

relay::RelayLimits relay_limits(const Config& c) {
  relay::RelayLimits r;
  r.max_reservations = r.max_circuits = c.relay_max_circuits;
  r.max_reservations_per_peer = r.max_circuits_per_peer = c.relay_max_per_peer;
  r.max_reservations_per_ip = r.max_circuits_per_ip = c.relay_max_per_ip;
  r.max_reservations_per_subnet = r.max_circuits_per_subnet = c.relay_max_per_subnet;
  r.reservation_ttl = c.relay_reservation_ttl;
  r.circuit.duration = c.relay_circuit_duration;
  r.circuit.data = c.relay_circuit_max_bytes;
  return r;
}

// The modules' own defaults are the options table's (options.hpp), so that
// a module used on its own (tests, tools) behaves as the node does.
static_assert(host::Limits{}.max_connections == default_of<std::size_t>("MAX_CONNECTIONS"));
static_assert(host::Limits{}.max_connections_per_ip == default_of<std::size_t>("MAX_CONNECTIONS_PER_IP"));
static_assert(host::Limits{}.max_connections_per_peer == default_of<std::size_t>("MAX_CONNECTIONS_PER_PEER"));
static_assert(host::Limits{}.max_streams_per_connection ==
              default_of<std::size_t>("MAX_STREAMS_PER_CONNECTION"));
static_assert(relay::RelayLimits{}.max_reservations == default_of<std::size_t>("RELAY_MAX_CIRCUITS"));
static_assert(relay::RelayLimits{}.max_circuits_per_peer == default_of<std::size_t>("RELAY_MAX_PER_PEER"));
static_assert(relay::RelayLimits{}.max_circuits_per_ip == default_of<std::size_t>("RELAY_MAX_PER_IP"));
static_assert(relay::RelayLimits{}.max_circuits_per_subnet == default_of<std::size_t>("RELAY_MAX_PER_SUBNET"));
static_assert(relay::RelayLimits{}.circuit.data == default_of<std::uint64_t>("RELAY_MAX_BYTES_PER_SEC"));
static_assert(relay::RelayLimits{}.circuit.duration.count() ==
              default_of<std::int64_t>("RELAY_CIRCUIT_DURATION_SECS"));
static_assert(relay::RelayLimits{}.reservation_ttl.count() == default_of<std::int64_t>("RELAY_RESERVATION_TTL_SECS"));
static_assert(kad::RecordStoreLimits{}.max_records == default_of<std::size_t>("KAD_MAX_RECORDS"));
static_assert(kad::RecordStoreLimits{}.max_records_per_peer == default_of<std::size_t>("KAD_MAX_RECORDS_PER_PEER"));
static_assert(kad::RecordStoreLimits{}.max_records_per_ip == default_of<std::size_t>("KAD_MAX_RECORDS_PER_IP"));
static_assert(kad::ProviderStoreLimits{}.max_total_providers == default_of<std::size_t>("KAD_MAX_PROVIDERS"));
static_assert(kad::ProviderStoreLimits{}.max_providers_per_peer ==
              default_of<std::size_t>("KAD_MAX_PROVIDERS_PER_PEER"));
static_assert(kad::ProviderStoreLimits{}.max_providers_per_ip == default_of<std::size_t>("KAD_MAX_PROVIDERS_PER_IP"));
static_assert(kad::kDefaultProtocol == default_text("KAD_PROTOCOL"));

kad::KadConfig kad_config(const Config& c) {
  kad::KadConfig k;
  k.protocols = c.kad_protocols;
  k.insert_policy = c.kad_insert == KadInsert::kAll ? kad::InsertPolicy::kAll : kad::InsertPolicy::kServers;
  k.allow_private_addrs = c.allow_private_addrs;
  k.refresh_interval = c.kad_refresh_interval;
  k.records.max_records = c.kad_max_records;
  k.records.max_records_per_peer = c.kad_max_records_per_peer;
  k.records.max_records_per_ip = c.kad_max_records_per_ip;
  k.providers.max_total_providers = c.kad_max_providers;
  k.providers.max_providers_per_peer = c.kad_max_providers_per_peer;
  k.providers.max_providers_per_ip = c.kad_max_providers_per_ip;
  return k;
}

}  // namespace mp::app
