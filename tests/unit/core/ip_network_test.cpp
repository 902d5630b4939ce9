#include "core/ip_network.hpp"

#include <gtest/gtest.h>

namespace mp {
namespace {

TEST(IpNetwork, Ipv4DefaultsToSlash24) {
  EXPECT_EQ(ip_network("203.0.113.77"), "203.0.113.0/24");
  EXPECT_EQ(ip_network("203.0.113.0"), "203.0.113.0/24");
  EXPECT_NE(ip_network("203.0.113.77"), ip_network("203.0.114.77"));
}

TEST(IpNetwork, Ipv6DefaultsToSlash48) {
  EXPECT_EQ(ip_network("2001:db8:1:2::5"), "2001:db8:1::/48");
  EXPECT_EQ(ip_network("2001:db8:1:ffff:1:2:3:4"), "2001:db8:1::/48");
  EXPECT_NE(ip_network("2001:db8:1::1"), ip_network("2001:db8:2::1"));
}

TEST(IpNetwork, MappedIpv4CountsAsIpv4) {
  EXPECT_EQ(ip_network("::ffff:198.51.100.9"), "198.51.100.0/24");
}

TEST(IpNetwork, OtherPrefixLengths) {
  EXPECT_EQ(ip_network("10.1.2.3", 16, 32), "10.1.0.0/16");
  EXPECT_EQ(ip_network("10.1.2.3", 20, 32), "10.1.0.0/20");
  EXPECT_EQ(ip_network("10.1.31.3", 20, 32), "10.1.16.0/20");
  EXPECT_EQ(ip_network("10.1.2.3", 32, 128), "10.1.2.3/32");
  EXPECT_EQ(ip_network("2001:db8:abcd:12::1", 32, 32), "2001:db8::/32");
}

TEST(IpNetwork, NotAnAddressIsItsOwnNetwork) {
  EXPECT_EQ(ip_network("example.org"), "example.org");
  EXPECT_EQ(ip_network(""), "");
}

}  // namespace
}  // namespace mp
