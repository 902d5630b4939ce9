#include "app/probe.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "host/host.hpp"
#include "kad/protocol.hpp"
#include "net/buffered_reader.hpp"
#include "identify/service.hpp"
#include "ping/ping.hpp"
#include "ping/service.hpp"

namespace mp::app {
namespace {

// Exit codes name the failing step.
enum ProbeExit { kOk = 0, kUsage = 2, kDial = 3, kIdentify = 4, kPing = 5, kFindNode = 6 };

asio::awaitable<int> probe(host::Host& host, const identify::Service& identify,
                           const Multiaddr& target, const Config& config, std::ostream& out) {
  auto ex = co_await asio::this_coro::executor;
  const auto peer = target.peer_id();
  std::shared_ptr<host::Connection> conn;
  try {
    conn = co_await host.dial(target);
  } catch (const std::exception& e) {
    out << "FAIL dial: " << e.what() << "\n";
    co_return kDial;
  }
  out << "ok   connected: peer id " << conn->remote_peer().to_base58() << " verified (Noise, "
      << key_type_name(conn->remote_public_key().type()) << " key), yamux\n";

  // Identify runs by itself on every new connection: wait for it.
  asio::steady_timer t(ex);
  for (int i = 0; i < 100 && !identify.info(conn->id()) && conn->is_open(); ++i) {
    t.expires_after(std::chrono::milliseconds(50));
    std::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  const identify::Info* info = identify.info(conn->id());
  if (!info) {
    out << "FAIL identify: no identify answer within 5 s\n";
    co_return kIdentify;
  }
  out << "ok   identify: agent '" << info->agent_version << "', protocol version '"
      << info->protocol_version << "'\n";
  for (const auto& a : info->listen_addrs) out << "       listen " << a.to_string() << "\n";
  if (info->observed_addr) out << "       observed us as " << info->observed_addr->to_string() << "\n";
  out << "       protocols:";
  for (const auto& p : info->protocols) out << " " << p;
  out << "\n";

  try {
    std::vector<std::string> protos{std::string(ping::kProtocol)};
    auto s = co_await conn->open_stream(std::move(protos));
    const auto rtt = co_await ping::ping_once(*s.stream);
    co_await s.stream->close_write();
    out << "ok   ping: " << static_cast<double>(rtt.count()) / 1000.0 << " ms\n";
  } catch (const std::exception& e) {
    out << "FAIL ping: " << e.what() << "\n";
    co_return kPing;
  }

  try {
    auto s = co_await conn->open_stream(config.kad_protocols);
    const auto request = kad::make_find_node(host.local_peer().bytes());
    co_await net::write_length_prefixed(*s.stream, kad::encode_message(request));
    net::BufferedReader reader(*s.stream);
    auto raw = co_await reader.read_length_prefixed(1 << 20);
    if (!raw) throw std::runtime_error("stream closed without an answer");
    auto response = kad::decode_message(*raw);
    if (!response) throw std::runtime_error(response.message());
    if (response->type() != kad::pb::Message_MessageType_FIND_NODE) {
      throw std::runtime_error("answer is not a FIND_NODE response");
    }
    kad::AddressPolicy policy{true, 64};
    auto peers = kad::parse_peers(response->closerpeers(), policy);
    out << "ok   find_node (" << s.protocol << "): " << peers.size() << " closer peers\n";
    for (const auto& p : peers) {
      out << "       " << p.id.to_base58();
      for (const auto& a : p.addrs) out << " " << a.to_string();
      out << "\n";
    }
    co_await s.stream->close_write();
  } catch (const std::exception& e) {
    out << "FAIL find_node: " << e.what() << "\n";
    co_return kFindNode;
  }
  (void)peer;
  conn->close("probe done");
  co_return kOk;
}

}  // namespace

int run_probe(const Config& config, std::ostream& out) {
  if (!config.probe_target || !config.probe_target->peer_id()) {
    out << "FAIL usage: probe needs a multiaddr ending in /p2p/<peer id>\n";
    return kUsage;
  }
  asio::io_context io;
  host::HostConfig hc;
  hc.handshake_timeout = std::chrono::seconds(10);
  hc.dial_timeout = std::chrono::seconds(10);
  host::Host host(io.get_executor(), hc, Ed25519KeyPair::generate());
  identify::Service identify(host);  // we ask and answer like any libp2p node
  ping::Service ping(host);
  int rc = kDial;
  asio::co_spawn(io, probe(host, identify, *config.probe_target, config, out), [&](std::exception_ptr e, int r) {
    rc = e ? kDial : r;
    io.stop();
  });
  io.run_for(std::chrono::seconds(30));
  if (!io.stopped()) out << "FAIL timeout: the probe did not finish within 30 s\n";
  return rc;
}

}  // namespace mp::app
