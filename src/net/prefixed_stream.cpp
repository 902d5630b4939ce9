#include "net/prefixed_stream.hpp"

#include <algorithm>
#include <cstring>

namespace mp::net {

asio::awaitable<std::size_t> PrefixedStream::read_some(std::span<std::uint8_t> buf) {
  if (pos_ < prefix_.size()) {
    const std::size_t n = std::min(buf.size(), prefix_.size() - pos_);
    std::memcpy(buf.data(), prefix_.data() + pos_, n);
    pos_ += n;
    if (pos_ == prefix_.size()) Bytes().swap(prefix_), pos_ = 0;
    co_return n;
  }
  co_return co_await inner_->read_some(buf);
}

}  // namespace mp::net
