#include "tls/signed_key.hpp"

#include <algorithm>

#include "tls/der.hpp"

namespace mp::tls {

Bytes encode_signed_key(const SignedKey& key) {
  Bytes body;
  der::write(body, der::kOctetString, key.public_key);
  der::write(body, der::kOctetString, key.signature);
  Bytes out;
  der::write(out, der::kSequence, body);
  return out;
}

std::optional<SignedKey> decode_signed_key(BytesView in) {
  der::Reader outer(in);
  auto seq = outer.next(der::kSequence);
  if (!seq || !outer.empty()) return std::nullopt;
  der::Reader fields(seq->content);
  auto key = fields.next(der::kOctetString);
  auto sig = fields.next(der::kOctetString);
  if (!key || !sig || !fields.empty()) return std::nullopt;
  return SignedKey{Bytes(key->content.begin(), key->content.end()),
                   Bytes(sig->content.begin(), sig->content.end())};
}

Bytes signed_key_message(BytesView spki) {
  // One allocation of the final size (and no GCC 12 -Warray-bounds false
  // positive on growing a vector built from a short literal).
  Bytes msg(kSignaturePrefix.size() + spki.size());
  std::copy(kSignaturePrefix.begin(), kSignaturePrefix.end(), msg.begin());
  std::copy(spki.begin(), spki.end(),
            msg.begin() + static_cast<std::ptrdiff_t>(kSignaturePrefix.size()));
  return msg;
}

}  // namespace mp::tls
