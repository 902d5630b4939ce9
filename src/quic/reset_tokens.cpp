#include "quic/reset_tokens.hpp"

#include <gnutls/crypto.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace mp::quic {

bool tokens_equal(const ResetToken& a, const ResetToken& b) {
  // Every byte is read whatever the earlier ones were; volatile keeps the
  // compiler from stopping early.
  volatile std::uint8_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

ResetTokenIndex::ResetTokenIndex() {
  if (gnutls_rnd(GNUTLS_RND_KEY, hash_key_.data(), hash_key_.size()) != 0)
    throw std::runtime_error("QUIC: no randomness for the reset token index");
}

std::uint64_t ResetTokenIndex::key_of(const std::uint8_t* token) const {
  std::array<std::uint8_t, 32> mac{};
  if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, hash_key_.data(), hash_key_.size(), token,
                       NGTCP2_STATELESS_RESET_TOKENLEN, mac.data()) != 0)
    return 0;  // every token then shares one bucket: still correct
  std::uint64_t k = 0;
  std::memcpy(&k, mac.data(), sizeof k);
  return k;
}

bool ResetTokenIndex::add(const ResetToken& token, std::uint64_t handle) {
  auto& mine = by_handle_[handle];
  for (const auto& t : mine)
    if (tokens_equal(t, token)) return true;  // already there
  if (mine.size() >= kMaxTokensPerConnection) return false;
  auto& bucket = by_hash_[key_of(token.data())];
  for (const auto& s : bucket)
    if (tokens_equal(s.token, token)) return false;  // another connection's
  bucket.push_back(Slot{token, handle});
  mine.push_back(token);
  ++size_;
  return true;
}

void ResetTokenIndex::remove(const ResetToken& token, std::uint64_t handle) {
  auto mine = by_handle_.find(handle);
  if (mine == by_handle_.end()) return;
  auto& list = mine->second;
  auto it = std::find_if(list.begin(), list.end(),
                         [&](const ResetToken& t) { return tokens_equal(t, token); });
  if (it == list.end()) return;
  list.erase(it);
  if (list.empty()) by_handle_.erase(mine);
  const std::uint64_t key = key_of(token.data());
  auto bucket = by_hash_.find(key);
  if (bucket == by_hash_.end()) return;
  auto& slots = bucket->second;
  std::erase_if(slots,
                [&](const Slot& s) { return s.handle == handle && tokens_equal(s.token, token); });
  if (slots.empty()) by_hash_.erase(bucket);
  --size_;
}

void ResetTokenIndex::remove_all(std::uint64_t handle) {
  auto mine = by_handle_.find(handle);
  if (mine == by_handle_.end()) return;
  const std::vector<ResetToken> tokens = mine->second;
  for (const auto& t : tokens) remove(t, handle);
}

std::optional<std::uint64_t> ResetTokenIndex::match(BytesView datagram) const {
  // RFC 9000 10.3: a reset is at least 21 bytes (5 unpredictable, 16 of token).
  if (size_ == 0 ||
      datagram.size() < NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN)
    return std::nullopt;
  ResetToken tail{};
  std::memcpy(tail.data(), datagram.data() + datagram.size() - tail.size(), tail.size());
  auto bucket = by_hash_.find(key_of(tail.data()));
  if (bucket == by_hash_.end()) return std::nullopt;
  for (const auto& s : bucket->second)
    if (tokens_equal(s.token, tail)) return s.handle;
  return std::nullopt;
}

}  // namespace mp::quic
