// Multiaddr (multiformats/multiaddr): self-describing network addresses in
// text ("/ip4/1.2.3.4/tcp/4001/p2p/12D3...") and binary form, round-tripping
// between the two. Unknown protocols or malformed values are errors.
//
// Callers may rely on:
//  - parse() and from_bytes() never throwing and never accepting something
//    to_string() / bytes() could not write back: every component is
//    validated, so a Multiaddr in hand always prints;
//  - bytes() being the canonical binary form (what goes on the wire);
//    equality and ordering compare these bytes;
//  - text output using the canonical spellings: inet_ntop for IPs, base58btc
//    for /p2p/ (CID text is accepted on input), multibase base64url ('u')
//    for /certhash/, "/p2p/" for the legacy "/ipfs/" name.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.hpp"
#include "core/result.hpp"

namespace mp {

class PeerId;

// multicodec codes of the protocols we understand (multiformats/multiaddr
// protocols.csv).
enum class Proto : std::uint32_t {
  kIp4 = 0x04,
  kTcp = 0x06,
  kDns = 0x35,
  kDns4 = 0x36,
  kDns6 = 0x37,
  kDnsaddr = 0x38,
  kUdp = 0x0111,
  kIp6 = 0x29,
  kIp6zone = 0x2a,
  kP2p = 0x01a5,
  kQuic = 0x01cc,
  kQuicV1 = 0x01cd,
  kWs = 0x01dd,
  kWss = 0x01de,
  kTls = 0x01c0,
  kNoise = 0x01c6,
  kP2pCircuit = 0x0122,
  kWebtransport = 0x01d1,
  kCerthash = 0x01d2,
  kWebrtcDirect = 0x0118,
  kWebrtc = 0x0119,
  kSni = 0x01c1,
  kHttp = 0x01e0,
  kHttps = 0x01bb,
};

// The protocol's text name ("ip4", "p2p-circuit", ...).
const char* proto_name(Proto p);

struct MultiaddrComponent {
  Proto proto;
  Bytes value;  // binary value (empty for protocols without one)
};

class Multiaddr {
 public:
  Multiaddr() = default;
  static Result<Multiaddr> parse(std::string_view text);
  static Result<Multiaddr> from_bytes(BytesView bytes);
  // Convenience constructor for TCP endpoints: `ip` is IPv4 or IPv6 text.
  // Returns an empty Multiaddr if `ip` is not an IP address.
  static Multiaddr ip_tcp(const std::string& ip, std::uint16_t port);

  std::string to_string() const;
  const Bytes& bytes() const { return bytes_; }
  const std::vector<MultiaddrComponent>& components() const { return components_; }
  bool empty() const { return components_.empty(); }

  // The value of the first component with `proto`, in text form (nullopt if
  // absent; an empty string for protocols without a value).
  std::optional<std::string> value_of(Proto proto) const;
  bool has(Proto proto) const;
  // The trailing /p2p/<id> if any.
  std::optional<PeerId> peer_id() const;
  // This address with a trailing /p2p/<id> removed (if present).
  Multiaddr without_peer_id() const;
  // This address ending in /p2p/<id>: a trailing /p2p/ already present is
  // replaced, so this is idempotent.
  Multiaddr with_peer_id(const PeerId& id) const;
  // This address followed by `other`'s components.
  Multiaddr encapsulate(const Multiaddr& other) const;

  // For /ip4|ip6/<ip>/tcp/<port>[/...]: host (IP text, no brackets) and port.
  // Further components (/ws, /p2p/..., /p2p-circuit) are allowed: callers that
  // want a plain TCP address check those themselves (e.g. is_circuit()).
  std::optional<std::pair<std::string, std::uint16_t>> tcp_endpoint() const;
  bool is_circuit() const;
  // Decided by the first ip4/ip6 component: loopback, unspecified, RFC 1918,
  // CGNAT (100.64/10), link-local, unique-local (fc00::/7), multicast,
  // documentation and reserved ranges, and IPv4-mapped IPv6 forms of those:
  // not something a peer on the internet could dial. Addresses without an IP
  // (DNS names) count as public.
  bool is_private_or_local() const;

  bool operator==(const Multiaddr& o) const { return bytes_ == o.bytes_; }
  // Out of line: GCC 12 raises a false -Wstringop-overread when vector<uint8_t>
  // comparison is inlined into callers.
  bool operator<(const Multiaddr& o) const;

 private:
  void push(Proto proto, Bytes value);

  std::vector<MultiaddrComponent> components_;
  Bytes bytes_;
};

}  // namespace mp

template <>
struct std::hash<mp::Multiaddr> {
  std::size_t operator()(const mp::Multiaddr& a) const noexcept;
};
