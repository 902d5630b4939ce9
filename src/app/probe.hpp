// `mepassa-bootstrap probe <multiaddr/p2p/ID>`: dials any libp2p node,
// verifies its Peer ID in the Noise handshake, reads its identify, pings it
// and sends one Kademlia FIND_NODE; prints what it learned. Exit 0 on
// success; otherwise non-zero with the failing step named. Used as the
// container / systemd health check and by operators.
#pragma once

#include <ostream>

#include "app/config.hpp"

namespace mp::app {

int run_probe(const Config& config, std::ostream& out);

}  // namespace mp::app
