#include "host/host.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "host/error.hpp"
#include "multistream/negotiate.hpp"
#include "net/deadline.hpp"
#include "net/deadline_stream.hpp"
#include "net/prefixed_stream.hpp"
#include "net/tcp_stream.hpp"
#include "noise/noise_stream.hpp"
#include "ping/ping.hpp"
#include "yamux/session.hpp"

namespace mp::host {

namespace {

// The remote's IP as text; an IPv4-mapped IPv6 address (a dual-stack
// socket) is written as the IPv4 address it is.
std::string endpoint_ip(const asio::ip::tcp::endpoint& ep) {
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  }
  return addr.to_string();
}

Multiaddr endpoint_to_multiaddr(const asio::ip::tcp::endpoint& ep) {
  return Multiaddr::ip_tcp(endpoint_ip(ep), ep.port());
}

// Interface addresses of this machine, to expand 0.0.0.0 / :: listeners.
std::vector<std::string> interface_addresses(bool v6) {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* it = list; it; it = it->ifa_next) {
    if (!it->ifa_addr || !(it->ifa_flags & IFF_UP)) continue;
    const int family = it->ifa_addr->sa_family;
    char buf[INET6_ADDRSTRLEN] = {};
    if (!v6 && family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(it->ifa_addr);
      inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
    } else if (v6 && family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(it->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr)) continue;  // needs a zone to be dialable
      inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
    } else {
      continue;
    }
    std::string s(buf);
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  freeifaddrs(list);
  return out;
}

}  // namespace

// A connection's share of the node's ResourceBudget, as its Yamux session
// sees it. Shared by the Connection and its Session (which may outlive the
// host briefly while it closes); the account goes when both are gone.
class BudgetGate final : public yamux::MemoryGate {
 public:
  explicit BudgetGate(std::unique_ptr<ConnectionAccount> account) : account_(std::move(account)) {}
  bool reserve(std::size_t stream_held, std::size_t n) override {
    return !account_->reserve(stream_held, n).has_value();
  }
  void release(std::size_t n) override { account_->release(n); }
  ConnectionAccount& account() { return *account_; }

 private:
  std::unique_ptr<ConnectionAccount> account_;
};

std::size_t Connection::stream_count() const {
  return session_ ? session_->stream_count() : 0;
}

asio::awaitable<NegotiatedStream> Connection::open_stream(std::vector<std::string> protocols) {
  if (!open_ || !session_) throw std::system_error(asio::error::not_connected);
  std::shared_ptr<net::ByteStream> stream = co_await session_->open_stream();
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
  if (session_) {
    session_->go_away(yamux::GoAwayCode::normal);
    session_->close();
  }
}

Host::Host(asio::any_io_executor executor, HostConfig config, const Ed25519KeyPair& identity)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      local_peer_(PeerId::from_public_key(identity.public_key())),
      local_key_(identity.public_key()),
      noise_identity_(std::make_unique<noise::LocalIdentity>(identity)),
      limits_(config_.limits),
      budget_(ResourceBudget::create(BudgetLimits::from_node_total(config_.max_memory_bytes))),
      handshakes_(config_.max_handshakes, config_.max_handshakes_per_ip) {
  // Identify and ping are part of every connection. (Handlers are plain
  // lambdas returning a coroutine: GCC 12 miscompiles coroutine lambdas that
  // take parameters by value.)
  set_handler(std::string(identify::kProtocol),
              [this](StreamContext ctx) { return serve_identify(std::move(ctx)); });
  set_handler(std::string(identify::kPushProtocol),
              [this](StreamContext ctx) { return receive_identify_push(std::move(ctx)); });
  set_handler(std::string(ping::kProtocol),
              [](StreamContext ctx) { return serve_ping(std::move(ctx)); });
}

asio::awaitable<void> Host::serve_identify(StreamContext ctx) {
  co_await identify::serve(*ctx.stream, our_identify(*ctx.connection));
}

asio::awaitable<void> Host::receive_identify_push(StreamContext ctx) {
  // Token bucket per connection: parsing a 64 KiB push costs CPU, and each
  // feeds the peer store; refusing is a RST before reading anything.
  Connection& c = *ctx.connection;
  const auto now = std::chrono::steady_clock::now();
  const double refill = std::chrono::duration<double>(now - c.push_refill_).count() /
                        std::chrono::duration<double>(config_.identify_push_interval).count();
  c.push_tokens_ =
      std::min(static_cast<double>(config_.identify_push_burst), c.push_tokens_ + refill);
  c.push_refill_ = now;
  if (c.push_tokens_ < 1.0) {
    stats_.refuse(Scope::kConnection, RefusalReason::kIdentifyPush);
    spdlog::debug("identify push from {} refused: over the rate limit", c.peer_.to_base58());
    ctx.stream->reset();
    co_return;
  }
  c.push_tokens_ -= 1.0;
  auto info = co_await identify::receive(*ctx.stream, ctx.connection->remote_peer());
  handle_identify(ctx.connection, std::move(info));
}

asio::awaitable<void> Host::serve_ping(StreamContext ctx) {
  co_await ping::serve(*ctx.stream);
}

Host::~Host() {
  *alive_ = false;
}

void Host::set_handler(std::string protocol, StreamHandler handler) {
  handlers_[std::move(protocol)] = std::move(handler);
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

std::vector<Multiaddr> Host::advertised_addrs() const {
  std::vector<Multiaddr> out = listen_addrs_;
  for (const auto& a : external_addrs_) {
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  return out;
}

Status Host::listen(bool ipv6_optional) {
  for (const auto& ma : config_.listen_addrs) {
    auto ep = ma.tcp_endpoint();
    if (!ep)
      return make_error("cannot listen on " + ma.to_string() +
                        ": only /ip4|ip6/.../tcp/N is supported");
    std::error_code ec;
    auto address = asio::ip::make_address(ep->first, ec);
    if (ec) return make_error("cannot listen on " + ma.to_string() + ": " + ec.message());
    asio::ip::tcp::endpoint endpoint(address, ep->second);
    auto acceptor = std::make_shared<asio::ip::tcp::acceptor>(executor_);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec && address.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec && ipv6_optional && address.is_v6()) {
      spdlog::warn("not listening on {}: {}", ma.to_string(), ec.message());
      continue;
    }
    if (ec) return make_error("cannot listen on " + ma.to_string() + ": " + ec.message());
    const auto bound = acceptor->local_endpoint();
    if (address.is_unspecified()) {
      for (const auto& ip : interface_addresses(address.is_v6())) {
        listen_addrs_.push_back(Multiaddr::ip_tcp(ip, bound.port()));
      }
    } else {
      listen_addrs_.push_back(endpoint_to_multiaddr(bound));
    }
    acceptors_.push_back(acceptor);
    asio::co_spawn(executor_, accept_loop(acceptor), asio::detached);
  }
  return Status::Ok();
}

asio::awaitable<void> Host::accept_loop(std::shared_ptr<asio::ip::tcp::acceptor> acceptor) {
  auto alive = alive_;
  while (*alive && acceptor->is_open()) {
    std::error_code ec;
    asio::ip::tcp::socket socket =
        co_await acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || shutting_down_) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      // Out of file descriptors and similar: back off instead of spinning.
      asio::steady_timer t(executor_, std::chrono::milliseconds(100));
      co_await t.async_wait(asio::use_awaitable);
      continue;
    }
    asio::co_spawn(executor_, upgrade_inbound(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> Host::upgrade_inbound(asio::ip::tcp::socket socket) {
  auto alive = alive_;
  std::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) co_return;
  const std::string ip = endpoint_ip(remote);
  // Refused before any handshake: closing the socket is all it costs, and it
  // is counted by the limit that refused it (not as a handshake failure).
  if (auto refusal = limits_.admit_socket(ip)) {
    stats_.count(*refusal);
    spdlog::debug("refused inbound connection from {}: {}", ip,
                  kLimitRefusalNames[static_cast<std::size_t>(*refusal)]);
    co_return;
  }
  const auto admission = handshakes_.admit(ip, std::chrono::steady_clock::now());
  if (!admission.admitted()) {
    stats_.refuse(*admission.refused_by, RefusalReason::kHandshakes);
    spdlog::debug("refused inbound connection from {}: too many handshakes in progress ({})", ip,
                  kScopeNames[static_cast<std::size_t>(*admission.refused_by)]);
    co_return;
  }
  if (admission.evicted) {
    // The table made room by dropping the stalled handshake with the least
    // progress; its coroutine sees the reset and cleans up.
    stats_.refuse(Scope::kNode, RefusalReason::kHandshakeEvicted);
    if (auto it = handshake_sockets_.find(*admission.evicted); it != handshake_sockets_.end()) {
      it->second->reset();
      handshake_sockets_.erase(it);
    }
  }
  try {
    auto tcp = std::make_shared<net::TcpStream>(std::move(socket), &stats_.bytes_in, &stats_.bytes_out);
    co_await upgrade(std::move(tcp), Direction::kInbound, std::nullopt, admission.id);
  } catch (const std::exception& e) {
    if (*alive) spdlog::debug("inbound connection from {} failed: {}", ip, e.what());
  }
}

namespace {

// What a failed handshake counts as, by the category and value of its error
// code; `stage` is what an EOF or a framing error counts as.
HandshakeFailure classify_handshake_failure(const std::error_code& ec, HandshakeFailure stage) {
  if (ec.category() == noise::error_category()) {
    return ec == noise::Errc::peer_id_mismatch ? HandshakeFailure::kPeerIdMismatch
                                               : HandshakeFailure::kNoise;
  }
  if (ec.category() == multistream::error_category()) return HandshakeFailure::kMultistream;
  if (ec.category() == yamux::error_category()) return HandshakeFailure::kYamux;
  if (ec.category() == host::error_category()) return HandshakeFailure::kLimit;
  if (ec == asio::error::timed_out) return HandshakeFailure::kTimeout;
  // The remote stopped, or broke the framing, in the middle of a stage.
  if (ec == asio::error::eof || ec.category() == net::error_category()) return stage;
  return HandshakeFailure::kIo;
}

}  // namespace

asio::awaitable<std::shared_ptr<Connection>> Host::upgrade(std::shared_ptr<net::TcpStream> tcp,
                                                           Direction dir,
                                                           std::optional<PeerId> expected,
                                                           std::uint64_t handshake) {
  auto alive = alive_;
  std::error_code ec;
  const auto remote = tcp->socket().remote_endpoint(ec);
  if (ec) throw std::system_error(ec);
  const auto local = tcp->socket().local_endpoint(ec);
  const std::string ip = endpoint_ip(remote);
  tcp->socket().set_option(asio::ip::tcp::no_delay(true), ec);

  // Handshakes in progress are bounded by the HandshakeTable; a socket
  // counts against MAX_CONNECTIONS only once it is established.
  bool socket_counted = false;
  auto release_socket = [&] {
    if (socket_counted && *alive) limits_.socket_closed(ip);
    socket_counted = false;
  };

  // One deadline for the whole handshake; an inbound socket must also finish
  // its first multistream-select exchange sooner (a slowloris sends a few
  // bytes and stalls).
  const auto handshake_deadline = std::chrono::steady_clock::now() + config_.handshake_timeout;
  net::Deadline deadline(executor_,
                         dir == Direction::kInbound
                             ? std::min(config_.handshake_timeout,
                                        config_.handshake_first_exchange_timeout)
                             : config_.handshake_timeout,
                         tcp);
  if (handshake != 0) handshake_sockets_[handshake] = tcp.get();
  // Leaves the HandshakeTable however the handshake ends.
  struct HandshakeEntry {
    Host* host;
    std::shared_ptr<bool> alive;
    std::uint64_t id;
    ~HandshakeEntry() {
      if (id == 0 || !*alive) return;
      host->handshakes_.remove(id);
      host->handshake_sockets_.erase(id);
    }
  } entry{this, alive, handshake};
  // What a failure without a more precise code counts as (an EOF, a
  // malformed length prefix): the stage it happened in.
  HandshakeFailure stage = HandshakeFailure::kMultistream;
  std::shared_ptr<yamux::Session> session;
  std::unique_ptr<noise::NoiseStream> secured;
  try {
    // 1. Security protocol. (The Noise layer owns what it reads from; the
    // TCP stream stays shared with the deadline.)
    std::unique_ptr<net::ByteStream> plain = std::make_unique<net::PrefixedStream>(Bytes{}, tcp);
    multistream::Negotiated sec;
    if (dir == Direction::kInbound) {
      sec = co_await multistream::negotiate_inbound(
          *plain, [](std::string_view p) { return p == noise::kProtocolId; });
    } else {
      const std::vector<std::string> proposals{std::string(noise::kProtocolId)};
      sec = co_await multistream::negotiate_outbound(*plain, proposals);
    }
    deadline.restart(handshake_deadline);
    handshakes_.advance(handshake, HandshakeStage::kSecurity);
    if (!sec.leftover.empty()) {
      plain = std::make_unique<net::PrefixedStream>(
          std::move(sec.leftover), std::shared_ptr<net::ByteStream>(std::move(plain)));
    }
    // 2. Noise XX.
    stage = HandshakeFailure::kNoise;
    if (dir == Direction::kInbound) {
      secured = co_await noise::secure_inbound(std::move(plain), *noise_identity_);
    } else {
      secured = co_await noise::secure_outbound(std::move(plain), *noise_identity_, expected);
    }
    // 3. Muxer.
    stage = HandshakeFailure::kMultistream;
    handshakes_.advance(handshake, HandshakeStage::kMuxer);
    multistream::Negotiated mux;
    if (dir == Direction::kInbound) {
      mux = co_await multistream::negotiate_inbound(
          *secured, [](std::string_view p) { return p == yamux::kProtocolId; });
    } else {
      const std::vector<std::string> proposals{std::string(yamux::kProtocolId)};
      mux = co_await multistream::negotiate_outbound(*secured, proposals);
    }
    stage = HandshakeFailure::kYamux;
    const PeerId remote_peer = secured->remote_peer();
    const PublicKey remote_key = secured->remote_public_key();
    std::unique_ptr<net::ByteStream> muxed = std::move(secured);
    if (!mux.leftover.empty()) {
      muxed = std::make_unique<net::PrefixedStream>(
          std::move(mux.leftover), std::shared_ptr<net::ByteStream>(std::move(muxed)));
    }
    if (deadline.fired()) throw std::system_error(asio::error::timed_out);
    if (!*alive || shutting_down_) throw std::system_error(asio::error::operation_aborted);

    if (dir == Direction::kInbound) {
      if (auto refusal = limits_.admit_socket(ip)) {
        stats_.count(*refusal);
        throw net::ProtocolError(Errc::connection_refused,
                                 std::string(kLimitRefusalNames[static_cast<std::size_t>(*refusal)]));
      }
    }
    if (!limits_.admit_peer(remote_peer)) {
      stats_.count(LimitRefusal::kMaxPerPeer);
      throw net::ProtocolError(Errc::connection_refused,
                               "per-peer connection limit reached for " + remote_peer.to_base58());
    }
    yamux::Config ycfg;
    ycfg.max_streams = config_.limits.max_streams_per_connection;
    // Connections of a bootstrap node carry small messages; a 4 KiB read
    // buffer (Yamux frames larger than it are read in pieces) keeps an idle
    // connection under the 20 KiB STYLE.md asks for.
    ycfg.read_buffer_size = 4 * 1024;
    auto gate = std::make_shared<BudgetGate>(budget_->open_connection(ip));
    gate->account().set_peer(remote_peer.to_base58());
    ycfg.memory = gate;
    session =
        yamux::Session::create(executor_, std::move(muxed), dir == Direction::kOutbound, ycfg);

    auto conn = std::make_shared<Connection>();
    conn->host_ = this;
    conn->id_ = next_connection_id_++;
    conn->peer_ = remote_peer;
    conn->remote_key_ = remote_key;
    conn->direction_ = dir;
    conn->remote_addr_ = endpoint_to_multiaddr(remote);
    conn->local_addr_ = endpoint_to_multiaddr(local);
    conn->remote_ip_ = ip;
    conn->session_ = session;
    conn->memory_ = std::move(gate);
    conn->push_tokens_ = static_cast<double>(config_.identify_push_burst);
    conn->push_refill_ = std::chrono::steady_clock::now();
    conn->established_at_ = conn->last_busy_ = std::chrono::steady_clock::now();
    limits_.socket_opened(ip);  // released by on_connection_closed
    co_return register_connection(std::move(conn));
  } catch (const std::system_error& e) {
    release_socket();
    if (*alive) {
      const bool timed_out = deadline.fired();
      const HandshakeFailure failure =
          timed_out ? HandshakeFailure::kTimeout : classify_handshake_failure(e.code(), stage);
      stats_.count(failure);
      // Peer misbehaviour: counted by reason, logged at debug only.
      spdlog::debug("{} connection from {} closed during {} handshake ({}): {}", to_string(dir),
                    ip, kHandshakeFailureNames[static_cast<std::size_t>(stage)],
                    kHandshakeFailureNames[static_cast<std::size_t>(failure)],
                    timed_out ? "timed out" : e.what());
    }
    throw;
  } catch (const std::exception& e) {
    // Not from the connection stack's layers (a failure of our own): counted
    // against the stage it happened in.
    release_socket();
    if (*alive) {
      stats_.count(stage);
      spdlog::debug("{} connection from {} closed during {} handshake: {}", to_string(dir), ip,
                    kHandshakeFailureNames[static_cast<std::size_t>(stage)], e.what());
    }
    throw;
  }
}

std::shared_ptr<Connection> Host::register_connection(std::shared_ptr<Connection> conn) {
  connections_[conn->id_] = conn;
  auto& list = by_peer_[conn->peer_];
  list.push_back(conn);
  limits_.peer_opened(conn->peer_);
  stats_.connections_current.fetch_add(1, std::memory_order_relaxed);
  (conn->direction_ == Direction::kInbound ? stats_.opened_inbound : stats_.opened_outbound)
      .fetch_add(1, std::memory_order_relaxed);

  auto alive = alive_;
  std::weak_ptr<Connection> weak = conn;
  conn->session_->set_close_handler([this, alive, weak](const std::string& reason) {
    if (!*alive) return;
    if (auto c = weak.lock()) on_connection_closed(c, reason);
  });
  conn->session_->start([this, alive, weak](std::shared_ptr<yamux::Stream> stream) {
    if (!*alive) return;
    if (auto c = weak.lock()) {
      asio::co_spawn(executor_, handle_inbound_stream(c, std::move(stream)), asio::detached);
    }
  });

  spdlog::debug("connection {} established with {} ({}, {})", conn->id_, conn->peer_.to_base58(),
                to_string(conn->direction_), conn->remote_addr_.to_string());
  events_.publish(ConnectionEstablished{conn->id_, conn->peer_, conn->direction_,
                                        conn->remote_addr_, list.size()});
  asio::co_spawn(executor_, run_identify(conn), asio::detached);
  asio::co_spawn(executor_, run_connection_timers(conn), asio::detached);
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
  if (conn->memory_) conn->memory_->release(std::exchange(conn->identify_reserved_, 0));
  stats_.connections_current.fetch_sub(1, std::memory_order_relaxed);
  (conn->direction_ == Direction::kInbound ? stats_.closed_inbound : stats_.closed_outbound)
      .fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("connection {} with {} closed: {}", conn->id_, conn->peer_.to_base58(), why);
  events_.publish(ConnectionClosed{conn->id_, conn->peer_, conn->direction_, why, remaining});
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
  if (!conn.session_) return;
  const std::uint64_t refused = conn.session_->counters().streams_refused;
  if (refused > conn.streams_refused_seen_) {
    stats_.count(StreamRefusal::kMaxStreams, refused - conn.streams_refused_seen_);
    conn.streams_refused_seen_ = refused;
  }
}

identify::Info Host::our_identify(const Connection& conn) const {
  identify::Info info;
  info.protocol_version = config_.protocol_version;
  info.agent_version = config_.agent_version;
  info.public_key = local_key_;
  info.listen_addrs = advertised_addrs();
  info.observed_addr = conn.remote_addr_;
  info.protocols = protocols();
  return info;
}

void Host::handle_identify(const std::shared_ptr<Connection>& conn, identify::Info info) {
  if (info.invalid_addrs > 0) {
    spdlog::debug("identify from {}: skipped {} undecodable addresses", conn->peer_.to_base58(),
                  info.invalid_addrs);
  }
  // Keep the (already bounded) parsed identify only if the budget has room.
  if (conn->memory_) {
    conn->memory_->release(std::exchange(conn->identify_reserved_, 0));
    const std::size_t need = info.kept_bytes();
    if (conn->memory_->account().reserve(need)) {
      conn->identify_.reset();
      spdlog::debug("identify from {} not kept: over the memory budget", conn->peer_.to_base58());
      return;
    }
    conn->identify_reserved_ = need;
  }
  conn->identify_ = info;
  spdlog::debug("identified {}: agent '{}', {} listen addrs, {} protocols", conn->peer_.to_base58(),
                info.agent_version, info.listen_addrs.size(), info.protocols.size());
  events_.publish(IdentifyReceived{conn->id_, conn->peer_, std::move(info)});
}

asio::awaitable<void> Host::run_identify(std::shared_ptr<Connection> conn) {
  auto alive = alive_;
  try {
    std::vector<std::string> proposals{std::string(identify::kProtocol)};
    auto s = co_await conn->open_stream(std::move(proposals));
    net::Deadline deadline(executor_, config_.stream_negotiation_timeout, s.stream);
    auto info = co_await identify::receive(*s.stream, conn->peer_);
    if (*alive) handle_identify(conn, std::move(info));
  } catch (const std::exception& e) {
    if (*alive && conn->open_)
      spdlog::debug("identify of {} failed: {}", conn->peer_.to_base58(), e.what());
  }
}

// One coroutine (and one timer) per connection for both periodic duties,
// since per-connection state is what bounds how many peers a node holds:
// the idle timeout and the periodic ping.
asio::awaitable<void> Host::run_connection_timers(std::shared_ptr<Connection> conn) {
  auto alive = alive_;
  asio::steady_timer timer(executor_);
  const auto step = std::max<std::chrono::milliseconds>(
      std::chrono::milliseconds(50),
      std::min<std::chrono::milliseconds>(config_.idle_timeout / 4, std::chrono::seconds(5)));
  auto next_ping = std::chrono::steady_clock::now() + config_.ping_interval;
  int ping_failures = 0;
  bool ping_supported = true;
  while (*alive && conn->open_) {
    timer.expires_after(std::min<std::chrono::steady_clock::duration>(
        step, std::max<std::chrono::steady_clock::duration>(
                  next_ping - std::chrono::steady_clock::now(), std::chrono::milliseconds(1))));
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || !conn->open_) co_return;
    sync_stream_refusals(*conn);

    auto now = std::chrono::steady_clock::now();
    // Busy: kept alive, or holding streams on which the remote sent
    // something (data or window credit) within the idle timeout. Streams
    // alone do not count: a peer that opens streams and then sends nothing
    // would hold them (and their buffers) forever.
    const bool remote_active =
        conn->session_ && now - conn->session_->last_remote_activity() < config_.idle_timeout;
    if (conn->keep_alive_ || (conn->stream_count() > 0 && remote_active)) {
      conn->last_busy_ = now;
    } else if (now - conn->last_busy_ >= config_.idle_timeout) {
      conn->close("idle timeout");
      co_return;
    }
    if (!ping_supported || now < next_ping) continue;

    try {
      std::vector<std::string> proposals{std::string(ping::kProtocol)};
      auto s = co_await conn->open_stream(std::move(proposals));
      net::Deadline deadline(executor_, config_.ping_timeout, s.stream);
      const auto rtt = co_await ping::ping_once(*s.stream);
      co_await s.stream->close_write();
      if (!*alive) co_return;
      stats_.pings_sent.fetch_add(1, std::memory_order_relaxed);
      conn->last_rtt_ = rtt;
      ping_failures = 0;
      events_.publish(PingRtt{conn->peer_, rtt});
    } catch (const std::exception& e) {
      if (!*alive || !conn->open_) co_return;
      stats_.pings_failed.fetch_add(1, std::memory_order_relaxed);
      // A peer that does not speak ping is fine; one that stops answering is not.
      const auto* se = dynamic_cast<const std::system_error*>(&e);
      if (se && se->code() == multistream::Errc::not_supported) {
        ping_supported = false;
      } else if (++ping_failures >= 3) {
        conn->close("ping failed 3 times: " + std::string(e.what()));
        co_return;
      }
    }
    next_ping = std::chrono::steady_clock::now() + config_.ping_interval;
  }
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
  const Multiaddr target = addr.without_peer_id();
  std::vector<asio::ip::tcp::endpoint> endpoints;
  if (auto ep = target.tcp_endpoint()) {
    endpoints.emplace_back(asio::ip::make_address(ep->first), ep->second);
  } else {
    // /dns|dns4|dns6/<name>/tcp/<port>
    const auto& comps = target.components();
    if (comps.size() < 2 || comps[1].proto != Proto::kTcp ||
        (comps[0].proto != Proto::kDns && comps[0].proto != Proto::kDns4 &&
         comps[0].proto != Proto::kDns6)) {
      throw std::invalid_argument("dial: unsupported address " + target.to_string());
    }
    const std::string host(as_string(comps[0].value));
    const std::string port = *target.value_of(Proto::kTcp);
    asio::ip::tcp::resolver resolver(executor_);
    auto results = co_await resolver.async_resolve(host, port, asio::use_awaitable);
    for (const auto& r : results) {
      const bool v4 = r.endpoint().address().is_v4();
      if (comps[0].proto == Proto::kDns4 && !v4) continue;
      if (comps[0].proto == Proto::kDns6 && v4) continue;
      endpoints.push_back(r.endpoint());
    }
    if (endpoints.empty())
      throw std::runtime_error("dial: " + host + " resolved to no usable address");
  }
  auto tcp = std::make_shared<net::TcpStream>(asio::ip::tcp::socket(executor_), &stats_.bytes_in,
                                              &stats_.bytes_out);
  {
    net::Deadline deadline(executor_, config_.dial_timeout, tcp);  // reset closes the socket
    std::error_code ec;
    co_await asio::async_connect(tcp->socket(), endpoints,
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (deadline.fired()) throw std::system_error(asio::error::timed_out, "dial timed out");
    if (ec) throw std::system_error(ec, "dial " + target.to_string());
  }
  co_return co_await upgrade(std::move(tcp), Direction::kOutbound, expected);
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

std::vector<std::shared_ptr<Connection>> Host::connections() const {
  std::vector<std::shared_ptr<Connection>> out;
  out.reserve(connections_.size());
  for (const auto& [id, c] : connections_) out.push_back(c);
  return out;
}

void Host::shutdown() {
  shutting_down_ = true;
  for (auto& a : acceptors_) {
    std::error_code ec;
    a->close(ec);
  }
  for (auto& c : connections()) c->close("node shutting down");
}

}  // namespace mp::host
