#include "host/host.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "host/tcp_transport.hpp"
#include "multistream/negotiate.hpp"
#include "net/deadline.hpp"
#include "net/deadline_stream.hpp"
#include "net/prefixed_stream.hpp"

namespace mp::host {

std::size_t Connection::stream_count() const {
  return muxed_ ? muxed_->stream_count() : 0;
}

asio::awaitable<NegotiatedStream> Connection::open_stream(std::vector<std::string> protocols) {
  if (!open_ || !muxed_) throw std::system_error(asio::error::not_connected);
  std::shared_ptr<net::ByteStream> stream = co_await muxed_->open_stream();
  auto self = shared_from_this();
  multistream::Negotiated negotiated;
  {
    net::Deadline deadline(host_->executor_, host_->config_.stream_negotiation_timeout, stream);
    negotiated = co_await multistream::negotiate_outbound(*stream, protocols);
  }
  if (!negotiated.leftover.empty()) {
    stream = std::make_shared<net::PrefixedStream>(std::move(negotiated.leftover), stream);
  }
  co_return NegotiatedStream{std::move(stream), std::move(negotiated.protocol)};
}

void Connection::close(const std::string& reason) {
  if (!open_) return;
  close_reason_ = reason;
  if (muxed_) muxed_->close();
}

Host::Host(asio::any_io_executor executor, HostConfig config, const Ed25519KeyPair& identity)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      local_peer_(PeerId::from_public_key(identity.public_key())),
      local_key_(identity.public_key()),
      limits_(config_.limits),
      budget_(ResourceBudget::create(BudgetLimits::from_node_total(config_.max_memory_bytes))),
      transport_(std::make_unique<TcpTransport>(executor_, config_, identity, *this)) {}

Host::~Host() {
  *alive_ = false;
}

void Host::set_handler(std::string protocol, StreamHandler handler) {
  handlers_[std::move(protocol)] = std::move(handler);
}

void Host::remove_handler(const std::string& protocol) {
  handlers_.erase(protocol);
}

std::vector<std::string> Host::protocols() const {
  std::vector<std::string> out;
  for (const auto& [p, h] : handlers_) out.push_back(p);
  return out;
}

void Host::add_external_addr(const Multiaddr& addr) {
  if (std::find(external_addrs_.begin(), external_addrs_.end(), addr) == external_addrs_.end()) {
    external_addrs_.push_back(addr);
  }
}

Status Host::listen(bool ipv6_optional) {
  return transport_->listen(ipv6_optional);
}

const std::vector<Multiaddr>& Host::listen_addrs() const {
  return transport_->listen_addrs();
}

std::size_t Host::handshakes_in_progress() const {
  return transport_->handshakes_in_progress();
}

std::vector<Multiaddr> Host::advertised_addrs() const {
  std::vector<Multiaddr> out = listen_addrs();
  for (const auto& a : external_addrs_) {
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  return out;
}

std::shared_ptr<Connection> Host::register_connection(SecuredConnection secured) {
  auto conn = std::make_shared<Connection>();
  conn->host_ = this;
  conn->id_ = next_connection_id_++;
  conn->peer_ = std::move(secured.peer);
  conn->remote_key_ = std::move(secured.public_key);
  conn->direction_ = secured.direction;
  conn->remote_addr_ = std::move(secured.remote_addr);
  conn->local_addr_ = std::move(secured.local_addr);
  conn->remote_ip_ = std::move(secured.remote_ip);
  conn->muxed_ = std::move(secured.muxed);
  conn->established_at_ = conn->last_busy_ = std::chrono::steady_clock::now();
  limits_.socket_opened(conn->remote_ip_);  // released by on_connection_closed

  connections_[conn->id_] = conn;
  auto& list = by_peer_[conn->peer_];
  list.push_back(conn);
  limits_.peer_opened(conn->peer_);
  stats_.connections_current.fetch_add(1, std::memory_order_relaxed);
  (conn->direction_ == Direction::kInbound ? stats_.opened_inbound : stats_.opened_outbound)
      .fetch_add(1, std::memory_order_relaxed);

  auto alive = alive_;
  std::weak_ptr<Connection> weak = conn;
  conn->muxed_->start(
      [this, alive, weak](std::shared_ptr<net::ByteStream> stream) {
        if (!*alive) return;
        if (auto c = weak.lock()) {
          asio::co_spawn(executor_, handle_inbound_stream(c, std::move(stream)), asio::detached);
        }
      },
      [this, alive, weak](const std::string& reason) {
        if (!*alive) return;
        if (auto c = weak.lock()) on_connection_closed(c, reason);
      });

  spdlog::debug("connection {} established with {} ({}, {})", conn->id_, conn->peer_.to_base58(),
                to_string(conn->direction_), conn->remote_addr_.to_string());
  events_.publish(ConnectionEstablished{conn->id_, conn->peer_, conn->direction_,
                                        conn->remote_addr_, list.size()});
  start_idle_sweep();
  return conn;
}

void Host::on_connection_closed(const std::shared_ptr<Connection>& conn,
                                const std::string& reason) {
  if (!conn->open_) return;
  conn->open_ = false;
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
  (conn->direction_ == Direction::kInbound ? stats_.closed_inbound : stats_.closed_outbound)
      .fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("connection {} with {} closed: {}", conn->id_, conn->peer_.to_base58(), why);
  events_.publish(ConnectionClosed{conn->id_, conn->peer_, conn->direction_, why, remaining});
  if (connections_.empty() && idle_timer_) idle_timer_->cancel();
}

asio::awaitable<void> Host::handle_inbound_stream(std::shared_ptr<Connection> conn,
                                                  std::shared_ptr<net::ByteStream> stream) {
  auto alive = alive_;
  stats_.streams_inbound.fetch_add(1, std::memory_order_relaxed);
  conn->last_busy_ = std::chrono::steady_clock::now();
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
    auto handler = handlers_.at(protocol);  // copy: the map may change while we run
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
                    protocol.empty() ? "(negotiation)" : protocol, conn->peer_.to_base58(),
                    e.what());
    }
    stream->reset();
    co_return;
  }
  if (*alive) conn->last_busy_ = std::chrono::steady_clock::now();
}

void Host::sync_stream_refusals(Connection& conn) {
  if (!conn.muxed_) return;
  const std::uint64_t refused = conn.muxed_->streams_refused();
  if (refused > conn.streams_refused_seen_) {
    stats_.count(StreamRefusal::kMaxStreams, refused - conn.streams_refused_seen_);
    conn.streams_refused_seen_ = refused;
  }
}

void Host::start_idle_sweep() {
  if (idle_timer_) return;
  idle_timer_ = std::make_shared<asio::steady_timer>(executor_);
  asio::co_spawn(executor_, idle_sweep(idle_timer_), asio::detached);
}

asio::awaitable<void> Host::idle_sweep(std::shared_ptr<asio::steady_timer> timer) {
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
        conn->last_busy_ = now;
      } else if (now - conn->last_busy_ >= config_.idle_timeout) {
        idle.push_back(conn);
      }
    }
    for (auto& conn : idle) conn->close("idle timeout");
    idle.clear();
  }
  idle_timer_.reset();
}

asio::awaitable<std::shared_ptr<Connection>> Host::dial(Multiaddr addr,
                                                        std::optional<PeerId> expected,
                                                        bool force_new) {
  if (auto id = addr.peer_id()) {
    if (expected && *expected != *id)
      throw std::invalid_argument("dial: /p2p/ id differs from the expected peer");
    expected = *id;
  }
  if (expected && *expected == local_peer_)
    throw std::invalid_argument("dial: refusing to dial ourselves");
  if (expected && !force_new) {
    if (auto existing = connection_to(*expected)) co_return existing;
  }
  auto secured = co_await transport_->dial(addr.without_peer_id(), expected);
  if (!*alive_) throw std::system_error(asio::error::operation_aborted);
  co_return register_connection(std::move(secured));
}

asio::awaitable<NegotiatedStream> Host::new_stream(const PeerId& peer,
                                                   std::vector<std::string> protocols,
                                                   const std::vector<Multiaddr>& addrs) {
  auto conn = connection_to(peer);
  if (!conn) {
    std::string last_error = "no address known";
    for (const auto& a : addrs) {
      try {
        conn = co_await dial(a, peer);
        break;
      } catch (const std::exception& e) {
        last_error = e.what();
      }
    }
    if (!conn) throw std::runtime_error("cannot reach " + peer.to_base58() + ": " + last_error);
  }
  co_return co_await conn->open_stream(std::move(protocols));
}

std::shared_ptr<Connection> Host::connection_to(const PeerId& peer) const {
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) return nullptr;
  for (const auto& c : it->second) {
    if (c->open_) return c;
  }
  return nullptr;
}

std::shared_ptr<Connection> Host::connection(std::uint64_t id) const {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Connection>> Host::connections() const {
  std::vector<std::shared_ptr<Connection>> out;
  out.reserve(connections_.size());
  for (const auto& [id, c] : connections_) out.push_back(c);
  return out;
}

void Host::shutdown() {
  shutting_down_ = true;
  transport_->close();
  for (auto& c : connections()) c->close("node shutting down");
}

}  // namespace mp::host
