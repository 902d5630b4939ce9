// QuicConnection: setup (TLS, settings, the ngtcp2 connection), datagrams in
// and packets out, timers, termination, and the host-facing stream calls.
// The ngtcp2 callbacks are in quic_callbacks.cpp.
#include "quic/quic_connection.hpp"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <spdlog/spdlog.h>

#include <asio/post.hpp>
#include <algorithm>
#include <cstring>
#include <asio/use_awaitable.hpp>

#include "quic/cid_router.hpp"
#include "quic/quic_callbacks.hpp"
#include "quic/quic_stream.hpp"

namespace mp::quic {

namespace {

ngtcp2_tstamp now_ns() {
  return static_cast<ngtcp2_tstamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

ngtcp2_cid random_cid() {
  ngtcp2_cid cid{};
  cid.datalen = kCidLength;
  gnutls_rnd(GNUTLS_RND_NONCE, cid.data, cid.datalen);
  return cid;
}

ngtcp2_addr as_addr(asio::ip::udp::endpoint& ep) {
  return ngtcp2_addr{reinterpret_cast<ngtcp2_sockaddr*>(ep.data()),
                     static_cast<ngtcp2_socklen>(ep.size())};
}

asio::ip::udp::endpoint path_remote(const ngtcp2_path& path,
                                    const asio::ip::udp::endpoint& fallback) {
  asio::ip::udp::endpoint ep;
  if (path.remote.addrlen == 0 || path.remote.addrlen > ep.capacity()) return fallback;
  std::memcpy(ep.data(), path.remote.addr, path.remote.addrlen);
  ep.resize(path.remote.addrlen);
  return ep;
}

}  // namespace

ngtcp2_tstamp QuicConnection::now() {
  return now_ns();
}

QuicConnection::QuicConnection(asio::any_io_executor ex, const asio::ip::udp::endpoint& local,
                               const asio::ip::udp::endpoint& remote,
                               const ConnectionSettings& settings, std::optional<PeerId> expected,
                               Send send, ConnectionEvents events)
    : ex_(ex),
      local_(local),
      remote_(remote),
      settings_(settings),
      expected_(std::move(expected)),
      send_(std::move(send)),
      events_(std::move(events)),
      timer_(ex),
      last_remote_activity_(std::chrono::steady_clock::now().time_since_epoch().count()) {
  conn_ref_.get_conn = Callbacks::get_conn;
  conn_ref_.user_data = this;
}

QuicConnection::~QuicConnection() {
  if (conn_) ngtcp2_conn_del(conn_);
  if (session_) gnutls_deinit(session_);
}

Status QuicConnection::init_tls(const tls::Credentials& creds, bool is_server) {
  int rv = gnutls_init(&session_, (is_server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
                                      GNUTLS_NO_END_OF_EARLY_DATA);
  if (rv < 0) return make_error(std::string("gnutls_init: ") + gnutls_strerror(rv));
  rv = is_server ? ngtcp2_crypto_gnutls_configure_server_session(session_)
                 : ngtcp2_crypto_gnutls_configure_client_session(session_);
  if (rv != 0) return make_error("ngtcp2_crypto_gnutls_configure_session failed");
  if (auto st = tls::configure_session(session_, creds, is_server, expected_); !st) return st;
  gnutls_session_set_ptr(session_, &conn_ref_);
  return Status::Ok();
}

void QuicConnection::init_settings(ngtcp2_settings& s, ngtcp2_transport_params& p) const {
  ngtcp2_settings_default(&s);
  s.initial_ts = now_ns();
  // No window auto-tuning: every credit beyond the initial windows is one a
  // QuicStream reserved from the memory budget first (quic_stream.hpp).
  s.max_window = kConnectionWindow;
  s.max_stream_window = kStreamWindow;
  s.handshake_timeout =
      static_cast<ngtcp2_duration>(settings_.handshake_timeout.count()) * NGTCP2_MILLISECONDS;
  ngtcp2_transport_params_default(&p);
  p.initial_max_stream_data_bidi_local = kStreamWindow;
  p.initial_max_stream_data_bidi_remote = kStreamWindow;
  p.initial_max_stream_data_uni = 0;
  p.initial_max_data = kConnectionWindow;
  p.initial_max_streams_bidi = settings_.max_streams;
  p.initial_max_streams_uni = 0;
  // The host closes idle connections itself (by remote stream activity);
  // QUIC's own idle timeout only catches peers that vanished.
  p.max_idle_timeout =
      static_cast<ngtcp2_duration>(settings_.idle_timeout.count()) * NGTCP2_MILLISECONDS;
  p.active_connection_id_limit = 4;
}

Result<std::shared_ptr<QuicConnection>> QuicConnection::accept(
    asio::any_io_executor ex, const ngtcp2_pkt_hd& hd, const std::optional<ngtcp2_cid>& retried,
    const asio::ip::udp::endpoint& local, const asio::ip::udp::endpoint& remote,
    const tls::Credentials& creds, const ConnectionSettings& settings, Send send,
    ConnectionEvents events, bool token_validated) {
  std::shared_ptr<QuicConnection> c(new QuicConnection(ex, local, remote, settings, std::nullopt,
                                                       std::move(send), std::move(events)));
  if (auto st = c->init(creds, &hd, retried, token_validated); !st) return st.error();
  return c;
}

Result<std::shared_ptr<QuicConnection>> QuicConnection::connect(
    asio::any_io_executor ex, const asio::ip::udp::endpoint& local,
    const asio::ip::udp::endpoint& remote, const tls::Credentials& creds,
    const ConnectionSettings& settings, std::optional<PeerId> expected, Send send,
    ConnectionEvents events) {
  std::shared_ptr<QuicConnection> c(new QuicConnection(ex, local, remote, settings,
                                                       std::move(expected), std::move(send),
                                                       std::move(events)));
  if (auto st = c->init(creds, nullptr, std::nullopt); !st) return st.error();
  return c;
}

Status QuicConnection::init(const tls::Credentials& creds, const ngtcp2_pkt_hd* initial,
                            const std::optional<ngtcp2_cid>& retried, bool token_validated) {
  const bool is_server = initial != nullptr;
  if (auto st = init_tls(creds, is_server); !st) return st;
  ngtcp2_callbacks cb;
  Callbacks::fill(cb, is_server);
  ngtcp2_settings s;
  ngtcp2_transport_params p;
  init_settings(s, p);
  const ngtcp2_cid scid = random_cid();
  const ngtcp2_path ours = path();
  int rv = 0;
  if (is_server) {
    p.original_dcid = initial->dcid;
    if (retried) {
      // RFC 9000 7.3: after a Retry, original_destination_connection_id is
      // the client's first DCID, and retry_source_connection_id the one it
      // now uses (our Retry's SCID). The token proved the address: ngtcp2
      // then lifts the 3x limit (it copies the token).
      p.original_dcid = *retried;
      p.retry_scid = initial->dcid;
      p.retry_scid_present = 1;
      s.token = initial->token;
    } else if (token_validated) {
      // A NEW_TOKEN token of ours proved the address the same way.
      s.token = initial->token;
    }
    // The token of our first connection ID (RFC 9000 18.2): with those of
    // NEW_CONNECTION_ID, every ID the client may use has one.
    if (ngtcp2_crypto_generate_stateless_reset_token(p.stateless_reset_token,
                                                     settings_.reset_secret.data(),
                                                     settings_.reset_secret.size(), &scid) != 0)
      return make_error("stateless reset token");
    p.stateless_reset_token_present = 1;
    rv = ngtcp2_conn_server_new(&conn_, &initial->scid, &scid, &ours, initial->version, &cb, &s,
                                &p, nullptr, this);
    original_dcid_ = cid_string(initial->dcid);
  } else {
    const ngtcp2_cid dcid = random_cid();
    if (!settings_.initial_token.empty()) {  // ngtcp2 copies it
      s.token = ngtcp2_vec{reinterpret_cast<std::uint8_t*>(settings_.initial_token.data()),
                           settings_.initial_token.size()};
    }
    rv = ngtcp2_conn_client_new(&conn_, &dcid, &scid, &ours, NGTCP2_PROTO_VER_V1, &cb, &s, &p,
                                nullptr, this);
  }
  if (rv != 0) return make_error(std::string("ngtcp2_conn_new: ") + ngtcp2_strerror(rv));
  ngtcp2_conn_set_tls_native_handle(conn_, session_);
  scid_ = cid_string(scid);
  return Status::Ok();
}

ngtcp2_path QuicConnection::path() {
  return ngtcp2_path{as_addr(local_), as_addr(remote_), nullptr};
}

void QuicConnection::on_datagram(const asio::ip::udp::endpoint& from, BytesView data) {
  if (terminated_) return;
  auto self = shared_from_this();
  asio::ip::udp::endpoint remote = from;
  const ngtcp2_path p{as_addr(local_), as_addr(remote), nullptr};
  ngtcp2_pkt_info pi{};
  in_ngtcp2_ = true;
  const int rv = ngtcp2_conn_read_pkt(conn_, &p, &pi, data.data(), data.size(), now_ns());
  in_ngtcp2_ = false;
  if (rv != 0) {
    if (rv == NGTCP2_ERR_DRAINING)
      return terminate(stateless_reset_ ? "stateless reset" : "closed by peer");
    if (rv == NGTCP2_ERR_DROP_CONN) return terminate("dropped: " + std::string(ngtcp2_strerror(rv)));
    // The TLS layer refused the peer's certificate: say why (a Peer ID
    // other than the one dialled is counted apart).
    if (const auto verr = tls::verify_error_of(session_)) {
      if (verr == tls::Errc::peer_id_mismatch) close_reason_ = "peer_id_mismatch";
      return fail(rv, "tls: " + verr.message());
    }
    return fail(rv, std::string("quic: ") + ngtcp2_strerror(rv));
  }
  if (handshake_completed_ && !verified_) handshake_done();
  if (terminated_) return;
  if (on_inbound_) {
    auto pending = std::move(pending_inbound_);
    pending_inbound_.clear();
    for (auto& s : pending) on_inbound_(std::move(s));
  }
  flush();
}

void QuicConnection::handshake_done() {
  auto peer = tls::peer_of(session_);
  if (!peer) return fail(NGTCP2_ERR_CALLBACK_FAILURE, "tls: peer certificate not verified");
  // configure_session already made the certificate check refuse another
  // Peer ID; checked again here, where the connection is handed out.
  if (expected_ && !(peer->peer == *expected_)) {
    close_reason_ = "peer_id_mismatch";
    return fail(0, "peer id mismatch: expected " + expected_->to_base58() + ", got " +
                       peer->peer.to_base58());
  }
  verified_ = std::move(peer);
  // A token for the client's next connection (RFC 9000 8.1.3).
  if (ngtcp2_conn_is_server(conn_) && settings_.new_token_secret) {
    std::array<std::uint8_t, NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN> token{};
    const std::size_t n = write_new_token(token, *settings_.new_token_secret, remote_, now_ns());
    if (n > 0) ngtcp2_conn_submit_new_token(conn_, token.data(), n);
  }
  // The token of the server's first connection ID, which we use now
  // (RFC 9000 18.2); those of later ones come through dcid_status.
  if (!ngtcp2_conn_is_server(conn_) && events_.reset_token_added) {
    const ngtcp2_transport_params* p = ngtcp2_conn_get_remote_transport_params(conn_);
    if (p != nullptr && p->stateless_reset_token_present) {
      ResetToken t{};
      std::copy_n(p->stateless_reset_token, t.size(), t.begin());
      events_.reset_token_added(t);
    }
  }
  handshake_notifier_.notify();
  if (events_.established) {
    asio::post(ex_, [w = weak_from_this()] {
      if (auto c = w.lock(); c && !c->terminated_ && c->events_.established)
        c->events_.established();
    });
  }
}

void QuicConnection::flush() {
  if (terminated_ || in_ngtcp2_ || !conn_) return;
  auto self = shared_from_this();
  std::vector<QuicStream*> ready;
  for (auto& [id, s] : streams_)
    if (s->has_unsent()) ready.push_back(s.get());
  std::size_t next = 0;
  // Packets are written back to back into `buf`; with send_segments_ a run
  // of them to one address goes out in one send: every packet but the last
  // of the run the size of the first (the segment), at most kMaxSegments.
  constexpr std::size_t kPacket = 1500;
  std::array<std::uint8_t, kMaxSegments * kPacket> buf;
  const std::size_t batch_max = send_segments_ ? kMaxSegments : 1;
  std::size_t used = 0, count = 0, segment = 0;
  asio::ip::udp::endpoint batch_to;
  auto send_batch = [&] {
    if (count == 1) send_(batch_to, BytesView(buf.data(), used));
    else if (count > 1) send_segments_(batch_to, BytesView(buf.data(), used), segment);
    used = count = 0;
  };
  const auto ts = now_ns();
  for (;;) {
    while (next < ready.size() && !ready[next]->has_unsent()) ++next;
    QuicStream* s = next < ready.size() ? ready[next] : nullptr;
    ngtcp2_vec v{};
    std::size_t vcnt = 0;
    std::uint32_t flags = 0;
    std::int64_t sid = -1;
    if (s) {
      sid = s->id();
      const BytesView u = s->unsent();
      v.base = const_cast<std::uint8_t*>(u.data());
      v.len = u.size();
      vcnt = u.empty() ? 0 : 1;
      if (s->fin_pending_) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    }
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi{};
    ngtcp2_ssize datalen = -1;
    const ngtcp2_ssize n = ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, buf.data() + used,
                                                     kPacket, &datalen, flags, sid,
                                                     vcnt ? &v : nullptr, vcnt, ts);
    if (n < 0) {
      if (s && (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR ||
                n == NGTCP2_ERR_STREAM_NOT_FOUND)) {
        ++next;  // waits for credit (or is gone); others may still send
        continue;
      }
      send_batch();
      return fail(static_cast<int>(n), std::string("quic write: ") + ngtcp2_strerror(static_cast<int>(n)));
    }
    if (s && datalen >= 0) {
      s->on_sent(static_cast<std::size_t>(datalen),
                 (flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && static_cast<std::size_t>(datalen) == v.len);
    }
    if (n == 0) break;  // nothing more, or congestion-limited
    const auto size = static_cast<std::size_t>(n);
    // To the path ngtcp2 chose (a peer whose NAT rebound its port is
    // reached on its new address once ngtcp2 validated it).
    const auto to = path_remote(ps.path, remote_);
    if (count > 0 && (size > segment || to != batch_to)) {
      // It cannot join the run: the run goes, the packet starts the next.
      const std::size_t start = used;
      send_batch();
      std::memmove(buf.data(), buf.data() + start, size);
    }
    if (count == 0) {
      segment = size;
      batch_to = to;
    }
    used += size;
    ++count;
    // A short packet ends a run, as does a full batch.
    if (size < segment || count == batch_max) send_batch();
  }
  send_batch();
  arm_timer();
}

void QuicConnection::arm_timer() {
  const ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(conn_);
  if (expiry == UINT64_MAX) {
    timer_.cancel();
    return;
  }
  const ngtcp2_tstamp now = now_ns();
  const auto delay = std::chrono::nanoseconds(expiry > now ? expiry - now : 0);
  timer_.expires_after(delay);
  timer_.async_wait([w = weak_from_this()](const std::error_code& ec) {
    if (ec) return;
    auto c = w.lock();
    if (!c || c->terminated_) return;
    const int rv = ngtcp2_conn_handle_expiry(c->conn_, now_ns());
    if (rv == NGTCP2_ERR_IDLE_CLOSE) return c->terminate("idle timeout");
    if (rv != 0) {
      return c->terminate(c->verified_ ? std::string("quic: ") + ngtcp2_strerror(rv)
                                       : std::string("handshake timeout"));
    }
    c->flush();
  });
}

void QuicConnection::schedule_flush() {
  if (flush_scheduled_ || terminated_) return;
  flush_scheduled_ = true;
  asio::post(ex_, [w = weak_from_this()] {
    if (auto c = w.lock()) {
      c->flush_scheduled_ = false;
      c->flush();
    }
  });
}

void QuicConnection::fail(int liberr, const std::string& reason) {
  if (terminated_) return;
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  if (liberr != 0) ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, liberr, nullptr, 0);
  std::array<std::uint8_t, 1500> buf;
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  const ngtcp2_ssize n = ngtcp2_conn_write_connection_close(conn_, &ps.path, &pi, buf.data(),
                                                            buf.size(), &ccerr, now_ns());
  if (n > 0) send_(remote_, BytesView(buf.data(), static_cast<std::size_t>(n)));
  terminate(reason);
}

void QuicConnection::abort(const std::string& reason) { terminate(reason); }

void QuicConnection::close() {
  if (terminated_) return;
  fail(0, "closed");
}

void QuicConnection::terminate(const std::string& reason) {
  if (terminated_) return;
  terminated_ = true;
  if (close_reason_.empty()) close_reason_ = reason;
  timer_.cancel();
  handshake_notifier_.notify();
  auto streams = std::move(streams_);
  streams_.clear();
  streams_changed();
  for (auto& [id, s] : streams) s->on_closed();
  pending_inbound_.clear();
  asio::post(ex_, [self = shared_from_this()] {
    self->end_told_ = true;
    if (self->events_.terminated) self->events_.terminated(self->close_reason_);
    if (auto cb = std::move(self->on_close_)) cb(self->close_reason_);
    self->on_inbound_ = nullptr;
  });
}

void QuicConnection::start(InboundHandler on_inbound, CloseHandler on_close) {
  on_inbound_ = std::move(on_inbound);
  on_close_ = std::move(on_close);
  if (terminated_) {
    // The posted terminate runs on_close_, unless it ran before we were
    // started (a connection on another thread that ended while its
    // registration was on its way): then it is told now, posted.
    if (end_told_) {
      on_inbound_ = nullptr;
      asio::post(ex_, [self = shared_from_this()] {
        if (auto cb = std::move(self->on_close_)) cb(self->close_reason_);
      });
    }
    return;
  }
  auto pending = std::move(pending_inbound_);
  pending_inbound_.clear();
  for (auto& s : pending) on_inbound_(std::move(s));
}

asio::awaitable<std::shared_ptr<net::ByteStream>> QuicConnection::open_stream() {
  auto self = shared_from_this();
  for (;;) {
    if (terminated_) throw std::system_error(asio::error::not_connected, "quic connection closed");
    std::int64_t id = -1;
    const int rv = ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr);
    if (rv == 0) {
      auto s = std::make_shared<QuicStream>(weak_from_this(), id);
      ngtcp2_conn_set_stream_user_data(conn_, id, s.get());
      streams_[id] = s;
      streams_changed();
      co_return s;
    }
    if (rv != NGTCP2_ERR_STREAM_ID_BLOCKED)
      throw std::system_error(asio::error::not_connected, ngtcp2_strerror(rv));
    co_await handshake_notifier_.wait();  // the peer's MAX_STREAMS
  }
}

asio::awaitable<void> QuicConnection::wait_handshake() {
  auto self = shared_from_this();
  while (!verified_ && !terminated_) co_await handshake_notifier_.wait();
}

void QuicConnection::stream_consumed(std::int64_t id, std::size_t n) {
  if (terminated_) return;
  ngtcp2_conn_extend_max_stream_offset(conn_, id, n);
  ngtcp2_conn_extend_max_offset(conn_, n);
  schedule_flush();
}

void QuicConnection::shutdown_stream(std::int64_t id) {
  if (terminated_) return;
  ngtcp2_conn_shutdown_stream(conn_, id, 0);
  schedule_flush();
}

}  // namespace mp::quic
