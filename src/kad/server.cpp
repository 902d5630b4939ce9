#include "kad/server.hpp"

#include <spdlog/spdlog.h>

#include <asio/this_coro.hpp>
#include <memory>
#include <optional>
#include <system_error>
#include <vector>

#include "core/varint.hpp"
#include "net/buffered_reader.hpp"
#include "net/deadline.hpp"
#include "net/hop.hpp"

namespace mp::kad {
namespace {

// One request and one answer message per thread, reused by every stream
// of the thread (their fields keep their capacity: no allocation per
// request once warm; they hold at most one max-size message each). Safe
// because neither is used across a co_await: a request is parsed, handled
// and its answer serialized in one go. A request that hops to the owner
// takes its bytes along (a view into its stream's own reader buffer, which
// only the stream's next fill() changes), and the owner parses them into
// its own thread's messages.
struct ThreadMessages {
  Message request;
  Message response;
};
ThreadMessages& thread_messages() {
  thread_local ThreadMessages m;
  return m;
}

// A connection thread's view of one Kademlia's published snapshots, and the
// scratch its FIND_NODE answers use (never Kademlia's own, which is the
// owner's). Re-bound when a stream of another instance asks: only tests run
// several instances on one thread. Holds the last snapshot it read until
// the next change is seen (or the thread ends).
struct ThreadSnapshot {
  std::uint64_t kad_id = 0;
  std::optional<SnapshotReader> reader;
  std::vector<std::uint32_t> scratch;
};
ThreadSnapshot& thread_snapshot(const Kademlia& kad) {
  thread_local ThreadSnapshot t;
  if (t.kad_id != kad.instance_id()) {
    t.kad_id = kad.instance_id();
    t.reader.emplace(kad.snapshot_cell());
  }
  return t;
}

// A snapshot showing every change the owner made so far, or null when the
// owner must publish one first. When the snapshot this thread holds is
// current, the only shared read is the one atomic load of changes().
const RoutingSnapshot* current_snapshot(const Kademlia& kad, ThreadSnapshot& t) {
  const std::uint64_t changes = kad.changes();
  const RoutingSnapshot* snap = t.reader->held();
  if (snap && snap->changes() >= changes) return snap;
  snap = t.reader->get();  // another thread's stream may have had one published
  if (snap && snap->changes() >= changes) return snap;
  return nullptr;
}

}  // namespace

asio::awaitable<void> serve_stream(Kademlia& kad, std::shared_ptr<net::ByteStream> stream,
                                   const PeerId& remote, std::string remote_ip) {
  co_await serve_stream(kad, co_await asio::this_coro::executor, std::move(stream), remote,
                        std::move(remote_ip));
}

asio::awaitable<void> serve_stream(Kademlia& kad, asio::any_io_executor owner,
                                   std::shared_ptr<net::ByteStream> stream_ptr,
                                   const PeerId& remote, std::string remote_ip) {
  auto& counters = kad.counters();
  counters.inbound_streams.fetch_add(1, std::memory_order_relaxed);
  const std::size_t max_size = kad.config().max_message_size;
  net::ByteStream& stream = *stream_ptr;
  // A stream stays on the thread it started on: decided once.
  const bool on_owner = net::runs_here(owner);
  // Restarted for every request: the next one must arrive (and be answered)
  // within the idle timeout.
  net::Deadline idle(co_await asio::this_coro::executor, kad.config().inbound_idle_timeout,
                     stream_ptr);

  net::BufferedReader reader(stream);
  // FIND_NODE answers never build a response Message: they are written from
  // the routing-table snapshot straight into `out`.
  Bytes out;
  std::string key;  // a FIND_NODE's key while it waits for a new snapshot
  bool clean_eof = false;
  try {
    for (;;) {
      idle.restart(kad.config().inbound_idle_timeout);
      if (reader.buffered().empty() && !co_await reader.fill()) {
        clean_eof = true;
        break;
      }
      const std::uint64_t len = co_await reader.read_varint();
      if (len > max_size) {
        counters.refuse(Refusal::kOversized);
        spdlog::debug("kad: {} sent a {}-byte message (limit {}); closing stream",
                      remote.to_string(), len, max_size);
        stream.reset();
        co_return;
      }
      while (reader.buffered().size() < len) {
        if (!co_await reader.fill()) throw std::system_error(asio::error::eof);
      }
      // Valid until the next fill(), after this request is answered.
      const BytesView body = reader.buffered().first(static_cast<std::size_t>(len));
      reader.consume(static_cast<std::size_t>(len));
      Message& request = thread_messages().request;
      if (!decode_message_into(body, request)) {
        counters.refuse(Refusal::kMalformed);
        spdlog::debug("kad: malformed message from {}; closing stream", remote.to_string());
        stream.reset();
        co_return;
      }
      const TimePoint read_at = Clock::now();
      // `request` is reused by other streams of this thread during a hop.
      const auto type = request.type();
      HandleResult r{Disposition::kRespond, std::nullopt};
      if (on_owner) {
        r = kad.answer(remote, request, read_at, thread_messages().response, out, remote_ip);
      } else if (type == pb::Message_MessageType_FIND_NODE) {
        if (auto refused = kad.check_find_node(request)) {
          r = *refused;
        } else if (const RoutingSnapshot* snap = current_snapshot(kad, thread_snapshot(kad))) {
          kad.write_find_node(*snap, remote, as_bytes(request.key()), thread_snapshot(kad).scratch,
                              out);
        } else {
          // The owner changed something since its last publish: one hop
          // for it to publish, then answer here.
          key = request.key();
          co_await net::run_on(owner, [&kad] { kad.publish_snapshot(); });
          ThreadSnapshot& t = thread_snapshot(kad);
          kad.write_find_node(*t.reader->get(), remote, as_bytes(key), t.scratch, out);
        }
      } else if (!is_known_type(type)) {
        counters.refuse(Refusal::kUnknownType);  // as Kademlia::handle, without a hop
        r = {Disposition::kCloseStream, Refusal::kUnknownType};
      } else {
        // Stores and provider records live on the owner: the request's
        // bytes go there, the answer's bytes (into `out`) come back.
        r = co_await net::run_on(owner, [&]() -> HandleResult {
          ThreadMessages& m = thread_messages();  // the owner thread's
          if (!decode_message_into(body, m.request)) {
            return {Disposition::kCloseStream, Refusal::kMalformed};  // parsed once already
          }
          return kad.answer(remote, m.request, read_at, m.response, out, remote_ip);
        });
      }
      if (r.disposition == Disposition::kCloseStream) {
        spdlog::debug("kad: refused {} from {} ({}); closing stream", message_type_name(type),
                      remote.to_string(), r.refusal ? to_string(*r.refusal) : "refused");
        stream.reset();
        co_return;
      }
      if (r.refusal) {
        spdlog::debug("kad: refused {} from {} ({})", message_type_name(type), remote.to_string(),
                      to_string(*r.refusal));
      }
      if (r.disposition == Disposition::kRespond) {
        co_await stream.write(out);
        counters.responses_sent.fetch_add(1, std::memory_order_relaxed);
        // Safe from a connection thread: set before streams are served, and
        // thread-safe (Kademlia::set_inbound_observer).
        if (const auto& observe = kad.inbound_observer()) observe(type, Clock::now() - read_at);
      }
    }
  } catch (const net::ProtocolError& e) {
    counters.refuse(Refusal::kMalformed);
    spdlog::debug("kad: protocol error from {}: {}; closing stream", remote.to_string(), e.what());
    stream.reset();
    co_return;
  } catch (const std::system_error& e) {
    // Reset by the remote, by a lower layer, or by our idle watchdog.
    if (idle.fired()) {
      spdlog::debug("kad: inbound stream from {} idle; closed", remote.to_string());
    } else {
      spdlog::debug("kad: inbound stream from {} ended: {}", remote.to_string(), e.what());
    }
    co_return;
  }
  if (clean_eof) {
    try {
      co_await stream.close_write();
    } catch (const std::system_error&) {
      // The remote may already be gone; nothing left to do.
    }
  }
}

}  // namespace mp::kad
