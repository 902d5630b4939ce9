#include "core/hash.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace mp {

Sha256Digest sha256(BytesView data) {
  Sha256Digest out{};
  unsigned int len = 0;
  // EVP_Digest only fails on allocation failure: a startup-class error.
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    throw std::runtime_error("SHA-256 failed (OpenSSL)");
  }
  return out;
}

}  // namespace mp
