// Owning handles for the GnuTLS objects this folder creates (internal).
#pragma once

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <memory>

namespace mp::tls::detail {

struct CrtDeleter {
  void operator()(gnutls_x509_crt_int* p) const { gnutls_x509_crt_deinit(p); }
};
struct PrivkeyDeleter {
  void operator()(gnutls_x509_privkey_int* p) const { gnutls_x509_privkey_deinit(p); }
};
struct PubkeyDeleter {
  void operator()(gnutls_pubkey_st* p) const { gnutls_pubkey_deinit(p); }
};
// Frees what GnuTLS allocated into a datum.
struct DatumFree {
  // Not the gnutls_free macro: it casts C-style and assigns.
  void operator()(unsigned char* p) const { (gnutls_free)(p); }
};

using CrtPtr = std::unique_ptr<gnutls_x509_crt_int, CrtDeleter>;
using PrivkeyPtr = std::unique_ptr<gnutls_x509_privkey_int, PrivkeyDeleter>;
using PubkeyPtr = std::unique_ptr<gnutls_pubkey_st, PubkeyDeleter>;
using DatumPtr = std::unique_ptr<unsigned char, DatumFree>;

inline gnutls_datum_t datum(const void* data, std::size_t size) {
  return {static_cast<unsigned char*>(const_cast<void*>(data)), static_cast<unsigned>(size)};
}

}  // namespace mp::tls::detail
