// Host keys of the types our own identity never has (ECDSA P-256, secp256k1,
// RSA), made with OpenSSL 3, for certificates that carry them.
#pragma once

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "core/keys.hpp"

namespace mp::tls::test {

struct ForeignHostKey {
  std::string name;
  std::shared_ptr<EVP_PKEY> key;
  PublicKey public_key;

  // libp2p's signature for this key type: ECDSA (DER) or RSASSA-PKCS1-v1_5,
  // both over SHA-256.
  Bytes sign(BytesView msg) const {
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::size_t len = 0;
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, msg.data(), msg.size()) != 1) {
      return {};
    }
    Bytes sig(len);
    if (EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()) != 1) return {};
    sig.resize(len);
    return sig;
  }
};

inline std::shared_ptr<EVP_PKEY> own(EVP_PKEY* k) {
  return {k, EVP_PKEY_free};
}

inline Bytes subject_public_key_info(EVP_PKEY* k) {
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(k, &der);
  Bytes out(der, der + (n > 0 ? n : 0));
  OPENSSL_free(der);
  return out;
}

inline std::vector<ForeignHostKey> foreign_host_keys() {
  std::vector<ForeignHostKey> keys;
  auto p256 = own(EVP_EC_gen("P-256"));
  keys.push_back(
      {"ECDSA P-256", p256,
       PublicKey::from_raw(KeyType::kEcdsa, subject_public_key_info(p256.get())).value()});

  auto k1 = own(EVP_EC_gen("secp256k1"));
  // libp2p carries the 33-byte compressed point.
  EVP_PKEY_set_utf8_string_param(k1.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                 "compressed");
  Bytes point(33);
  std::size_t len = 0;
  EVP_PKEY_get_octet_string_param(k1.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(),
                                  &len);
  point.resize(len);
  keys.push_back({"secp256k1", k1, PublicKey::from_raw(KeyType::kSecp256k1, point).value()});

  auto rsa = own(EVP_RSA_gen(2048));
  keys.push_back({"RSA 2048", rsa,
                  PublicKey::from_raw(KeyType::kRsa, subject_public_key_info(rsa.get())).value()});
  return keys;
}

}  // namespace mp::tls::test
