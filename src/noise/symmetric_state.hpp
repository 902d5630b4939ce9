// SymmetricState (Noise Protocol Framework rev 34, section 5.2): the chaining
// key ck, the handshake hash h and a CipherState, for the SHA256/ChaChaPoly
// suite. Used only during the handshake; Split() yields the two transport
// CipherStates.
#pragma once

#include <string_view>
#include <utility>

#include "noise/cipher_state.hpp"
#include "noise/crypto.hpp"

namespace mp::noise {

class SymmetricState {
 public:
  // InitializeSymmetric(protocol_name).
  explicit SymmetricState(std::string_view protocol_name);

  void mix_key(BytesView input_key_material);
  void mix_hash(BytesView data);
  // Appends EncryptAndHash(plaintext) to out.
  Status encrypt_and_hash(BytesView plaintext, Bytes& out);
  // Appends DecryptAndHash(ciphertext) to out.
  Status decrypt_and_hash(BytesView ciphertext, Bytes& out);
  // Split(): {initiator->responder, responder->initiator}.
  std::pair<CipherState, CipherState> split() const;

  bool has_key() const { return cipher_.has_key(); }
  const Hash32& handshake_hash() const { return h_; }

 private:
  Hash32 ck_{};
  Hash32 h_{};
  CipherState cipher_;
};

}  // namespace mp::noise
