#include "identify/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>

#include "identify/identify.hpp"
#include "net/deadline.hpp"

namespace mp::identify {

Service::Service(host::Host& host) : host_(host) {
  // Handlers are plain lambdas returning a coroutine: GCC 12 miscompiles
  // coroutine lambdas that take parameters by value.
  // Our answer needs nothing the host's thread owns (the host's addresses
  // and protocols are readable anywhere): served on the connection's thread.
  host_.set_handler(
      std::string(kProtocol),
      [this](host::StreamContext ctx) { return serve_stream(std::move(ctx)); },
      host::HandlerThread::kConnection);
  host_.set_handler(std::string(kPushProtocol), [this](host::StreamContext ctx) {
    return receive_push(std::move(ctx));
  });
  host_.events().subscribe([this, alive = alive_](const host::Event& e) {
    if (*alive) on_event(e);
  });
}

Service::~Service() {
  *alive_ = false;
  host_.remove_handler(std::string(kProtocol));
  host_.remove_handler(std::string(kPushProtocol));
  for (auto& [id, pc] : connections_) {
    if (auto c = pc.connection.lock(); c && c->memory()) c->memory()->release(pc.reserved);
  }
}

const Info* Service::info(std::uint64_t connection_id) const {
  auto it = connections_.find(connection_id);
  if (it == connections_.end() || !it->second.info) return nullptr;
  return &*it->second.info;
}

void Service::on_event(const host::Event& e) {
  if (const auto* est = std::get_if<host::ConnectionEstablished>(&e)) {
    auto conn = host_.connection(est->connection_id);
    if (!conn) return;
    PerConnection& pc = connections_[est->connection_id];
    pc.connection = conn;
    pc.push_tokens = static_cast<double>(host_.config().identify_push_burst);
    pc.push_refill = std::chrono::steady_clock::now();
    // Asked on the connection's thread; only what we keep comes back here.
    const auto ex = conn->executor();
    asio::co_spawn(ex, ask(std::move(conn)), asio::detached);
  } else if (const auto* closed = std::get_if<host::ConnectionClosed>(&e)) {
    auto it = connections_.find(closed->connection_id);
    if (it == connections_.end()) return;
    if (auto c = it->second.connection.lock(); c && c->memory()) {
      c->memory()->release(it->second.reserved);
    }
    connections_.erase(it);
  }
}

Info Service::ours(const host::Connection& conn) const {
  Info info;
  info.protocol_version = host_.config().protocol_version;
  info.agent_version = host_.config().agent_version;
  info.public_key = host_.local_public_key();
  info.listen_addrs = host_.advertised_addrs();
  info.observed_addr = conn.remote_addr();
  info.protocols = host_.protocols();
  return info;
}

asio::awaitable<void> Service::serve_stream(host::StreamContext ctx) {
  co_await serve(*ctx.stream, ours(*ctx.connection));
}

asio::awaitable<void> Service::receive_push(host::StreamContext ctx) {
  auto alive = alive_;
  auto it = connections_.find(ctx.connection->id());
  if (it == connections_.end()) {
    ctx.stream->reset();
    co_return;
  }
  // Token bucket per connection: parsing a 64 KiB push costs CPU, and each
  // feeds the peer store; refusing is a RST before reading anything.
  PerConnection& pc = it->second;
  const auto& cfg = host_.config();
  const auto now = std::chrono::steady_clock::now();
  const double refill = std::chrono::duration<double>(now - pc.push_refill).count() /
                        std::chrono::duration<double>(cfg.identify_push_interval).count();
  pc.push_tokens = std::min(static_cast<double>(cfg.identify_push_burst), pc.push_tokens + refill);
  pc.push_refill = now;
  if (pc.push_tokens < 1.0) {
    host_.stats().refuse(host::Scope::kConnection, host::RefusalReason::kIdentifyPush);
    spdlog::debug("identify push from {} refused: over the rate limit",
                  ctx.connection->remote_peer().to_base58());
    ctx.stream->reset();
    co_return;
  }
  pc.push_tokens -= 1.0;
  auto info = co_await receive(*ctx.stream, ctx.connection->remote_peer());
  if (*alive) keep(*ctx.connection, std::move(info));
}

asio::awaitable<void> Service::ask(std::shared_ptr<host::Connection> conn) {
  auto alive = alive_;
  try {
    std::vector<std::string> proposals{std::string(kProtocol)};
    // We only read: our side closes with the proposal, in the same frame
    // flush, so dropping the stream after the answer sends nothing more.
    auto s = co_await conn->open_stream(std::move(proposals), /*read_only=*/true);
    net::Deadline deadline(conn->executor(), host_.config().stream_negotiation_timeout, s.stream);
    auto info = co_await receive(*s.stream, conn->remote_peer());
    // Kept on the host's thread; nothing comes back (one message, not a
    // round trip: this coroutine ends here, with the stream on its thread).
    asio::dispatch(host_.executor(), [this, alive, conn, info = std::move(info)]() mutable {
      if (*alive) keep(*conn, std::move(info));
    });
  } catch (const std::exception& e) {
    if (conn->is_open())
      spdlog::debug("identify of {} failed: {}", conn->remote_peer().to_base58(), e.what());
  }
}

void Service::keep(const host::Connection& conn, Info info) {
  auto it = connections_.find(conn.id());
  if (it == connections_.end()) return;  // closed meanwhile
  PerConnection& pc = it->second;
  if (info.invalid_addrs > 0) {
    spdlog::debug("identify from {}: skipped {} undecodable addresses",
                  conn.remote_peer().to_base58(), info.invalid_addrs);
  }
  // Keep the (already bounded) parsed identify only if the budget has room.
  if (host::ConnectionAccount* memory = conn.memory()) {
    memory->release(std::exchange(pc.reserved, 0));
    const std::size_t need = info.kept_bytes();
    if (memory->reserve(need)) {
      pc.info.reset();
      spdlog::debug("identify from {} not kept: over the memory budget",
                    conn.remote_peer().to_base58());
      return;
    }
    pc.reserved = need;
  }
  pc.info = info;
  if (spdlog::should_log(spdlog::level::debug)) {  // base58 only when it is written
    spdlog::debug("identified {}: agent '{}', {} listen addrs, {} protocols",
                  conn.remote_peer().to_base58(), info.agent_version, info.listen_addrs.size(),
                  info.protocols.size());
  }
  host_.events().publish(host::IdentifyReceived{conn.id(), conn.remote_peer(), std::move(info)});
}

}  // namespace mp::identify
