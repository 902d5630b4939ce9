// The raw Noise_XX_25519_ChaChaPoly_SHA256 handshake (Noise Protocol
// Framework rev 34, sections 5.3 and 7.5), with no libp2p meaning attached to
// payloads: this is what the cacophony test vectors check.
//
//   XX:  -> e
//        <- e, ee, s, es
//        -> s, se
//
// A pure state machine: the caller moves messages (without the libp2p 2-byte
// length prefix) in and out. Messages are refused past 65535 bytes (Noise
// section 3). After the third message, split() yields the transport ciphers.
#pragma once

#include <optional>

#include "noise/cipher_state.hpp"
#include "noise/crypto.hpp"
#include "noise/symmetric_state.hpp"

namespace mp::noise {

inline constexpr std::string_view kProtocolName = "Noise_XX_25519_ChaChaPoly_SHA256";
inline constexpr std::size_t kMaxMessageLen = 65535;

enum class Role { kInitiator, kResponder };

class XXHandshake {
 public:
  // `ephemeral` is generated when the e token is written unless injected
  // (tests). `prologue` is empty for libp2p.
  XXHandshake(Role role, const X25519KeyPair& static_keys, BytesView prologue = {},
              std::optional<X25519KeyPair> ephemeral = std::nullopt);

  Role role() const { return role_; }
  // True when the next step is write_message (false once complete).
  bool is_my_turn() const;
  bool is_complete() const { return step_ == 3; }
  // Number of handshake messages processed so far (0..3).
  int step() const { return step_; }

  // Appends the next handshake message carrying `payload` to `out`.
  Status write_message(BytesView payload, Bytes& out);
  // Processes the next handshake message; appends its payload to `payload_out`.
  // On error the handshake is dead: every later call fails.
  Status read_message(BytesView message, Bytes& payload_out);

  // The remote static key, valid once the s token has been read
  // (initiator: after message 2; responder: after message 3).
  const std::optional<Key32>& remote_static() const { return rs_; }
  const X25519KeyPair& local_static() const { return s_; }
  const Hash32& handshake_hash() const { return symmetric_.handshake_hash(); }

  // After completion: {send, receive} cipher states for this side.
  Result<std::pair<CipherState, CipherState>> split() const;

 private:
  Status mix_dh(const X25519KeyPair& ours, const Key32& theirs);

  Role role_;
  SymmetricState symmetric_;
  X25519KeyPair s_;
  std::optional<X25519KeyPair> e_;
  std::optional<Key32> rs_;
  std::optional<Key32> re_;
  int step_ = 0;
  bool failed_ = false;
};

}  // namespace mp::noise
