// QuicTransport: libp2p over QUIC v1 (libp2p/specs quic/README.md). One UDP
// socket per listen address (/ip4|ip6/.../udp/N/quic-v1) on the host's
// io_context; each datagram is routed by Destination Connection ID
// (CidRouter) to its QuicConnection, or, when it is a valid Initial, opens
// one, if the limits allow: MAX_CONNECTIONS / per IP, and handshakes in
// progress (the host's one HandshakeTable, shared with TCP: total and per
// IP, with its eviction of stalled handshakes on either transport). TLS 1.3 proves the peer's identity; once
// it has, the connection goes to the host as a SecuredConnection whose
// streams are QUIC streams. Dropped datagrams are counted by DropReason.
// Before any state, a new client may be asked to prove its address with a
// Retry (QUIC_RETRY; always when half of the handshake slots are taken in
// auto), and a datagram of another version gets a Version Negotiation
// answer (rate-bounded); both are stateless (address_validation.hpp). A
// short header datagram for a connection we do not know (one of a previous
// process with the same identity, or one we forgot) gets a Stateless Reset
// (rate-bounded, always smaller than the datagram), so its client stops at
// once instead of at its idle timeout. Unless it is itself a reset for a
// connection we dialled: one whose last 16 bytes are a reset token that
// connection's server gave (ResetTokenIndex) ends that connection at once
// ("stateless reset"), unanswered.
//
// Threads (ARCHITECTURE.md "Threads"): the sockets, the receive loop, the
// router, the stateless answers, the admission and the table of connections
// are the transport's, on its executor (the host's). Each inbound
// connection lives on the host's next connection executor (a network
// thread's in turn with NETWORK_THREADS >= 2, the host's included): its
// datagrams are handed over there by a post (those of one recvmmsg batch
// for one connection together; at most kMaxHandedOver bytes in flight,
// and a network thread's share of them for the connections of one thread),
// its ngtcp2 and TLS work, timer and streams run there, and its sends go
// straight to the socket's descriptor (sendto/sendmsg; the kernel
// serialises them). What it tells the transport (connection IDs, the
// handshake's end, its end) is posted back. Our own dials live on the
// transport's executor. The network threads must stop before the
// transport goes (the node stops them first).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/keys.hpp"
#include "core/multiaddr.hpp"
#include "core/result.hpp"
#include "host/handshake_table.hpp"
#include "host/transport.hpp"
#include "quic/address_validation.hpp"
#include "quic/cid_router.hpp"
#include "quic/quic_connection.hpp"
#include "quic/reset_tokens.hpp"
#include "tls/certificate.hpp"

namespace mp::host {
class Host;
struct HostConfig;
}  // namespace mp::host

namespace mp::quic {

// Packets the listener answers without any connection (address_validation.hpp).
enum class StatelessAnswer : std::size_t { kRetry, kVersionNegotiation, kStatelessReset, kCount };
inline constexpr std::array<std::string_view, static_cast<std::size_t>(StatelessAnswer::kCount)>
    kStatelessAnswerNames = {"retry", "version_negotiation", "stateless_reset"};

struct DatagramStats {
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(DropReason::kCount)> dropped{};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(StatelessAnswer::kCount)> sent{};
  // Initials that carried one of our Retry tokens: valid (a handshake
  // starts), or refused (also dropped as DropReason::kToken).
  std::atomic<std::uint64_t> tokens_accepted{0};
  std::atomic<std::uint64_t> tokens_refused{0};
  // Sends of several packets at once (UDP_SEGMENT), and the packets in them.
  std::atomic<std::uint64_t> segmented_sends{0};
  std::atomic<std::uint64_t> segmented_packets{0};
  // Initials that carried a NEW_TOKEN token: valid (the address counts as
  // validated), or ignored (treated as no token: RFC 9000 8.1.3).
  std::atomic<std::uint64_t> new_tokens_accepted{0};
  std::atomic<std::uint64_t> new_tokens_ignored{0};
  // Stateless Resets that ended a connection we dialled (RFC 9000 10.3.1).
  std::atomic<std::uint64_t> resets_received{0};
  // Datagrams handed over to connections on other network threads.
  std::atomic<std::uint64_t> handed_over{0};
  // Bytes of datagrams handed over and not yet read there (at most
  // QuicTransport::kMaxHandedOver), and the most there ever were at once.
  std::atomic<std::uint64_t> handed_over_bytes{0};
  std::atomic<std::uint64_t> handed_over_bytes_peak{0};
  void count(DropReason r) {
    dropped[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  }
  void count(StatelessAnswer a) {
    sent[static_cast<std::size_t>(a)].fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t get(DropReason r) const {
    return dropped[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  }
  std::uint64_t get(StatelessAnswer a) const {
    return sent[static_cast<std::size_t>(a)].load(std::memory_order_relaxed);
  }
};

class QuicTransport {
 public:
  QuicTransport(asio::any_io_executor executor, const host::HostConfig& config,
                const Ed25519KeyPair& identity, host::Host& host);
  ~QuicTransport();
  QuicTransport(const QuicTransport&) = delete;
  QuicTransport& operator=(const QuicTransport&) = delete;

  // Binds the QUIC addresses among the host's listen addresses (others are
  // TcpTransport's); see Host::listen.
  Status listen(bool ipv6_optional);
  const std::vector<Multiaddr>& listen_addrs() const { return listen_addrs_; }
  // Dials /ip4|ip6/.../udp/N/quic-v1 (no /p2p/); when `expected` is set the
  // TLS certificate must prove that peer. Throws.
  asio::awaitable<host::SecuredConnection> dial(Multiaddr target, std::optional<PeerId> expected);
  // Ends an inbound handshake the host's HandshakeTable evicted.
  void evict_handshake(std::uint64_t id);
  const DatagramStats& datagram_stats() const { return *datagram_stats_; }
  // NEW_TOKEN tokens kept for our next dials, by server address.
  std::size_t stored_tokens() const { return new_tokens_.size(); }
  // Stops receiving; connections in progress end (those on other threads
  // by a post; their socket stays open for their last words until the
  // transport goes).
  void close();
  // Bytes of datagrams at most in flight to connections on other threads;
  // beyond it datagrams are dropped (DropReason::kBacklog). Those of one
  // network thread's connections have its share, kMaxHandedOver divided
  // among the network threads: a thread that falls behind (or a flood at
  // one connection) fills its own share, not the others' room, and a new
  // connection goes to the next thread with room.
  static constexpr std::size_t kMaxHandedOver = 4 * 1024 * 1024;
  std::size_t thread_share() const;

 private:
  struct Socket;
  std::shared_ptr<Socket> open_socket(const asio::ip::udp::endpoint& ep, std::error_code& ec);
  asio::awaitable<void> receive_loop(std::shared_ptr<Socket> sock);
  // `retried`: a second look, after the route updates that were in flight
  // when it first came (a connection ID a connection on another thread
  // just issued) reached the router.
  void on_datagram(const std::shared_ptr<Socket>& sock, const asio::ip::udp::endpoint& from,
                   BytesView data, bool retried = false);
  struct Entry;
  // Datagrams for a connection on another thread: gathered per batch
  // (handoff_), then posted there.
  void hand_over(const Entry& e, const asio::ip::udp::endpoint& from, BytesView data);
  void flush_handoff();
  void drop_handoff();
  // A callable that runs its argument on the transport's executor (now when
  // called there, else posted), while the transport is alive.
  using OnOwner = std::function<void(std::function<void()>)>;
  OnOwner on_owner() const;
  void accept(const std::shared_ptr<Socket>& sock, const asio::ip::udp::endpoint& from,
              BytesView data);
  // A long header of a version we do not speak: Version Negotiation when
  // it could be a client's first datagram and the rate allows.
  void answer_version(const std::shared_ptr<Socket>& sock, const asio::ip::udp::endpoint& from,
                      const DatagramHeader& header, std::size_t size);
  // A short header for no connection of ours: a Stateless Reset when the
  // datagram is large enough and the rate allows.
  void answer_reset(const std::shared_ptr<Socket>& sock, const asio::ip::udp::endpoint& from,
                    const DatagramHeader& header, std::size_t size);
  // A datagram for no connection ID of ours that is a Stateless Reset for
  // a connection we dialled: ends it. False when it is not one.
  bool take_reset(BytesView data);
  void send_stateless(const std::shared_ptr<Socket>& sock, const asio::ip::udp::endpoint& to,
                      std::size_t size, StatelessAnswer what);
  ConnectionEvents events_for(std::uint64_t handle, const asio::ip::udp::endpoint& remote);
  QuicConnection::Send sender_for(const std::shared_ptr<Socket>& sock);
  QuicConnection::SendSegments segments_sender_for(const std::shared_ptr<Socket>& sock);
  // Limits, the budget, and the host's registry for an inbound connection
  // whose peer is verified.
  void on_inbound_established(std::uint64_t handle);
  void on_terminated(std::uint64_t handle, const std::string& reason);
  // Removes a connection's routes and handshake slot; returns its entry.
  std::optional<Entry> forget(std::uint64_t handle);
  host::SecuredConnection secure(const std::shared_ptr<QuicConnection>& c, host::Direction dir,
                                 const asio::ip::udp::endpoint& local);

  struct Entry {
    std::shared_ptr<QuicConnection> conn;
    std::shared_ptr<Socket> socket;
    std::uint64_t handshake = 0;  // HandshakeTable id while inbound and unverified
    bool inbound = false;
    bool registered = false;  // handed to the host
    asio::any_io_executor ex;  // where the connection lives
    bool remote = false;       // `ex` is not the transport's: reached by posts
    std::shared_ptr<std::atomic<std::uint64_t>> backlog;  // `ex`'s bytes in flight, if remote
  };
  struct Handoff {
    std::shared_ptr<QuicConnection> conn;
    std::shared_ptr<std::atomic<std::uint64_t>> backlog;  // its thread's
    Bytes bytes;  // the datagrams back to back
    std::vector<std::pair<std::size_t, asio::ip::udp::endpoint>> parts;  // size, sender
  };

  asio::any_io_executor executor_;
  const host::HostConfig& config_;
  host::Host& host_;
  std::optional<tls::Credentials> credentials_;
  ConnectionSettings settings_;
  std::unordered_map<std::uint64_t, std::uint64_t> handshake_handles_;  // table id -> handle
  CidRouter router_;
  ResetTokenIndex reset_tokens_;  // of dialled connections' servers
  std::unordered_map<std::uint64_t, Entry> connections_;
  std::uint64_t next_handle_ = 1;
  std::vector<std::shared_ptr<Socket>> sockets_;
  std::vector<Multiaddr> listen_addrs_;
  std::shared_ptr<DatagramStats> datagram_stats_ = std::make_shared<DatagramStats>();
  RetryTokens retry_tokens_;
  TokenStore new_tokens_;  // given by servers we dialled
  TokenBucket version_answers_{kVersionNegotiationRate, kVersionNegotiationRate};
  TokenBucket reset_answers_{kStatelessResetRate, kStatelessResetRate};
  // Where stateless answers are written (one at a time, on the io_context).
  std::array<std::uint8_t, 1500> answer_{};
  std::optional<Handoff> handoff_;
  // Bytes posted to connections on other threads and not yet read there
  // (added here, taken away there), and the most at once: in the stats.
  std::shared_ptr<std::atomic<std::uint64_t>> handed_over_{datagram_stats_,
                                                           &datagram_stats_->handed_over_bytes};
  // Per network thread (by index): bytes posted to its connections and not
  // yet read there.
  std::vector<std::shared_ptr<std::atomic<std::uint64_t>>> thread_backlog_;
  std::shared_ptr<std::atomic<std::uint64_t>> backlog_of(const asio::any_io_executor& ex);
  // Whether `n` more bytes for a thread holding `backlog` stay within its
  // share and kMaxHandedOver.
  bool room_for(const std::atomic<std::uint64_t>& backlog, std::size_t n) const;
  // Counts `n` more bytes handed over, to a thread's `backlog` too unless
  // null (on the transport's executor only).
  void count_handed_over(std::atomic<std::uint64_t>* backlog, std::size_t n);
  // Connection IDs issued on other threads whose route is still on its way.
  std::shared_ptr<std::atomic<int>> routes_in_flight_ = std::make_shared<std::atomic<int>>(0);
  bool closing_ = false;
  // Read from the connections' threads too (their events and sends).
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace mp::quic
