#include "app/host_metrics.hpp"

#include <fmt/format.h>

#include "quic/quic_transport.hpp"

namespace mp::app {

namespace {

template <typename Names, typename Value>
void labelled_counter(std::string& out, std::string_view name, std::string_view help,
                      std::string_view label, const Names& names, Value value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, names[i], value(i));
  }
}

}  // namespace

void render_host_metrics(const host::Host& h, std::string& out) {
  const host::HostStats& st = h.stats();
  constexpr auto relaxed = std::memory_order_relaxed;
  labelled_counter(out, "mepassa_connections_refused_total",
                   "Inbound connections refused by a connection limit, by limit: at accept "
                   "(MAX_CONNECTIONS, MAX_CONNECTIONS_PER_IP) or once the handshakes proved "
                   "the peer (also MAX_CONNECTIONS_PER_PEER).",
                   "reason", host::kLimitRefusalNames,
                   [&](std::size_t i) { return st.connections_refused[i].load(relaxed); });
  labelled_counter(out, "mepassa_handshake_failures_total",
                   "Connections that failed before being established, by reason (limit: the "
                   "handshakes completed but a connection limit refused the connection).",
                   "reason", host::kHandshakeFailureNames,
                   [&](std::size_t i) { return st.handshake_failures[i].load(relaxed); });
  labelled_counter(out, "mepassa_streams_refused_total",
                   "Inbound streams refused: over the per-connection Yamux stream limit "
                   "(max_streams) or with no protocol in common (protocol).",
                   "reason", host::kStreamRefusalNames,
                   [&](std::size_t i) { return st.streams_refused[i].load(relaxed); });

  // h-quic: datagrams the QUIC listener dropped before any connection.
  const auto& quic = h.quic().datagram_stats();
  labelled_counter(out, "mepassa_quic_datagrams_dropped_total",
                   "UDP datagrams the QUIC listener dropped, by reason (malformed header, "
                   "unknown connection, not a valid Initial, other version, over the "
                   "handshake or connection limits).",
                   "reason", quic::kDropReasonNames,
                   [&](std::size_t i) { return quic.dropped[i].load(relaxed); });

  // Two labels (scope, reason): memory refusals are counted by the
  // ResourceBudget, the rest by HostStats.
  out +=
      "# HELP mepassa_resource_refusals_total Resources refused to peers, by scope and reason.\n"
      "# TYPE mepassa_resource_refusals_total counter\n";
  for (std::size_t sc = 0; sc < host::kScopeNames.size(); ++sc) {
    for (std::size_t r = 0; r < host::kRefusalReasonNames.size(); ++r) {
      std::uint64_t v = st.refusals[sc][r].load(relaxed);
      if (r == static_cast<std::size_t>(host::RefusalReason::kMemory)) {
        v += h.budget().refusals(static_cast<host::Scope>(sc));
      }
      out += fmt::format("mepassa_resource_refusals_total{{scope=\"{}\",reason=\"{}\"}} {}\n",
                         host::kScopeNames[sc], host::kRefusalReasonNames[r], v);
    }
  }
  out += fmt::format(
      "# HELP mepassa_resource_memory_bytes Memory peers make the node hold (MAX_MEMORY_MB), by "
      "scope.\n"
      "# TYPE mepassa_resource_memory_bytes gauge\n"
      "mepassa_resource_memory_bytes{{scope=\"node\"}} {}\n",
      h.budget().node_held_atomic());
}

void add_host_metrics(http::MetricRegistry& registry, const host::Host& host) {
  registry.add_collector([&host](std::string& out) { render_host_metrics(host, out); });
}

}  // namespace mp::app
