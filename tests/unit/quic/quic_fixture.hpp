// The loopback fixture of the QUIC unit tests: a host's config with one QUIC
// listener on 127.0.0.1 (an ephemeral port, no periodic pings), where a
// host's QUIC listener is, an echo handler and its client, reading a stream
// to its end, two hosts on one io_context, and valid client Initials of new connections as our own
// client writes them (sent raw, nothing answers the server).
#pragma once

#include <gtest/gtest.h>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "host/host.hpp"
#include "quic/address.hpp"
#include "quic/quic_connection.hpp"
#include "tls/certificate.hpp"

namespace mp::test {

// One QUIC listener on `ip` (port 0); a handshake ends after
// `handshake_timeout`.
inline host::HostConfig quic_config(
    std::chrono::milliseconds handshake_timeout = std::chrono::seconds(3),
    const std::string& ip = "127.0.0.1") {
  host::HostConfig c;
  c.listen_addrs = {*Multiaddr::parse("/ip4/" + ip + "/udp/0/quic-v1")};
  c.ping_interval = std::chrono::hours(1);
  c.handshake_timeout = handshake_timeout;
  return c;
}

// Two hosts of fresh identities on one io_context: `a` dials, `b` serves.
// Services and handlers are added before listen().
struct HostPair {
  explicit HostPair(host::HostConfig config_a = quic_config(),
                    host::HostConfig config_b = quic_config())
      : a(io.get_executor(), std::move(config_a), Ed25519KeyPair::generate()),
        b(io.get_executor(), std::move(config_b), Ed25519KeyPair::generate()) {}
  asio::io_context io;
  host::Host a;
  host::Host b;

  bool listen() { return a.listen().ok() && b.listen().ok(); }
};

// The host's first QUIC listen address, with its Peer ID.
inline Multiaddr quic_address_of(const host::Host& h) {
  for (const auto& a : h.listen_addrs())
    if (quic::is_quic(a)) return a.with_peer_id(h.local_peer());
  throw std::runtime_error("no QUIC listen address");
}

// The UDP endpoint of the host's first QUIC listen address.
inline asio::ip::udp::endpoint quic_endpoint_of(const host::Host& h) {
  const auto ep = *quic::quic_endpoint(quic_address_of(h).without_peer_id());
  return {asio::ip::make_address(ep.first), ep.second};
}

// Everything the stream carries until its end.
inline asio::awaitable<Bytes> read_to_end(net::ByteStream& s) {
  Bytes out;
  Bytes buf(8192);
  for (;;) {
    const std::size_t n = co_await s.read_some(buf);
    if (n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
  co_return out;
}

// Echoes what it reads until the end, then ends its side.
inline asio::awaitable<void> echo_back(net::ByteStream& s) {
  Bytes buf(4096);
  for (;;) {
    const std::size_t n = co_await s.read_some(buf);
    if (n == 0) break;
    co_await s.write(BytesView(buf.data(), n));
  }
  co_await s.close_write();
}

// A stream handler that echoes.
inline asio::awaitable<void> serve_echo(host::StreamContext ctx) {
  co_await echo_back(*ctx.stream);
}

// Sends `msg` and ends our side; returns what comes back.
inline asio::awaitable<Bytes> echo_on(net::ByteStream& s, Bytes msg) {
  co_await s.write(msg);
  co_await s.close_write();
  co_return co_await read_to_end(s);
}

// The same on a new stream of `protocol`.
inline asio::awaitable<Bytes> echo(host::Connection& conn, std::string protocol, Bytes msg) {
  std::vector<std::string> protos{std::move(protocol)};
  auto s = co_await conn.open_stream(std::move(protos));
  co_return co_await echo_on(*s.stream, std::move(msg));
}

// `n` valid client Initials, each of a new connection (its own connection
// IDs), from `from` to `to`; padded to 1200 bytes or more.
inline std::vector<Bytes> client_initials(asio::io_context& io, const asio::ip::udp::endpoint& from,
                                          const asio::ip::udp::endpoint& to, std::size_t n) {
  auto cert = tls::make_certificate(Ed25519KeyPair::generate());
  auto creds = tls::Credentials::create(cert.value());
  std::vector<Bytes> out;
  for (std::size_t i = 0; i < n; ++i) {
    Bytes first;
    auto c = quic::QuicConnection::connect(
        io.get_executor(), from, to, creds.value(), quic::ConnectionSettings{}, std::nullopt,
        [&first](const asio::ip::udp::endpoint&, BytesView d) {
          if (first.empty()) first.assign(d.begin(), d.end());
        },
        quic::ConnectionEvents{});
    c.value()->flush();
    out.push_back(std::move(first));
    c.value()->abort("test");
  }
  return out;
}

}  // namespace mp::test
