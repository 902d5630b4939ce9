#include "noise/framing.hpp"

#include "noise/error.hpp"

#include <algorithm>
#include <cstring>

namespace mp::noise {
namespace {

// First allocation: enough for handshake messages and small transport frames
// without holding 64 KiB per idle connection.
constexpr std::size_t kInitialBuffer = 2048;

}  // namespace

Status encrypt_frame(CipherState& cipher, BytesView plaintext, Bytes& out) {
  if (plaintext.size() > kMaxFramePlaintext)
    return make_error("noise: frame plaintext exceeds 65519 bytes");
  const std::size_t start = out.size();
  out.resize(start + kFrameHeaderLen + plaintext.size() + kTagLen);
  std::span<std::uint8_t> body(out.data() + start + kFrameHeaderLen, plaintext.size() + kTagLen);
  Result<std::size_t> n = cipher.encrypt_with_ad({}, plaintext, body);
  if (!n) {
    out.resize(start);
    return n.error();
  }
  put_frame_header(out.data() + start, *n);
  return {};
}

asio::awaitable<bool> FrameReader::fill(net::ByteStream& stream, std::size_t n) {
  while (end_ - begin_ < n) {
    if (buf_.size() - begin_ < n) {
      // Not enough room behind begin_: move the partial frame to the front,
      // and grow only if the frame itself is larger than the buffer.
      if (end_ > begin_) std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      if (buf_.size() < n) buf_.resize(std::max(n, kInitialBuffer));
    }
    const std::size_t got =
        co_await stream.read_some(std::span<std::uint8_t>(buf_.data() + end_, buf_.size() - end_));
    if (got == 0) co_return false;
    end_ += got;
  }
  co_return true;
}

void FrameReader::release_if_empty() {
  if (begin_ != end_) return;
  begin_ = end_ = 0;
  Bytes().swap(buf_);
}

asio::awaitable<std::optional<std::span<std::uint8_t>>> FrameReader::next(net::ByteStream& stream) {
  if (begin_ == end_) begin_ = end_ = 0;  // empty: restart at the front for free
  if (!co_await fill(stream, kFrameHeaderLen)) {
    if (begin_ == end_) co_return std::nullopt;
    throw net::ProtocolError(Errc::truncated_frame, "noise: connection closed inside a frame header");
  }
  const std::size_t len = get_frame_header(buf_.data() + begin_);
  if (!co_await fill(stream, kFrameHeaderLen + len)) {
    throw net::ProtocolError(Errc::truncated_frame, "noise: connection closed inside a frame (" + std::to_string(len) +
                             "-byte frame truncated)");
  }
  std::span<std::uint8_t> frame(buf_.data() + begin_ + kFrameHeaderLen, len);
  begin_ += kFrameHeaderLen + len;
  co_return frame;
}

}  // namespace mp::noise
