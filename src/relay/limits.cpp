#include "relay/limits.hpp"

#include <array>

#include "core/ip_network.hpp"

namespace mp::relay {

const char* limit_name(LimitHit hit) {
  static constexpr std::array<const char*, static_cast<std::size_t>(LimitHit::kCount)> kNames{
      "none", "total", "peer", "ip", "subnet"};
  const auto i = static_cast<std::size_t>(hit);
  return i < kNames.size() ? kNames[i] : "unknown";
}

std::string relay_subnet(const std::string& ip) {
  return ip_network(ip, 24, 48);
}

}  // namespace mp::relay
