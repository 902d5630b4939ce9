#include "kad/server.hpp"

#include <spdlog/spdlog.h>

#include <asio/this_coro.hpp>
#include <memory>
#include <system_error>

#include "core/varint.hpp"
#include "net/buffered_reader.hpp"
#include "net/deadline.hpp"

namespace mp::kad {

asio::awaitable<void> serve_stream(Kademlia& kad, std::shared_ptr<net::ByteStream> stream_ptr,
                                   const PeerId& remote, std::string remote_ip) {
  auto& counters = kad.counters();
  counters.inbound_streams.fetch_add(1, std::memory_order_relaxed);
  const std::size_t max_size = kad.config().max_message_size;
  net::ByteStream& stream = *stream_ptr;
  // Restarted for every request: the next one must arrive (and be answered)
  // within the idle timeout.
  net::Deadline idle(co_await asio::this_coro::executor, kad.config().inbound_idle_timeout,
                     stream_ptr);

  net::BufferedReader reader(stream);
  // One request and one answer message per thread, reused by every stream
  // of the thread (their fields keep their capacity: no allocation per
  // request once warm; they hold at most one max-size message each). Safe
  // because neither is used across a co_await:
  // a request is parsed, handled and its answer serialized in one go.
  // FIND_NODE answers never build `response`: Kademlia::answer writes them
  // from the routing-table snapshot straight into `out`.
  thread_local Message request;
  thread_local Message response;
  Bytes out;
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
      const BytesView body = reader.buffered().first(static_cast<std::size_t>(len));
      const bool parsed = decode_message_into(body, request);
      reader.consume(static_cast<std::size_t>(len));
      if (!parsed) {
        counters.refuse(Refusal::kMalformed);
        spdlog::debug("kad: malformed message from {}; closing stream", remote.to_string());
        stream.reset();
        co_return;
      }
      const TimePoint read_at = Clock::now();
      const HandleResult r = kad.answer(remote, request, read_at, response, out, remote_ip);
      if (r.disposition == Disposition::kCloseStream) {
        spdlog::debug("kad: refused {} from {} ({}); closing stream",
                      message_type_name(request.type()), remote.to_string(),
                      r.refusal ? to_string(*r.refusal) : "refused");
        stream.reset();
        co_return;
      }
      if (r.refusal) {
        spdlog::debug("kad: refused {} from {} ({})", message_type_name(request.type()),
                      remote.to_string(), to_string(*r.refusal));
      }
      if (r.disposition == Disposition::kRespond) {
        const auto type = request.type();  // other streams reuse `request` during the write
        co_await stream.write(out);
        counters.responses_sent.fetch_add(1, std::memory_order_relaxed);
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
