// CipherState (Noise Protocol Framework rev 34, section 5.1) for ChaChaPoly:
// a key k and a 64-bit nonce counter n. The AEAD nonce is 4 zero bytes
// followed by n as 64-bit little-endian (section 12.3).
//
// Caller contract: encrypt/decrypt never reuse a nonce; n advances only on
// success (a failed decryption leaves n unchanged, but the Noise channel is
// dead anyway). n = 2^64-1 is reserved by the spec, so after 2^64-1 messages
// the state refuses to encrypt or decrypt ("nonce exhausted") and the
// connection must be closed (libp2p/specs noise/README.md).
// It keeps only the 32-byte key and the nonce: each message runs on an
// OpenSSL cipher context of the calling thread, loaded with the key and the
// nonce for that message (ChaCha20 has no key schedule, so this costs no
// more than setting the nonce did). An idle connection so holds no OpenSSL
// context (about 2 KiB for its two directions).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "core/bytes.hpp"
#include "core/result.hpp"
#include "noise/crypto.hpp"

namespace mp::noise {

class CipherState {
 public:
  CipherState() = default;  // no key: encrypt/decrypt pass data through
  explicit CipherState(const Key32& key) { initialize_key(key); }
  CipherState(const CipherState&) = delete;
  CipherState& operator=(const CipherState&) = delete;
  CipherState(CipherState&&) noexcept;
  CipherState& operator=(CipherState&&) noexcept;
  ~CipherState();  // wipes the key

  void initialize_key(const Key32& key);  // resets n to 0
  bool has_key() const { return has_key_; }
  std::uint64_t nonce() const { return n_; }
  // Test hook (Noise SetNonce): e.g. to check nonce exhaustion.
  void set_nonce(std::uint64_t n) { n_ = n; }

  // EncryptWithAd: writes plaintext.size() + 16 bytes to out (which may be
  // the same memory as plaintext: in-place is allowed). Without a key, copies
  // plaintext to out and writes plaintext.size() bytes.
  // Returns the number of bytes written.
  Result<std::size_t> encrypt_with_ad(BytesView ad, BytesView plaintext,
                                      std::span<std::uint8_t> out);
  // DecryptWithAd: writes ciphertext.size() - 16 bytes to out (in-place
  // allowed). Fails on a short ciphertext or a bad tag.
  Result<std::size_t> decrypt_with_ad(BytesView ad, BytesView ciphertext,
                                      std::span<std::uint8_t> out);

 private:
  Status check_nonce() const;

  Key32 key_{};
  std::uint64_t n_ = 0;
  bool has_key_ = false;
};

}  // namespace mp::noise
