#include "app/module_metrics.hpp"

#include <spdlog/fmt/fmt.h>

#include <tuple>

namespace mp::app {

namespace {

void counter_family(std::string& out, const char* name, const char* help, std::uint64_t value) {
  http::append_header(out, name, help, "counter");
  out += fmt::format("{} {}\n", name, value);
}

}  // namespace

void add_kad_metrics(http::MetricRegistry& registry, const kad::KadCounters& counters) {
  registry.add_collector([&c = counters](std::string& out) {
    counter_family(out, "mepassa_kad_snapshots_built_total",
                   "Routing-table snapshots built for answers (one per change of the table "
                   "followed by an answer).",
                   c.snapshots_built.load(std::memory_order_relaxed));
    http::append_header(out, "mepassa_kad_refusals_total", "Inbound Kademlia requests refused, by reason.",
                        "counter");
    for (std::size_t i = 0; i < static_cast<std::size_t>(kad::Refusal::kCount); ++i) {
      out += fmt::format("mepassa_kad_refusals_total{{reason=\"{}\"}} {}\n",
                         kad::to_string(static_cast<kad::Refusal>(i)), c.refusals[i].load());
    }
    static constexpr std::tuple<const char*, kad::StoreRefusal, kad::Refusal> kStoreRefusals[] = {
        {"record", kad::StoreRefusal::kPeerQuota, kad::Refusal::kRecordPeerQuota},
        {"record", kad::StoreRefusal::kIpQuota, kad::Refusal::kRecordIpQuota},
        {"record", kad::StoreRefusal::kFull, kad::Refusal::kRecordStoreFull},
        {"provider", kad::StoreRefusal::kPeerQuota, kad::Refusal::kProviderPeerQuota},
        {"provider", kad::StoreRefusal::kIpQuota, kad::Refusal::kProviderIpQuota},
        {"provider", kad::StoreRefusal::kKeyFull, kad::Refusal::kProviderKeyFull},
        {"provider", kad::StoreRefusal::kFull, kad::Refusal::kProviderStoreFull},
    };
    http::append_header(out, "mepassa_kad_store_refusals_total",
                        "Records and provider records refused by a store, by store and reason.", "counter");
    for (const auto& [store, reason, refusal] : kStoreRefusals) {
      out += fmt::format("mepassa_kad_store_refusals_total{{store=\"{}\",reason=\"{}\"}} {}\n", store,
                         kad::to_string(reason), c.refused(refusal));
    }
    out += fmt::format(
        "# HELP mepassa_kad_store_entries Records held by the Kademlia stores.\n"
        "# TYPE mepassa_kad_store_entries gauge\n"
        "mepassa_kad_store_entries{{store=\"record\"}} {}\n"
        "mepassa_kad_store_entries{{store=\"provider\"}} {}\n"
        "# HELP mepassa_kad_store_bytes Estimated heap bytes of the Kademlia stores.\n"
        "# TYPE mepassa_kad_store_bytes gauge\n"
        "mepassa_kad_store_bytes{{store=\"record\"}} {}\n"
        "mepassa_kad_store_bytes{{store=\"provider\"}} {}\n"
        "# HELP mepassa_kad_store_evictions_total Records evicted from a full store for a newcomer.\n"
        "# TYPE mepassa_kad_store_evictions_total counter\n"
        "mepassa_kad_store_evictions_total{{store=\"record\"}} {}\n"
        "mepassa_kad_store_evictions_total{{store=\"provider\"}} {}\n",
        c.records.load(), c.providers.load(), c.record_bytes.load(), c.provider_bytes.load(),
        c.record_evictions.load(), c.provider_evictions.load());
  });
}

void add_dht_metrics(http::MetricRegistry& registry, const kad::DhtStats& stats) {
  registry.add_collector([&s = stats](std::string& out) {
    counter_family(out, "mepassa_kad_outbound_requests_total",
                   "Kademlia requests the node sent to other peers (lookups, refresh, bootstrap).",
                   s.requests_sent.load());
    counter_family(out, "mepassa_kad_outbound_request_failures_total",
                   "Outbound Kademlia requests that got no answer (dial, stream, timeout or bad answer).",
                   s.requests_failed.load());
    counter_family(out, "mepassa_kad_dial_failures_total",
                   "Peers the DHT client could not dial on any of their addresses.", s.dial_failures.load());
    counter_family(out, "mepassa_kad_unreachable_removed_total",
                   "Routing-table peers removed because they could not be dialled.",
                   s.removed_unreachable.load());
    counter_family(out, "mepassa_kad_lookups_total", "Iterative FIND_NODE lookups the node started.",
                   s.lookups.load());
    counter_family(out, "mepassa_kad_refreshes_total", "Routing table refresh rounds.", s.refreshes.load());
  });
}

void observe_kad_latency(kad::Kademlia& kad, kad::DhtService& dht, http::NodeMetrics& metrics) {
  kad.set_inbound_observer([&h = metrics.kad_request_duration](kad::MessageType, kad::Duration elapsed) {
    h.observe(std::chrono::duration<double>(elapsed).count());
  });
  dht.set_request_observer(
      [&h = metrics.kad_outbound_request_duration](kad::MessageType, kad::Duration elapsed, bool ok) {
        if (ok) h.observe(std::chrono::duration<double>(elapsed).count());
      });
}

void add_log_metrics(http::MetricRegistry& registry, std::function<std::uint64_t()> dropped) {
  registry.add_collector([dropped = std::move(dropped)](std::string& out) {
    counter_family(out, "mepassa_log_messages_dropped_total",
                   "Log lines dropped because the async log queue was full (a stalled stdout or log file).",
                   dropped());
  });
}

}  // namespace mp::app
