// The server's small helpers: loopback is decided from resolved addresses (issue 14: a name
// that merely looks local must not skip the no-auth refusal), and display rounding.
#include <gtest/gtest.h>

#include "server/server_util.h"

using vf::server::is_loopback_host;
using vf::server::round_to;

TEST(ServerUtil, LoopbackFromResolvedAddresses) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.3.4.5"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("[::1]"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("::"));
  EXPECT_FALSE(is_loopback_host("0"));  // inet_aton reads "0" as 0.0.0.0
  EXPECT_FALSE(is_loopback_host("10.1.2.3"));
  // Text that starts like a loopback address but is a name (which DNS could point anywhere):
  // the old text check called it loopback.
  EXPECT_FALSE(is_loopback_host("127.0.0.1.invalid"));
  EXPECT_FALSE(is_loopback_host(""));
}

TEST(ServerUtil, RoundForDisplay) {
  EXPECT_DOUBLE_EQ(round_to(0.123456789, 4), 0.1235);
  EXPECT_DOUBLE_EQ(round_to(12.34, 1), 12.3);
  EXPECT_DOUBLE_EQ(round_to(1.000022, 4), 1.0);
  EXPECT_DOUBLE_EQ(round_to(-0.00004, 4), -0.0);
}
