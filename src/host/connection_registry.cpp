#include "host/connection_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

namespace mp::host {

ConnectionRegistry::ConnectionRegistry(asio::any_io_executor executor, const HostConfig& config,
                                       HostStats& stats, InboundStream on_inbound)
    : executor_(std::move(executor)),
      config_(config),
      stats_(stats),
      on_inbound_(std::move(on_inbound)),
      limits_(config.limits),
      handshakes_(config.max_handshakes, config.max_handshakes_per_ip) {}

ConnectionRegistry::~ConnectionRegistry() {
  *alive_ = false;
}

std::shared_ptr<Connection> ConnectionRegistry::add(SecuredConnection secured) {
  // A connection on a network thread keeps its muxer's executor; QUIC's and
  // the dialled ones live on ours.
  asio::any_io_executor ex = secured.executor ? secured.executor : executor_;
  auto conn = std::make_shared<Connection>(next_id_++, std::move(secured), std::move(ex),
                                           config_.stream_negotiation_timeout);
  limits_.socket_opened(conn->remote_ip_);  // released by on_closed
  connections_[conn->id_] = conn;
  auto& list = by_peer_[conn->peer_];
  list.push_back(conn);
  limits_.peer_opened(conn->peer_);
  stats_.connections_current.fetch_add(1, std::memory_order_relaxed);
  stats_.count_opened(conn->transport_, conn->direction_ == Direction::kInbound);

  auto alive = alive_;
  std::weak_ptr<Connection> weak = conn;
  // Both callbacks run on the connection's thread: its inbound streams are
  // served there (on_inbound_ spawns on Connection::executor()), its end is
  // told to us here.
  auto on_stream = [this, alive, weak](std::shared_ptr<net::ByteStream> stream) {
    if (!*alive) return;
    if (auto c = weak.lock()) on_inbound_(std::move(c), std::move(stream));
  };
  // (asio::dispatch: now when on that executor's thread, else posted.)
  auto on_close = [this, alive, weak, owner = executor_](const std::string& reason) {
    asio::dispatch(owner, [this, alive, weak, reason] {
      if (!*alive) return;
      if (auto c = weak.lock()) on_closed(c, reason);
    });
  };
  // Posted (when on another thread) before anything a service does with the
  // connection there (identify's stream, a close): posts to one thread keep order.
  asio::dispatch(conn->executor_, [m = conn->muxed_, on_stream = std::move(on_stream),
                                   on_close = std::move(on_close)]() mutable {
    m->start(std::move(on_stream), std::move(on_close));
  });

  // Checked first: the arguments (base58, the address's text) cost more than
  // the rest of the bookkeeping, at a level that is usually off.
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("connection {} established with {} ({}, {})", conn->id_,
                  conn->peer_.to_base58(), to_string(conn->direction_),
                  conn->remote_addr_.to_string());
  }
  events_.publish(ConnectionEstablished{conn->id_, conn->peer_, conn->direction_,
                                        conn->remote_addr_, list.size()});
  start_idle_sweep();
  return conn;
}

void ConnectionRegistry::on_closed(const std::shared_ptr<Connection>& conn,
                                   const std::string& reason) {
  if (!conn->is_open()) return;
  conn->open_.store(false, std::memory_order_release);
  const std::string why = conn->close_reason_.empty() ? reason : conn->close_reason_;
  connections_.erase(conn->id_);
  auto it = by_peer_.find(conn->peer_);
  std::size_t remaining = 0;
  if (it != by_peer_.end()) {
    auto& v = it->second;
    v.erase(std::remove(v.begin(), v.end(), conn), v.end());
    remaining = v.size();
    if (v.empty()) by_peer_.erase(it);
  }
  sync_stream_refusals(*conn);
  limits_.peer_closed(conn->peer_);
  limits_.socket_closed(conn->remote_ip_);
  stats_.connections_current.fetch_sub(1, std::memory_order_relaxed);
  stats_.count_closed(conn->transport_, conn->direction_ == Direction::kInbound);
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("connection {} with {} closed: {}", conn->id_, conn->peer_.to_base58(), why);
  }
  events_.publish(ConnectionClosed{conn->id_, conn->peer_, conn->direction_, why, remaining});
  if (connections_.empty() && idle_timer_) idle_timer_->cancel();
}

void ConnectionRegistry::sync_stream_refusals(Connection& conn) {
  if (!conn.muxed_) return;
  const std::uint64_t refused = conn.muxed_->streams_refused();
  if (refused > conn.streams_refused_seen_) {
    stats_.count(StreamRefusal::kMaxStreams, refused - conn.streams_refused_seen_);
    conn.streams_refused_seen_ = refused;
  }
}

void ConnectionRegistry::start_idle_sweep() {
  if (idle_timer_) return;
  idle_timer_ = std::make_shared<asio::steady_timer>(executor_);
  asio::co_spawn(executor_, idle_sweep(idle_timer_), asio::detached);
}

// One timer for every connection (per-connection state is what bounds how
// many peers a node holds), ending when the registry is empty.
asio::awaitable<void> ConnectionRegistry::idle_sweep(std::shared_ptr<asio::steady_timer> timer) {
  auto alive = alive_;
  const auto step = std::max<std::chrono::milliseconds>(
      std::chrono::milliseconds(50),
      std::min<std::chrono::milliseconds>(config_.idle_timeout / 4, std::chrono::seconds(5)));
  std::vector<std::shared_ptr<Connection>> idle;
  for (;;) {
    timer->expires_after(step);
    std::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive) co_return;
    if (connections_.empty()) break;
    const auto now = std::chrono::steady_clock::now();
    for (const auto& [id, conn] : connections_) {
      sync_stream_refusals(*conn);
      // Busy: kept alive, or holding streams on which the remote sent
      // something (data or window credit) within the idle timeout. Streams
      // alone do not count: a peer that opens streams and then sends nothing
      // would hold them (and their buffers) forever.
      const bool remote_active =
          conn->muxed_ && now - conn->muxed_->last_remote_activity() < config_.idle_timeout;
      if (conn->keep_alive_ || (conn->stream_count() > 0 && remote_active)) {
        conn->mark_busy(now);
      } else if (now - conn->last_busy() >= config_.idle_timeout) {
        idle.push_back(conn);
      }
    }
    for (auto& conn : idle) conn->close("idle timeout");
    idle.clear();
  }
  idle_timer_.reset();
}

std::shared_ptr<Connection> ConnectionRegistry::connection(std::uint64_t id) const {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second;
}

std::shared_ptr<Connection> ConnectionRegistry::connection_to(const PeerId& peer) const {
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) return nullptr;
  for (const auto& c : it->second) {
    if (c->is_open()) return c;
  }
  return nullptr;
}

std::vector<std::shared_ptr<Connection>> ConnectionRegistry::connections() const {
  std::vector<std::shared_ptr<Connection>> out;
  out.reserve(connections_.size());
  for (const auto& [id, c] : connections_) out.push_back(c);
  return out;
}

void ConnectionRegistry::close_all(const std::string& reason) {
  for (auto& c : connections()) c->close(reason);
}

}  // namespace mp::host
