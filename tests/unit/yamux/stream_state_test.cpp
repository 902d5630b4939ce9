// Flow control and lifecycle of one stream, and remote stream-id checks,
// without sockets.
#include "yamux/stream_state.hpp"

#include <gtest/gtest.h>

namespace mp::yamux {
namespace {

TEST(YamuxStreamState, OutboundOpensWithSynOnceThenAck) {
  StreamState s(/*outbound=*/true);
  EXPECT_EQ(s.phase(), StreamPhase::syn_sent);
  EXPECT_TRUE(s.awaiting_ack());
  EXPECT_EQ(s.take_open_flags(), flags::syn);
  EXPECT_EQ(s.take_open_flags(), 0);
  EXPECT_EQ(s.phase(), StreamPhase::syn_sent);
  s.on_ack();
  EXPECT_FALSE(s.awaiting_ack());
  EXPECT_EQ(s.phase(), StreamPhase::established);
}

TEST(YamuxStreamState, InboundAcksWithFirstFrame) {
  StreamState s(/*outbound=*/false);
  EXPECT_EQ(s.phase(), StreamPhase::syn_received);
  EXPECT_FALSE(s.awaiting_ack());
  EXPECT_EQ(s.take_open_flags(), flags::ack);
  EXPECT_EQ(s.phase(), StreamPhase::established);
  EXPECT_EQ(s.take_open_flags(), 0);
}

TEST(YamuxStreamState, InitialWindowsAre256KiB) {
  StreamState s(false);
  EXPECT_EQ(s.send_window(), 256u * 1024);
  EXPECT_EQ(s.recv_window_remaining(), 256u * 1024);
  EXPECT_EQ(s.take_initial_window_extra(), 0u);
}

TEST(YamuxStreamState, LargerReceiveWindowIsAnnouncedOnce) {
  StreamState s(true, 1024 * 1024);
  EXPECT_EQ(s.recv_window_remaining(), 1024u * 1024);
  EXPECT_EQ(s.take_initial_window_extra(), 1024u * 1024 - kInitialWindow);
  EXPECT_EQ(s.take_initial_window_extra(), 0u);
  // Below the spec minimum is raised to it.
  StreamState small(true, 1000);
  EXPECT_EQ(small.recv_window(), kInitialWindow);
}

TEST(YamuxStreamState, ReceiveWindowIsEnforced) {
  StreamState s(false);
  EXPECT_EQ(s.on_data(200 * 1024), DataVerdict::ok);
  EXPECT_EQ(s.recv_window_remaining(), 56u * 1024);
  EXPECT_EQ(s.on_data(56 * 1024), DataVerdict::ok);
  EXPECT_EQ(s.recv_window_remaining(), 0u);
  EXPECT_EQ(s.on_data(0), DataVerdict::ok);
  EXPECT_EQ(s.on_data(1), DataVerdict::window_exceeded);
}

TEST(YamuxStreamState, SingleFrameLargerThanWindowIsRefused) {
  StreamState s(false);
  EXPECT_EQ(s.on_data(kInitialWindow + 1), DataVerdict::window_exceeded);
  EXPECT_EQ(s.recv_window_remaining(), kInitialWindow);  // nothing accounted
}

TEST(YamuxStreamState, WindowUpdateWhenHalfConsumed) {
  StreamState s(false);
  ASSERT_EQ(s.on_data(kInitialWindow), DataVerdict::ok);
  // Credit comes back only as the application reads, once half the window
  // is consumed.
  EXPECT_EQ(s.on_consumed(64 * 1024), 0u);
  EXPECT_EQ(s.on_consumed(64 * 1024 - 1), 0u);
  EXPECT_EQ(s.recv_window_remaining(), 0u);
  EXPECT_EQ(s.on_consumed(1), 128u * 1024);
  EXPECT_EQ(s.recv_window_remaining(), 128u * 1024);
  EXPECT_EQ(s.on_consumed(128 * 1024), 128u * 1024);
  EXPECT_EQ(s.recv_window_remaining(), kInitialWindow);
  // Unread data + remaining credit never exceeds the window.
  EXPECT_EQ(s.on_data(kInitialWindow), DataVerdict::ok);
  EXPECT_EQ(s.on_data(1), DataVerdict::window_exceeded);
}

TEST(YamuxStreamState, NoWindowUpdateAfterRemoteFin) {
  StreamState s(false);
  ASSERT_EQ(s.on_data(kInitialWindow), DataVerdict::ok);
  s.on_remote_fin();
  EXPECT_EQ(s.on_consumed(kInitialWindow), 0u);
}

TEST(YamuxStreamState, SendWindowConsumedAndReplenished) {
  StreamState s(true);
  s.on_data_sent(100 * 1024);
  EXPECT_EQ(s.send_window(), 156u * 1024);
  s.on_data_sent(156 * 1024);
  EXPECT_EQ(s.send_window(), 0u);
  EXPECT_TRUE(s.on_window_update(10));
  EXPECT_EQ(s.send_window(), 10u);
}

TEST(YamuxStreamState, SendWindowOverflowIsAnError) {
  StreamState s(true);
  EXPECT_TRUE(s.on_window_update(0xffffffffu - kInitialWindow));
  EXPECT_EQ(s.send_window(), 0xffffffffu);
  EXPECT_FALSE(s.on_window_update(1));
}

TEST(YamuxStreamState, HalfCloseThenClose) {
  StreamState s(true);
  s.on_ack();
  EXPECT_TRUE(s.can_send());
  s.on_fin_sent();
  EXPECT_EQ(s.phase(), StreamPhase::half_closed_local);
  EXPECT_FALSE(s.can_send());
  EXPECT_FALSE(s.finished());
  // The remote may still send until its FIN.
  EXPECT_EQ(s.on_data(10), DataVerdict::ok);
  s.on_remote_fin();
  EXPECT_EQ(s.phase(), StreamPhase::closed);
  EXPECT_TRUE(s.finished());
}

TEST(YamuxStreamState, RemoteHalfClose) {
  StreamState s(false);
  s.on_remote_fin();
  EXPECT_EQ(s.phase(), StreamPhase::half_closed_remote);
  EXPECT_TRUE(s.can_send());
  EXPECT_EQ(s.on_data(0), DataVerdict::ok);
  EXPECT_EQ(s.on_data(1), DataVerdict::after_fin);
}

TEST(YamuxStreamState, Reset) {
  StreamState s(false);
  s.on_reset();
  EXPECT_EQ(s.phase(), StreamPhase::reset);
  EXPECT_TRUE(s.finished());
  EXPECT_FALSE(s.can_send());
  EXPECT_EQ(s.on_data(5), DataVerdict::after_reset);
}

TEST(YamuxRemoteStreamIds, ClientIdsAreOddAndFresh) {
  RemoteStreamIds ids(/*remote_is_client=*/true);
  EXPECT_TRUE(ids.on_syn(1));
  EXPECT_TRUE(ids.on_syn(3));
  EXPECT_FALSE(ids.on_syn(3));  // reuse
  EXPECT_FALSE(ids.on_syn(1));  // reuse of a closed one
  EXPECT_FALSE(ids.on_syn(4));  // server parity
  EXPECT_FALSE(ids.on_syn(0));
  EXPECT_TRUE(ids.on_syn(0xffffffffu));
  EXPECT_FALSE(ids.on_syn(0xffffffffu));
}

TEST(YamuxRemoteStreamIds, ServerIdsAreEven) {
  RemoteStreamIds ids(/*remote_is_client=*/false);
  EXPECT_FALSE(ids.on_syn(1));
  EXPECT_TRUE(ids.on_syn(2));
  EXPECT_FALSE(ids.on_syn(2));
}

TEST(YamuxRemoteStreamIds, SlightlyReorderedSynsAreAccepted) {
  // A multi-threaded peer may send SYN 5 before SYN 3.
  RemoteStreamIds ids(true);
  EXPECT_TRUE(ids.on_syn(1));
  EXPECT_TRUE(ids.on_syn(5));
  EXPECT_TRUE(ids.on_syn(3));
  EXPECT_FALSE(ids.on_syn(3));
  EXPECT_FALSE(ids.on_syn(5));
}

TEST(YamuxRemoteStreamIds, GapMemoryIsBounded) {
  RemoteStreamIds ids(true);
  EXPECT_TRUE(ids.on_syn(100001));
  // Only the last kMaxGaps ids below 100001 are remembered as unused.
  EXPECT_TRUE(ids.on_syn(100001 - 2));
  EXPECT_TRUE(ids.on_syn(100001 - 2 * RemoteStreamIds::kMaxGaps));
  EXPECT_FALSE(ids.on_syn(100001 - 2 * (RemoteStreamIds::kMaxGaps + 1)));
  EXPECT_FALSE(ids.on_syn(1));
}

}  // namespace
}  // namespace mp::yamux
