#include "noise/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>
#include <stdexcept>

#include "core/hash.hpp"

namespace mp::noise {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// SHA-256 through core's (a digest fetched once, a context per thread).
Hash32 digest(std::initializer_list<BytesView> parts) {
  return mp::sha256(parts);
}

// One X25519 import context per thread. EVP_PKEY_new_raw_*_key looks the
// key type up by name on every call (the legacy ASN.1 method table and the
// key manager fetch: hash-table walks and string compares, ~1 us each, three
// to four times per handshake); importing through a context that already
// holds the key manager skips them.
EVP_PKEY* x25519_import(const Key32& bytes, const char* param, int selection) {
  thread_local std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx = [] {
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> c(
        EVP_PKEY_CTX_new_from_name(nullptr, "X25519", nullptr));
    if (!c || EVP_PKEY_fromdata_init(c.get()) != 1) {
      throw std::runtime_error("noise: OpenSSL has no X25519");
    }
    return c;
  }();
  // OpenSSL copies the octets; it does not write through the pointer.
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(param, const_cast<std::uint8_t*>(bytes.data()),
                                        bytes.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &key, selection, params) != 1) return nullptr;
  return key;
}

PkeyPtr x25519_private(const Key32& private_key) {
  // The key manager derives the public key from the private one.
  PkeyPtr key(x25519_import(private_key, OSSL_PKEY_PARAM_PRIV_KEY, EVP_PKEY_KEYPAIR));
  if (!key) throw std::runtime_error("noise: cannot load X25519 private key");
  return key;
}

}  // namespace

X25519KeyPair X25519KeyPair::generate() {
  Key32 sk{};
  if (RAND_bytes(sk.data(), static_cast<int>(sk.size())) != 1) {
    throw std::runtime_error("noise: RAND_bytes failed");
  }
  X25519KeyPair kp = from_private(sk);
  secure_wipe(sk.data(), sk.size());
  return kp;
}

X25519KeyPair X25519KeyPair::from_private(const Key32& private_key) {
  X25519KeyPair kp;
  kp.private_key = private_key;
  PkeyPtr key = x25519_private(private_key);
  std::size_t len = kp.public_key.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), kp.public_key.data(), &len) != 1 ||
      len != kp.public_key.size()) {
    throw std::runtime_error("noise: cannot derive X25519 public key");
  }
  kp.pkey = std::shared_ptr<EVP_PKEY>(key.release(), PkeyFree{});
  return kp;
}

Result<Key32> x25519(const X25519KeyPair& ours_pair, const Key32& remote_public) {
  PkeyPtr loaded;
  EVP_PKEY* ours = ours_pair.pkey.get();
  if (ours == nullptr) {  // a pair assembled by hand
    loaded = x25519_private(ours_pair.private_key);
    ours = loaded.get();
  }
  PkeyPtr theirs(x25519_import(remote_public, OSSL_PKEY_PARAM_PUB_KEY, EVP_PKEY_PUBLIC_KEY));
  if (!theirs) return make_error("noise: invalid X25519 public key");
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(ours, nullptr));
  Key32 shared{};
  std::size_t len = shared.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), theirs.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != shared.size()) {
    return make_error("noise: X25519 key agreement failed (low-order remote key?)");
  }
  return shared;
}

Hash32 sha256(BytesView data) {
  return digest({data});
}

Hash32 sha256(BytesView a, BytesView b) {
  return digest({a, b});
}

// RFC 2104 HMAC with SHA-256 (block size 64). Written out over the reused
// digest context because OpenSSL's one-shot HMAC() fetches SHA256 each call.
Hash32 hmac_sha256(BytesView key, BytesView data) {
  constexpr std::size_t kBlock = 64;
  std::array<std::uint8_t, kBlock> k{};
  if (key.size() > kBlock) {
    const Hash32 hk = sha256(key);
    std::memcpy(k.data(), hk.data(), hk.size());
  } else if (!key.empty()) {
    std::memcpy(k.data(), key.data(), key.size());
  }
  std::array<std::uint8_t, kBlock> pad{};
  for (std::size_t i = 0; i < kBlock; ++i) pad[i] = static_cast<std::uint8_t>(k[i] ^ 0x36);
  const Hash32 inner = digest({pad, data});
  for (std::size_t i = 0; i < kBlock; ++i) pad[i] = static_cast<std::uint8_t>(k[i] ^ 0x5c);
  const Hash32 outer = digest({pad, inner});
  secure_wipe(k.data(), k.size());
  secure_wipe(pad.data(), pad.size());
  return outer;
}

// Noise section 4.3: temp_key = HMAC(ck, ikm); output1 = HMAC(temp_key, 0x01);
// output2 = HMAC(temp_key, output1 || 0x02).
Hkdf2 hkdf2(const Hash32& chaining_key, BytesView input_key_material) {
  Hash32 temp_key = hmac_sha256(chaining_key, input_key_material);
  Hkdf2 out;
  const std::uint8_t one = 0x01;
  out.out1 = hmac_sha256(temp_key, BytesView(&one, 1));
  std::array<std::uint8_t, kHashLen + 1> buf{};
  std::memcpy(buf.data(), out.out1.data(), kHashLen);
  buf[kHashLen] = 0x02;
  out.out2 = hmac_sha256(temp_key, buf);
  secure_wipe(temp_key.data(), temp_key.size());
  secure_wipe(buf.data(), buf.size());
  return out;
}

void secure_wipe(void* p, std::size_t n) {
  OPENSSL_cleanse(p, n);
}

}  // namespace mp::noise
