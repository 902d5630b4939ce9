#include "noise/cipher_state.hpp"

#include <sodium.h>

#include <climits>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace mp::noise {
namespace {

// Noise section 12.3: 32 bits of zeros followed by the little-endian nonce
// (the IETF ChaCha20-Poly1305 nonce).
std::array<std::uint8_t, 12> aead_nonce(std::uint64_t n) {
  std::array<std::uint8_t, 12> iv{};
  for (int i = 0; i < 8; ++i)
    iv[4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
  return iv;
}

// libsodium's ChaCha20-Poly1305 (IETF): one call per message, no context.
// OpenSSL 3's EVP path re-initialised a context and read the tag through a
// parameter lookup on every message, about twice the time for the short
// frames a bootstrap node sends (a FIND_NODE costs several).
bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

CipherState::CipherState(CipherState&& other) noexcept
    : key_(other.key_), n_(other.n_), has_key_(other.has_key_) {
  secure_wipe(other.key_.data(), other.key_.size());
  other.has_key_ = false;
}

CipherState& CipherState::operator=(CipherState&& other) noexcept {
  if (this != &other) {
    key_ = other.key_;
    n_ = other.n_;
    has_key_ = other.has_key_;
    secure_wipe(other.key_.data(), other.key_.size());
    other.has_key_ = false;
  }
  return *this;
}

CipherState::~CipherState() {
  secure_wipe(key_.data(), key_.size());
}

void CipherState::initialize_key(const Key32& key) {
  key_ = key;
  has_key_ = true;
  n_ = 0;
}

Status CipherState::check_nonce() const {
  // Noise section 5.1: 2^64-1 is reserved; using it is an error.
  if (n_ == std::numeric_limits<std::uint64_t>::max()) {
    return make_error("noise: nonce exhausted (2^64-1 messages), connection must be closed");
  }
  return {};
}

Result<std::size_t> CipherState::encrypt_with_ad(BytesView ad, BytesView plaintext,
                                                 std::span<std::uint8_t> out) {
  if (!has_key_) {
    if (out.size() < plaintext.size()) return make_error("noise: output buffer too small");
    if (!plaintext.empty() && out.data() != plaintext.data()) {
      std::memmove(out.data(), plaintext.data(), plaintext.size());
    }
    return plaintext.size();
  }
  if (Status s = check_nonce(); !s) return s.error();
  if (plaintext.size() > static_cast<std::size_t>(INT_MAX - kTagLen) ||
      ad.size() > static_cast<std::size_t>(INT_MAX)) {
    return make_error("noise: message too large");
  }
  if (out.size() < plaintext.size() + kTagLen) return make_error("noise: output buffer too small");

  const auto iv = aead_nonce(n_);
  const bool ok = sodium_ready() &&
                  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
                      out.data(), out.data() + plaintext.size(), nullptr, plaintext.data(),
                      plaintext.size(), ad.data(), ad.size(), nullptr, iv.data(), key_.data()) == 0;
  if (!ok) return make_error("noise: encryption failed");
  ++n_;
  return plaintext.size() + kTagLen;
}

Result<std::size_t> CipherState::decrypt_with_ad(BytesView ad, BytesView ciphertext,
                                                 std::span<std::uint8_t> out) {
  if (!has_key_) {
    if (out.size() < ciphertext.size()) return make_error("noise: output buffer too small");
    if (!ciphertext.empty() && out.data() != ciphertext.data()) {
      std::memmove(out.data(), ciphertext.data(), ciphertext.size());
    }
    return ciphertext.size();
  }
  if (Status s = check_nonce(); !s) return s.error();
  if (ciphertext.size() < kTagLen) return make_error("noise: ciphertext shorter than its tag");
  if (ciphertext.size() > static_cast<std::size_t>(INT_MAX) ||
      ad.size() > static_cast<std::size_t>(INT_MAX)) {
    return make_error("noise: message too large");
  }
  const std::size_t body = ciphertext.size() - kTagLen;
  if (out.size() < body) return make_error("noise: output buffer too small");

  // The tag is copied out first: with in-place decryption `out` may overlap it.
  std::array<std::uint8_t, kTagLen> tag{};
  std::memcpy(tag.data(), ciphertext.data() + body, kTagLen);

  const auto iv = aead_nonce(n_);
  const bool ok = sodium_ready() &&
                  crypto_aead_chacha20poly1305_ietf_decrypt_detached(
                      out.data(), nullptr, ciphertext.data(), body, tag.data(), ad.data(),
                      ad.size(), iv.data(), key_.data()) == 0;
  if (!ok) {
    // Do not hand out unauthenticated plaintext.
    secure_wipe(out.data(), body);
    return make_error("noise: decryption failed (bad key, nonce or tampered data)");
  }
  ++n_;
  return body;
}

}  // namespace mp::noise
