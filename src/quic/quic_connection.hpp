// QuicConnection: one QUIC v1 connection (ngtcp2 + GnuTLS, libp2p/specs
// quic/README.md) and the host's MuxedConnection over it: each libp2p stream
// is one bidirectional QUIC stream (QuicStream). The transport feeds it the
// datagrams routed to it and sends what it writes; ngtcp2's timers run on one
// asio::steady_timer. The peer proves its Peer ID with its TLS certificate
// (tls::peer_of) before the connection counts as established.
//
// Bounds: streams the remote may open at once = initial_max_streams_bidi
// (the host's MAX_STREAMS_PER_CONNECTION; QUIC flow control enforces it);
// bytes it may make us buffer = the connection window (kConnectionWindow)
// unreserved, whatever the stream count, plus the credit streams reserved
// from the host's ResourceBudget before granting it (quic_stream.hpp).
#pragma once

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <asio/any_io_executor.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/peer_id.hpp"
#include "host/transport.hpp"
#include "quic/address_validation.hpp"
#include "quic/reset_tokens.hpp"
#include "tls/certificate.hpp"
#include "yamux/notifier.hpp"

namespace mp::quic {

class QuicStream;

inline constexpr std::uint64_t kStreamWindow = 64 * 1024;
inline constexpr std::uint64_t kConnectionWindow = 256 * 1024;

struct ConnectionSettings {
  std::size_t max_streams = 256;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  // Client: a token for its first Initial (RFC 9000 8.1.3). Tests use it to
  // present forged ones; a Retry's token is handled by ngtcp2 itself.
  std::string initial_token;
  // Stateless reset tokens of our connection IDs are made under it
  // (address_validation.hpp): the transport's is derived from the node's
  // identity.
  std::array<std::uint8_t, 32> reset_secret = process_reset_secret();
  // Server: once the handshake is over, a NEW_TOKEN token for the client's
  // address is made under it and sent (address_validation.hpp). None: no
  // token is sent.
  std::optional<TokenSecret> new_token_secret;
};

// What a connection tells its transport. Each is called on the connection's
// thread (some from inside ngtcp2's callbacks): the transport's take them to
// its own thread (QuicTransport::on_owner).
struct ConnectionEvents {
  std::function<void(const std::string& cid)> cid_added;    // route it here
  std::function<void(const std::string& cid)> cid_removed;
  std::function<void()> established;                        // peer verified
  std::function<void(const std::string& reason)> terminated;  // once, the end
  // Client: the stateless reset token of a connection ID of the peer's we
  // now use (from its transport parameters or a NEW_CONNECTION_ID), or no
  // longer use (RFC 9000 10.3.1). Optional.
  std::function<void(const ResetToken&)> reset_token_added;
  std::function<void(const ResetToken&)> reset_token_removed;
  // Client: a NEW_TOKEN token for the next connection to this server
  // (RFC 9000 8.1.3). Optional.
  std::function<void(const std::string& token)> new_token;
};

class QuicConnection final : public host::MuxedConnection,
                             public std::enable_shared_from_this<QuicConnection> {
 public:
  using Send = std::function<void(const asio::ip::udp::endpoint& to, BytesView datagram)>;
  // Several packets to one address in one send: `datagrams` is packets of
  // `segment` bytes each, the last one possibly shorter (UDP GSO's rule).
  using SendSegments = std::function<void(const asio::ip::udp::endpoint& to, BytesView datagrams,
                                          std::size_t segment)>;
  // Packets one flush() may hand to SendSegments at once.
  static constexpr std::size_t kMaxSegments = 10;

  // Server side, from a client's first Initial (`hd` as ngtcp2_accept read
  // it). After a Retry, `retried` is the client's original Destination
  // Connection ID from the token it returned (hd.dcid is then our Retry's
  // Source Connection ID): both go in our transport parameters (RFC 9000
  // 7.3), and the address counts as validated; so it does when
  // `token_validated` (hd carries one of our valid NEW_TOKEN tokens).
  static Result<std::shared_ptr<QuicConnection>> accept(
      asio::any_io_executor ex, const ngtcp2_pkt_hd& hd, const std::optional<ngtcp2_cid>& retried,
      const asio::ip::udp::endpoint& local, const asio::ip::udp::endpoint& remote,
      const tls::Credentials& creds, const ConnectionSettings& settings, Send send,
      ConnectionEvents events, bool token_validated = false);
  // Client side; the first Initial goes out when flush() is called.
  static Result<std::shared_ptr<QuicConnection>> connect(
      asio::any_io_executor ex, const asio::ip::udp::endpoint& local,
      const asio::ip::udp::endpoint& remote, const tls::Credentials& creds,
      const ConnectionSettings& settings, std::optional<PeerId> expected, Send send,
      ConnectionEvents events);
  ~QuicConnection() override;
  // ngtcp2's clock (nanoseconds of steady_clock).
  static ngtcp2_tstamp now();

  // A datagram routed to this connection.
  void on_datagram(const asio::ip::udp::endpoint& from, BytesView data);
  // Writes whatever ngtcp2 has to send and re-arms the timer.
  void flush();
  // Ends the connection now without telling the peer (eviction, shutdown).
  void abort(const std::string& reason);
  // From now on, packets flush() writes back to back go out through `send`
  // in batches (one system call each) instead of one by one.
  void set_send_segments(SendSegments send) { send_segments_ = std::move(send); }

  bool established() const { return verified_.has_value(); }
  // Whether a packet of the peer was decrypted (its Initial was genuine).
  bool handshake_started() const { return crypto_received_; }
  bool terminated() const { return terminated_; }
  const std::optional<tls::VerifiedPeer>& peer() const { return verified_; }
  const std::string& scid() const { return scid_; }
  // The Destination Connection ID of the client's accepted Initial (server
  // side): its original one, or after a Retry our Retry's Source Connection ID.
  const std::string& original_dcid() const { return original_dcid_; }
  const asio::ip::udp::endpoint& remote() const { return remote_; }
  // Why it ended ("handshake timeout", "peer_id_mismatch", ...).
  const std::string& close_reason() const { return close_reason_; }
  // Set once, on the transport's thread, when the connection is registered;
  // its streams read it on the connection's thread (account_view_).
  void set_account(std::unique_ptr<host::ConnectionAccount> a) {
    account_ = std::move(a);
    account_view_.store(account_.get(), std::memory_order_release);
  }
  // The executor the connection lives on: every call but the getters of
  // what never changes (remote, scid, original_dcid), and peer() once
  // `established` was told, runs there.
  const asio::any_io_executor& executor() const { return ex_; }

  // host::MuxedConnection
  void start(InboundHandler on_inbound, CloseHandler on_close) override;
  asio::awaitable<std::shared_ptr<net::ByteStream>> open_stream() override;
  void close() override;
  // Read by the host's idle sweep from its own thread: relaxed atomics the
  // connection's thread stores (as Yamux's).
  std::size_t stream_count() const override {
    return stream_count_.load(std::memory_order_relaxed);
  }
  std::chrono::steady_clock::time_point last_remote_activity() const override {
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(
        last_remote_activity_.load(std::memory_order_relaxed)));
  }
  std::uint64_t streams_refused() const override { return 0; }  // QUIC credit refuses them
  host::ConnectionAccount& memory() override { return *account_; }

  // Waits until established() or terminated() (client side).
  asio::awaitable<void> wait_handshake();

 private:
  friend class QuicStream;
  struct Callbacks;

  QuicConnection(asio::any_io_executor ex, const asio::ip::udp::endpoint& local,
                 const asio::ip::udp::endpoint& remote, const ConnectionSettings& settings,
                 std::optional<PeerId> expected, Send send, ConnectionEvents events);
  // Server side when `initial` (the client's first Initial) is given.
  Status init(const tls::Credentials& creds, const ngtcp2_pkt_hd* initial,
              const std::optional<ngtcp2_cid>& retried, bool token_validated = false);
  Status init_tls(const tls::Credentials& creds, bool is_server);
  void init_settings(ngtcp2_settings& s, ngtcp2_transport_params& p) const;
  ngtcp2_path path();
  void arm_timer();
  void schedule_flush();
  // Ends with a CONNECTION_CLOSE carrying `liberr` (an ngtcp2 error) or
  // NO_ERROR when 0.
  void fail(int liberr, const std::string& reason);
  void terminate(const std::string& reason);
  void handshake_done();
  void stream_consumed(std::int64_t id, std::size_t n);
  void streams_changed() { stream_count_.store(streams_.size(), std::memory_order_relaxed); }
  void remote_active(std::chrono::steady_clock::time_point t) {
    last_remote_activity_.store(t.time_since_epoch().count(), std::memory_order_relaxed);
  }
  host::ConnectionAccount* account() const {
    return account_view_.load(std::memory_order_acquire);
  }
  void shutdown_stream(std::int64_t id);

  asio::any_io_executor ex_;
  asio::ip::udp::endpoint local_;
  asio::ip::udp::endpoint remote_;
  ConnectionSettings settings_;
  std::optional<PeerId> expected_;
  Send send_;
  SendSegments send_segments_;
  ConnectionEvents events_;
  ngtcp2_conn* conn_ = nullptr;
  gnutls_session_t session_ = nullptr;
  ngtcp2_crypto_conn_ref conn_ref_{};
  asio::steady_timer timer_;
  yamux::Notifier handshake_notifier_;
  std::string scid_;
  std::string original_dcid_;
  std::optional<tls::VerifiedPeer> verified_;
  std::map<std::int64_t, std::shared_ptr<QuicStream>> streams_;
  std::vector<std::shared_ptr<QuicStream>> pending_inbound_;  // before start()
  InboundHandler on_inbound_;
  CloseHandler on_close_;
  std::unique_ptr<host::ConnectionAccount> account_;
  std::atomic<host::ConnectionAccount*> account_view_{nullptr};
  std::atomic<std::size_t> stream_count_{0};
  std::atomic<std::chrono::steady_clock::rep> last_remote_activity_;
  std::string close_reason_;
  bool in_ngtcp2_ = false;
  bool flush_scheduled_ = false;
  bool handshake_completed_ = false;
  bool crypto_received_ = false;
  bool stateless_reset_ = false;  // the peer reset the connection (RFC 9000 10.3)
  bool terminated_ = false;
  bool end_told_ = false;  // the posted end of terminate() ran
};

}  // namespace mp::quic
