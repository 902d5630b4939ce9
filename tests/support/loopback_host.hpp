// HostConfig for in-process tests: one listener on 127.0.0.1 with an
// ephemeral port, and no periodic pings (tests ping explicitly).
#pragma once

#include <chrono>

#include "host/host.hpp"

namespace mp::test {

inline host::HostConfig loopback_config() {
  host::HostConfig c;
  c.listen_addrs = {*Multiaddr::parse("/ip4/127.0.0.1/tcp/0")};
  c.ping_interval = std::chrono::hours(1);
  return c;
}

}  // namespace mp::test
