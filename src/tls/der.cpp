#include "tls/der.hpp"

namespace mp::tls::der {

std::optional<Element> Reader::next() {
  if (rest_.size() < 2) return std::nullopt;
  const std::uint8_t tag = rest_[0];
  if ((tag & 0x1f) == 0x1f) return std::nullopt;  // high tag numbers: never needed here
  std::size_t length = rest_[1];
  std::size_t header = 2;
  if (length & 0x80) {
    const std::size_t n = length & 0x7f;
    // 0x80 is the indefinite length (BER, not DER); four length bytes are
    // far more than any certificate we accept.
    if (n == 0 || n > 4 || rest_.size() < 2 + n) return std::nullopt;
    if (rest_[2] == 0) return std::nullopt;  // non-minimal: a leading zero byte
    length = 0;
    for (std::size_t i = 0; i < n; ++i) length = (length << 8) | rest_[2 + i];
    if (length < 0x80) return std::nullopt;  // non-minimal: fits the short form
    header += n;
  }
  if (length > rest_.size() - header) return std::nullopt;
  Element e{tag, rest_.subspan(header, length), rest_.first(header + length)};
  rest_ = rest_.subspan(header + length);
  return e;
}

std::optional<Element> Reader::next(std::uint8_t tag) {
  if (rest_.empty() || rest_[0] != tag) return std::nullopt;
  return next();
}

void write(Bytes& out, std::uint8_t tag, BytesView content) {
  out.push_back(tag);
  const std::size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else {
    std::uint8_t len[sizeof(std::size_t)];
    std::size_t count = 0;
    for (std::size_t v = n; v != 0; v >>= 8) len[count++] = static_cast<std::uint8_t>(v & 0xff);
    out.push_back(static_cast<std::uint8_t>(0x80 | count));
    while (count > 0) out.push_back(len[--count]);
  }
  append(out, content);
}

std::optional<CertificateFields> split_certificate(BytesView certificate) {
  Reader outer(certificate);
  auto cert = outer.next(kSequence);
  if (!cert || !outer.empty()) return std::nullopt;
  Reader fields(cert->content);
  auto tbs = fields.next(kSequence);
  auto algorithm = fields.next(kSequence);
  auto signature = fields.next(kBitString);
  if (!tbs || !algorithm || !signature || !fields.empty()) return std::nullopt;

  // TBSCertificate ::= SEQUENCE { version [0] EXPLICIT OPTIONAL, serialNumber,
  //   signature, issuer, validity, subject, subjectPublicKeyInfo, ... }
  Reader t(tbs->content);
  (void)t.next(kExplicit0);
  if (!t.next(kInteger)) return std::nullopt;
  for (int i = 0; i < 4; ++i) {  // signature, issuer, validity, subject
    if (!t.next(kSequence)) return std::nullopt;
  }
  auto spki = t.next(kSequence);
  if (!spki) return std::nullopt;
  return CertificateFields{tbs->whole, spki->whole};
}

}  // namespace mp::tls::der
