#include "multistream/negotiate.hpp"

#include <gtest/gtest.h>

#include "multistream/codec.hpp"
#include "support/run_coro.hpp"
#include "support/scripted_stream.hpp"

namespace mp::multistream {
namespace {

Bytes messages(std::initializer_list<std::string_view> texts) {
  Bytes out;
  for (auto t : texts) encode_message(t, out);
  return out;
}

TEST(MultistreamCodec, EncodesSpecExample) {
  // "/multistream/1.0.0\n" is 19 bytes: the varint prefix is 0x13.
  Bytes b = encode_message("/multistream/1.0.0");
  ASSERT_EQ(b.size(), 20u);
  EXPECT_EQ(b[0], 0x13);
  EXPECT_EQ(b.back(), '\n');
  EXPECT_EQ(as_string(BytesView(b).subspan(1, 18)), "/multistream/1.0.0");
}

TEST(MultistreamCodec, RejectsMissingNewline) {
  EXPECT_FALSE(decode_message(as_bytes("/noise")).ok());
  EXPECT_FALSE(decode_message(BytesView{}).ok());
  EXPECT_EQ(*decode_message(as_bytes("/noise\n")), "/noise");
}

auto supports(std::initializer_list<std::string_view> list) {
  std::vector<std::string> v(list.begin(), list.end());
  return [v](std::string_view p) { return std::find(v.begin(), v.end(), p) != v.end(); };
}

TEST(MultistreamNegotiate, ListenerAcceptsSecondProposalAndKeepsPipelinedBytes) {
  Bytes in = messages({"/multistream/1.0.0", "/tls/1.0.0", "/noise"});
  in.push_back(0xAA);
  in.push_back(0xBB);
  for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, SIZE_MAX}) {
    test::ScriptedStream s(in, chunk);
    auto result = test::run_coro(negotiate_inbound(s, supports({"/noise"})));
    EXPECT_EQ(result.protocol, "/noise");
    EXPECT_EQ(s.output, messages({"/multistream/1.0.0", "na", "/noise"}));
    // With 1-byte chunks nothing is over-read; otherwise the extra bytes come back.
    Bytes expected_left = chunk == 1 ? Bytes{} : Bytes{0xAA, 0xBB};
    if (chunk == 3) expected_left = result.leftover;  // depends on chunk boundary
    EXPECT_EQ(result.leftover, expected_left);
  }
}

TEST(MultistreamNegotiate, ListenerAnswersNaToLs) {
  test::ScriptedStream s(messages({"/multistream/1.0.0", "ls", "/yamux/1.0.0"}));
  auto result = test::run_coro(negotiate_inbound(s, supports({"/yamux/1.0.0"})));
  EXPECT_EQ(result.protocol, "/yamux/1.0.0");
  EXPECT_EQ(s.output, messages({"/multistream/1.0.0", "na", "/yamux/1.0.0"}));
}

TEST(MultistreamNegotiate, ListenerRefusesWrongHeader) {
  test::ScriptedStream s(messages({"/multistream/2.0.0", "/noise"}));
  EXPECT_THROW(test::run_coro(negotiate_inbound(s, supports({"/noise"}))), net::ProtocolError);
}

TEST(MultistreamNegotiate, ListenerRefusesOversizedMessage) {
  Bytes in = messages({"/multistream/1.0.0"});
  Bytes big = encode_message(std::string(5000, 'a'));
  append(in, big);
  test::ScriptedStream s(in);
  EXPECT_THROW(test::run_coro(negotiate_inbound(s, supports({"/noise"}))), net::ProtocolError);
}

TEST(MultistreamNegotiate, ListenerGivesUpAfterTooManyProposals) {
  Bytes in = messages({"/multistream/1.0.0"});
  for (int i = 0; i < 20; ++i) encode_message("/nope/" + std::to_string(i), in);
  test::ScriptedStream s(in);
  EXPECT_THROW(test::run_coro(negotiate_inbound(s, supports({"/noise"}), 16)), net::ProtocolError);
}

TEST(MultistreamNegotiate, ListenerFailsOnTruncatedInput) {
  Bytes in = messages({"/multistream/1.0.0"});
  in.push_back(0x07);
  in.push_back('/');
  test::ScriptedStream s(in);
  EXPECT_THROW(test::run_coro(negotiate_inbound(s, supports({"/noise"}))), std::system_error);
}

TEST(MultistreamNegotiate, ListenerFailsOnGarbage) {
  test::ScriptedStream s(Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01});
  EXPECT_THROW(test::run_coro(negotiate_inbound(s, supports({"/noise"}))), net::ProtocolError);
}

TEST(MultistreamNegotiate, DialerFallsBackAfterNa) {
  test::ScriptedStream s(messages({"/multistream/1.0.0", "na", "/yamux/1.0.0"}));
  auto result = test::run_coro(negotiate_outbound(s, {"/mplex/6.7.0", "/yamux/1.0.0"}));
  EXPECT_EQ(result.protocol, "/yamux/1.0.0");
  EXPECT_EQ(s.output, messages({"/multistream/1.0.0", "/mplex/6.7.0", "/yamux/1.0.0"}));
}

TEST(MultistreamNegotiate, ListenerReturnsItsAnswerInsteadOfWritingIt) {
  Bytes in = messages({"/multistream/1.0.0", "/tls/1.0.0", "/yamux/1.0.0"});
  in.push_back(0xAA);
  test::ScriptedStream s(in);
  auto result = test::run_coro(
      negotiate_inbound(s, supports({"/yamux/1.0.0"}), 16, Answer::kReturn));
  EXPECT_EQ(result.protocol, "/yamux/1.0.0");
  // The header and the "na" are written as they come; the accepting answer
  // is handed back for the caller's first write.
  EXPECT_EQ(s.output, messages({"/multistream/1.0.0", "na"}));
  EXPECT_EQ(result.answer, messages({"/yamux/1.0.0"}));
  EXPECT_EQ(result.leftover, Bytes{0xAA});
}

TEST(MultistreamNegotiate, ListenerAnswerHoldsTheHeaderWhenNothingWasRefused) {
  test::ScriptedStream s(messages({"/multistream/1.0.0", "/yamux/1.0.0"}));
  auto result = test::run_coro(
      negotiate_inbound(s, supports({"/yamux/1.0.0"}), 16, Answer::kReturn));
  EXPECT_TRUE(s.output.empty());
  EXPECT_EQ(result.answer, messages({"/multistream/1.0.0", "/yamux/1.0.0"}));
}

TEST(MultistreamNegotiate, ReadOnlyDialerClosesItsSideRightAfterTheLastProposal) {
  test::ScriptedStream s(messages({"/multistream/1.0.0", "na", "/ipfs/id/1.0.0"}));
  auto result = test::run_coro(negotiate_outbound(s, {"/other/1", "/ipfs/id/1.0.0"}, true));
  EXPECT_EQ(result.protocol, "/ipfs/id/1.0.0");
  const Bytes proposals = messages({"/multistream/1.0.0", "/other/1", "/ipfs/id/1.0.0"});
  EXPECT_EQ(s.output, proposals);
  ASSERT_TRUE(s.closed_write);
  EXPECT_EQ(s.output_at_close, proposals.size());  // not before the last proposal

  test::ScriptedStream plain(messages({"/multistream/1.0.0", "/ipfs/id/1.0.0"}));
  test::run_coro(negotiate_outbound(plain, {"/ipfs/id/1.0.0"}));
  EXPECT_FALSE(plain.closed_write);
}

TEST(MultistreamNegotiate, DialerFailsWhenNothingAccepted) {
  test::ScriptedStream s(messages({"/multistream/1.0.0", "na"}));
  EXPECT_THROW(test::run_coro(negotiate_outbound(s, {"/noise"})), net::ProtocolError);
}

TEST(MultistreamNegotiate, DialerRejectsUnexpectedAnswer) {
  test::ScriptedStream s(messages({"/multistream/1.0.0", "/other"}));
  EXPECT_THROW(test::run_coro(negotiate_outbound(s, {"/noise"})), net::ProtocolError);
}

}  // namespace
}  // namespace mp::multistream
