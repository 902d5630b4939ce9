// NoiseStream and secure_inbound/secure_outbound over real loopback TCP
// (127.0.0.1, io_context bounded in time) and over scripted streams.
#include "noise/noise_stream.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/this_coro.hpp>
#include <chrono>

#include "net/tcp_stream.hpp"
#include "support/run_coro.hpp"
#include "support/scripted_stream.hpp"

namespace mp::noise {
namespace {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using ::testing::HasSubstr;

// A connected TCP pair on 127.0.0.1. connect() completes against the listen
// backlog, so no coroutine is needed to set it up.
struct TcpPair {
  std::unique_ptr<net::TcpStream> client, server;
};

TcpPair tcp_pair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  return {std::make_unique<net::TcpStream>(std::move(client)),
          std::make_unique<net::TcpStream>(std::move(server))};
}

// Runs both coroutines on `io` for at most 30 s; rethrows the first failure.
void run_both(asio::io_context& io, asio::awaitable<void> a, asio::awaitable<void> b) {
  std::exception_ptr errors[2];
  int done = 0;
  asio::co_spawn(io, std::move(a), [&](std::exception_ptr e) {
    errors[0] = e;
    ++done;
  });
  asio::co_spawn(io, std::move(b), [&](std::exception_ptr e) {
    errors[1] = e;
    ++done;
  });
  io.run_for(std::chrono::seconds(30));
  ASSERT_EQ(done, 2) << "coroutines did not finish in time";
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

Bytes pattern(std::size_t n, std::uint32_t seed) {
  Bytes b(n);
  std::uint32_t x = seed;
  for (auto& c : b) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<std::uint8_t>(x >> 24);
  }
  return b;
}

// Writes `data` in uneven pieces, then half-closes.
asio::awaitable<void> send_all(net::ByteStream& s, const Bytes& data) {
  std::size_t pos = 0, piece = 1;
  while (pos < data.size()) {
    const std::size_t n = std::min(piece, data.size() - pos);
    co_await s.write(BytesView(data).subspan(pos, n));
    pos += n;
    piece = piece * 3 + 7;  // 1, 10, 37, ... up to several frames per write
    if (piece > 300000) piece = 1;
  }
  co_await s.close_write();
}

asio::awaitable<void> receive_all(net::ByteStream& s, Bytes& out) {
  Bytes buf(7000);
  for (;;) {
    const std::size_t n = co_await s.read_some(buf);
    if (n == 0) co_return;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
}

class NoiseStreamTest : public ::testing::Test {
 protected:
  Ed25519KeyPair alice_key = Ed25519KeyPair::generate();
  Ed25519KeyPair bob_key = Ed25519KeyPair::generate();
  LocalIdentity alice{alice_key};  // dials
  LocalIdentity bob{bob_key};      // listens
  asio::io_context io;
};

TEST_F(NoiseStreamTest, HandshakeThenMegabytesBothWaysOverTcp) {
  TcpPair pair = tcp_pair(io);
  const Bytes to_bob = pattern(1536 * 1024 + 3, 1);
  const Bytes to_alice = pattern(1200 * 1024 + 11, 2);
  Bytes got_by_bob, got_by_alice;
  std::unique_ptr<NoiseStream> a, b;

  auto client = [&]() -> asio::awaitable<void> {
    a = co_await secure_outbound(std::move(pair.client), alice, bob.peer_id());
    co_await (send_all(*a, to_bob) && receive_all(*a, got_by_alice));
  };
  auto server = [&]() -> asio::awaitable<void> {
    b = co_await secure_inbound(std::move(pair.server), bob);
    co_await (send_all(*b, to_alice) && receive_all(*b, got_by_bob));
  };
  run_both(io, client(), server());

  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->remote_peer(), bob.peer_id());
  EXPECT_EQ(b->remote_peer(), alice.peer_id());
  EXPECT_EQ(a->remote_public_key(), bob_key.public_key());
  EXPECT_EQ(b->remote_public_key(), alice_key.public_key());
  EXPECT_EQ(got_by_bob.size(), to_bob.size());
  EXPECT_TRUE(got_by_bob == to_bob);
  EXPECT_EQ(got_by_alice.size(), to_alice.size());
  EXPECT_TRUE(got_by_alice == to_alice);
  // Nothing but whole frames went over the wire: 18 bytes of overhead per
  // frame of at most 65519 bytes.
  auto& tcp = static_cast<net::TcpStream&>(a->inner());
  EXPECT_GT(tcp.bytes_written(), to_bob.size());
}

TEST_F(NoiseStreamTest, ConcurrentWritesAreNotInterleaved) {
  TcpPair pair = tcp_pair(io);
  const Bytes as(300000, 'A'), bs(300000, 'B'), cs(5, 'C');
  Bytes received;
  auto client = [&]() -> asio::awaitable<void> {
    auto s = co_await secure_outbound(std::move(pair.client), alice);
    co_await (s->write(as) && s->write(bs) && s->write(cs));
    co_await s->close_write();
  };
  auto server = [&]() -> asio::awaitable<void> {
    auto s = co_await secure_inbound(std::move(pair.server), bob);
    co_await receive_all(*s, received);
  };
  run_both(io, client(), server());

  ASSERT_EQ(received.size(), as.size() + bs.size() + cs.size());
  // Each write arrives as one contiguous run.
  int runs = 1;
  for (std::size_t i = 1; i < received.size(); ++i) runs += received[i] != received[i - 1];
  EXPECT_EQ(runs, 3);
}

TEST_F(NoiseStreamTest, WrongExpectedPeerFailsBothSides) {
  TcpPair pair = tcp_pair(io);
  const LocalIdentity carol{Ed25519KeyPair::generate()};
  std::string client_error;
  bool server_failed = false;
  auto client = [&]() -> asio::awaitable<void> {
    try {
      co_await secure_outbound(std::move(pair.client), alice, carol.peer_id());
    } catch (const net::ProtocolError& e) {
      client_error = e.what();
    }
  };
  auto server = [&]() -> asio::awaitable<void> {
    try {
      co_await secure_inbound(std::move(pair.server), bob);
    } catch (const std::exception&) {  // EOF (ProtocolError) or reset (system_error)
      server_failed = true;
    }
  };
  run_both(io, client(), server());
  EXPECT_THAT(client_error, HasSubstr("does not match expected " + carol.peer_id().to_string()));
  EXPECT_TRUE(server_failed);
}

TEST_F(NoiseStreamTest, GarbageAfterHandshakeIsAProtocolError) {
  TcpPair pair = tcp_pair(io);
  std::string first_error, second_error;
  auto client = [&]() -> asio::awaitable<void> {
    auto s = co_await secure_outbound(std::move(pair.client), alice);
    Bytes fake(2 + 40, 0x5a);
    put_frame_header(fake.data(), 40);
    co_await s->inner().write(fake);  // a frame not encrypted with the session key
    co_await s->inner().close_write();
  };
  auto server = [&]() -> asio::awaitable<void> {
    auto s = co_await secure_inbound(std::move(pair.server), bob);
    std::array<std::uint8_t, 64> buf{};
    try {
      co_await s->read_some(buf);
    } catch (const net::ProtocolError& e) {
      first_error = e.what();
    }
    try {
      co_await s->read_some(buf);
    } catch (const net::ProtocolError& e) {
      second_error = e.what();
    }
  };
  run_both(io, client(), server());
  EXPECT_THAT(first_error, HasSubstr("decryption failed"));
  EXPECT_FALSE(second_error.empty());
}

TEST_F(NoiseStreamTest, TransportDataRightBehindTheLastHandshakeMessageIsKept) {
  // The responder reads message 3 and the first transport frame in a single
  // read; the bytes past message 3 must reach the NoiseStream. Both sides'
  // ephemeral keys are fixed so the scripted wire can be prepared in advance.
  const X25519KeyPair e_init = X25519KeyPair::generate();
  const X25519KeyPair e_resp = X25519KeyPair::generate();
  Handshake init(Role::kInitiator, alice, bob.peer_id(), e_init);
  Handshake twin(Role::kResponder, bob, std::nullopt, e_resp);  // stands in for the real responder
  Bytes m1, m2, m3;
  ASSERT_TRUE(init.write_message(m1));
  ASSERT_TRUE(twin.read_message(m1));
  ASSERT_TRUE(twin.write_message(m2));
  ASSERT_TRUE(init.read_message(m2));
  ASSERT_TRUE(init.write_message(m3));
  auto keys = std::move(init).finish();
  ASSERT_TRUE(keys);

  Bytes wire;
  for (const Bytes* m : {&m1, &m3}) {
    Bytes f(2);
    put_frame_header(f.data(), m->size());
    append(wire, f);
    append(wire, *m);
  }
  const Bytes hello = to_bytes("first transport message");
  ASSERT_TRUE(encrypt_frame(keys->send, hello, wire));

  auto inner = std::make_unique<test::ScriptedStream>(wire);
  test::ScriptedStream* raw = inner.get();  // owned by the NoiseStream below
  Bytes sent_by_responder;
  auto run = [&]() -> asio::awaitable<Bytes> {
    auto s = co_await run_handshake(std::move(inner),
                                    Handshake(Role::kResponder, bob, std::nullopt, e_resp));
    EXPECT_EQ(s->remote_peer(), alice.peer_id());
    Bytes got;
    co_await receive_all(*s, got);
    sent_by_responder = raw->output;
    co_return got;
  };
  EXPECT_EQ(test::run_coro(run()), hello);
  // The responder sent exactly message 2, framed.
  ASSERT_EQ(sent_by_responder.size(), 2 + m2.size());
  EXPECT_EQ(Bytes(sent_by_responder.begin() + 2, sent_by_responder.end()), m2);
}

TEST_F(NoiseStreamTest, EofDuringHandshakeIsAProtocolError) {
  // Non-null storage: ScriptedStream memcpy()s from data() even for 0 bytes.
  Bytes nothing;
  nothing.reserve(1);
  auto run = [&]() -> asio::awaitable<void> {
    co_await secure_inbound(std::make_unique<test::ScriptedStream>(std::move(nothing)), bob);
  };
  try {
    test::run_coro(run());
    FAIL() << "handshake succeeded on an empty stream";
  } catch (const net::ProtocolError& e) {
    EXPECT_THAT(e.what(), HasSubstr("closed during the handshake"));
  }
}

}  // namespace
}  // namespace mp::noise

namespace mp::noise {
namespace {

asio::awaitable<Bytes> read_exactly(net::ByteStream& s, std::size_t n) {
  Bytes out(n);
  std::size_t got = 0;
  while (got < n) {
    const std::size_t k = co_await s.read_some(std::span(out.data() + got, n - got));
    if (k == 0) throw std::runtime_error("EOF before " + std::to_string(n) + " bytes");
    got += k;
  }
  co_return out;
}

// An idle connection holds no Noise read buffer: once a burst (frames of
// up to 40 KiB) is consumed, waiting for the next one frees it, and what
// arrives after the wait is intact.
TEST_F(NoiseStreamTest, ReadBufferIsFreedWhileIdleAndTheNextBurstIsIntact) {
  TcpPair pair = tcp_pair(io);
  const Bytes burst1 = pattern(40000, 3);
  const Bytes burst2 = pattern(100, 4);
  const Bytes burst3 = pattern(70000, 5);  // two frames
  Bytes got1, got23;
  std::size_t capacity_after_burst = 0, capacity_while_waiting = 1, capacity_after_all = 1;

  auto client = [&]() -> asio::awaitable<void> {
    auto a = co_await secure_outbound(std::move(pair.client), alice, bob.peer_id());
    co_await a->write(burst1);
    co_await read_exactly(*a, 1);  // the server waits now
    co_await a->write(burst2);
    co_await a->write(burst3);
    co_await read_exactly(*a, 1);
  };
  auto server = [&]() -> asio::awaitable<void> {
    auto b = co_await secure_inbound(std::move(pair.server), bob);
    got1 = co_await read_exactly(*b, burst1.size());
    capacity_after_burst = b->read_buffer_capacity();
    asio::awaitable<void> wait = b->wait_readable();
    capacity_while_waiting = b->read_buffer_capacity();
    const Bytes go{1}, done{2};  // named: GCC 12 rejects braced temporaries across co_await
    co_await b->write(go);
    co_await std::move(wait);
    got23 = co_await read_exactly(*b, burst2.size() + burst3.size());
    { asio::awaitable<void> again = b->wait_readable(); }  // frees, never awaited
    capacity_after_all = b->read_buffer_capacity();
    co_await b->write(done);
  };
  run_both(io, client(), server());

  EXPECT_GE(capacity_after_burst, 40000u + 16);  // it grew to the burst's frame
  EXPECT_EQ(capacity_while_waiting, 0u);
  EXPECT_EQ(capacity_after_all, 0u);
  EXPECT_TRUE(got1 == burst1);
  Bytes want23 = burst2;
  want23.insert(want23.end(), burst3.begin(), burst3.end());
  EXPECT_TRUE(got23 == want23);
}

// TcpStream::wait_readable must see bytes that arrived while no operation
// was pending on the socket (the event loop has already taken their
// readiness edge): a wait for the next edge only would never finish.
TEST_F(NoiseStreamTest, TcpWaitReadableSeesBytesAlreadyQueued) {
  TcpPair pair = tcp_pair(io);
  auto write_then_loop = [&]() -> asio::awaitable<void> {
    const Bytes bytes{7, 8, 9};
    co_await pair.client->write(bytes);
  };
  bool written = false;
  asio::co_spawn(io, write_then_loop(), [&](std::exception_ptr) { written = true; });
  io.run_for(std::chrono::seconds(30));
  ASSERT_TRUE(written);
  io.restart();
  io.poll();  // one more turn of the reactor with nothing pending on the server socket

  Bytes got;
  std::size_t at_end = 99;
  auto waiter = [&]() -> asio::awaitable<void> {
    co_await pair.server->wait_readable();
    got = co_await read_exactly(*pair.server, 3);
    // The end, seen by the peek, is the next read's: it must not wait for
    // an edge the peek took.
    co_await pair.client->close_write();
    co_await pair.server->wait_readable();
    std::array<std::uint8_t, 4> buf{};
    at_end = co_await pair.server->read_some(buf);
  };
  bool done = false;
  io.restart();
  asio::co_spawn(io, waiter(), [&](std::exception_ptr e) {
    done = true;
    if (e) std::rethrow_exception(e);
  });
  io.run_for(std::chrono::seconds(30));
  ASSERT_TRUE(done) << "wait_readable missed bytes already queued";
  EXPECT_EQ(got, (Bytes{7, 8, 9}));
  EXPECT_EQ(at_end, 0u);
}

}  // namespace
}  // namespace mp::noise
