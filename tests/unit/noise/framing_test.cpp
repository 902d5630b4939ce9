// Noise wire framing: 2-byte big-endian length prefix, frames split across
// reads or packed several per read, EOF inside and between frames.
#include "noise/framing.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/run_coro.hpp"
#include "support/scripted_stream.hpp"

namespace mp::noise {
namespace {

Bytes frame(std::size_t len, std::uint8_t fill) {
  Bytes f(kFrameHeaderLen + len, fill);
  put_frame_header(f.data(), len);
  return f;
}

asio::awaitable<std::vector<Bytes>> read_all(net::ByteStream& s, FrameReader& r) {
  std::vector<Bytes> frames;
  while (auto f = co_await r.next(s)) frames.emplace_back(f->begin(), f->end());
  co_return frames;
}

TEST(FramingTest, HeaderIsBigEndian) {
  std::uint8_t h[2];
  put_frame_header(h, 0x1234);
  EXPECT_EQ(h[0], 0x12);
  EXPECT_EQ(h[1], 0x34);
  EXPECT_EQ(get_frame_header(h), 0x1234u);
  put_frame_header(h, 65535);
  EXPECT_EQ(get_frame_header(h), 65535u);
}

TEST(FramingTest, ReadsFramesWhateverTheChunking) {
  Bytes wire;
  const std::vector<std::size_t> sizes{0, 1, 300, 5000, 65535, 17};
  for (std::size_t i = 0; i < sizes.size(); ++i)
    append(wire, frame(sizes[i], static_cast<std::uint8_t>(i)));
  for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{1000}, SIZE_MAX}) {
    SCOPED_TRACE(chunk);
    test::ScriptedStream s(wire, chunk);
    FrameReader r;
    const std::vector<Bytes> frames = test::run_coro(read_all(s, r));
    ASSERT_EQ(frames.size(), sizes.size());
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      EXPECT_EQ(frames[i], Bytes(sizes[i], static_cast<std::uint8_t>(i)));
    }
    EXPECT_LE(r.capacity(), kFrameHeaderLen + kMaxFrameLen);
  }
}

TEST(FramingTest, SmallFramesKeepTheBufferSmall) {
  Bytes wire;
  for (int i = 0; i < 100; ++i) append(wire, frame(100, 1));
  test::ScriptedStream s(wire);
  FrameReader r;
  EXPECT_EQ(test::run_coro(read_all(s, r)).size(), 100u);
  EXPECT_LE(r.capacity(), 4096u);
}

TEST(FramingTest, EofInsideAFrameIsAProtocolError) {
  Bytes wire = frame(10, 1);
  wire.pop_back();
  test::ScriptedStream s(wire);
  FrameReader r;
  EXPECT_THROW(test::run_coro(read_all(s, r)), net::ProtocolError);

  test::ScriptedStream half_header(Bytes{0x00});
  FrameReader r2;
  EXPECT_THROW(test::run_coro(read_all(half_header, r2)), net::ProtocolError);
}

TEST(FramingTest, EncryptFrameRefusesOversizedPlaintext) {
  Key32 k{};
  CipherState c(k);
  Bytes out;
  EXPECT_FALSE(encrypt_frame(c, Bytes(kMaxFramePlaintext + 1), out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(encrypt_frame(c, Bytes(kMaxFramePlaintext), out));
  EXPECT_EQ(out.size(), kFrameHeaderLen + kMaxFrameLen);
  EXPECT_EQ(get_frame_header(out.data()), kMaxFrameLen);
}

}  // namespace
}  // namespace mp::noise
