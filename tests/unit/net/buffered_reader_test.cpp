// net::BufferedReader: messages longer than its first read, pipelined
// messages, chunks split anywhere, and a buffer sized by what arrives (the
// span it hands to read_some stays near the longest message).
#include "net/buffered_reader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <cstring>
#include <vector>

#include "core/varint.hpp"

namespace mp::net {
namespace {

// Serves `data` in chunks of at most `chunk` bytes, then EOF; records the
// size of every span it is asked to fill.
class ChunkedStream final : public ByteStream {
 public:
  ChunkedStream(Bytes data, std::size_t chunk) : data_(std::move(data)), chunk_(chunk) {}
  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf) override {
    asked.push_back(buf.size());
    const std::size_t n = std::min({buf.size(), chunk_, data_.size() - pos_});
    std::memcpy(buf.data(), data_.data() + pos_, n);
    pos_ += n;
    co_return n;
  }
  asio::awaitable<void> write(BytesView) override { co_return; }
  asio::awaitable<void> close_write() override { co_return; }
  void reset() override {}
  std::vector<std::size_t> asked;

 private:
  Bytes data_;
  std::size_t chunk_;
  std::size_t pos_ = 0;
};

Bytes message(std::size_t size, std::uint8_t fill) {
  Bytes out;
  varint::encode(size, out);
  out.insert(out.end(), size, fill);
  return out;
}

// Reads length-prefixed messages until EOF; their sizes and first bytes.
std::vector<std::pair<std::size_t, std::uint8_t>> read_all(ChunkedStream& s) {
  asio::io_context io;
  std::vector<std::pair<std::size_t, std::uint8_t>> got;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        BufferedReader reader(s);
        while (auto m = co_await reader.read_length_prefixed(64 * 1024)) {
          const bool uniform = std::all_of(m->begin(), m->end(), [&](auto b) { return b == m->front(); });
          got.emplace_back(m->size(), uniform && !m->empty() ? m->front() : 0);
        }
      },
      asio::detached);
  io.run();
  return got;
}

TEST(BufferedReader, ReadsMessagesLongerThanItsFirstReadInAnyChunking) {
  Bytes data = message(5000, 0xaa);
  const Bytes tail = message(3, 0xbb);
  data.insert(data.end(), tail.begin(), tail.end());
  for (std::size_t chunk : {1u, 7u, 700u, 1024u, 8192u}) {
    ChunkedStream s(data, chunk);
    const auto got = read_all(s);
    ASSERT_EQ(got.size(), 2u) << "chunk " << chunk;
    EXPECT_EQ(got[0], std::make_pair(std::size_t{5000}, std::uint8_t{0xaa}));
    EXPECT_EQ(got[1], std::make_pair(std::size_t{3}, std::uint8_t{0xbb}));
  }
}

TEST(BufferedReader, SizesItsBufferByWhatArrives) {
  Bytes data;
  for (int i = 0; i < 200; ++i) {
    const Bytes m = message(600, static_cast<std::uint8_t>(i + 1));
    data.insert(data.end(), m.begin(), m.end());
  }
  ChunkedStream s(data, 997);  // pipelined messages split at arbitrary places
  const auto got = read_all(s);
  ASSERT_EQ(got.size(), 200u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], std::make_pair(std::size_t{600}, static_cast<std::uint8_t>(i + 1)));
  }
  ASSERT_FALSE(s.asked.empty());
  EXPECT_EQ(s.asked.front(), BufferedReader::kFirstRead);
  // 602-byte messages never need more than a couple of KiB, however long
  // the stream (the old reader added 16 KiB per read).
  EXPECT_LE(*std::max_element(s.asked.begin(), s.asked.end()), 2 * BufferedReader::kFirstRead);
}

}  // namespace
}  // namespace mp::net
