// mp-bad-peer <host> <port> <scenario> [expected-peer-id]
// Connects to a libp2p node and misbehaves in one way. Exits 0 when the node
// reacted as it should (closed the connection, or for wrong-peer-id, when
// our dialer refused the node), 1 otherwise, 2 on usage errors.
#include <openssl/rand.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <iostream>

#include "core/keys.hpp"
#include "multistream/codec.hpp"
#include "multistream/negotiate.hpp"
#include "net/tcp_stream.hpp"
#include "noise/noise_stream.hpp"
#include "noise/payload.hpp"
#include "noise/xx_handshake.hpp"
#include "yamux/frame.hpp"

using namespace mp;

namespace {

const std::vector<std::string> kNoise{"/noise"};
const std::vector<std::string> kYamux{"/yamux/1.0.0"};

Bytes random_bytes(std::size_t n) {
  Bytes b(n);
  RAND_bytes(b.data(), static_cast<int>(n));
  return b;
}

// Reads until the remote closes or resets; true if it did within the time.
asio::awaitable<bool> expect_close(net::ByteStream& s) {
  std::array<std::uint8_t, 4096> buf{};
  try {
    for (;;) {
      if (co_await s.read_some(buf) == 0) co_return true;
    }
  } catch (const std::exception& e) {
    std::cout << "connection ended: " << e.what() << "\n";
    co_return true;
  }
}

asio::awaitable<std::unique_ptr<noise::NoiseStream>> secure_and_mux(std::unique_ptr<net::ByteStream> tcp,
                                                                    const noise::LocalIdentity& id) {
  co_await multistream::negotiate_outbound(*tcp, kNoise);
  auto secured = co_await noise::secure_outbound(std::move(tcp), id);
  co_await multistream::negotiate_outbound(*secured, kYamux);
  co_return secured;
}

Bytes frame(yamux::FrameType type, std::uint16_t flags, std::uint32_t id, std::uint32_t length) {
  Bytes out;
  yamux::append_header(out, yamux::FrameHeader{type, flags, id, length});
  return out;
}

asio::awaitable<int> run(std::string host, std::string port, std::string scenario, std::string expected) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(ex);
  asio::ip::tcp::socket socket(ex);
  co_await asio::async_connect(socket, co_await resolver.async_resolve(host, port, asio::use_awaitable),
                               asio::use_awaitable);
  auto tcp = std::make_unique<net::TcpStream>(std::move(socket));
  const auto key = Ed25519KeyPair::generate();
  noise::LocalIdentity id(key);
  auto report = [&](bool closed) {
    std::cout << scenario << ": " << (closed ? "node closed the connection" : "node kept the connection")
              << "\n";
    return closed ? 0 : 1;
  };

  if (scenario == "garbage") {
    co_await tcp->write(random_bytes(4096));
    co_return report(co_await expect_close(*tcp));
  }
  if (scenario == "oversized-multistream") {
    Bytes out = multistream::encode_message("/multistream/1.0.0");
    multistream::encode_message(std::string(5000, 'x'), out);
    co_await tcp->write(out);
    co_return report(co_await expect_close(*tcp));
  }
  if (scenario == "truncated-noise") {
    co_await multistream::negotiate_outbound(*tcp, kNoise);
    Bytes partial = {0x00, 0x20};  // announces 32 bytes of ephemeral key...
    append(partial, random_bytes(10));  // ...and sends 10
    co_await tcp->write(partial);
    co_await tcp->close_write();
    co_return report(co_await expect_close(*tcp));
  }
  if (scenario == "forged-noise") {
    // A full XX handshake whose identity signature is made by another key
    // than the identity key it presents.
    co_await multistream::negotiate_outbound(*tcp, kNoise);
    const auto static_key = noise::X25519KeyPair::generate();
    noise::XXHandshake xx(noise::Role::kInitiator, static_key);
    Bytes msg;
    if (!xx.write_message({}, msg)) co_return 1;
    Bytes framed = {static_cast<std::uint8_t>(msg.size() >> 8), static_cast<std::uint8_t>(msg.size())};
    append(framed, msg);
    co_await tcp->write(framed);
    std::array<std::uint8_t, 2> len{};
    std::size_t got = 0;
    while (got < 2) got += co_await tcp->read_some(std::span(len).subspan(got));
    Bytes msg2((std::size_t{len[0]} << 8) | len[1]);
    got = 0;
    while (got < msg2.size()) got += co_await tcp->read_some(std::span(msg2).subspan(got));
    Bytes remote_payload;
    if (!xx.read_message(msg2, remote_payload)) co_return 1;
    const auto other = Ed25519KeyPair::generate();
    Bytes to_sign = to_bytes(noise::kStaticKeySignaturePrefix);
    append(to_sign, static_key.public_key);
    const Bytes forged = noise::encode_payload(key.public_key().to_protobuf(), other.sign(to_sign));
    Bytes msg3;
    if (!xx.write_message(forged, msg3)) co_return 1;
    framed = {static_cast<std::uint8_t>(msg3.size() >> 8), static_cast<std::uint8_t>(msg3.size())};
    append(framed, msg3);
    co_await tcp->write(framed);
    co_return report(co_await expect_close(*tcp));
  }
  if (scenario == "wrong-peer-id") {
    co_await multistream::negotiate_outbound(*tcp, kNoise);
    const auto someone = PeerId::from_public_key(Ed25519KeyPair::generate().public_key());
    try {
      co_await noise::secure_outbound(std::move(tcp), id, someone);
    } catch (const std::exception& e) {
      std::cout << "wrong-peer-id: handshake refused: " << e.what() << "\n";
      co_return 0;
    }
    std::cout << "wrong-peer-id: handshake succeeded with the wrong peer id\n";
    co_return 1;
  }
  (void)expected;

  auto secured = co_await secure_and_mux(std::move(tcp), id);
  if (scenario == "oversized-yamux") {
    Bytes out = frame(yamux::FrameType::data, yamux::flags::syn, 1, 16u << 20);
    append(out, random_bytes(1024));
    co_await secured->write(out);
    co_return report(co_await expect_close(*secured));
  }
  if (scenario == "window-overflow") {
    // 256 KiB is the initial window; send 320 KiB without waiting for credit.
    co_await secured->write(frame(yamux::FrameType::window_update, yamux::flags::syn, 1, 0));
    for (int i = 0; i < 5; ++i) {
      Bytes out = frame(yamux::FrameType::data, 0, 1, 64 * 1024);
      append(out, Bytes(64 * 1024, 0x61));
      co_await secured->write(out);
    }
    co_return report(co_await expect_close(*secured));
  }
  if (scenario == "stream-reuse") {
    co_await secured->write(frame(yamux::FrameType::window_update, yamux::flags::syn, 1, 0));
    co_await secured->write(frame(yamux::FrameType::window_update, yamux::flags::syn, 1, 0));
    co_return report(co_await expect_close(*secured));
  }
  std::cerr << "unknown scenario " << scenario << "\n";
  co_return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: mp-bad-peer <host> <port> <scenario> [expected-peer-id]\n"
                 "scenarios: garbage oversized-multistream truncated-noise forged-noise wrong-peer-id\n"
                 "           oversized-yamux window-overflow stream-reuse\n";
    return 2;
  }
  asio::io_context io;
  int rc = 1;
  asio::co_spawn(io, run(argv[1], argv[2], argv[3], argc > 4 ? argv[4] : ""),
                 [&](std::exception_ptr e, int r) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       std::cout << argv[3] << ": failed: " << ex.what() << "\n";
                     }
                     rc = 1;
                   } else {
                     rc = r;
                   }
                 });
  io.run_for(std::chrono::seconds(15));
  if (!io.stopped()) {
    std::cout << argv[3] << ": timed out (node kept the connection)\n";
    return 1;
  }
  return rc;
}
