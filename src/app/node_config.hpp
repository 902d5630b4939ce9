// The modules' configurations from the node's Config: each module has its
// own struct with defaults equal to the options table's (checked at compile
// time in node_config.cpp), so a module used on its own (tests, tools)
// behaves as the node does.
#pragma once

#include "app/config.hpp"
#include "host/host_config.hpp"
#include "kad/kademlia.hpp"
#include "relay/limits.hpp"

namespace mp::app {

host::HostConfig host_config(const Config& c);
relay::RelayLimits relay_limits(const Config& c);
kad::KadConfig kad_config(const Config& c);

}  // namespace mp::app
