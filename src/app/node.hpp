// Node: the bootstrap node itself. Wires the libp2p host, Kademlia, the peer
// store and the HTTP side together according to a Config, and runs until
// SIGINT/SIGTERM. Data flows one way: host events -> protocol logic -> peer
// store; the network thread never waits on disk.
#pragma once

#include "app/config.hpp"

namespace mp::app {

// Runs the node; returns the process exit code (0 after a clean shutdown).
int run_node(const Config& config);

}  // namespace mp::app
