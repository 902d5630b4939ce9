#include "core/hash.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace mp {
namespace {

// Fetched once: EVP_sha256() makes EVP_Digest look the algorithm up by name
// on every call (lock, hash table, string compares: about as long as hashing
// a peer ID itself), and every connection hashes its peer's ID.
const EVP_MD* sha256_md() {
  static EVP_MD* const md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) throw std::runtime_error("OpenSSL has no SHA256");
    return m;
  }();
  return md;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

Sha256Digest sha256(BytesView data) {
  return sha256({data});
}

Sha256Digest sha256(std::initializer_list<BytesView> parts) {
  // One digest context per thread, reused for every hash (Noise's included).
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  Sha256Digest out{};
  unsigned int len = 0;
  // These only fail on allocation failure: a startup-class error.
  bool ok = ctx && EVP_DigestInit_ex2(ctx.get(), sha256_md(), nullptr) == 1;
  for (BytesView p : parts) ok = ok && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1;
  if (!ok || EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    throw std::runtime_error("SHA-256 failed (OpenSSL)");
  }
  return out;
}

}  // namespace mp
