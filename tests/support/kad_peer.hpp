// KadPeer: a loopback Kademlia peer for in-process tests, wired as
// app/node.cpp wires the node: a Host with the identify and ping services,
// Kademlia served on kad::kDefaultProtocol and, with `feed_identify`, every
// identify fed to the routing table (a Kademlia server if it lists the
// protocol). The one copy of that wiring the kad and app tests share.
#pragma once

#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include "host/host.hpp"
#include "identify/service.hpp"
#include "kad/kademlia.hpp"
#include "kad/server.hpp"
#include "ping/service.hpp"
#include "support/loopback_host.hpp"

namespace mp::test {

class KadPeer {
 public:
  KadPeer(asio::io_context& io, kad::KadConfig config, host::HostConfig host_config = loopback_config(),
          bool feed_identify = true)
      : host(io.get_executor(), std::move(host_config), Ed25519KeyPair::generate()),
        identify(host),
        ping(host),
        kad(host.local_peer(), std::move(config), kad::Clock::now()) {
    host.set_handler(std::string(kad::kDefaultProtocol),
                     [this](host::StreamContext ctx) { return serve(this, std::move(ctx)); });
    if (feed_identify) {
      host.events().subscribe([this](const host::Event& e) {
        if (const auto* id = std::get_if<host::IdentifyReceived>(&e)) {
          bool supports = false;
          for (const auto& p : id->info.protocols) supports = supports || p == kad::kDefaultProtocol;
          (void)kad.on_peer_identified(id->peer, id->info.listen_addrs, supports, kad::Clock::now());
        }
      });
    }
    EXPECT_TRUE(host.listen().ok());
  }

  Multiaddr addr() const { return host.listen_addrs().at(0).with_peer_id(host.local_peer()); }

  host::Host host;
  identify::Service identify;
  ping::Service ping;
  kad::Kademlia kad;

 private:
  // A named coroutine: GCC 12 miscompiles coroutine lambdas taking arguments by value.
  static asio::awaitable<void> serve(KadPeer* p, host::StreamContext ctx) {
    co_await kad::serve_stream(p->kad, ctx.stream, ctx.connection->remote_peer());
  }
};

}  // namespace mp::test
