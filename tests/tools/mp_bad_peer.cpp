// mp-bad-peer <host> <port> <scenario> [args...]
// Connects to a libp2p node and misbehaves in one way. Exits 0 when the node
// reacted as it should (closed the connection, or for wrong-peer-id, when
// our dialer refused the node), 1 otherwise, 2 on usage errors.
//
// Load scenarios run for a while and report what happened on stdout (one
// "key=value" line at the end); they exit 0 once done:
//  slow-reader <conns> <streams> <seconds>: each connection (from 127.2.0.1
//    when the target is loopback) opens <streams>
//    ping streams, fills each stream's receive window with pings, then never
//    reads and never grants window.
//  identify-flood <conns> <pushes> <seconds>: each connection (from its own
//    127.3.x.y on loopback) sends <pushes>
//    identify pushes of ~60 KB (3,000 listen addresses, 10,000 protocols).
//  half-open <ips> <per-ip> <seconds>: <per-ip> sockets from each of 127.1.0.1
//    ... (one source address per IP), each sending a few bytes of the
//    multistream header then stalling, reopened as soon as the node closes it.
#include <openssl/rand.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <iostream>
#include <vector>

#include "core/keys.hpp"
#include "core/varint.hpp"
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
asio::awaitable<bool> expect_close(net::ByteStream& s, bool quiet = false) {
  std::array<std::uint8_t, 4096> buf{};
  try {
    for (;;) {
      if (co_await s.read_some(buf) == 0) co_return true;
    }
  } catch (const std::exception& e) {
    if (!quiet) std::cout << "connection ended: " << e.what() << "\n";
    co_return true;
  }
}

asio::awaitable<std::unique_ptr<noise::NoiseStream>> secure_and_mux(
    std::unique_ptr<net::ByteStream> tcp, const noise::LocalIdentity& id) {
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

struct LoadStats {
  std::uint64_t connections = 0;  // handshakes / sockets opened
  std::uint64_t closed = 0;       // connections the node closed
  std::uint64_t failed = 0;       // connect or handshake failures
  std::uint64_t streams = 0;      // streams opened
  std::uint64_t bytes = 0;        // payload bytes sent
};
LoadStats g_load;
std::chrono::steady_clock::time_point g_end;

asio::awaitable<void> sleep_until_end() {
  asio::steady_timer t(co_await asio::this_coro::executor, g_end);
  co_await t.async_wait(asio::use_awaitable);
}

asio::awaitable<std::unique_ptr<net::TcpStream>> connect_from(const asio::ip::tcp::endpoint& target,
                                                              const std::string& source_ip) {
  asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
  socket.open(target.protocol());
  if (!source_ip.empty())
    socket.bind(asio::ip::tcp::endpoint(asio::ip::make_address(source_ip), 0));
  co_await socket.async_connect(target, asio::use_awaitable);
  co_return std::make_unique<net::TcpStream>(std::move(socket));
}

// A DATA frame opening stream `id` with a multistream-select proposal for `protocol`.
Bytes open_with(std::uint32_t id, const std::string& protocol, BytesView then,
                std::uint16_t extra_flags = 0) {
  Bytes payload = multistream::encode_message("/multistream/1.0.0");
  multistream::encode_message(protocol, payload);
  append(payload, then);
  Bytes out =
      frame(yamux::FrameType::data, static_cast<std::uint16_t>(yamux::flags::syn | extra_flags), id,
            static_cast<std::uint32_t>(payload.size()));
  append(out, payload);
  return out;
}

asio::awaitable<void> slow_reader_conn(asio::ip::tcp::endpoint target, int streams) {
  try {
    // From one address of its own (loopback tests: not the honest client's).
    auto tcp = co_await connect_from(target, target.address().is_loopback() ? "127.2.0.1" : "");
    const auto key = Ed25519KeyPair::generate();
    noise::LocalIdentity id(key);
    auto secured = co_await secure_and_mux(std::move(tcp), id);
    ++g_load.connections;
    const Bytes header_only = open_with(1, "/ipfs/ping/1.0.0", {});
    const std::size_t header_len = header_only.size() - yamux::kHeaderSize;
    for (int i = 0; i < streams; ++i) {
      co_await secured->write(
          open_with(static_cast<std::uint32_t>(2 * i + 1), "/ipfs/ping/1.0.0", {}));
      ++g_load.streams;
    }
    // Fill every stream's 256 KiB window (less what the proposal took) with
    // pings, round-robin in 16 KiB frames; then hold the connection.
    const Bytes chunk(16 * 1024, 0x70);
    std::size_t left = yamux::kInitialWindow - header_len;
    while (left > 0) {
      const std::size_t n = std::min(left, chunk.size());
      for (int i = 0; i < streams; ++i) {
        Bytes out = frame(yamux::FrameType::data, 0, static_cast<std::uint32_t>(2 * i + 1),
                          static_cast<std::uint32_t>(n));
        out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
        co_await secured->write(out);
        g_load.bytes += n;
      }
      left -= n;
    }
    co_await sleep_until_end();
  } catch (const std::exception&) {
    ++g_load.closed;
  }
}

// ~60 KB Identify: `addrs` public /ip4/.../tcp addresses, then 1-byte protocols.
Bytes flood_identify(std::uint32_t salt) {
  Bytes msg;
  for (std::uint32_t k = 0; k < 3000; ++k) {
    const Bytes addr = {0x04,
                        11,
                        static_cast<std::uint8_t>(salt >> 8),
                        static_cast<std::uint8_t>(salt),
                        static_cast<std::uint8_t>(k % 250),
                        0x06,
                        static_cast<std::uint8_t>(0x10 + k / 250),
                        0x01};
    msg.push_back(0x12);
    msg.push_back(static_cast<std::uint8_t>(addr.size()));
    append(msg, addr);
  }
  for (int k = 0; k < 10000; ++k) {
    msg.push_back(0x1a);
    msg.push_back(1);
    msg.push_back(static_cast<std::uint8_t>('a' + k % 26));
  }
  Bytes out = varint::encode(msg.size());
  append(out, msg);
  return out;
}

asio::awaitable<void> identify_flood_conn(asio::ip::tcp::endpoint target, int conn_index,
                                          int pushes) {
  try {
    // One source address per connection on loopback (127.3.0.1, ...), as
    // 20 peers would have.
    const std::string source = target.address().is_loopback()
                                   ? "127.3." + std::to_string(conn_index / 250) + "." +
                                         std::to_string(1 + conn_index % 250)
                                   : "";
    auto tcp = co_await connect_from(target, source);
    const auto key = Ed25519KeyPair::generate();
    noise::LocalIdentity id(key);
    auto secured = co_await secure_and_mux(std::move(tcp), id);
    ++g_load.connections;
    for (int i = 0; i < pushes; ++i) {
      const Bytes msg = flood_identify(static_cast<std::uint32_t>(conn_index * 1000 + i));
      co_await secured->write(open_with(static_cast<std::uint32_t>(2 * i + 1),
                                        "/ipfs/id/push/1.0.0", msg, yamux::flags::fin));
      ++g_load.streams;
      g_load.bytes += msg.size();
    }
    co_await sleep_until_end();
  } catch (const std::exception&) {
    ++g_load.closed;
  }
}

// One half-open slot: a few bytes of the multistream header, then silence
// until the node closes the socket; then again, until the end.
asio::awaitable<void> half_open_slot(asio::ip::tcp::endpoint target, std::string source_ip) {
  const Bytes partial = {0x13, '/', 'm', 'u', 'l'};
  while (std::chrono::steady_clock::now() < g_end) {
    std::unique_ptr<net::TcpStream> tcp;
    try {
      tcp = co_await connect_from(target, source_ip);
      ++g_load.connections;
      co_await tcp->write(partial);
    } catch (const std::exception&) {
      ++g_load.failed;
      tcp.reset();
    }
    if (tcp) {
      co_await expect_close(*tcp, /*quiet=*/true);
      ++g_load.closed;
    }
    // Reopen at once would be fine for the node; the pause spares the
    // (shared) test machine a busy loop of refused connects.
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
    co_await t.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<int> run(std::string host, std::string port, std::string scenario,
                         std::string expected, std::vector<int> nums) {
  auto ex = co_await asio::this_coro::executor;
  if (scenario == "slow-reader" || scenario == "identify-flood" || scenario == "half-open") {
    asio::ip::tcp::resolver res(ex);
    const auto target =
        (co_await res.async_resolve(host, port, asio::use_awaitable)).begin()->endpoint();
    for (int i = 0; i < nums.at(0); ++i) {
      if (scenario == "slow-reader") {
        asio::co_spawn(ex, slow_reader_conn(target, nums.at(1)), asio::detached);
      } else if (scenario == "identify-flood") {
        asio::co_spawn(ex, identify_flood_conn(target, i, nums.at(1)), asio::detached);
      } else {
        const std::string ip =
            "127.1." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250);
        for (int k = 0; k < nums.at(1); ++k)
          asio::co_spawn(ex, half_open_slot(target, ip), asio::detached);
      }
    }
    co_await sleep_until_end();
    co_return 0;
  }
  asio::ip::tcp::resolver resolver(ex);
  asio::ip::tcp::socket socket(ex);
  co_await asio::async_connect(socket,
                               co_await resolver.async_resolve(host, port, asio::use_awaitable),
                               asio::use_awaitable);
  auto tcp = std::make_unique<net::TcpStream>(std::move(socket));
  const auto key = Ed25519KeyPair::generate();
  noise::LocalIdentity id(key);
  auto report = [&](bool closed) {
    std::cout << scenario << ": "
              << (closed ? "node closed the connection" : "node kept the connection") << "\n";
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
    Bytes partial = {0x00, 0x20};       // announces 32 bytes of ephemeral key...
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
    Bytes framed = {static_cast<std::uint8_t>(msg.size() >> 8),
                    static_cast<std::uint8_t>(msg.size())};
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
  (void)nums;

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
    std::cerr
        << "usage: mp-bad-peer <host> <port> <scenario> [expected-peer-id]\n"
           "scenarios: garbage oversized-multistream truncated-noise forged-noise wrong-peer-id\n"
           "           oversized-yamux window-overflow stream-reuse\n"
           "load:      slow-reader <conns> <streams> <seconds>\n"
           "           identify-flood <conns> <pushes> <seconds>\n"
           "           half-open <ips> <per-ip> <seconds>\n";
    return 2;
  }
  const std::string scenario = argv[3];
  const bool load =
      scenario == "slow-reader" || scenario == "identify-flood" || scenario == "half-open";
  std::vector<int> nums;
  if (load) {
    if (argc < 7) {
      std::cerr << scenario << " needs three numbers\n";
      return 2;
    }
    for (int i = 4; i < 7; ++i) nums.push_back(std::atoi(argv[i]));
    g_end = std::chrono::steady_clock::now() + std::chrono::seconds(nums[2]);
  }
  asio::io_context io;
  int rc = 1;
  asio::co_spawn(io, run(argv[1], argv[2], argv[3], argc > 4 ? argv[4] : "", nums),
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
  if (load) {
    io.run_until(g_end + std::chrono::seconds(1));
    std::cout << scenario << ": connections=" << g_load.connections
              << " closed_by_node=" << g_load.closed << " failed=" << g_load.failed
              << " streams=" << g_load.streams << " bytes=" << g_load.bytes << "\n";
    return 0;
  }
  io.run_for(std::chrono::seconds(15));
  if (!io.stopped()) {
    std::cout << argv[3] << ": timed out (node kept the connection)\n";
    return 1;
  }
  return rc;
}
