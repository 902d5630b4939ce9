// One QUIC client of our own stack for the QUIC unit tests: a QuicConnection
// on a UDP socket of its own (127.0.0.1, ephemeral port), driven by hand,
// with the settings the test chooses (idle timeout, an initial token, ...)
// and, when it asks, a certificate of its choosing. What it receives goes to
// the connection; while `deaf` is set, received datagrams are lost (the
// client never hears them) until one it sent to itself comes back, which
// clears it: all datagrams before it are then gone. `heard` counts the
// datagrams delivered to the connection. And a lossy UDP relay, which
// also tells the connection ID the client's short header packets carry.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/udp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <optional>

#include "core/keys.hpp"
#include "core/multiaddr.hpp"
#include "quic/address.hpp"
#include "quic/cid_router.hpp"
#include "quic/quic_connection.hpp"
#include "tls/certificate.hpp"

namespace mp::test {

using quic::ConnectionEvents;
using quic::ConnectionSettings;
using quic::QuicConnection;

struct QuicClient {
  std::shared_ptr<asio::ip::udp::socket> socket;
  std::shared_ptr<tls::Credentials> creds;
  std::shared_ptr<QuicConnection> conn;
  std::shared_ptr<bool> deaf = std::make_shared<bool>(false);
  std::shared_ptr<std::size_t> heard = std::make_shared<std::size_t>(0);

  // Ends the connection without a word and closes the socket (which ends
  // the receive loop).
  void close() {
    if (conn) conn->abort("test over");
    std::error_code ec;
    if (socket) socket->close(ec);
  }
};

// Holds no strong reference to the connection: ends with the socket or
// the connection.
inline asio::awaitable<void> receive_into(std::shared_ptr<asio::ip::udp::socket> s,
                                          std::weak_ptr<QuicConnection> weak,
                                          std::shared_ptr<bool> deaf,
                                          std::shared_ptr<std::size_t> heard) {
  std::array<std::uint8_t, 2048> buf{};
  asio::ip::udp::endpoint from;
  for (;;) {
    std::error_code ec;
    const auto n = co_await s->async_receive_from(asio::buffer(buf), from,
                                                  asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !s->is_open()) co_return;
    auto conn = weak.lock();
    if (!conn) co_return;
    if (ec) continue;
    if (*deaf) {
      if (from == s->local_endpoint()) *deaf = false;
      continue;
    }
    conn->on_datagram(from, BytesView(buf.data(), n));
    ++*heard;
  }
}

// Starts a client towards `server` (its first Initial is sent) without
// waiting for the handshake. Without `cert`, a certificate of a fresh
// Ed25519 identity.
inline QuicClient start_client(const asio::any_io_executor& ex, asio::ip::udp::endpoint server,
                               std::optional<PeerId> expected, const ConnectionSettings& settings,
                               const tls::Certificate* cert = nullptr) {
  QuicClient c;
  std::optional<tls::Certificate> own;
  if (!cert) {
    auto made = tls::make_certificate(Ed25519KeyPair::generate());
    EXPECT_TRUE(made) << made.message();
    own.emplace(std::move(made.value()));
    cert = &*own;
  }
  auto creds = tls::Credentials::create(*cert);
  EXPECT_TRUE(creds) << creds.message();
  c.creds = std::make_shared<tls::Credentials>(std::move(creds.value()));
  c.socket = std::make_shared<asio::ip::udp::socket>(
      ex, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  ConnectionEvents events;
  events.cid_added = [](const std::string&) {};
  events.cid_removed = [](const std::string&) {};
  events.established = [] {};
  events.terminated = [](const std::string&) {};
  auto sock = c.socket;
  auto conn = QuicConnection::connect(
      ex, sock->local_endpoint(), server, *c.creds, settings, std::move(expected),
      [sock](const asio::ip::udp::endpoint& to, BytesView d) {
        std::error_code ec;
        sock->send_to(asio::buffer(d.data(), d.size()), to, 0, ec);
      },
      std::move(events));
  EXPECT_TRUE(conn) << conn.message();
  c.conn = conn.value();
  asio::co_spawn(ex, receive_into(sock, c.conn, c.deaf, c.heard), asio::detached);
  c.conn->flush();
  return c;
}

// The same, returning once the handshake is over (established or ended).
inline asio::awaitable<QuicClient> connect_client(asio::ip::udp::endpoint server,
                                                  std::optional<PeerId> expected,
                                                  const ConnectionSettings& settings,
                                                  const tls::Certificate* cert = nullptr) {
  QuicClient c =
      start_client(co_await asio::this_coro::executor, server, std::move(expected), settings, cert);
  co_await c.conn->wait_handshake();
  co_return c;
}

// A UDP relay between a client and our server that, while `lose_to_client`
// is set, loses every datagram to the client. A datagram the relay's server
// side sends to itself (mark_end_of_loss) clears it when it comes back: the
// server's datagrams before it are lost, those after it reach the client.
struct LossyRelay {
  LossyRelay(asio::any_io_executor ex, asio::ip::udp::endpoint to)
      : front(ex, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        back(ex, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        server(to) {}
  asio::ip::udp::socket front;  // the client's side
  asio::ip::udp::socket back;   // the server's side
  asio::ip::udp::endpoint server;
  asio::ip::udp::endpoint client;
  bool lose_to_client = false;
  std::size_t lost = 0;
  std::string server_cid;  // the Destination Connection ID of the client's last short header


  Multiaddr address(const PeerId& server_peer) const {
    return quic::quic_multiaddr(front.local_endpoint()).with_peer_id(server_peer);
  }
  asio::awaitable<void> client_to_server() {
    std::array<std::uint8_t, 2048> buf{};
    for (;;) {
      std::error_code ec;
      const auto n = co_await front.async_receive_from(
          asio::buffer(buf), client, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !front.is_open()) co_return;
      if (ec) continue;
      const auto header = quic::parse_header(BytesView(buf.data(), n));
      if (header && !header->long_header) server_cid = header->dcid;
      back.send_to(asio::buffer(buf.data(), n), server, 0, ec);
    }
  }
  asio::awaitable<void> server_to_client() {
    std::array<std::uint8_t, 2048> buf{};
    asio::ip::udp::endpoint from;
    for (;;) {
      std::error_code ec;
      const auto n = co_await back.async_receive_from(
          asio::buffer(buf), from, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !back.is_open()) co_return;
      if (ec) continue;
      if (lose_to_client && from == back.local_endpoint()) {
        lose_to_client = false;
        continue;
      }
      if (lose_to_client) {
        ++lost;
        continue;
      }
      front.send_to(asio::buffer(buf.data(), n), client, 0, ec);
    }
  }
  void mark_end_of_loss() {
    const std::uint8_t marker = 0;
    std::error_code ec;
    back.send_to(asio::buffer(&marker, 1), back.local_endpoint(), 0, ec);
  }
  void close() {
    std::error_code ec;
    front.close(ec);
    back.close(ec);
  }
};

}  // namespace mp::test
