// Frame codec: byte-exact headers and refusal of malformed ones.
#include "yamux/frame.hpp"

#include <gtest/gtest.h>

namespace mp::yamux {
namespace {

Bytes encode(const FrameHeader& h) {
  Bytes out;
  append_header(out, h);
  return out;
}

TEST(YamuxFrame, SynWindowUpdateForStreamOneIsByteExact) {
  // Opening stream 1: WINDOW_UPDATE | SYN, delta 0.
  EXPECT_EQ(to_hex(encode({FrameType::window_update, flags::syn, 1, 0})), "000100010000000100000000");
}

TEST(YamuxFrame, HeaderVectors) {
  EXPECT_EQ(to_hex(encode({FrameType::data, flags::ack, 2, 5})), "000000020000000200000005");
  EXPECT_EQ(to_hex(encode({FrameType::ping, flags::syn, 0, 0xdeadbeef})), "00020001" "00000000" "deadbeef");
  EXPECT_EQ(to_hex(encode({FrameType::go_away, 0, 0, 1})), "000300000000000000000001");
  EXPECT_EQ(to_hex(encode({FrameType::window_update, flags::fin | flags::rst, 0x01020304, 0x00040000})),
            "0001000c0102030400040000");
}

TEST(YamuxFrame, RoundTripsEveryTypeAndFlag) {
  const FrameHeader cases[] = {
      {FrameType::data, 0, 1, 0},
      {FrameType::data, flags::syn | flags::fin, 0xffffffff, kInitialWindow},
      {FrameType::window_update, flags::ack, 7, 0xffffffff},
      {FrameType::window_update, flags::rst, 8, 0},
      {FrameType::ping, flags::ack, 0, 42},
      {FrameType::go_away, 0, 0, 2},
  };
  for (const auto& h : cases) {
    const Bytes b = encode(h);
    ASSERT_EQ(b.size(), kHeaderSize);
    auto d = decode_header(b, kInitialWindow);
    ASSERT_TRUE(d) << d.message();
    EXPECT_EQ(*d, h);
  }
}

TEST(YamuxFrame, EncodeIntoFixedSpan) {
  std::uint8_t buf[kHeaderSize];
  encode_header({FrameType::data, flags::fin, 3, 1}, buf);
  EXPECT_EQ(to_hex(BytesView(buf)), "000000040000000300000001");
}

TEST(YamuxFrame, RefusesBadVersion) {
  auto d = decode_header(from_hex("010100010000000100000000"), kInitialWindow);
  ASSERT_FALSE(d);
  EXPECT_NE(d.message().find("version"), std::string::npos);
}

TEST(YamuxFrame, RefusesUnknownType) {
  EXPECT_FALSE(decode_header(from_hex("000400000000000000000000"), kInitialWindow));
  EXPECT_FALSE(decode_header(from_hex("00ff00000000000100000000"), kInitialWindow));
}

TEST(YamuxFrame, RefusesOversizedDataButNotOversizedWindowUpdate) {
  // DATA of max+1 bytes is refused; the same length on a WINDOW_UPDATE is a
  // delta, not a payload.
  EXPECT_TRUE(decode_header(encode({FrameType::data, 0, 1, 1000}), 1000));
  auto d = decode_header(encode({FrameType::data, 0, 1, 1001}), 1000);
  ASSERT_FALSE(d);
  EXPECT_NE(d.message().find("exceeds"), std::string::npos);
  EXPECT_TRUE(decode_header(encode({FrameType::window_update, 0, 1, 1001}), 1000));
}

TEST(YamuxFrame, RefusesStreamIdMisuse) {
  EXPECT_FALSE(decode_header(encode({FrameType::ping, flags::syn, 1, 0}), kInitialWindow));
  EXPECT_FALSE(decode_header(encode({FrameType::go_away, 0, 3, 0}), kInitialWindow));
  EXPECT_FALSE(decode_header(encode({FrameType::data, 0, 0, 0}), kInitialWindow));
  EXPECT_FALSE(decode_header(encode({FrameType::window_update, flags::syn, 0, 0}), kInitialWindow));
}

TEST(YamuxFrame, RefusesShortInput) {
  EXPECT_FALSE(decode_header(from_hex("0001000100000001000000"), kInitialWindow));
}

}  // namespace
}  // namespace mp::yamux
