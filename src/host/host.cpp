#include "host/host.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <spdlog/spdlog.h>
#include <stdexcept>

#include "host/tcp_transport.hpp"
#include "net/hop.hpp"
#include "quic/address.hpp"
#include "quic/quic_transport.hpp"

namespace mp::host {

Host::Host(asio::any_io_executor executor, HostConfig config, const Ed25519KeyPair& identity,
           std::vector<asio::any_io_executor> network)
    : executor_(std::move(executor)),
      network_(std::move(network)),
      config_(std::move(config)),
      local_peer_(PeerId::from_public_key(identity.public_key())),
      local_key_(identity.public_key()),
      budget_(ResourceBudget::create(BudgetLimits::from_node_total(config_.max_memory_bytes))),
      dispatch_(executor_, config_, stats_),
      registry_(executor_, config_, stats_,
                [this](std::shared_ptr<Connection> conn, std::shared_ptr<net::ByteStream> stream) {
                  // On the connection's thread (the registry calls us there).
                  const auto ex = conn->executor();
                  asio::co_spawn(ex, dispatch_.serve(std::move(conn), std::move(stream)),
                                 asio::detached);
                }),
      transport_(std::make_unique<TcpTransport>(executor_, config_, identity, *this)),
      quic_(std::make_unique<quic::QuicTransport>(executor_, config_, identity, *this)) {}

Host::~Host() {
  *alive_ = false;
}

void Host::add_external_addr(const Multiaddr& addr) {
  std::lock_guard lock(addrs_mutex_);
  if (std::find(external_addrs_.begin(), external_addrs_.end(), addr) == external_addrs_.end()) {
    external_addrs_.push_back(addr);
  }
}

Status Host::listen(bool ipv6_optional) {
  // TCP addresses go to TcpTransport, /udp/N/quic-v1 to QuicTransport.
  if (auto st = transport_->listen(ipv6_optional); !st) return st;
  if (auto st = quic_->listen(ipv6_optional); !st) return st;
  std::lock_guard lock(addrs_mutex_);
  listen_addrs_ = transport_->listen_addrs();
  listen_addrs_.insert(listen_addrs_.end(), quic_->listen_addrs().begin(),
                       quic_->listen_addrs().end());
  return Status::Ok();
}

const std::vector<Multiaddr>& Host::listen_addrs() const {
  return listen_addrs_;
}

std::size_t Host::handshakes_in_progress() const {
  return registry_.handshakes().size();
}

HandshakeAdmission Host::admit_handshake(const std::string& ip, Transport transport) {
  auto a = registry_.handshakes().admit(ip, std::chrono::steady_clock::now(), transport);
  if (!a.admitted()) {
    stats_.refuse(*a.refused_by, RefusalReason::kHandshakes);
    return a;
  }
  if (a.evicted) {
    // The table made room by dropping the stalled handshake with the least
    // progress; its transport closes it (its coroutine or connection cleans up).
    stats_.refuse(Scope::kNode, RefusalReason::kHandshakeEvicted);
    if (a.evicted_transport == Transport::kQuic) {
      quic_->evict_handshake(*a.evicted);
    } else {
      transport_->evict_handshake(*a.evicted);
    }
  }
  return a;
}

asio::any_io_executor Host::next_connection_executor() {
  if (network_.empty()) return executor_;
  const std::size_t i = next_network_++ % network_.size();
  return network_[i];
}

int Host::network_thread_of(const asio::any_io_executor& ex) const {
  for (std::size_t i = 0; i < network_.size(); ++i) {
    if (network_[i] == ex) return static_cast<int>(i);
  }
  return -1;
}

std::vector<Multiaddr> Host::advertised_addrs() const {
  std::lock_guard lock(addrs_mutex_);
  std::vector<Multiaddr> out = listen_addrs_;
  for (const auto& a : external_addrs_) {
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  return out;
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
  auto alive = alive_;
  if (quic::is_quic(addr)) {
    // The QUIC connection lives on the next connection executor too (the
    // transport makes it here and waits for its handshake done there).
    SecuredConnection secured = co_await quic_->dial(addr.without_peer_id(), expected);
    if (!*alive) throw std::system_error(asio::error::operation_aborted);
    const asio::any_io_executor where = secured.executor;
    auto conn = registry_.add(std::move(secured));
    if (spdlog::should_log(spdlog::level::debug) && where) {
      if (const int t = network_thread_of(where); t >= 0) {
        spdlog::debug("dialled quic connection {} with {} lives on network thread {}", conn->id(),
                      conn->remote_peer().to_base58(), t);
      }
    }
    co_return conn;
  }
  // The connection lives on the next connection executor from its socket
  // on: connect, upgrade and registration (one hop back to us) run there,
  // and we wait here for the registered connection (inline when it is ours).
  const asio::any_io_executor here = next_connection_executor();
  auto make = [this, target = addr.without_peer_id(), expected, here] {
    return transport_->dial(target, expected, here);
  };
  auto conn = co_await net::complete_on(here, make);
  if (!*alive) throw std::system_error(asio::error::operation_aborted);
  co_return conn;
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

void Host::shutdown() {
  transport_->close();
  quic_->close();
  registry_.close_all("node shutting down");
}

}  // namespace mp::host
