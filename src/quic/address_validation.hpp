// The QUIC listener's answers that keep no state (RFC 9000 sections 6 and
// 8.1): address validation with Retry, and Version Negotiation. Each is a
// pure function of a datagram's header, the sender's address and, for
// Retry, one per-process secret: nothing is stored per client before it has
// proved it receives at its address, so a flood of spoofed Initials costs a
// few hashes each and never a connection.
//
// The caller may rely on: a Retry packet is far under three times the
// Initial (>= 1200 bytes) it answers (RFC 9000 8.1: amplification), a
// Version Negotiation packet is never larger than the datagram it answers,
// and tokens expire after kRetryTokenLifetime.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <array>
#include <asio/ip/udp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "host/host_config.hpp"

namespace mp::quic {

// A Retry token is good for this long after it was issued: a client sends
// its second Initial one round trip after our Retry.
inline constexpr std::chrono::seconds kRetryTokenLifetime{10};

// Whether an Initial without a valid token is answered with a Retry:
// QUIC_RETRY=always|never, or auto: when at least half of the handshake
// slots (MAX_HANDSHAKES, TCP and QUIC together) are taken.
bool retry_required(host::QuicRetry mode, std::size_t handshakes_in_progress,
                    std::size_t max_handshakes);

// Whether the token of `hd` (an Initial) is one of our Retry tokens by its
// first byte; NEW_TOKEN tokens are checked by verify_new_token.
bool has_retry_token(const ngtcp2_pkt_hd& hd);

// Issues and checks Retry tokens under one secret (random per process: a
// restart invalidates tokens in flight, which only costs their clients one
// more Retry).
class RetryTokens {
 public:
  RetryTokens();
  explicit RetryTokens(const std::array<std::uint8_t, 32>& secret) : secret_(secret) {}

  // Writes into `out` a Retry answering `hd`, a QUIC v1 Initial from
  // `remote`: a fresh Source Connection ID, and a token binding the
  // client's address, that ID and the client's original Destination
  // Connection ID, stamped `now` (ngtcp2 nanoseconds). Returns its size, or
  // 0 when it cannot be written.
  std::size_t write_retry(std::span<std::uint8_t> out, const ngtcp2_pkt_hd& hd,
                          const asio::ip::udp::endpoint& remote, ngtcp2_tstamp now) const;
  // The client's original Destination Connection ID when `hd` carries a
  // token we issued to `remote` for `hd`'s Destination Connection ID (the
  // Retry's Source Connection ID) less than kRetryTokenLifetime ago.
  std::optional<ngtcp2_cid> verify(const ngtcp2_pkt_hd& hd, const asio::ip::udp::endpoint& remote,
                                   ngtcp2_tstamp now) const;

 private:
  std::array<std::uint8_t, 32> secret_{};
};

// Writes into `out` a Version Negotiation packet answering a long header
// packet with connection IDs `dcid` / `scid` that was `datagram_size`
// bytes long, listing QUIC v1. Returns its size, or 0 when it would be
// larger than the datagram (or `out`).
std::size_t write_version_negotiation(std::span<std::uint8_t> out, std::string_view dcid,
                                      std::string_view scid, std::size_t datagram_size);

// A long header packet of a version other than v1 large enough to be a
// client's first packet (RFC 9000 14.1: 1200 bytes) may be answered with a
// Version Negotiation packet; smaller ones never are (6.1).
inline constexpr std::size_t kMinInitialDatagram = 1200;

// At most `burst` answers at once, refilled at `per_second`: bounds the
// Version Negotiation packets a spoofed flood makes us send.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  TokenBucket(double per_second, double burst)
      : per_second_(per_second), burst_(burst), tokens_(burst) {}
  bool take(Clock::time_point now);

 private:
  double per_second_;
  double burst_;
  double tokens_;
  std::optional<Clock::time_point> last_;
};

// Version Negotiation answers per second (and burst) per transport.
inline constexpr double kVersionNegotiationRate = 100;

// Stateless Reset (RFC 9000 10.3). Tokens are HMACs of a connection ID under
// one 32-byte secret. Derived from the node's identity key (with a fixed
// label), the secret is the same after a restart with the same identity, so
// a client of the previous process learns at once that its connection is
// gone. Never logged.
using ResetSecret = std::array<std::uint8_t, 32>;
ResetSecret derive_reset_secret(std::span<const std::uint8_t> identity_secret);
// A random secret, one per process: for connections made without an
// identity (tests).
const ResetSecret& process_reset_secret();

// The smallest Stateless Reset (5 unpredictable bytes and the 16-byte
// token), and the size we never exceed: a reset is also one byte smaller
// than the datagram it answers, so two endpoints cannot answer each other
// forever, and it is never an amplification.
inline constexpr std::size_t kMinStatelessReset =
    NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN;
inline constexpr std::size_t kMaxStatelessReset = 43;

// Writes into `out` a Stateless Reset answering a `datagram_size`-byte
// short header datagram to the unknown connection ID `dcid`: the token
// under `secret`, random bytes before it, min(datagram_size - 1,
// kMaxStatelessReset) bytes in all. Returns its size, or 0 when that would
// be under kMinStatelessReset (the datagram is then not answered).
std::size_t write_stateless_reset(std::span<std::uint8_t> out, const ResetSecret& secret,
                                  std::string_view dcid, std::size_t datagram_size);

// NEW_TOKEN (RFC 9000 8.1.3): after a handshake, the server gives the
// client a token for its next connection; an Initial carrying a valid one
// counts as address-validated (no Retry, no 3x limit). Tokens bind the
// client's IP address (not its port, which changes between connections),
// and are good for kNewTokenLifetime; the server keeps nothing, so a token
// may be used more than once within it (the RFC leaves reuse to the
// server; our client uses each once). They are made under a secret derived
// from the identity key (another label than the reset secret's), so those
// given before a restart still spare their clients a Retry after it. A bad
// or expired one is treated as no token, not as an error.
inline constexpr std::chrono::seconds kNewTokenLifetime{3600};
using TokenSecret = std::array<std::uint8_t, 32>;
TokenSecret derive_token_secret(std::span<const std::uint8_t> identity_secret);
// Whether the token of `hd` is a NEW_TOKEN token by its first byte.
bool has_new_token(const ngtcp2_pkt_hd& hd);
// Writes a token for `remote` stamped `now` into `out` (at least
// NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN bytes); returns its size, 0 on failure.
std::size_t write_new_token(std::span<std::uint8_t> out, const TokenSecret& secret,
                            const asio::ip::udp::endpoint& remote, ngtcp2_tstamp now);
// Whether `hd` carries a token we issued to `remote`'s IP address less than
// kNewTokenLifetime ago.
bool verify_new_token(const ngtcp2_pkt_hd& hd, const TokenSecret& secret,
                      const asio::ip::udp::endpoint& remote, ngtcp2_tstamp now);

// The dialling side's NEW_TOKEN tokens, one per server address, the least
// recently stored dropped beyond `capacity`; each is used once.
class TokenStore {
 public:
  static constexpr std::size_t kDefaultCapacity = 1024;
  explicit TokenStore(std::size_t capacity = kDefaultCapacity) : capacity_(capacity) {}
  void put(const std::string& server, std::string token);
  std::optional<std::string> take(const std::string& server);
  std::size_t size() const { return map_.size(); }

 private:
  using Entry = std::pair<std::string, std::string>;  // server, token
  std::size_t capacity_;
  std::list<Entry> order_;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> map_;
};

// Stateless Resets per second (and burst) per transport.
inline constexpr double kStatelessResetRate = 100;

}  // namespace mp::quic
