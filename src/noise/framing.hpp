// libp2p/specs noise/README.md "Wire Format": every Noise message, handshake
// or transport, travels as a 2-byte big-endian length followed by that many
// bytes (at most 65535). A transport message is an AEAD ciphertext: at most
// 65535 - 16 = 65519 bytes of plaintext per frame.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <span>

#include "core/bytes.hpp"
#include "core/result.hpp"
#include "net/byte_stream.hpp"
#include "noise/cipher_state.hpp"

namespace mp::noise {

inline constexpr std::size_t kFrameHeaderLen = 2;
inline constexpr std::size_t kMaxFrameLen = 65535;
inline constexpr std::size_t kMaxFramePlaintext = kMaxFrameLen - kTagLen;  // 65519

inline void put_frame_header(std::uint8_t* out, std::size_t len) {
  out[0] = static_cast<std::uint8_t>(len >> 8);
  out[1] = static_cast<std::uint8_t>(len);
}
inline std::size_t get_frame_header(const std::uint8_t* in) {
  return (std::size_t{in[0]} << 8) | in[1];
}

// Appends one transport frame (header || ciphertext) holding `plaintext`,
// which must be at most kMaxFramePlaintext bytes, to `out`. Fails only when
// the cipher's nonce is exhausted.
Status encrypt_frame(CipherState& cipher, BytesView plaintext, Bytes& out);

// Reads frames from a ByteStream. Its buffer is sized by what arrives (it
// grows to the largest frame seen, at most 65537 bytes, and is then reused),
// and it may hold bytes past the current frame: after the handshake the same
// reader must be handed to the transport (NoiseStream), since the remote may
// send its first transport frame right behind its last handshake message.
class FrameReader {
 public:
  // The next frame's body, valid (and writable, for in-place decryption)
  // until the next call. nullopt on clean EOF between frames; throws
  // net::ProtocolError on EOF inside a frame, and whatever the stream throws.
  asio::awaitable<std::optional<std::span<std::uint8_t>>> next(net::ByteStream& stream);

  // Bytes buffered past the frames already returned.
  std::size_t buffered() const { return end_ - begin_; }
  std::size_t capacity() const { return buf_.size(); }
  // Frees the buffer if it holds no bytes (the last frame returned is then
  // invalid); the next call to next() allocates one again. For a reader
  // waiting on an idle connection.
  void release_if_empty();

 private:
  // Makes [begin_, begin_ + n) available; false on EOF.
  asio::awaitable<bool> fill(net::ByteStream& stream, std::size_t n);

  Bytes buf_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace mp::noise
