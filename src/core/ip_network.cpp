#include "core/ip_network.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

namespace mp {
namespace {

// Clears every bit after the first `bits`.
void mask(std::span<std::uint8_t> addr, unsigned bits) {
  for (std::size_t i = 0; i < addr.size(); ++i) {
    const unsigned keep = bits > i * 8 ? bits - static_cast<unsigned>(i * 8) : 0;
    if (keep < 8) addr[i] &= static_cast<std::uint8_t>(0xff00u >> keep);
  }
}

}  // namespace

std::string ip_network(const std::string& ip, unsigned v4_prefix_bits, unsigned v6_prefix_bits) {
  std::array<std::uint8_t, 16> a{};
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_pton(AF_INET, ip.c_str(), a.data()) == 1) {
    mask(std::span(a.data(), 4), v4_prefix_bits);
    inet_ntop(AF_INET, a.data(), text, sizeof text);
    return std::string(text) + "/" + std::to_string(v4_prefix_bits);
  }
  if (inet_pton(AF_INET6, ip.c_str(), a.data()) == 1) {
    static constexpr std::array<std::uint8_t, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped.begin(), kMapped.end(), a.begin())) {
      inet_ntop(AF_INET, a.data() + 12, text, sizeof text);
      return ip_network(text, v4_prefix_bits, v6_prefix_bits);
    }
    mask(a, v6_prefix_bits);
    inet_ntop(AF_INET6, a.data(), text, sizeof text);
    return std::string(text) + "/" + std::to_string(v6_prefix_bits);
  }
  return ip;
}

}  // namespace mp
