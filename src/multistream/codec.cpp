#include "multistream/codec.hpp"

#include "core/varint.hpp"

namespace mp::multistream {

void encode_message(std::string_view text, Bytes& out) {
  varint::encode(text.size() + 1, out);
  append(out, as_bytes(text));
  out.push_back('\n');
}

Bytes encode_message(std::string_view text) {
  Bytes out;
  encode_message(text, out);
  return out;
}

Result<std::string> decode_message(BytesView body) {
  if (body.empty() || body.back() != '\n') {
    return make_error("multistream: message does not end with a newline");
  }
  std::string text(as_string(body.first(body.size() - 1)));
  for (unsigned char c : text) {
    if (c == '\n' || c == 0) return make_error("multistream: message contains a control byte");
  }
  return text;
}

}  // namespace mp::multistream
