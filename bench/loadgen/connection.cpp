#include "loadgen/connection.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <stdexcept>

#include "multistream/negotiate.hpp"
#include "net/deadline.hpp"
#include "net/prefixed_stream.hpp"
#include "net/tcp_stream.hpp"
#include "noise/noise_stream.hpp"
#include "ping/ping.hpp"
#include "quic/quic_connection.hpp"
#include "yamux/frame.hpp"

namespace mp::loadgen {

namespace {

constexpr std::string_view kKad = "/ipfs/kad/1.0.0";
// Named: GCC 12 miscompiles braced initializer lists inside co_await calls.
const std::vector<std::string> kNoise{std::string(noise::kProtocolId)};
const std::vector<std::string> kYamux{std::string(yamux::kProtocolId)};

// Wraps `stream` so that `leftover` (bytes pipelined behind a multistream
// answer) is read first; no wrapper when there is none.
std::unique_ptr<net::ByteStream> with_leftover(std::unique_ptr<net::ByteStream> stream,
                                               Bytes leftover) {
  if (leftover.empty()) return stream;
  return std::make_unique<net::PrefixedStream>(std::move(leftover),
                                               std::shared_ptr<net::ByteStream>(std::move(stream)));
}

// A stream the server opened: identify, ping, or refused.
asio::awaitable<void> serve_inbound(std::shared_ptr<net::ByteStream> stream,
                                    std::shared_ptr<ConnectionState> state,
                                    const identify::Info* ours) {
  try {
    auto ex = co_await asio::this_coro::executor;
    net::Deadline deadline(ex, std::chrono::seconds(10), stream);
    const std::string& extra = state->extra.id;
    auto agreed = co_await multistream::negotiate_inbound(*stream, [&extra](std::string_view p) {
      return p == identify::kProtocol || p == ping::kProtocol || (!extra.empty() && p == extra);
    });
    if (!extra.empty() && agreed.protocol == extra) {
      deadline.restart(std::chrono::hours(24));  // the handler bounds its own time
      std::shared_ptr<net::ByteStream> s = stream;
      if (!agreed.leftover.empty()) {
        s = std::make_shared<net::PrefixedStream>(std::move(agreed.leftover), stream);
      }
      co_await state->extra.handler(std::move(s));
    } else if (agreed.protocol == identify::kProtocol) {
      co_await identify::serve(*stream, *ours);
      state->identify_served = true;
      state->identified.cancel();
    } else {
      deadline.restart(std::chrono::hours(24));  // pings last as long as the connection
      net::PrefixedStream s(std::move(agreed.leftover), stream);
      state->pings_served += co_await ping::serve(s);
    }
  } catch (const std::exception&) {
    stream->reset();  // the connection ended or the server misbehaved: nothing to count here
  }
}

// Feeds the datagrams of a QUIC connection's own socket to it, until the
// socket is closed or the connection is gone.
asio::awaitable<void> receive_datagrams(std::shared_ptr<asio::ip::udp::socket> socket,
                                        std::weak_ptr<quic::QuicConnection> weak) {
  std::array<std::uint8_t, 2048> buf{};
  asio::ip::udp::endpoint from;
  for (;;) {
    std::error_code ec;
    const auto n = co_await socket->async_receive_from(
        asio::buffer(buf), from, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !socket->is_open()) co_return;
    auto conn = weak.lock();
    if (!conn) co_return;
    if (!ec) conn->on_datagram(from, BytesView(buf.data(), n));
  }
}

}  // namespace

const tls::Credentials& PeerIdentity::tls_credentials() const {
  std::call_once(tls_once_, [this] {
    auto cert = tls::make_certificate(key);
    if (!cert) throw std::runtime_error("certificate: " + cert.message());
    auto creds = tls::Credentials::create(cert.value());
    if (!creds) throw std::runtime_error("credentials: " + creds.message());
    tls_.emplace(std::move(creds.value()));
  });
  return *tls_;
}

PeerIdentity::PeerIdentity(bool kad_server, const std::string& listen_addr)
    : key(Ed25519KeyPair::generate()), noise(key) {
  info.protocol_version = "ipfs/0.1.0";
  info.agent_version = "mp-loadgen";
  info.public_key = key.public_key();
  info.protocols = {std::string(identify::kProtocol), std::string(ping::kProtocol)};
  if (kad_server) {
    info.protocols.emplace_back(kKad);
    auto addr = Multiaddr::parse(listen_addr);
    if (!addr) throw std::invalid_argument("bad listen address " + listen_addr);
    info.listen_addrs.push_back(std::move(*addr));
  }
}

asio::awaitable<std::unique_ptr<Connection>> Connection::dial(
    const asio::ip::tcp::endpoint& target, const asio::ip::address& source,
    const PeerIdentity& self, std::chrono::milliseconds timeout, InboundProtocol extra) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::socket socket(ex);
  socket.open(target.protocol());
  if (!source.is_unspecified()) socket.bind(asio::ip::tcp::endpoint(source, 0));
  auto tcp = std::make_shared<net::TcpStream>(std::move(socket));
  net::Deadline deadline(ex, timeout, tcp);  // resets the socket: every step below throws
  co_await tcp->socket().async_connect(target, asio::use_awaitable);
  tcp->socket().set_option(asio::ip::tcp::no_delay(true));

  std::unique_ptr<net::ByteStream> plain = std::make_unique<net::PrefixedStream>(Bytes{}, tcp);
  auto sec = co_await multistream::negotiate_outbound(*plain, kNoise);
  plain = with_leftover(std::move(plain), std::move(sec.leftover));
  auto secured = co_await noise::secure_outbound(std::move(plain), self.noise);
  auto mux = co_await multistream::negotiate_outbound(*secured, kYamux);
  PeerId remote = secured->remote_peer();
  if (deadline.fired()) throw std::system_error(asio::error::timed_out, "setup timed out");

  auto state = std::make_shared<ConnectionState>(ex);
  state->identified.expires_at(std::chrono::steady_clock::time_point::max());
  state->extra = std::move(extra);
  auto session = yamux::Session::create(
      ex, with_leftover(std::move(secured), std::move(mux.leftover)), /*is_client=*/true);
  const identify::Info* ours = &self.info;
  session->start([ex, state, ours](std::shared_ptr<yamux::Stream> s) {
    asio::co_spawn(ex, serve_inbound(std::move(s), state, ours), asio::detached);
  });
  co_return std::unique_ptr<Connection>(
      new Connection(std::move(session), std::move(remote), std::move(state)));
}

asio::awaitable<std::unique_ptr<Connection>> Connection::dial(
    const asio::ip::tcp::endpoint& target, const asio::ip::address& source,
    const PeerIdentity& self, std::chrono::milliseconds timeout) {
  InboundProtocol none;
  co_return co_await dial(target, source, self, timeout, std::move(none));
}

asio::awaitable<std::unique_ptr<Connection>> Connection::dial_quic(
    const asio::ip::udp::endpoint& target, const asio::ip::address& source,
    const PeerIdentity& self, std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  auto socket = std::make_shared<asio::ip::udp::socket>(ex, target.protocol());
  if (!source.is_unspecified()) socket->bind(asio::ip::udp::endpoint(source, 0));
  else socket->bind(asio::ip::udp::endpoint(target.protocol(), 0));
  quic::ConnectionSettings settings;
  settings.handshake_timeout = timeout;
  quic::ConnectionEvents events;
  events.cid_added = [](const std::string&) {};  // one connection per socket: no routing
  events.cid_removed = [](const std::string&) {};
  events.established = [] {};
  events.terminated = [](const std::string&) {};
  std::weak_ptr<asio::ip::udp::socket> weak_socket = socket;
  auto created = quic::QuicConnection::connect(
      ex, socket->local_endpoint(), target, self.tls_credentials(), settings, std::nullopt,
      [weak_socket](const asio::ip::udp::endpoint& to, BytesView d) {
        auto s = weak_socket.lock();
        if (!s || !s->is_open()) return;
        std::error_code ec;  // a lost datagram is QUIC's to recover
        s->send_to(asio::buffer(d.data(), d.size()), to, 0, ec);
      },
      std::move(events));
  if (!created) throw std::runtime_error("quic: " + created.message());
  auto conn = created.value();
  asio::co_spawn(ex, receive_datagrams(socket, conn), asio::detached);
  conn->flush();
  co_await conn->wait_handshake();  // bounded by settings.handshake_timeout
  if (!conn->established()) {
    const std::string reason = conn->close_reason().empty() ? "handshake failed" : conn->close_reason();
    conn->abort(reason);
    socket->close();
    throw std::runtime_error("quic: " + reason);
  }
  auto state = std::make_shared<ConnectionState>(ex);
  state->identified.expires_at(std::chrono::steady_clock::time_point::max());
  const identify::Info* ours = &self.info;
  conn->start(
      [ex, state, ours](std::shared_ptr<net::ByteStream> s) {
        asio::co_spawn(ex, serve_inbound(std::move(s), state, ours), asio::detached);
      },
      [](const std::string&) {});
  PeerId remote = conn->peer()->peer;
  co_return std::unique_ptr<Connection>(
      new Connection(std::move(conn), std::move(socket), std::move(remote), std::move(state)));
}

asio::awaitable<std::unique_ptr<Connection>> Connection::dial(const Target& target,
                                                              const asio::ip::address& source,
                                                              const PeerIdentity& self,
                                                              std::chrono::milliseconds timeout) {
  if (target.quic) {
    co_return co_await dial_quic(
        asio::ip::udp::endpoint(target.endpoint.address(), target.endpoint.port()), source, self,
        timeout);
  }
  co_return co_await dial(target.endpoint, source, self, timeout);
}

Connection::Connection(std::shared_ptr<quic::QuicConnection> quic,
                       std::shared_ptr<asio::ip::udp::socket> socket, PeerId remote,
                       std::shared_ptr<ConnectionState> state)
    : quic_(std::move(quic)),
      udp_(std::move(socket)),
      remote_(std::move(remote)),
      state_(std::move(state)) {}

Connection::~Connection() {
  close();
  if (udp_) {
    std::error_code ec;
    udp_->close(ec);  // ends receive_datagrams
  }
}

bool Connection::is_closed() const {
  return session_ ? session_->is_closed() : quic_->terminated();
}

void Connection::close() {
  if (session_) {
    if (!session_->is_closed()) session_->close();
  } else {
    quic_->close();  // CONNECTION_CLOSE sent at once
  }
}

asio::awaitable<std::shared_ptr<net::ByteStream>> Connection::open(const std::string& protocol) {
  std::shared_ptr<net::ByteStream> stream;
  if (session_) {
    stream = co_await session_->open_stream();
  } else {
    stream = co_await quic_->open_stream();
  }
  const std::vector<std::string> proposals{protocol};
  auto agreed = co_await multistream::negotiate_outbound(*stream, proposals);
  if (agreed.leftover.empty()) co_return stream;
  co_return std::make_shared<net::PrefixedStream>(std::move(agreed.leftover), std::move(stream));
}

asio::awaitable<identify::Info> Connection::identify(std::chrono::milliseconds within) {
  auto stream = co_await open(std::string(identify::kProtocol));
  net::Deadline deadline(co_await asio::this_coro::executor, within, stream);
  co_return co_await identify::receive(*stream, remote_);
}

asio::awaitable<bool> Connection::wait_identified(std::chrono::milliseconds within) {
  if (!state_->identify_served) {
    state_->identified.expires_after(within);
    std::error_code ec;
    co_await state_->identified.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return state_->identify_served;
}

Target parse_target(const std::string& text, bool quic) {
  std::string host;
  std::string port;
  if (text.rfind("/ip4/", 0) == 0 || text.rfind("/ip6/", 0) == 0) {
    const auto a = text.find('/', 5);
    auto t = text.find("/tcp/", 5);
    if (t == std::string::npos) {
      t = text.find("/udp/", 5);
      const auto q = t == std::string::npos ? t : text.find('/', t + 5);
      if (q == std::string::npos || text.compare(q, 8, "/quic-v1") != 0) {
        throw std::invalid_argument("bad target " + text);
      }
      quic = true;
    } else if (quic) {
      throw std::invalid_argument("a QUIC target is /udp/P/quic-v1: " + text);
    }
    if (a == std::string::npos || t != a) throw std::invalid_argument("bad target " + text);
    host = text.substr(5, a - 5);
    const auto p = t + 5;
    port = text.substr(p, text.find('/', p) == std::string::npos ? std::string::npos
                                                                 : text.find('/', p) - p);
  } else {
    const auto c = text.rfind(':');
    if (c == std::string::npos) throw std::invalid_argument("bad target " + text);
    host = text.substr(0, c);
    port = text.substr(c + 1);
  }
  return {{asio::ip::make_address(host), static_cast<std::uint16_t>(std::stoi(port))}, quic};
}

}  // namespace mp::loadgen
