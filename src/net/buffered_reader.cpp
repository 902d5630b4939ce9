#include "net/buffered_reader.hpp"

#include <asio/error.hpp>
#include <cstring>
#include <system_error>

#include "core/varint.hpp"

namespace mp::net {

asio::awaitable<bool> BufferedReader::fill() {
  if (pos_ == end_) pos_ = end_ = 0;
  if (end_ == cap_) {
    const std::size_t live = end_ - pos_;
    if (pos_ > 0 && live <= cap_ / 2) {
      std::memmove(buf_.get(), buf_.get() + pos_, live);  // room enough once compacted
    } else {
      // Full of unconsumed bytes: the message is longer than the buffer.
      const std::size_t cap = cap_ == 0 ? kFirstRead : cap_ * 2;
      std::unique_ptr<std::uint8_t[]> bigger(new std::uint8_t[cap]);  // not zero-filled
      if (live > 0) std::memcpy(bigger.get(), buf_.get() + pos_, live);
      buf_ = std::move(bigger);
      cap_ = cap;
    }
    pos_ = 0;
    end_ = live;
  }
  const std::size_t n =
      co_await stream_.read_some(std::span<std::uint8_t>(buf_.get() + end_, cap_ - end_));
  end_ += n;
  co_return n > 0;
}

asio::awaitable<std::uint64_t> BufferedReader::read_varint() {
  for (;;) {
    varint::Decoded d{};
    switch (varint::decode(buffered(), d)) {
      case varint::DecodeStatus::kOk:
        consume(d.size);
        co_return d.value;
      case varint::DecodeStatus::kOverflow:
        throw ProtocolError(Errc::malformed_varint, "varint too long");
      case varint::DecodeStatus::kNotMinimal:
        throw ProtocolError(Errc::malformed_varint, "varint not minimally encoded");
      case varint::DecodeStatus::kIncomplete:
        break;
    }
    if (!co_await fill()) throw std::system_error(asio::error::eof);
  }
}

asio::awaitable<Bytes> BufferedReader::read_exact(std::size_t n) {
  while (buffered().size() < n) {
    if (!co_await fill()) throw std::system_error(asio::error::eof);
  }
  auto view = buffered();
  Bytes out(view.begin(), view.begin() + static_cast<std::ptrdiff_t>(n));
  consume(n);
  co_return out;
}

asio::awaitable<std::optional<Bytes>> BufferedReader::read_length_prefixed(std::size_t max_size) {
  if (buffered().empty() && !co_await fill()) co_return std::nullopt;
  const std::uint64_t len = co_await read_varint();
  if (len > max_size) {
    throw ProtocolError(Errc::message_too_long, "message of " + std::to_string(len) + " bytes exceeds the limit of " +
                        std::to_string(max_size));
  }
  co_return co_await read_exact(static_cast<std::size_t>(len));
}

asio::awaitable<void> write_length_prefixed(ByteStream& stream, BytesView data) {
  Bytes out;
  out.reserve(data.size() + varint::kMaxBytes);
  varint::encode(data.size(), out);
  append(out, data);
  co_await stream.write(out);
}

}  // namespace mp::net
