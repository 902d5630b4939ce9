// The little DER (ITU-T X.690) this folder needs: reading and writing one
// tag-length-value element with a one-byte tag and a definite, minimal
// length, and the two raw fields of an X.509 certificate that libp2p signs or
// checks but GnuTLS does not hand out as bytes (the TBSCertificate and the
// SubjectPublicKeyInfo). Pure; never reads past the view it is given.
#pragma once

#include <cstdint>
#include <optional>

#include "core/bytes.hpp"

namespace mp::tls::der {

inline constexpr std::uint8_t kInteger = 0x02;
inline constexpr std::uint8_t kBitString = 0x03;
inline constexpr std::uint8_t kOctetString = 0x04;
inline constexpr std::uint8_t kSequence = 0x30;
inline constexpr std::uint8_t kExplicit0 = 0xa0;  // [0] EXPLICIT, constructed

struct Element {
  std::uint8_t tag = 0;
  BytesView content;  // the value bytes
  BytesView whole;    // tag, length and value
};

// Reads the children of a constructed element one by one.
class Reader {
 public:
  explicit Reader(BytesView in) : rest_(in) {}
  // The next element, or nullopt if none is left or it is malformed
  // (multi-byte tag, indefinite or non-minimal length, length past the end).
  std::optional<Element> next();
  // The next element if its tag is `tag`; nullopt (and nothing consumed) if not.
  std::optional<Element> next(std::uint8_t tag);
  bool empty() const { return rest_.empty(); }

 private:
  BytesView rest_;
};

// Appends tag, DER length and `content` to `out`.
void write(Bytes& out, std::uint8_t tag, BytesView content);

// RFC 5280 section 4.1: Certificate ::= SEQUENCE { tbsCertificate,
// signatureAlgorithm, signatureValue }, nothing after it.
struct CertificateFields {
  BytesView tbs;   // the whole TBSCertificate element: what the issuer signed
  BytesView spki;  // the whole SubjectPublicKeyInfo element
};
std::optional<CertificateFields> split_certificate(BytesView certificate);

}  // namespace mp::tls::der
