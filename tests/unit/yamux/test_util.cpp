#include "test_util.hpp"

#include <stdexcept>

namespace mp::yamux::test {

asio::awaitable<void> write_frame(net::ByteStream& s, FrameHeader h, BytesView payload) {
  Bytes out;
  append_header(out, h);
  append(out, payload);
  co_await s.write(out);
}

// Next frame from a raw peer's view, or nullopt on EOF / reset.
asio::awaitable<std::optional<RawFrame>> read_frame(net::BufferedReader& r) {
  try {
    while (r.buffered().size() < kHeaderSize) {
      if (!co_await r.fill()) co_return std::nullopt;
    }
  } catch (const std::system_error&) {
    co_return std::nullopt;
  }
  auto h = decode_header(r.buffered(), 0xffffffffu);
  if (!h) throw std::runtime_error(h.message());
  r.consume(kHeaderSize);
  RawFrame f{*h, {}};
  if (h->type == FrameType::data) f.payload = co_await r.read_exact(h->length);
  co_return f;
}

// Reads frames until one of `type` arrives (nullopt on EOF).
asio::awaitable<std::optional<RawFrame>> read_until(net::BufferedReader& r, FrameType type) {
  for (;;) {
    auto f = co_await read_frame(r);
    if (!f || f->header.type == type) co_return f;
  }
}

Bytes pattern(std::size_t seed, std::size_t size) {
  Bytes b(size);
  for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::uint8_t>((seed * 131 + i * 7 + i / 251) & 0xff);
  return b;
}

// Reads until EOF.
asio::awaitable<Bytes> read_all(net::ByteStream& s) {
  Bytes out;
  std::uint8_t buf[8192];
  for (;;) {
    const std::size_t n = co_await s.read_some(buf);
    if (n == 0) co_return out;
    out.insert(out.end(), buf, buf + n);
  }
}

}  // namespace mp::yamux::test
