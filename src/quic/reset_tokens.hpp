// Recognising a Stateless Reset on connections we dialled (RFC 9000
// 10.3.1), without I/O. A reset starts with random bytes, so it routes to
// no connection ID; what identifies it is its last 16 bytes, the stateless
// reset token the remote gave for the connection ID we were using (in its
// transport parameters, or with NEW_CONNECTION_ID). ResetTokenIndex maps
// those tokens of each dialled connection to its handle: a datagram that
// routes nowhere and whose tail is one of them ends that connection
// instead of being answered.
//
// Bounds: at most kMaxTokensPerConnection tokens per connection (we accept
// active_connection_id_limit = 4 IDs from a peer, and only those in use are
// indexed), removed with the connection. Lookup is by a keyed hash of the
// tail (HMAC-SHA256 under a per-process key, truncated), then a constant-
// time comparison of the 16 bytes: the time a lookup takes says nothing
// about how much of a token a forged datagram got right.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/bytes.hpp"

namespace mp::quic {

using ResetToken = std::array<std::uint8_t, NGTCP2_STATELESS_RESET_TOKENLEN>;

// Whether `a` and `b` are equal, in a time that does not depend on where
// they differ.
bool tokens_equal(const ResetToken& a, const ResetToken& b);

class ResetTokenIndex {
 public:
  static constexpr std::size_t kMaxTokensPerConnection = 8;

  ResetTokenIndex();  // a random hash key

  // Indexes a token the peer of connection `handle` gave. False when the
  // connection has kMaxTokensPerConnection already, or the token is
  // indexed for another connection (a peer cannot claim another's).
  bool add(const ResetToken& token, std::uint64_t handle);
  // The token no longer applies (its connection ID was retired).
  void remove(const ResetToken& token, std::uint64_t handle);
  // Every token of `handle` (its connection ended).
  void remove_all(std::uint64_t handle);
  // The connection whose peer gave the last 16 bytes of `datagram` as a
  // token; nullopt when none did or the datagram is shorter than a reset.
  std::optional<std::uint64_t> match(BytesView datagram) const;
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  std::uint64_t key_of(const std::uint8_t* token) const;
  struct Slot {
    ResetToken token;
    std::uint64_t handle;
  };
  std::array<std::uint8_t, 32> hash_key_{};
  // Keyed hash -> tokens with that hash (almost always one).
  std::unordered_map<std::uint64_t, std::vector<Slot>> by_hash_;
  std::unordered_map<std::uint64_t, std::vector<ResetToken>> by_handle_;
  std::size_t size_ = 0;
};

}  // namespace mp::quic
