#include "quic/address.hpp"

namespace mp::quic {

std::optional<std::pair<std::string, std::uint16_t>> quic_endpoint(const Multiaddr& ma) {
  const auto& c = ma.components();
  if (c.size() < 3 || (c[0].proto != Proto::kIp4 && c[0].proto != Proto::kIp6) ||
      c[1].proto != Proto::kUdp || c[2].proto != Proto::kQuicV1)
    return std::nullopt;
  auto ip = ma.value_of(c[0].proto);
  auto port = ma.value_of(Proto::kUdp);
  if (!ip || !port) return std::nullopt;
  unsigned long p = 0;
  try {
    p = std::stoul(*port);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (p > 65535) return std::nullopt;
  return std::make_pair(*ip, static_cast<std::uint16_t>(p));
}

Multiaddr quic_multiaddr(const std::string& ip, std::uint16_t port) {
  const bool v6 = ip.find(':') != std::string::npos;
  auto ma = Multiaddr::parse((v6 ? "/ip6/" : "/ip4/") + ip + "/udp/" + std::to_string(port) +
                             "/quic-v1");
  return ma ? std::move(ma.value()) : Multiaddr{};
}

std::string endpoint_ip(const asio::ip::udp::endpoint& ep) {
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  }
  return addr.to_string();
}

}  // namespace mp::quic
