#include "quic/quic_transport.hpp"

#include <netinet/udp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "host/host.hpp"
#include "host/tcp_transport.hpp"
#include "net/foreign_stream.hpp"
#include "net/hop.hpp"
#include "quic/address.hpp"
#include "quic/datagram_batch.hpp"

namespace mp::quic {

struct QuicTransport::Socket {
  explicit Socket(const asio::any_io_executor& ex) : socket(ex) {}
  // Used on the transport's executor only; connections on other threads
  // send on `fd` (open while the Socket lives, or until close() closed it
  // with no connection elsewhere: then `open` is false first).
  asio::ip::udp::socket socket;
  int fd = -1;
  std::atomic<bool> open{true};
  asio::ip::udp::endpoint local;
  // Up to 16 datagrams per recvmmsg(2); one over 2048 bytes is truncated
  // and dropped (QUIC packets fit a path MTU; we never advertise more).
  DatagramBatch batch;
  // UDP_SEGMENT refused once: packets go one by one (set from any thread).
  std::atomic<bool> gso_failed{false};
};

namespace {

// One sendmsg(2) of `data` cut by the kernel into datagrams of `segment`
// bytes (UDP_SEGMENT). Returns 0, or the errno.
int send_segmented(int fd, const asio::ip::udp::endpoint& to, BytesView data, std::size_t segment) {
  iovec iov{const_cast<std::uint8_t*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(to.data());
  msg.msg_namelen = static_cast<socklen_t>(to.size());
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(std::uint16_t))> control{};
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
  const auto seg = static_cast<std::uint16_t>(segment);
  std::memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
  ssize_t rv;
  do {
    rv = ::sendmsg(fd, &msg, 0);
  } while (rv < 0 && errno == EINTR);
  return rv < 0 ? errno : 0;
}

// One datagram; true when sent.
bool send_one(int fd, const asio::ip::udp::endpoint& to, BytesView data) {
  ssize_t rv;
  do {
    rv = ::sendto(fd, data.data(), data.size(), 0, to.data(), static_cast<socklen_t>(to.size()));
  } while (rv < 0 && errno == EINTR);
  return rv >= 0;
}

host::HandshakeFailure classify(const std::string& reason) {
  if (reason == "handshake timeout") return host::HandshakeFailure::kTimeout;
  if (reason == "peer_id_mismatch") return host::HandshakeFailure::kPeerIdMismatch;
  if (reason == "limit") return host::HandshakeFailure::kLimit;
  return host::HandshakeFailure::kTls;
}

}  // namespace

QuicTransport::QuicTransport(asio::any_io_executor executor, const host::HostConfig& config,
                             const Ed25519KeyPair& identity, host::Host& host)
    : executor_(std::move(executor)),
      config_(config),
      host_(host) {
  // One certificate per process: its key is ephemeral, the host key signs it.
  auto cert = tls::make_certificate(identity);
  if (!cert) throw std::runtime_error("QUIC certificate: " + cert.message());
  auto creds = tls::Credentials::create(*cert);
  if (!creds) throw std::runtime_error("QUIC credentials: " + creds.message());
  credentials_.emplace(std::move(creds.value()));
  settings_.max_streams = config.limits.max_streams_per_connection;
  settings_.handshake_timeout = config.handshake_timeout;
  settings_.idle_timeout = config.idle_timeout;
  // The same identity makes the same reset tokens after a restart.
  settings_.reset_secret = derive_reset_secret(identity.secret());
  // So does the NEW_TOKEN key: tokens given before a restart still count.
  settings_.new_token_secret = derive_token_secret(identity.secret());
}

QuicTransport::~QuicTransport() {
  *alive_ = false;
}

void QuicTransport::close() {
  closing_ = true;
  drop_handoff();
  auto conns = connections_;
  bool elsewhere = false;
  for (auto& [h, e] : conns) {
    elsewhere = elsewhere || e.remote;
    asio::dispatch(e.ex, [c = e.conn] { c->close(); });  // where it lives
  }
  for (auto& s : sockets_) {
    std::error_code ec;
    // A connection on another thread may still send its CONNECTION_CLOSE:
    // the descriptor stays open (and cannot be reused under it) until the
    // Socket goes with the transport, after the network threads stopped.
    if (elsewhere) {
      s->socket.cancel(ec);
    } else {
      s->open = false;
      s->socket.close(ec);
    }
  }
}

QuicTransport::OnOwner QuicTransport::on_owner() const {
  // Holds what it needs by value: it is called on a connection's thread,
  // and looks at the transport only on its own, while it is alive.
  return [owner = executor_, alive = alive_](std::function<void()> f) {
    if (!*alive) return;
    if (net::runs_here(owner)) return f();
    asio::post(owner, [alive, f = std::move(f)] {
      if (*alive) f();
    });
  };
}

std::shared_ptr<QuicTransport::Socket> QuicTransport::open_socket(
    const asio::ip::udp::endpoint& ep, std::error_code& ec) {
  auto s = std::make_shared<Socket>(executor_);
  s->socket.open(ep.protocol(), ec);
  if (!ec && ep.address().is_v6()) s->socket.set_option(asio::ip::v6_only(true), ec);
  if (!ec) s->socket.bind(ep, ec);
  if (!ec) s->socket.non_blocking(true, ec);
  if (!ec) s->local = s->socket.local_endpoint(ec);
  if (ec) return nullptr;
  s->fd = s->socket.native_handle();
  sockets_.push_back(s);
  asio::co_spawn(executor_, receive_loop(s), asio::detached);
  return s;
}

Status QuicTransport::listen(bool ipv6_optional) {
  for (const auto& ma : config_.listen_addrs) {
    auto ep = quic_endpoint(ma);
    if (!ep) continue;  // TcpTransport's
    std::error_code ec;
    auto address = asio::ip::make_address(ep->first, ec);
    if (ec) return make_error("cannot listen on " + ma.to_string() + ": " + ec.message());
    auto sock = open_socket(asio::ip::udp::endpoint(address, ep->second), ec);
    if (ec && ipv6_optional && address.is_v6()) {
      spdlog::warn("not listening on {}: {}", ma.to_string(), ec.message());
      continue;
    }
    if (ec) return make_error("cannot listen on " + ma.to_string() + ": " + ec.message());
    if (address.is_unspecified()) {
      for (const auto& ip : host::interface_addresses(address.is_v6()))
        listen_addrs_.push_back(quic_multiaddr(ip, sock->local.port()));
    } else {
      listen_addrs_.push_back(quic_multiaddr(sock->local));
    }
  }
  return Status::Ok();
}

asio::awaitable<void> QuicTransport::receive_loop(std::shared_ptr<Socket> sock) {
  auto alive = alive_;
  // Waits for readiness, then reads until the socket has nothing queued, a
  // batch (one recvmmsg) at a time; after kBatchesPerTurn full batches it
  // lets the io_context run its other work first, then reads on.
  constexpr int kBatchesPerTurn = 4;
  while (*alive && sock->socket.is_open()) {
    std::error_code ec;
    co_await sock->socket.async_wait(asio::socket_base::wait_read,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || closing_ || ec == asio::error::operation_aborted) co_return;
    if (!sock->open) co_return;
    int errors = 0;
    for (int batches = 0;; ++batches) {
      if (batches == kBatchesPerTurn) {
        co_await asio::post(executor_, asio::use_awaitable);
        if (!*alive || closing_ || !sock->socket.is_open()) co_return;
        batches = 0;
      }
      const int n = sock->batch.receive(sock->socket.native_handle());
      // An error reported on the socket (an ICMP one) is consumed by the
      // call: read on, unless errors repeat (then wait for readiness).
      if (n < 0) {
        if (++errors == 8) break;
        continue;
      }
      errors = 0;
      for (int i = 0; i < n; ++i) {
        const auto slot = static_cast<std::size_t>(i);
        const BytesView data = sock->batch.data(slot);
        host_.stats().bytes_in.fetch_add(data.size(), std::memory_order_relaxed);
        if (sock->batch.truncated(slot)) {
          datagram_stats_->count(DropReason::kMalformed);
          continue;
        }
        on_datagram(sock, sock->batch.from(slot), data);
        if (!*alive) co_return;
        if (closing_) {
          drop_handoff();
          co_return;
        }
      }
      flush_handoff();  // before the batch's buffers are read into again
      if (n < static_cast<int>(DatagramBatch::kSlots)) break;
    }
  }
}

void QuicTransport::on_datagram(const std::shared_ptr<Socket>& sock,
                                const asio::ip::udp::endpoint& from, BytesView data,
                                bool retried) {
  const auto header = parse_header(data);
  if (!header) {
    // A long header of another version that cannot be a client's first
    // datagram (under 1200 bytes): not answered (RFC 9000 6.1).
    if (data.size() >= 5 && (data[0] & 0x80) != 0 &&
        (std::uint32_t{data[1]} << 24 | std::uint32_t{data[2]} << 16 | std::uint32_t{data[3]} << 8 |
         data[4]) != NGTCP2_PROTO_VER_V1)
      return datagram_stats_->count(DropReason::kVersion);
    return datagram_stats_->count(DropReason::kMalformed);
  }
  if (auto handle = router_.find(header->dcid)) {
    auto it = connections_.find(*handle);
    if (it != connections_.end()) {
      if (it->second.remote) return hand_over(it->second, from, data);
      auto conn = it->second.conn;  // may end inside (and `it` with it)
      const bool unregistered = it->second.inbound && !it->second.registered;
      conn->on_datagram(from, data);
      // The datagram that completes a client's handshake registers it now,
      // not when the posted event runs: the limits must count it before the
      // next datagram of the same batch (another Initial from that IP). A
      // registered connection's datagrams skip the second lookup.
      if (unregistered && conn->established() && !conn->terminated()) {
        on_inbound_established(*handle);
      }
      return;
    }
  }
  if (!header->long_header) {
    if (take_reset(data)) return;
    // A connection on another thread may have issued this ID, its route
    // still on its way here (posted before the packet that told the peer,
    // so queued before this look ends): look again after it.
    if (!retried && routes_in_flight_->load(std::memory_order_acquire) > 0 &&
        handed_over_->load(std::memory_order_relaxed) + data.size() <= kMaxHandedOver) {
      count_handed_over(nullptr, data.size());
      asio::post(executor_, [this, alive = alive_, w = std::weak_ptr<Socket>(sock), from,
                             copy = Bytes(data.begin(), data.end())] {
        handed_over_->fetch_sub(copy.size(), std::memory_order_relaxed);
        auto s = w.lock();
        if (!*alive || !s || closing_) return;
        on_datagram(s, from, copy, true);
        flush_handoff();  // outside the receive loop's batches
      });
      return;
    }
    return answer_reset(sock, from, *header, data.size());
  }
  if (header->version != NGTCP2_PROTO_VER_V1)
    return answer_version(sock, from, *header, data.size());
  accept(sock, from, data);
}

void QuicTransport::hand_over(const Entry& e, const asio::ip::udp::endpoint& from,
                              BytesView data) {
  if (handoff_ && handoff_->conn != e.conn) flush_handoff();
  const std::size_t pending = handoff_ ? handoff_->bytes.size() : 0;
  if (!room_for(*e.backlog, pending + data.size()))
    return datagram_stats_->count(DropReason::kBacklog);
  if (!handoff_) handoff_.emplace(Handoff{e.conn, e.backlog, {}, {}});
  handoff_->bytes.insert(handoff_->bytes.end(), data.begin(), data.end());
  handoff_->parts.emplace_back(data.size(), from);
}

void QuicTransport::flush_handoff() {
  if (!handoff_) return;
  Handoff h = std::move(*handoff_);
  handoff_.reset();
  count_handed_over(h.backlog.get(), h.bytes.size());
  datagram_stats_->handed_over.fetch_add(h.parts.size(), std::memory_order_relaxed);
  const auto ex = h.conn->executor();
  asio::post(ex, [h = std::move(h), counter = handed_over_] {
    std::size_t off = 0;
    for (const auto& [n, from] : h.parts) {
      h.conn->on_datagram(from, BytesView(h.bytes.data() + off, n));
      off += n;
    }
    counter->fetch_sub(h.bytes.size(), std::memory_order_relaxed);
    h.backlog->fetch_sub(h.bytes.size(), std::memory_order_relaxed);
  });
}

std::size_t QuicTransport::thread_share() const {
  return kMaxHandedOver / std::max<std::size_t>(1, host_.network_.size());
}

std::shared_ptr<std::atomic<std::uint64_t>> QuicTransport::backlog_of(
    const asio::any_io_executor& ex) {
  const int i = host_.network_thread_of(ex);
  if (i < 0) return nullptr;
  const auto at = static_cast<std::size_t>(i);
  if (thread_backlog_.size() <= at) thread_backlog_.resize(at + 1);
  if (!thread_backlog_[at]) thread_backlog_[at] = std::make_shared<std::atomic<std::uint64_t>>(0);
  return thread_backlog_[at];
}

bool QuicTransport::room_for(const std::atomic<std::uint64_t>& backlog, std::size_t n) const {
  return handed_over_->load(std::memory_order_relaxed) + n <= kMaxHandedOver &&
         backlog.load(std::memory_order_relaxed) + n <= thread_share();
}

void QuicTransport::count_handed_over(std::atomic<std::uint64_t>* backlog, std::size_t n) {
  if (backlog) backlog->fetch_add(n, std::memory_order_relaxed);
  // Only this executor adds (the cap was checked here), so the sum is the
  // most there can be at once until the next addition.
  const std::uint64_t now = handed_over_->fetch_add(n, std::memory_order_relaxed) + n;
  auto& peak = datagram_stats_->handed_over_bytes_peak;
  if (now > peak.load(std::memory_order_relaxed)) peak.store(now, std::memory_order_relaxed);
}

void QuicTransport::drop_handoff() {
  handoff_.reset();
}

bool QuicTransport::take_reset(BytesView data) {
  const auto handle = reset_tokens_.match(data);
  if (!handle) return false;
  auto it = connections_.find(*handle);
  if (it == connections_.end()) return false;
  datagram_stats_->resets_received.fetch_add(1, std::memory_order_relaxed);
  auto conn = it->second.conn;  // ends inside
  spdlog::debug("quic: stateless reset of our connection to {}", endpoint_ip(conn->remote()));
  // RFC 9000 10.3.1: the connection is over, and nothing more is sent on it
  // (on its own thread, where it lives).
  asio::dispatch(it->second.ex, [conn] { conn->abort("stateless reset"); });
  return true;
}

void QuicTransport::answer_version(const std::shared_ptr<Socket>& sock,
                                   const asio::ip::udp::endpoint& from,
                                   const DatagramHeader& header, std::size_t size) {
  // Version 0 is a Version Negotiation packet itself: never answered.
  if (closing_ || header.version == 0 || size < kMinInitialDatagram)
    return datagram_stats_->count(DropReason::kVersion);
  if (!version_answers_.take(std::chrono::steady_clock::now()))
    return datagram_stats_->count(DropReason::kVersionRate);
  const std::size_t n = write_version_negotiation(answer_, header.dcid, header.scid, size);
  if (n == 0) return datagram_stats_->count(DropReason::kVersion);
  send_stateless(sock, from, n, StatelessAnswer::kVersionNegotiation);
}

void QuicTransport::answer_reset(const std::shared_ptr<Socket>& sock,
                                 const asio::ip::udp::endpoint& from, const DatagramHeader& header,
                                 std::size_t size) {
  // Too small for a reset one byte shorter: not answered (a reset of ours
  // reaching another endpoint of this kind shrinks at each step and stops).
  if (closing_ || size <= kMinStatelessReset)
    return datagram_stats_->count(DropReason::kUnknownConnection);
  if (!reset_answers_.take(std::chrono::steady_clock::now()))
    return datagram_stats_->count(DropReason::kUnknownConnection);
  const std::size_t n = write_stateless_reset(answer_, settings_.reset_secret, header.dcid, size);
  if (n == 0) return datagram_stats_->count(DropReason::kUnknownConnection);
  send_stateless(sock, from, n, StatelessAnswer::kStatelessReset);
}

void QuicTransport::send_stateless(const std::shared_ptr<Socket>& sock,
                                   const asio::ip::udp::endpoint& to, std::size_t size,
                                   StatelessAnswer what) {
  std::error_code ec;
  sock->socket.send_to(asio::buffer(answer_.data(), size), to, 0, ec);
  if (ec) return;
  host_.stats().bytes_out.fetch_add(size, std::memory_order_relaxed);
  datagram_stats_->count(what);
}

void QuicTransport::accept(const std::shared_ptr<Socket>& sock,
                           const asio::ip::udp::endpoint& from, BytesView data) {
  if (closing_) return;
  ngtcp2_pkt_hd hd{};
  const int rv = ngtcp2_accept(&hd, data.data(), data.size());
  if (rv != 0) return datagram_stats_->count(DropReason::kNotInitial);
  if (hd.version != NGTCP2_PROTO_VER_V1) return datagram_stats_->count(DropReason::kVersion);
  // Address validation (RFC 9000 8.1), before any state: a Retry token of
  // ours must be genuine, fresh and for this address; without one, the
  // client may be asked to come back with one.
  std::optional<ngtcp2_cid> original_dcid;
  bool token_validated = false;
  const auto now = QuicConnection::now();
  if (has_retry_token(hd)) {
    original_dcid = retry_tokens_.verify(hd, from, now);
    if (!original_dcid) {
      datagram_stats_->tokens_refused.fetch_add(1, std::memory_order_relaxed);
      return datagram_stats_->count(DropReason::kToken);
    }
    datagram_stats_->tokens_accepted.fetch_add(1, std::memory_order_relaxed);
  } else {
    // A NEW_TOKEN token of ours: a returning client, whose address counts
    // as validated. A bad one is as no token (RFC 9000 8.1.3).
    if (has_new_token(hd)) {
      token_validated = verify_new_token(hd, *settings_.new_token_secret, from, now);
      (token_validated ? datagram_stats_->new_tokens_accepted : datagram_stats_->new_tokens_ignored)
          .fetch_add(1, std::memory_order_relaxed);
    }
    if (!token_validated && retry_required(config_.quic_retry, host_.handshakes_in_progress(),
                                           config_.max_handshakes)) {
      // ngtcp2_accept took only Initials of 1200 bytes or more: the Retry,
      // a header and a token of under 200 bytes, is far from 3x that.
      const std::size_t n = retry_tokens_.write_retry(answer_, hd, from, now);
      if (n == 0 || n > 3 * data.size()) return datagram_stats_->count(DropReason::kNotInitial);
      return send_stateless(sock, from, n, StatelessAnswer::kRetry);
    }
  }
  const std::string ip = endpoint_ip(from);
  auto& stats = host_.stats();
  if (auto refusal = host_.registry_.limits().admit_socket(ip)) {
    stats.count(*refusal, host::Transport::kQuic);
    return datagram_stats_->count(DropReason::kLimit);
  }
  const auto admission = host_.admit_handshake(ip, host::Transport::kQuic);
  if (!admission.admitted()) return datagram_stats_->count(DropReason::kHandshakes);
  // It lives there for good: made here (its routes must be known before
  // its first answer leaves), everything else there. On the next network
  // thread with room for its Initial: each is tried once.
  asio::any_io_executor ex;
  std::shared_ptr<std::atomic<std::uint64_t>> backlog;
  for (std::size_t tried = 0;; ++tried) {
    if (tried == std::max<std::size_t>(1, host_.network_.size())) {
      host_.registry_.handshakes().remove(admission.id);
      return datagram_stats_->count(DropReason::kBacklog);
    }
    ex = host_.next_connection_executor();
    if (net::runs_here(ex)) break;  // read here: nothing handed over
    backlog = backlog_of(ex);
    if (backlog && room_for(*backlog, data.size())) break;
  }
  const bool remote = !net::runs_here(ex);
  const std::uint64_t handle = next_handle_++;
  auto conn = QuicConnection::accept(ex, hd, original_dcid, sock->local, from, *credentials_,
                                     settings_, sender_for(sock), events_for(handle, from),
                                     token_validated);
  if (conn && config_.quic_gso) (*conn)->set_send_segments(segments_sender_for(sock));
  if (!conn) {
    host_.registry_.handshakes().remove(admission.id);
    spdlog::debug("quic: cannot accept from {}: {}", ip, conn.message());
    return;
  }
  router_.add(conn.value()->original_dcid(), handle);
  router_.add(conn.value()->scid(), handle);
  handshake_handles_[admission.id] = handle;
  connections_[handle] =
      Entry{conn.value(), sock, admission.id, true, false, ex, remote, remote ? backlog : nullptr};
  auto c = conn.value();
  if (remote) {
    // The TLS handshake's crypto runs there. An Initial that does not
    // decrypt is forgotten without a word, as below (the message is queued
    // here before its end is).
    count_handed_over(backlog.get(), data.size());
    datagram_stats_->handed_over.fetch_add(1, std::memory_order_relaxed);
    asio::post(ex, [this, alive = alive_, owner = executor_, c, handle, from,
                    copy = Bytes(data.begin(), data.end()), stats = datagram_stats_,
                    counter = handed_over_, backlog] {
      c->on_datagram(from, copy);
      counter->fetch_sub(copy.size(), std::memory_order_relaxed);
      backlog->fetch_sub(copy.size(), std::memory_order_relaxed);
      if (c->terminated() || !c->handshake_started()) {
        stats->count(DropReason::kNotInitial);
        c->abort("undecryptable initial");
        if (!*alive) return;
        asio::post(owner, [this, alive, handle] {
          if (!*alive) return;
          if (auto e = forget(handle)) net::release_on(e->ex, std::move(e->conn));
        });
      }
    });
    return;
  }
  c->on_datagram(from, data);
  if (c->terminated() || !c->handshake_started()) {
    // The Initial did not decrypt: a forged or damaged datagram, not a
    // handshake that failed. Forget it now (its terminate event finds nothing).
    datagram_stats_->count(DropReason::kNotInitial);
    c->abort("undecryptable initial");
    forget(handle);
  }
}

void QuicTransport::evict_handshake(std::uint64_t id) {
  if (auto h = handshake_handles_.find(id); h != handshake_handles_.end()) {
    if (auto e = connections_.find(h->second); e != connections_.end()) {
      // Its end comes back as an event, as any other end.
      if (e->second.remote) {
        asio::post(e->second.ex, [c = e->second.conn] { c->abort("evicted"); });
      } else {
        e->second.conn->abort("evicted");
      }
    }
  }
}

QuicConnection::Send QuicTransport::sender_for(const std::shared_ptr<Socket>& sock) {
  // The socket outlives its connections' sends only while the transport
  // does; a send after close is an error that is ignored.
  std::weak_ptr<Socket> weak = sock;
  auto* bytes_out = &host_.stats().bytes_out;
  auto alive = alive_;
  // Called on the connection's thread: the descriptor, not the asio
  // socket object (the kernel serialises sends from several threads).
  return [weak, bytes_out, alive](const asio::ip::udp::endpoint& to, BytesView datagram) {
    auto s = weak.lock();
    if (!s || !*alive || !s->open) return;
    // Non-blocking: a full send buffer loses the datagram, as the network
    // may; QUIC's loss recovery resends.
    if (send_one(s->fd, to, datagram))
      bytes_out->fetch_add(datagram.size(), std::memory_order_relaxed);
  };
}

QuicConnection::SendSegments QuicTransport::segments_sender_for(const std::shared_ptr<Socket>& sock) {
  std::weak_ptr<Socket> weak = sock;
  auto* bytes_out = &host_.stats().bytes_out;
  auto alive = alive_;
  auto stats = datagram_stats_;
  return [weak, bytes_out, alive, stats](const asio::ip::udp::endpoint& to, BytesView datagrams,
                                         std::size_t segment) {
    auto s = weak.lock();
    if (!s || !*alive || !s->open) return;
    // One sendmsg with UDP_SEGMENT: the kernel cuts the datagrams (in the
    // NIC, or just before it). Where it cannot (an old kernel, a device
    // without it), the packets go one by one from then on.
    if (!s->gso_failed) {
      const int rv = send_segmented(s->fd, to, datagrams, segment);
      if (rv == 0) {
        bytes_out->fetch_add(datagrams.size(), std::memory_order_relaxed);
        stats->segmented_sends.fetch_add(1, std::memory_order_relaxed);
        stats->segmented_packets.fetch_add((datagrams.size() + segment - 1) / segment,
                                           std::memory_order_relaxed);
        return;
      }
      if (rv == EAGAIN || rv == EWOULDBLOCK) return;  // lost, as one datagram would be
      s->gso_failed = true;
    }
    for (std::size_t off = 0; off < datagrams.size(); off += segment) {
      const std::size_t len = std::min(segment, datagrams.size() - off);
      if (send_one(s->fd, to, BytesView(datagrams.data() + off, len)))
        bytes_out->fetch_add(len, std::memory_order_relaxed);
    }
  };
}

ConnectionEvents QuicTransport::events_for(std::uint64_t handle,
                                           const asio::ip::udp::endpoint& remote) {
  // Each runs on the connection's thread and reaches the router and the
  // tables here through on_owner() (inline for a connection on ours).
  const OnOwner to_owner = on_owner();
  ConnectionEvents ev;
  // Only clients receive NEW_TOKEN (ngtcp2 refuses it from a client).
  ev.new_token = [this, to_owner, key = quic_multiaddr(remote).to_string()](const std::string& t) {
    to_owner([this, key, t] { new_tokens_.put(key, t); });
  };
  ev.cid_added = [this, to_owner, handle, owner = executor_,
                  in_flight = routes_in_flight_](const std::string& cid) {
    if (net::runs_here(owner)) return to_owner([this, cid, handle] { router_.add(cid, handle); });
    // Counted before the packet announcing it leaves (see on_datagram).
    in_flight->fetch_add(1, std::memory_order_release);
    to_owner([this, cid, handle, in_flight] {
      router_.add(cid, handle);
      in_flight->fetch_sub(1, std::memory_order_release);
    });
  };
  ev.cid_removed = [this, to_owner](const std::string& cid) {
    to_owner([this, cid] { router_.remove(cid); });
  };
  // Only dialled connections' tokens are indexed: a client gives none in
  // its transport parameters, and we answer for those we accepted.
  ev.reset_token_added = [this, to_owner, handle](const ResetToken& t) {
    to_owner([this, handle, t] {
      auto it = connections_.find(handle);
      if (it != connections_.end() && !it->second.inbound) reset_tokens_.add(t, handle);
    });
  };
  ev.reset_token_removed = [this, to_owner, handle](const ResetToken& t) {
    to_owner([this, handle, t] { reset_tokens_.remove(t, handle); });
  };
  ev.established = [this, to_owner, handle] {
    to_owner([this, handle] { on_inbound_established(handle); });
  };
  ev.terminated = [this, to_owner, handle](const std::string& reason) {
    to_owner([this, handle, reason] { on_terminated(handle, reason); });
  };
  return ev;
}

host::SecuredConnection QuicTransport::secure(const std::shared_ptr<QuicConnection>& c,
                                              host::Direction dir,
                                              const asio::ip::udp::endpoint& local) {
  const std::string ip = endpoint_ip(c->remote());
  auto account = host_.budget_->open_connection(ip);
  account->set_peer(std::string(as_string(c->peer()->peer.bytes())));  // opaque key
  c->set_account(std::move(account));
  host::SecuredConnection out;
  out.peer = c->peer()->peer;
  out.public_key = c->peer()->key;
  out.direction = dir;
  out.remote_addr = quic_multiaddr(c->remote());
  out.local_addr = quic_multiaddr(local);
  out.remote_ip = ip;
  out.transport = host::Transport::kQuic;
  out.muxed = c;
  return out;
}

void QuicTransport::on_inbound_established(std::uint64_t handle) {
  auto it = connections_.find(handle);
  if (it == connections_.end() || !it->second.inbound || it->second.registered) return;
  Entry& e = it->second;
  host_.registry_.handshakes().remove(e.handshake);
  handshake_handles_.erase(e.handshake);
  e.handshake = 0;
  const std::string ip = endpoint_ip(e.conn->remote());
  auto& stats = host_.stats();
  std::optional<host::LimitRefusal> refusal = host_.registry_.limits().admit_socket(ip);
  if (!refusal && !host_.registry_.limits().admit_peer(e.conn->peer()->peer))
    refusal = host::LimitRefusal::kMaxPerPeer;
  if (refusal) {
    stats.count(*refusal, host::Transport::kQuic);
    stats.count(host::HandshakeFailure::kLimit, host::Transport::kQuic);
    e.registered = true;  // counted here, not again when it ends
    asio::dispatch(e.ex, [c = e.conn] { c->close(); });  // where it lives
    return;
  }
  e.registered = true;
  auto conn = e.conn;
  auto secured = secure(conn, host::Direction::kInbound, e.socket->local);
  if (e.remote) secured.executor = e.ex;  // its streams and handlers run there
  const auto registered = host_.registry_.add(std::move(secured));
  if (spdlog::should_log(spdlog::level::debug)) {
    if (const int t = host_.network_thread_of(e.ex); t >= 0) {
      spdlog::debug("quic connection {} with {} lives on network thread {} (connection ID {})",
                    registered->id(), registered->remote_peer().to_base58(), t,
                    to_hex(as_bytes(conn->scid())));
    }
  }
}

std::optional<QuicTransport::Entry> QuicTransport::forget(std::uint64_t handle) {
  auto it = connections_.find(handle);
  if (it == connections_.end()) return std::nullopt;
  Entry e = std::move(it->second);
  connections_.erase(it);
  router_.remove_all(handle);
  reset_tokens_.remove_all(handle);
  if (e.handshake != 0) {
    host_.registry_.handshakes().remove(e.handshake);
    handshake_handles_.erase(e.handshake);
  }
  return e;
}

void QuicTransport::on_terminated(std::uint64_t handle, const std::string& reason) {
  auto entry = forget(handle);
  if (!entry) return;
  Entry& e = *entry;
  // Its last reference goes on its own thread (its timer is of that io_context).
  struct Release {
    Entry& e;
    ~Release() { net::release_on(e.ex, std::move(e.conn)); }
  } release{e};
  if (e.inbound && !e.registered) {
    host_.stats().count(classify(reason), host::Transport::kQuic);
    spdlog::debug("quic connection from {} failed during the handshake: {}",
                  endpoint_ip(e.conn->remote()), reason);
  }
}

namespace {

// What the transport's thread learns of a dial's handshake.
struct DialOutcome {
  bool established = false;
  bool terminated = false;
  std::string reason;
};

// On the dialled connection's thread: its first flight, then its handshake.
asio::awaitable<DialOutcome> dial_handshake(std::shared_ptr<QuicConnection> conn) {
  conn->flush();
  co_await conn->wait_handshake();
  co_return DialOutcome{conn->established(), conn->terminated(), conn->close_reason()};
}

}  // namespace

asio::awaitable<host::SecuredConnection> QuicTransport::dial(Multiaddr target,
                                                            std::optional<PeerId> expected) {
  auto alive = alive_;
  auto ep = quic_endpoint(target);
  if (!ep) throw std::invalid_argument("dial: unsupported address " + target.to_string());
  const asio::ip::udp::endpoint remote(asio::ip::make_address(ep->first), ep->second);
  // Dial from a listening socket of the same family (the peer then sees our
  // listen port), or from an ephemeral one.
  std::shared_ptr<Socket> sock;
  for (auto& s : sockets_) {
    if (s->local.address().is_v6() == remote.address().is_v6() && s->socket.is_open()) {
      sock = s;
      break;
    }
  }
  if (!sock) {
    std::error_code ec;
    sock = open_socket(asio::ip::udp::endpoint(remote.address().is_v6() ? asio::ip::udp::v6()
                                                                        : asio::ip::udp::v4(),
                                               0),
                       ec);
    if (!sock) throw std::system_error(ec, "dial " + target.to_string());
  }
  const std::uint64_t handle = next_handle_++;
  // A NEW_TOKEN token this server gave us spares us its Retry (used once).
  ConnectionSettings settings = settings_;
  if (auto token = new_tokens_.take(quic_multiaddr(remote).to_string()))
    settings.initial_token = std::move(*token);
  // It lives on the next connection executor for good, as an inbound one:
  // made here (its route is known before its first datagram leaves), its
  // first flight, its handshake's crypto and the rest of its life there. We
  // wait here for the handshake's outcome (inline when it lives here).
  const asio::any_io_executor ex = host_.next_connection_executor();
  const bool elsewhere = !net::runs_here(ex);
  auto created = QuicConnection::connect(ex, sock->local, remote, *credentials_, settings,
                                         expected, sender_for(sock), events_for(handle, remote));
  if (created && config_.quic_gso) (*created)->set_send_segments(segments_sender_for(sock));
  if (!created) throw std::runtime_error("dial " + target.to_string() + ": " + created.message());
  auto conn = created.value();
  router_.add(conn->scid(), handle);
  // Its datagrams are handed over like an inbound connection's, under its
  // thread's share of kMaxHandedOver.
  connections_[handle] =
      Entry{conn, sock, 0, false, false, ex, elsewhere, elsewhere ? backlog_of(ex) : nullptr};
  auto handshake = [conn] { return dial_handshake(conn); };
  const DialOutcome outcome = co_await net::complete_on(ex, handshake);
  if (!*alive) throw std::system_error(asio::error::operation_aborted);
  auto& stats = host_.stats();
  if (!outcome.established) {
    std::string reason = "closed during the handshake";
    const auto failure =
        outcome.terminated ? classify(outcome.reason) : host::HandshakeFailure::kTls;
    stats.count(failure, host::Transport::kQuic);
    if (failure == host::HandshakeFailure::kPeerIdMismatch) reason = "peer id mismatch";
    else if (failure == host::HandshakeFailure::kTimeout) reason = "handshake timed out";
    else reason = outcome.reason;
    throw std::runtime_error("dial " + target.to_string() + ": " + reason);
  }
  // Its verified peer was set there before the outcome was posted here.
  const PeerId peer = conn->peer()->peer;
  if (!host_.registry_.limits().admit_peer(peer)) {
    stats.count(host::LimitRefusal::kMaxPerPeer, host::Transport::kQuic);
    stats.count(host::HandshakeFailure::kLimit, host::Transport::kQuic);
    asio::dispatch(ex, [conn] { conn->close(); });  // where it lives
    throw std::runtime_error("per-peer connection limit reached for " + peer.to_base58());
  }
  if (auto it = connections_.find(handle); it != connections_.end()) it->second.registered = true;
  auto secured = secure(conn, host::Direction::kOutbound, sock->local);
  if (elsewhere) secured.executor = ex;  // its streams and handlers run there
  co_return secured;
}

}  // namespace mp::quic
