// Multiaddr (multiformats/multiaddr): self-describing network addresses in
// text ("/ip4/1.2.3.4/tcp/4001/p2p/12D3...") and binary form, round-tripping
// between the two. Unknown protocols or malformed values are errors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/result.hpp"

namespace mp {

class PeerId;

// multicodec codes of the protocols we understand.
enum class Proto : std::uint32_t {
  kIp4 = 0x04, kTcp = 0x06, kDns = 0x35, kDns4 = 0x36, kDns6 = 0x37, kDnsaddr = 0x38,
  kUdp = 0x0111, kIp6 = 0x29, kIp6zone = 0x2a, kP2p = 0x01a5, kQuic = 0x01cc,
  kQuicV1 = 0x01cd, kWs = 0x01dd, kWss = 0x01de, kTls = 0x01c0, kNoise = 0x01c6,
  kP2pCircuit = 0x0122, kWebtransport = 0x01d1, kCerthash = 0x01d2,
  kWebrtcDirect = 0x0118, kWebrtc = 0x0119, kSni = 0x01c1, kHttp = 0x01e0,
};

struct MultiaddrComponent {
  Proto proto;
  Bytes value;  // binary value (empty for protocols without one)
};

class Multiaddr {
 public:
  Multiaddr() = default;
  static Result<Multiaddr> parse(std::string_view text);
  static Result<Multiaddr> from_bytes(BytesView bytes);
  // Convenience constructors for TCP endpoints.
  static Multiaddr ip_tcp(const std::string& ip, std::uint16_t port);  // ip4 or ip6 text

  std::string to_string() const;
  const Bytes& bytes() const { return bytes_; }
  const std::vector<MultiaddrComponent>& components() const { return components_; }
  bool empty() const { return components_.empty(); }

  // The value of the first component with `proto`, in text form.
  std::optional<std::string> value_of(Proto proto) const;
  // The trailing /p2p/<id> if any.
  std::optional<PeerId> peer_id() const;
  // This address with a trailing /p2p/<id> removed (if present).
  Multiaddr without_peer_id() const;
  // This address with /p2p/<id> appended.
  Multiaddr with_peer_id(const PeerId& id) const;
  Multiaddr encapsulate(const Multiaddr& other) const;

  // For /ip4|ip6/<ip>/tcp/<port>[...]: host (text) and port.
  std::optional<std::pair<std::string, std::uint16_t>> tcp_endpoint() const;
  bool is_circuit() const;
  // Loopback, RFC1918, CGNAT, link-local, unique-local, unspecified: not
  // something a peer on the internet could dial. DNS names count as public.
  bool is_private_or_local() const;

  bool operator==(const Multiaddr& o) const { return bytes_ == o.bytes_; }
  bool operator<(const Multiaddr& o) const { return bytes_ < o.bytes_; }

 private:
  std::vector<MultiaddrComponent> components_;
  Bytes bytes_;
};

}  // namespace mp
