#include "noise/symmetric_state.hpp"

#include <cstring>

namespace mp::noise {

SymmetricState::SymmetricState(std::string_view protocol_name) {
  // Section 5.2: a name of at most HASHLEN bytes is zero-padded, a longer one
  // hashed. "Noise_XX_25519_ChaChaPoly_SHA256" is exactly 32 bytes.
  if (protocol_name.size() <= kHashLen) {
    std::memcpy(h_.data(), protocol_name.data(), protocol_name.size());
  } else {
    h_ = sha256(as_bytes(protocol_name));
  }
  ck_ = h_;
}

void SymmetricState::mix_key(BytesView input_key_material) {
  Hkdf2 out = hkdf2(ck_, input_key_material);
  ck_ = out.out1;
  // HASHLEN is 32, so temp_k needs no truncation.
  cipher_.initialize_key(out.out2);
  secure_wipe(out.out2.data(), out.out2.size());
}

void SymmetricState::mix_hash(BytesView data) {
  h_ = sha256(h_, data);
}

Status SymmetricState::encrypt_and_hash(BytesView plaintext, Bytes& out) {
  const std::size_t start = out.size();
  out.resize(start + plaintext.size() + (cipher_.has_key() ? kTagLen : 0));
  std::span<std::uint8_t> dst(out.data() + start, out.size() - start);
  Result<std::size_t> n = cipher_.encrypt_with_ad(h_, plaintext, dst);
  if (!n) {
    out.resize(start);
    return n.error();
  }
  mix_hash(dst);
  return {};
}

Status SymmetricState::decrypt_and_hash(BytesView ciphertext, Bytes& out) {
  if (cipher_.has_key() && ciphertext.size() < kTagLen) {
    return make_error("noise: handshake message truncated");
  }
  const std::size_t start = out.size();
  out.resize(start + ciphertext.size() - (cipher_.has_key() ? kTagLen : 0));
  Result<std::size_t> n = cipher_.decrypt_with_ad(
      h_, ciphertext, std::span<std::uint8_t>(out.data() + start, out.size() - start));
  if (!n) {
    out.resize(start);
    return n.error();
  }
  // h covers the ciphertext, so it is mixed only after decryption (which
  // needs the previous h as associated data).
  mix_hash(ciphertext);
  return {};
}

std::pair<CipherState, CipherState> SymmetricState::split() const {
  Hkdf2 out = hkdf2(ck_, BytesView{});
  std::pair<CipherState, CipherState> result{CipherState(out.out1), CipherState(out.out2)};
  secure_wipe(out.out1.data(), out.out1.size());
  secure_wipe(out.out2.data(), out.out2.size());
  return result;
}

}  // namespace mp::noise
