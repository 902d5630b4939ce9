// The error categories of the connection stack: one name per layer, a
// message per code (the host classifies failures by category and value).
#include <gtest/gtest.h>

#include "host/error.hpp"
#include "multistream/error.hpp"
#include "net/error.hpp"
#include "noise/error.hpp"
#include "yamux/error.hpp"

namespace mp {
namespace {

TEST(ErrorCodes, EachLayerHasItsCategoryAndAMessagePerCode) {
  EXPECT_STREQ(std::error_code(net::Errc::malformed_varint).category().name(), "net");
  EXPECT_STREQ(std::error_code(multistream::Errc::not_supported).category().name(), "multistream");
  EXPECT_STREQ(std::error_code(noise::Errc::peer_id_mismatch).category().name(), "noise");
  EXPECT_STREQ(std::error_code(yamux::Errc::stream_reset).category().name(), "yamux");
  EXPECT_STREQ(std::error_code(host::Errc::connection_refused).category().name(), "host");

  // Messages follow the enum order (the tables count from 1).
  EXPECT_EQ(std::error_code(net::Errc::malformed_varint).message(), "malformed varint");
  EXPECT_EQ(std::error_code(multistream::Errc::nothing_to_propose).message(), "no protocol to propose");
  EXPECT_EQ(std::error_code(noise::Errc::channel_failed).message(), "noise channel failed earlier");
  EXPECT_EQ(std::error_code(noise::Errc::peer_id_mismatch).message(),
            "remote peer id does not match the dialled one");
  EXPECT_EQ(std::error_code(yamux::Errc::stream_ids_exhausted).message(), "yamux stream ids exhausted");
  EXPECT_EQ(std::error_code(99, noise::error_category()).message(), "unknown noise error");

  // Equal values of different layers are different errors.
  EXPECT_NE(std::error_code(net::Errc::protocol_violation),
            std::error_code(noise::Errc::handshake_failed));
}

}  // namespace
}  // namespace mp
