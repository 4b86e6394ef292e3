#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "server/server.h"

namespace bird_exporter {
namespace {

using ::testing::HasSubstr;

struct AddressCase {
  const char* listen_address;
  const char* host;
  unsigned short port;
};

class ListenAddressTest : public ::testing::TestWithParam<AddressCase> {};

TEST_P(ListenAddressTest, SplitsHostAndPort) {
  const ListenAddress parsed = ParseListenAddress(GetParam().listen_address);
  EXPECT_EQ(parsed.host, GetParam().host);
  EXPECT_EQ(parsed.port, GetParam().port);
}

INSTANTIATE_TEST_SUITE_P(Valid, ListenAddressTest,
                         ::testing::Values(AddressCase{":9842", "", 9842}, AddressCase{":0", "", 0},
                                           AddressCase{":65535", "", 65535},
                                           AddressCase{"127.0.0.1:0", "127.0.0.1", 0},
                                           AddressCase{"0.0.0.0:9842", "0.0.0.0", 9842},
                                           AddressCase{"localhost:9842", "localhost", 9842},
                                           AddressCase{"[::1]:9842", "::1", 9842},
                                           AddressCase{"[::]:80", "::", 80}));

class BadListenAddressTest : public ::testing::TestWithParam<const char*> {};

TEST_P(BadListenAddressTest, RejectsAddress) {
  try {
    ParseListenAddress(GetParam());
    FAIL() << "accepted \"" << GetParam() << '"';
  } catch (const ListenAddressError& e) {
    EXPECT_THAT(e.what(), HasSubstr("--web.listen-address"));
  }
}

INSTANTIATE_TEST_SUITE_P(BadPort, BadListenAddressTest,
                         ::testing::Values("", "9842", "localhost", ":", "127.0.0.1:", ":65536",
                                           ":-1", ":+80", ":http", ":98 42", ": 9842", ":9842 ",
                                           "[::1]", "127.0.0.1:99999"));

INSTANTIATE_TEST_SUITE_P(BadIpv6, BadListenAddressTest,
                         ::testing::Values("::1:9842", "fe80::1:80", "[::1:9842", "::9842"));

TEST(ListenAddressErrorTest, TellsHowToWriteIpv6Hosts) {
  try {
    ParseListenAddress("::1:9842");
    FAIL() << "accepted an unbracketed IPv6 host";
  } catch (const ListenAddressError& e) {
    EXPECT_THAT(e.what(), HasSubstr("[::1]:9842"));
  }
}

}  // namespace
}  // namespace bird_exporter
