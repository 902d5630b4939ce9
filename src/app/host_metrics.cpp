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
  // By limit and transport, like the other connection families. A QUIC
  // refusal at accept is counted per Initial datagram refused (the client
  // may resend it before it gives up).
  out +=
      "# HELP mepassa_connections_refused_total Inbound connections refused by a connection limit, "
      "by limit and transport: at accept (MAX_CONNECTIONS, MAX_CONNECTIONS_PER_IP) or once the "
      "handshakes proved the peer (also MAX_CONNECTIONS_PER_PEER).\n"
      "# TYPE mepassa_connections_refused_total counter\n";
  for (std::size_t r = 0; r < host::kLimitRefusalNames.size(); ++r) {
    for (std::size_t t = 0; t < host::kTransportNames.size(); ++t) {
      out += fmt::format("mepassa_connections_refused_total{{reason=\"{}\",transport=\"{}\"}} {}\n",
                         host::kLimitRefusalNames[r], host::kTransportNames[t],
                         st.connections_refused_by_transport[t][r].load(relaxed));
    }
  }
  // Connections by direction and transport (tcp, quic).
  constexpr std::array<std::string_view, 2> directions = {"inbound", "outbound"};
  auto by_transport = [&](std::string_view name, std::string_view type, std::string_view help,
                          auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    for (std::size_t d = 0; d < directions.size(); ++d) {
      for (std::size_t t = 0; t < host::kTransportNames.size(); ++t) {
        out += fmt::format("{}{{direction=\"{}\",transport=\"{}\"}} {}\n", name, directions[d],
                           host::kTransportNames[t], value(t, d));
      }
    }
  };
  by_transport("mepassa_connections_current", "gauge",
               "Established connections (after the security and muxer handshakes).",
               [&](std::size_t t, std::size_t d) {
                 const std::uint64_t opened = st.opened[t][d].load(relaxed);
                 const std::uint64_t closed = st.closed[t][d].load(relaxed);
                 return opened > closed ? opened - closed : 0;
               });
  by_transport("mepassa_connections_opened_total", "counter",
               "Connections that completed the handshakes.",
               [&](std::size_t t, std::size_t d) { return st.opened[t][d].load(relaxed); });
  by_transport("mepassa_connections_closed_total", "counter",
               "Established connections that were closed.",
               [&](std::size_t t, std::size_t d) { return st.closed[t][d].load(relaxed); });
  out +=
      "# HELP mepassa_handshake_failures_total Connections that failed before being established, "
      "by reason and transport (limit: the handshakes completed but a connection limit refused "
      "the connection).\n"
      "# TYPE mepassa_handshake_failures_total counter\n";
  for (std::size_t r = 0; r < host::kHandshakeFailureNames.size(); ++r) {
    for (std::size_t t = 0; t < host::kTransportNames.size(); ++t) {
      out += fmt::format("mepassa_handshake_failures_total{{reason=\"{}\",transport=\"{}\"}} {}\n",
                         host::kHandshakeFailureNames[r], host::kTransportNames[t],
                         st.handshake_failures_by_transport[t][r].load(relaxed));
    }
  }
  labelled_counter(out, "mepassa_streams_refused_total",
                   "Inbound streams refused: over the per-connection Yamux stream limit "
                   "(max_streams) or with no protocol in common (protocol).",
                   "reason", host::kStreamRefusalNames,
                   [&](std::size_t i) { return st.streams_refused[i].load(relaxed); });

  // Datagrams the QUIC listener dropped before any connection.
  const auto& quic = h.quic().datagram_stats();
  labelled_counter(out, "mepassa_quic_datagrams_dropped_total",
                   "UDP datagrams the QUIC listener dropped, by reason (malformed header, "
                   "unknown connection, not a valid Initial, other version, over the "
                   "handshake or connection limits).",
                   "reason", quic::kDropReasonNames,
                   [&](std::size_t i) { return quic.dropped[i].load(relaxed); });
  // Stateless answers and Retry tokens (issue 14).
  labelled_counter(out, "mepassa_quic_stateless_packets_sent_total",
                   "Packets the QUIC listener sent without a connection: Retry (address "
                   "validation, QUIC_RETRY) and Version Negotiation.",
                   "type", quic::kStatelessAnswerNames,
                   [&](std::size_t i) { return quic.sent[i].load(relaxed); });
  static constexpr std::array<std::string_view, 4> kTokenResults = {
      "accepted", "refused", "new_token_accepted", "new_token_ignored"};
  const std::array<const std::atomic<std::uint64_t>*, 4> token_counts = {
      &quic.tokens_accepted, &quic.tokens_refused, &quic.new_tokens_accepted,
      &quic.new_tokens_ignored};
  labelled_counter(out, "mepassa_quic_retry_tokens_total",
                   "Initials that carried an address validation token: a Retry token accepted (a "
                   "handshake starts) or refused (forged, expired or another address's; also "
                   "dropped with reason token), or a NEW_TOKEN token accepted (no Retry) or "
                   "ignored (expired, forged or another address's: treated as no token).",
                   "result", kTokenResults,
                   [&](std::size_t i) { return token_counts[i]->load(relaxed); });

  out += fmt::format(
      "# HELP mepassa_quic_stateless_resets_received_total Stateless Resets that ended a QUIC "
      "connection this node dialled (the remote no longer knew it, e.g. it restarted).\n"
      "# TYPE mepassa_quic_stateless_resets_received_total counter\n"
      "mepassa_quic_stateless_resets_received_total {}\n",
      quic.resets_received.load(relaxed));

  out += fmt::format(
      "# HELP mepassa_quic_segmented_sends_total sendmsg calls that carried several QUIC "
      "packets to one address at once (UDP_SEGMENT).\n"
      "# TYPE mepassa_quic_segmented_sends_total counter\n"
      "mepassa_quic_segmented_sends_total {}\n"
      "# HELP mepassa_quic_segmented_packets_total QUIC packets sent in those calls.\n"
      "# TYPE mepassa_quic_segmented_packets_total counter\n"
      "mepassa_quic_segmented_packets_total {}\n",
      quic.segmented_sends.load(relaxed), quic.segmented_packets.load(relaxed));
  out += fmt::format(
      "# HELP mepassa_quic_datagrams_handed_over_total UDP datagrams the QUIC listener handed "
      "over to connections living on other network threads (NETWORK_THREADS).\n"
      "# TYPE mepassa_quic_datagrams_handed_over_total counter\n"
      "mepassa_quic_datagrams_handed_over_total {}\n"
      "# HELP mepassa_quic_handed_over_bytes Bytes of UDP datagrams handed over to connections "
      "on other network threads and not yet read there (at most 4 MiB; beyond it they are "
      "dropped with reason backlog).\n"
      "# TYPE mepassa_quic_handed_over_bytes gauge\n"
      "mepassa_quic_handed_over_bytes {}\n"
      "# HELP mepassa_quic_handed_over_bytes_peak The most bytes of datagrams there were at "
      "once handed over and not yet read, since the node started.\n"
      "# TYPE mepassa_quic_handed_over_bytes_peak gauge\n"
      "mepassa_quic_handed_over_bytes_peak {}\n",
      quic.handed_over.load(relaxed), quic.handed_over_bytes.load(relaxed),
      quic.handed_over_bytes_peak.load(relaxed));

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
