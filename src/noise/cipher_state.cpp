#include "noise/cipher_state.hpp"

#include <openssl/evp.h>

#include <climits>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace mp::noise {
namespace {

const EVP_CIPHER* chacha20_poly1305() {
  static EVP_CIPHER* cipher = [] {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
    if (c == nullptr) throw std::runtime_error("noise: OpenSSL has no ChaCha20-Poly1305");
    return c;
  }();
  return cipher;
}

// Noise section 12.3: 32 bits of zeros followed by the little-endian nonce.
std::array<std::uint8_t, 12> aead_nonce(std::uint64_t n) {
  std::array<std::uint8_t, 12> iv{};
  for (int i = 0; i < 8; ++i)
    iv[4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
  return iv;
}

// This thread's ChaCha20-Poly1305 context, shared by every CipherState
// used on it (a message is encrypted or decrypted in one call, never across
// a suspension).
EVP_CIPHER_CTX* thread_context() {
  struct Owned {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~Owned() { EVP_CIPHER_CTX_free(ctx); }
  };
  thread_local Owned owned;
  thread_local bool set_up = false;
  if (owned.ctx == nullptr) throw std::bad_alloc();
  if (!set_up) {
    if (EVP_CipherInit_ex2(owned.ctx, chacha20_poly1305(), nullptr, nullptr, 1, nullptr) != 1) {
      throw std::runtime_error("noise: ChaCha20-Poly1305 setup failed");
    }
    set_up = true;
  }
  return owned.ctx;
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

  EVP_CIPHER_CTX* ctx = thread_context();
  const auto iv = aead_nonce(n_);
  int len = 0;
  bool ok = EVP_CipherInit_ex2(ctx, nullptr, key_.data(), iv.data(), 1, nullptr) == 1;
  if (ok && !ad.empty()) {
    ok = EVP_CipherUpdate(ctx, nullptr, &len, ad.data(), static_cast<int>(ad.size())) == 1;
  }
  if (ok && !plaintext.empty()) {
    ok = EVP_CipherUpdate(ctx, out.data(), &len, plaintext.data(),
                          static_cast<int>(plaintext.size())) == 1;
  }
  int final_len = 0;
  ok = ok && EVP_CipherFinal_ex(ctx, out.data() + plaintext.size(), &final_len) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagLen),
                                 out.data() + plaintext.size()) == 1;
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

  EVP_CIPHER_CTX* ctx = thread_context();
  const auto iv = aead_nonce(n_);
  int len = 0;
  bool ok = EVP_CipherInit_ex2(ctx, nullptr, key_.data(), iv.data(), 0, nullptr) == 1;
  if (ok && !ad.empty()) {
    ok = EVP_CipherUpdate(ctx, nullptr, &len, ad.data(), static_cast<int>(ad.size())) == 1;
  }
  if (ok && body > 0) {
    ok = EVP_CipherUpdate(ctx, out.data(), &len, ciphertext.data(), static_cast<int>(body)) == 1;
  }
  ok = ok &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagLen), tag.data()) == 1;
  int final_len = 0;
  ok = ok && EVP_CipherFinal_ex(ctx, out.data() + body, &final_len) == 1;
  if (!ok) {
    // Do not hand out unauthenticated plaintext.
    secure_wipe(out.data(), body);
    return make_error("noise: decryption failed (bad key, nonce or tampered data)");
  }
  ++n_;
  return body;
}

}  // namespace mp::noise
