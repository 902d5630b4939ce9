#include "quic/address_validation.hpp"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <stdexcept>

#include "quic/cid_router.hpp"

namespace mp::quic {

namespace {

const ngtcp2_sockaddr* sockaddr_of(const asio::ip::udp::endpoint& ep) {
  return reinterpret_cast<const ngtcp2_sockaddr*>(ep.data());
}

}  // namespace

bool retry_required(host::QuicRetry mode, std::size_t handshakes_in_progress,
                    std::size_t max_handshakes) {
  switch (mode) {
    case host::QuicRetry::kAlways:
      return true;
    case host::QuicRetry::kNever:
      return false;
    case host::QuicRetry::kAuto:
      break;
  }
  return handshakes_in_progress * 2 >= max_handshakes;
}

bool has_retry_token(const ngtcp2_pkt_hd& hd) {
  return hd.token.len > 0 && hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY;
}

namespace {

std::array<std::uint8_t, 32> derive(std::span<const std::uint8_t> identity_secret,
                                    std::string_view label) {
  std::array<std::uint8_t, 32> out{};
  if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, identity_secret.data(), identity_secret.size(),
                       label.data(), label.size(), out.data()) != 0)
    throw std::runtime_error("QUIC: cannot derive a secret from the identity key");
  return out;
}

// The client's address without its port: what a NEW_TOKEN token binds.
asio::ip::udp::endpoint without_port(const asio::ip::udp::endpoint& ep) {
  return asio::ip::udp::endpoint(ep.address(), 0);
}

}  // namespace

ResetSecret derive_reset_secret(std::span<const std::uint8_t> identity_secret) {
  return derive(identity_secret, "mepassa quic stateless reset v1");
}

TokenSecret derive_token_secret(std::span<const std::uint8_t> identity_secret) {
  return derive(identity_secret, "mepassa quic new token v1");
}

bool has_new_token(const ngtcp2_pkt_hd& hd) {
  return hd.token.len > 0 && hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR;
}

std::size_t write_new_token(std::span<std::uint8_t> out, const TokenSecret& secret,
                            const asio::ip::udp::endpoint& remote, ngtcp2_tstamp now) {
  if (out.size() < NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN) return 0;
  const auto ep = without_port(remote);
  const ngtcp2_ssize n = ngtcp2_crypto_generate_regular_token(
      out.data(), secret.data(), secret.size(), sockaddr_of(ep),
      static_cast<ngtcp2_socklen>(ep.size()), now);
  return n < 0 ? 0 : static_cast<std::size_t>(n);
}

bool verify_new_token(const ngtcp2_pkt_hd& hd, const TokenSecret& secret,
                      const asio::ip::udp::endpoint& remote, ngtcp2_tstamp now) {
  if (!has_new_token(hd)) return false;
  const auto ep = without_port(remote);
  const auto lifetime = static_cast<ngtcp2_duration>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(kNewTokenLifetime).count());
  return ngtcp2_crypto_verify_regular_token(
             hd.token.base, hd.token.len, secret.data(), secret.size(), sockaddr_of(ep),
             static_cast<ngtcp2_socklen>(ep.size()), lifetime, now) == 0;
}

void TokenStore::put(const std::string& server, std::string token) {
  if (capacity_ == 0) return;
  if (auto it = map_.find(server); it != map_.end()) {
    order_.erase(it->second);
    map_.erase(it);
  }
  order_.emplace_front(server, std::move(token));
  map_[server] = order_.begin();
  if (map_.size() > capacity_) {
    map_.erase(order_.back().first);
    order_.pop_back();
  }
}

std::optional<std::string> TokenStore::take(const std::string& server) {
  auto it = map_.find(server);
  if (it == map_.end()) return std::nullopt;
  std::string token = std::move(it->second->second);
  order_.erase(it->second);
  map_.erase(it);
  return token;
}

const ResetSecret& process_reset_secret() {
  static const ResetSecret secret = [] {
    ResetSecret s{};
    if (gnutls_rnd(GNUTLS_RND_KEY, s.data(), s.size()) != 0)
      throw std::runtime_error("QUIC: no randomness for the stateless reset secret");
    return s;
  }();
  return secret;
}

std::size_t write_stateless_reset(std::span<std::uint8_t> out, const ResetSecret& secret,
                                  std::string_view dcid, std::size_t datagram_size) {
  if (datagram_size <= kMinStatelessReset || dcid.size() > NGTCP2_MAX_CIDLEN) return 0;
  const std::size_t size = std::min(datagram_size - 1, kMaxStatelessReset);
  if (out.size() < size) return 0;
  ngtcp2_cid cid{};
  cid.datalen = dcid.size();
  std::copy(dcid.begin(), dcid.end(), cid.data);
  std::array<std::uint8_t, NGTCP2_STATELESS_RESET_TOKENLEN> token{};
  if (ngtcp2_crypto_generate_stateless_reset_token(token.data(), secret.data(), secret.size(),
                                                   &cid) != 0)
    return 0;
  std::array<std::uint8_t, kMaxStatelessReset> random{};
  const std::size_t randlen = size - NGTCP2_STATELESS_RESET_TOKENLEN;
  if (gnutls_rnd(GNUTLS_RND_NONCE, random.data(), randlen) != 0) return 0;
  const ngtcp2_ssize n =
      ngtcp2_pkt_write_stateless_reset(out.data(), size, token.data(), random.data(), randlen);
  return n < 0 ? 0 : static_cast<std::size_t>(n);
}

RetryTokens::RetryTokens() {
  if (gnutls_rnd(GNUTLS_RND_KEY, secret_.data(), secret_.size()) != 0)
    throw std::runtime_error("QUIC: no randomness for the Retry token secret");
}

std::size_t RetryTokens::write_retry(std::span<std::uint8_t> out, const ngtcp2_pkt_hd& hd,
                                     const asio::ip::udp::endpoint& remote,
                                     ngtcp2_tstamp now) const {
  ngtcp2_cid retry_scid{};
  retry_scid.datalen = kCidLength;
  gnutls_rnd(GNUTLS_RND_NONCE, retry_scid.data, retry_scid.datalen);
  std::array<std::uint8_t, NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN> token{};
  const ngtcp2_ssize tokenlen = ngtcp2_crypto_generate_retry_token(
      token.data(), secret_.data(), secret_.size(), hd.version, sockaddr_of(remote),
      static_cast<ngtcp2_socklen>(remote.size()), &retry_scid, &hd.dcid, now);
  if (tokenlen < 0) return 0;
  const ngtcp2_ssize n =
      ngtcp2_crypto_write_retry(out.data(), out.size(), hd.version, &hd.scid, &retry_scid, &hd.dcid,
                                token.data(), static_cast<std::size_t>(tokenlen));
  return n < 0 ? 0 : static_cast<std::size_t>(n);
}

std::optional<ngtcp2_cid> RetryTokens::verify(const ngtcp2_pkt_hd& hd,
                                              const asio::ip::udp::endpoint& remote,
                                              ngtcp2_tstamp now) const {
  if (!has_retry_token(hd)) return std::nullopt;
  ngtcp2_cid odcid{};
  const auto lifetime = static_cast<ngtcp2_duration>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(kRetryTokenLifetime).count());
  const int rv = ngtcp2_crypto_verify_retry_token(
      &odcid, hd.token.base, hd.token.len, secret_.data(), secret_.size(), hd.version,
      sockaddr_of(remote), static_cast<ngtcp2_socklen>(remote.size()), &hd.dcid, lifetime, now);
  if (rv != 0) return std::nullopt;
  return odcid;
}

std::size_t write_version_negotiation(std::span<std::uint8_t> out, std::string_view dcid,
                                      std::string_view scid, std::size_t datagram_size) {
  static constexpr std::array<std::uint32_t, 1> kVersions = {NGTCP2_PROTO_VER_V1};
  std::uint8_t unused = 0;
  gnutls_rnd(GNUTLS_RND_NONCE, &unused, 1);
  // RFC 9000 17.2.1: our Destination Connection ID is the client's Source
  // Connection ID, and the other way round.
  const ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(
      out.data(), std::min(out.size(), datagram_size), unused,
      reinterpret_cast<const std::uint8_t*>(scid.data()), scid.size(),
      reinterpret_cast<const std::uint8_t*>(dcid.data()), dcid.size(), kVersions.data(),
      kVersions.size());
  return n < 0 ? 0 : static_cast<std::size_t>(n);
}

bool TokenBucket::take(Clock::time_point now) {
  if (last_) {
    const std::chrono::duration<double> elapsed = now - *last_;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * per_second_);
  }
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

}  // namespace mp::quic
