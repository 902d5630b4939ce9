#include "host/stream_dispatch.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>

#include <system_error>

#include "multistream/error.hpp"
#include "multistream/negotiate.hpp"
#include "net/deadline.hpp"
#include "net/deadline_stream.hpp"
#include "net/foreign_stream.hpp"
#include "net/hop.hpp"
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
  std::lock_guard lock(table_mutex_);
  auto next = std::make_shared<Table>(*handlers_);
  (*next)[std::move(protocol)] = Entry{std::move(handler), where};
  handlers_ = std::move(next);
}

void StreamDispatch::remove_handler(const std::string& protocol) {
  std::lock_guard lock(table_mutex_);
  auto next = std::make_shared<Table>(*handlers_);
  next->erase(protocol);
  handlers_ = std::move(next);
}

std::shared_ptr<const StreamDispatch::Table> StreamDispatch::table() const {
  std::lock_guard lock(table_mutex_);
  return handlers_;
}

std::vector<std::string> StreamDispatch::protocols() const {
  const auto t = table();
  std::vector<std::string> out;
  out.reserve(t->size());
  for (const auto& [p, h] : *t) out.push_back(p);
  return out;
}

asio::awaitable<void> StreamDispatch::serve(std::shared_ptr<Connection> conn,
                                            std::shared_ptr<net::ByteStream> stream) {
  auto alive = alive_;
  const asio::any_io_executor here = conn->executor();
  const std::shared_ptr<const Table> handlers = table();
  stats_.streams_inbound.fetch_add(1, std::memory_order_relaxed);
  conn->mark_busy(std::chrono::steady_clock::now());
  std::string protocol;
  try {
    multistream::Negotiated negotiated;
    {
      net::Deadline deadline(here, config_.stream_negotiation_timeout, stream);
      negotiated = co_await multistream::negotiate_inbound(*stream, [&](std::string_view p) {
        return handlers->find(std::string(p)) != handlers->end();
      });
    }
    if (!*alive) co_return;
    protocol = negotiated.protocol;
    if (!negotiated.leftover.empty()) {
      stream = std::make_shared<net::PrefixedStream>(std::move(negotiated.leftover), stream);
    }
    auto it = handlers->find(protocol);
    if (it == handlers->end()) throw std::system_error(multistream::Errc::not_supported);
    const Entry& entry = it->second;  // `handlers` is ours: the table may change while we run
    // Every handler's answers must be delivered in time: a remote that does
    // not read (or grants no window) gets the stream reset and its memory back.
    stream = std::make_shared<net::DeadlineStream>(
        here, stream, config_.answer_timeout, [this, alive] {
          if (*alive) stats_.refuse(Scope::kStream, RefusalReason::kDeadline);
        });
    if (entry.where == HandlerThread::kConnection || net::runs_here(executor_)) {
      StreamContext ctx{stream, conn, protocol};
      co_await entry.handler(std::move(ctx));
    } else {
      // The handler's state is the host's: it runs there, on this stream
      // through a ForeignStream; its errors come back here.
      StreamContext ctx{std::make_shared<net::ForeignStream>(here, stream), conn, protocol};
      // Named: GCC 12 may destroy a temporary of a co_await expression twice.
      auto run = [h = entry.handler, ctx = std::move(ctx)]() mutable { return h(std::move(ctx)); };
      co_await asio::co_spawn(executor_, std::move(run), asio::use_awaitable);
    }
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
