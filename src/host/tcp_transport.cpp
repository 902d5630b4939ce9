#include "host/tcp_transport.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "host/error.hpp"
#include "host/host.hpp"
#include "host/yamux_connection.hpp"
#include "multistream/negotiate.hpp"
#include "net/deadline.hpp"
#include "net/hop.hpp"
#include "net/prefixed_stream.hpp"
#include "net/tcp_stream.hpp"
#include "noise/noise_stream.hpp"

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

}  // namespace

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

TcpTransport::TcpTransport(asio::any_io_executor executor, const HostConfig& config,
                           const Ed25519KeyPair& identity, Host& host)
    : executor_(std::move(executor)),
      config_(config),
      host_(host),
      stats_(host.stats()),
      noise_identity_(std::make_unique<noise::LocalIdentity>(identity)) {
}

TcpTransport::~TcpTransport() {
  *alive_ = false;
}

void TcpTransport::close() {
  closing_ = true;
  for (auto& a : acceptors_) {
    std::error_code ec;
    a->close(ec);
  }
}

Status TcpTransport::listen(bool ipv6_optional) {
  for (const auto& ma : config_.listen_addrs) {
    auto ep = ma.tcp_endpoint();
    if (!ep && ma.value_of(Proto::kQuicV1)) continue;  // QuicTransport's
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

asio::awaitable<void> TcpTransport::accept_loop(std::shared_ptr<asio::ip::tcp::acceptor> acceptor) {
  auto alive = alive_;
  while (*alive && acceptor->is_open()) {
    std::error_code ec;
    // The socket is made on the io_context it will live on (a network
    // thread's in turn, or ours).
    asio::ip::tcp::socket socket = co_await acceptor->async_accept(
        host_.next_connection_executor(), asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || closing_) co_return;
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

asio::awaitable<void> TcpTransport::upgrade_inbound(asio::ip::tcp::socket socket) {
  auto alive = alive_;
  std::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) co_return;
  const std::string ip = endpoint_ip(remote);
  // Refused before any handshake: closing the socket is all it costs, and it
  // is counted by the limit that refused it (not as a handshake failure).
  if (auto refusal = host_.registry_.limits().admit_socket(ip)) {
    stats_.count(*refusal, Transport::kTcp);
    spdlog::debug("refused inbound connection from {}: {}", ip,
                  kLimitRefusalNames[static_cast<std::size_t>(*refusal)]);
    co_return;
  }
  const auto admission = host_.admit_handshake(ip, Transport::kTcp);
  if (!admission.admitted()) {
    spdlog::debug("refused inbound connection from {}: too many handshakes in progress ({})", ip,
                  kScopeNames[static_cast<std::size_t>(*admission.refused_by)]);
    co_return;
  }
  auto tcp = std::make_shared<net::TcpStream>(std::move(socket), &stats_.bytes_in, &stats_.bytes_out);
  const asio::any_io_executor here = tcp->socket().get_executor();
  handshake_sockets_[admission.id] = tcp;
  if (net::runs_here(here)) {
    co_await upgrade_and_register(std::move(tcp), ip, admission);
  } else {
    // The whole upgrade runs on the connection's network thread; it comes
    // back to us only to be admitted and registered (and to leave the
    // handshake table).
    asio::co_spawn(here, upgrade_and_register(std::move(tcp), ip, admission), asio::detached);
  }
}

asio::awaitable<void> TcpTransport::upgrade_and_register(std::shared_ptr<net::TcpStream> tcp,
                                                         std::string ip,
                                                         HandshakeAdmission handshake) {
  try {
    co_await upgrade(std::move(tcp), Direction::kInbound, std::nullopt, std::move(handshake));
  } catch (const std::exception& e) {
    spdlog::debug("inbound connection from {} failed: {}", ip, e.what());
  }
}

void TcpTransport::evict_handshake(std::uint64_t id) {
  // Its coroutine sees the reset (on the socket's thread) and cleans up.
  if (auto it = handshake_sockets_.find(id); it != handshake_sockets_.end()) {
    if (auto s = it->second.lock()) {
      asio::dispatch(s->socket().get_executor(), [s] { s->reset(); });
    }
    handshake_sockets_.erase(it);
  }
}

void TcpTransport::on_owner(std::function<void()> f) {
  asio::dispatch(executor_, [alive = alive_, f = std::move(f)] {
    if (*alive) f();
  });
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

asio::awaitable<std::shared_ptr<Connection>> TcpTransport::upgrade(
    std::shared_ptr<net::TcpStream> tcp, Direction dir, std::optional<PeerId> expected,
    HandshakeAdmission handshake) {
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
    if (socket_counted && *alive) host_.registry_.limits().socket_closed(ip);
    socket_counted = false;
  };

  // One deadline for the whole handshake; an inbound socket must also finish
  // its first multistream-select exchange sooner (a slowloris sends a few
  // bytes and stalls).
  const auto handshake_deadline = std::chrono::steady_clock::now() + config_.handshake_timeout;
  const asio::any_io_executor here = tcp->socket().get_executor();
  net::Deadline deadline(here,
                         dir == Direction::kInbound
                             ? std::min(config_.handshake_timeout,
                                        config_.handshake_first_exchange_timeout)
                             : config_.handshake_timeout,
                         tcp);
  // Leaves the HandshakeTable however the handshake ends (the table is the
  // owner's: from a network thread this is a message).
  struct HandshakeEntry {
    TcpTransport* transport;
    std::shared_ptr<bool> alive;
    std::uint64_t id;
    ~HandshakeEntry() {
      if (id == 0 || !*alive) return;
      transport->on_owner([t = transport, id = id] {
        t->host_.registry_.handshakes().remove(id);
        t->handshake_sockets_.erase(id);
      });
    }
  } entry{this, alive, handshake.id};
  // The stage the table reads when it looks for a victim: an atomic
  // store, no message to the owner.
  auto advance = [&](HandshakeStage s) { host::advance(handshake.progress, s); };

  // What a failure without a more precise code counts as (an EOF, a
  // malformed length prefix): the stage it happened in.
  HandshakeFailure stage = HandshakeFailure::kMultistream;
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
    advance(HandshakeStage::kSecurity);
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
    advance(HandshakeStage::kMuxer);
    multistream::Negotiated mux;
    if (dir == Direction::kInbound) {
      // The answer goes out with the session's first frames (our identify
      // stream's opening, queued at registration): one segment fewer.
      mux = co_await multistream::negotiate_inbound(
          *secured, [](std::string_view p) { return p == yamux::kProtocolId; },
          /*max_attempts=*/16, multistream::Answer::kReturn);
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
    if (!*alive || closing_) throw std::system_error(asio::error::operation_aborted);

    // The connection limits, on the owner's thread; the connection is
    // registered there in the same step (nothing is admitted between the
    // check and the count).
    auto admit = [this, dir, ip, remote_peer] {
      if (dir == Direction::kInbound) {
        if (auto refusal = host_.registry_.limits().admit_socket(ip)) {
          stats_.count(*refusal, Transport::kTcp);
          throw net::ProtocolError(
              Errc::connection_refused,
              std::string(kLimitRefusalNames[static_cast<std::size_t>(*refusal)]));
        }
      }
      if (!host_.registry_.limits().admit_peer(remote_peer)) {
        stats_.count(LimitRefusal::kMaxPerPeer, Transport::kTcp);
        throw net::ProtocolError(Errc::connection_refused,
                                 "per-peer connection limit reached for " + remote_peer.to_base58());
      }
    };
    yamux::Config ycfg;
    ycfg.max_streams = config_.limits.max_streams_per_connection;
    // Connections of a bootstrap node carry small messages; a 4 KiB read
    // buffer (Yamux frames larger than it are read in pieces) keeps an idle
    // connection under the 20 KiB STYLE.md asks for.
    ycfg.read_buffer_size = 4 * 1024;
    auto account = host_.budget_->open_connection(ip);
    account->set_peer(std::string(as_string(remote_peer.bytes())));  // an opaque key: no base58
    SecuredConnection out;
    out.peer = remote_peer;
    out.public_key = remote_key;
    out.direction = dir;
    out.remote_addr = endpoint_to_multiaddr(remote);
    out.local_addr = endpoint_to_multiaddr(local);
    out.remote_ip = ip;
    out.muxed = std::make_shared<YamuxConnection>(here, std::move(muxed),
                                                  dir == Direction::kOutbound, ycfg,
                                                  std::move(account), std::move(mux.answer));
    out.executor = here;
    // Admitted and registered in one step on the owner's thread (inline
    // when we are on it); a refusal comes back here as the exception it is,
    // and what was built is released here, on the socket's thread.
    std::shared_ptr<Connection> registered;
    co_await net::run_on(executor_, [&] {
      if (!*alive || closing_) throw std::system_error(asio::error::operation_aborted);
      admit();
      // Leaves the handshake table in the same step (no message later).
      if (entry.id != 0) {
        host_.registry_.handshakes().remove(entry.id);
        handshake_sockets_.erase(entry.id);
        entry.id = 0;
      }
      registered = host_.registry_.add(std::move(out));
      if (spdlog::should_log(spdlog::level::debug)) {
        if (const int t = host_.network_thread_of(here); t >= 0) {
          spdlog::debug("{}connection {} with {} lives on network thread {}",
                        dir == Direction::kOutbound ? "dialled " : "", registered->id(),
                        remote_peer.to_base58(), t);
        }
      }
    });
    co_return registered;
  } catch (const std::system_error& e) {
    release_socket();
    if (*alive) {
      const bool timed_out = deadline.fired();
      const HandshakeFailure failure =
          timed_out ? HandshakeFailure::kTimeout : classify_handshake_failure(e.code(), stage);
      stats_.count(failure, Transport::kTcp);
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
      stats_.count(stage, Transport::kTcp);
      spdlog::debug("{} connection from {} closed during {} handshake: {}", to_string(dir), ip,
                    kHandshakeFailureNames[static_cast<std::size_t>(stage)], e.what());
    }
    throw;
  }
}

asio::awaitable<std::shared_ptr<Connection>> TcpTransport::dial(Multiaddr target,
                                                                std::optional<PeerId> expected,
                                                                asio::any_io_executor here) {
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
    asio::ip::tcp::resolver resolver(here);
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
  // The socket is made on the io_context the connection will live on.
  auto tcp = std::make_shared<net::TcpStream>(asio::ip::tcp::socket(here), &stats_.bytes_in,
                                              &stats_.bytes_out);
  {
    net::Deadline deadline(here, config_.dial_timeout, tcp);  // reset closes the socket
    std::error_code ec;
    co_await asio::async_connect(tcp->socket(), endpoints,
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (deadline.fired()) throw std::system_error(asio::error::timed_out, "dial timed out");
    if (ec) throw std::system_error(ec, "dial " + target.to_string());
  }
  co_return co_await upgrade(std::move(tcp), Direction::kOutbound, expected);
}

}  // namespace mp::host
