// identify::Info: what a remote says about itself in an Identify message
// (libp2p/specs identify/README.md), as we keep it. Plain data with no I/O:
// the host's IdentifyReceived event carries it, so the host includes this
// header (and nothing else of identify).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/keys.hpp"
#include "core/multiaddr.hpp"

namespace mp::identify {

struct Info {
  std::string protocol_version;
  std::string agent_version;
  std::optional<PublicKey> public_key;
  std::vector<Multiaddr> listen_addrs;
  std::optional<Multiaddr> observed_addr;
  std::vector<std::string> protocols;
  // Entries we could not decode (kept for the log line, not for use).
  std::size_t invalid_addrs = 0;
  // Entries over the kMaxKept* bounds (or protocol names too long).
  std::size_t dropped = 0;

  // Bytes this Info holds on the heap (approximately), for memory accounting.
  std::size_t kept_bytes() const;
};

}  // namespace mp::identify
