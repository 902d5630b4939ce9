#include "host/stream_dispatch.hpp"

#include <spdlog/spdlog.h>

#include <system_error>

#include "multistream/error.hpp"
#include "multistream/negotiate.hpp"
#include "net/deadline.hpp"
#include "net/deadline_stream.hpp"
#include "net/prefixed_stream.hpp"

namespace mp::host {

StreamDispatch::StreamDispatch(asio::any_io_executor executor, const HostConfig& config,
                               HostStats& stats)
    : executor_(std::move(executor)), config_(config), stats_(stats) {}

StreamDispatch::~StreamDispatch() {
  *alive_ = false;
}

void StreamDispatch::set_handler(std::string protocol, StreamHandler handler,
                                 HandlerThread where) {
  handlers_[std::move(protocol)] = Entry{std::move(handler), where};
}

void StreamDispatch::remove_handler(const std::string& protocol) {
  handlers_.erase(protocol);
}

std::vector<std::string> StreamDispatch::protocols() const {
  std::vector<std::string> out;
  out.reserve(handlers_.size());
  for (const auto& [p, h] : handlers_) out.push_back(p);
  return out;
}

asio::awaitable<void> StreamDispatch::serve(std::shared_ptr<Connection> conn,
                                            std::shared_ptr<net::ByteStream> stream) {
  auto alive = alive_;
  stats_.streams_inbound.fetch_add(1, std::memory_order_relaxed);
  conn->mark_busy(std::chrono::steady_clock::now());
  std::string protocol;
  try {
    multistream::Negotiated negotiated;
    {
      net::Deadline deadline(executor_, config_.stream_negotiation_timeout, stream);
      negotiated = co_await multistream::negotiate_inbound(
          *stream, [this](std::string_view p) { return handlers_.count(std::string(p)) > 0; });
    }
    if (!*alive) co_return;
    protocol = negotiated.protocol;
    if (!negotiated.leftover.empty()) {
      stream = std::make_shared<net::PrefixedStream>(std::move(negotiated.leftover), stream);
    }
    auto it = handlers_.find(protocol);
    if (it == handlers_.end()) throw std::system_error(multistream::Errc::not_supported);
    auto handler = it->second.handler;  // copy: the table may change while we run
    // Every handler's answers must be delivered in time: a remote that does
    // not read (or grants no window) gets the stream reset and its memory back.
    stream = std::make_shared<net::DeadlineStream>(
        executor_, stream, config_.answer_timeout, [this, alive] {
          if (*alive) stats_.refuse(Scope::kStream, RefusalReason::kDeadline);
        });
    StreamContext ctx{stream, conn, protocol};
    co_await handler(std::move(ctx));
  } catch (const std::exception& e) {
    if (const auto* se = dynamic_cast<const std::system_error*>(&e);
        se && *alive && protocol.empty() &&
        (se->code() == multistream::Errc::not_supported ||
         se->code() == multistream::Errc::too_many_proposals)) {
      stats_.count(StreamRefusal::kProtocol);
    }
    if (*alive) {
      spdlog::debug("stream {} from {} ended with an error: {}",
                    protocol.empty() ? "(negotiation)" : protocol, conn->remote_peer().to_base58(),
                    e.what());
    }
    stream->reset();
    co_return;
  }
  if (*alive) conn->mark_busy(std::chrono::steady_clock::now());
}

}  // namespace mp::host
