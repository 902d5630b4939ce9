#include "ping/ping.hpp"

#include <openssl/rand.h>

#include <array>
#include <asio/error.hpp>
#include <system_error>

namespace mp::ping {
namespace {

// Reads exactly buf.size() bytes; returns false on EOF before the first byte.
asio::awaitable<bool> read_full(net::ByteStream& stream, std::span<std::uint8_t> buf) {
  std::size_t got = 0;
  while (got < buf.size()) {
    const std::size_t n = co_await stream.read_some(buf.subspan(got));
    if (n == 0) {
      if (got == 0) co_return false;
      throw net::ProtocolError("ping: stream ended inside a 32-byte payload");
    }
    got += n;
  }
  co_return true;
}

}  // namespace

asio::awaitable<std::uint64_t> serve(net::ByteStream& stream) {
  std::array<std::uint8_t, kPayloadSize> buf{};
  std::uint64_t answered = 0;
  while (co_await read_full(stream, buf)) {
    co_await stream.write(buf);
    ++answered;
  }
  co_await stream.close_write();
  co_return answered;
}

asio::awaitable<std::chrono::microseconds> ping_once(net::ByteStream& stream) {
  std::array<std::uint8_t, kPayloadSize> out{};
  std::array<std::uint8_t, kPayloadSize> in{};
  RAND_bytes(out.data(), static_cast<int>(out.size()));
  const auto start = std::chrono::steady_clock::now();
  co_await stream.write(out);
  if (!co_await read_full(stream, in)) throw net::ProtocolError("ping: no echo");
  if (in != out) throw net::ProtocolError("ping: echo does not match");
  co_return std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
}

}  // namespace mp::ping
