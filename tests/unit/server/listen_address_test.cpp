#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "server/http_listener.h"
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

TEST(PercentDecode, DecodesEscapesAndPlusWhereAsked) {
  EXPECT_EQ(PercentDecode("a%2Fb%20c+d", true), "a/b c d");
  EXPECT_EQ(PercentDecode("a%2Fb%20c+d", false), "a/b c+d");
  EXPECT_EQ(PercentDecode("%e2%82%AC", false), "\xe2\x82\xac");
  EXPECT_EQ(PercentDecode("", false), "");
  EXPECT_EQ(PercentDecode("nul%00byte", false), std::string("nul\0byte", 8));
}

TEST(PercentDecode, RefusesATruncatedOrNonHexEscape) {
  for (const char* bad : {"%", "%4", "a%zz", "%4g", "x%"}) {
    EXPECT_EQ(PercentDecode(bad, false), std::nullopt) << bad;
  }
}

TEST(QueryParameter, FindsTheNthOccurrenceDecoded) {
  const std::string query = "limit=25&pageToken=a%2Bb%3D&status=ended&status=ongoing&flag";
  EXPECT_EQ(QueryParameter(query, "limit"), "25");
  EXPECT_EQ(QueryParameter(query, "pageToken"), "a+b=");
  EXPECT_EQ(QueryParameter(query, "status", 0), "ended");
  EXPECT_EQ(QueryParameter(query, "status", 1), "ongoing");
  EXPECT_EQ(QueryParameter(query, "status", 2), std::nullopt);
  EXPECT_EQ(QueryParameter(query, "flag"), "");
  EXPECT_EQ(QueryParameter(query, "missing"), std::nullopt);
  EXPECT_EQ(QueryParameter("", "limit"), std::nullopt);
  EXPECT_EQ(QueryParameter("limit=%zz", "limit"), std::nullopt);
}

TEST(ParseQuery, KeepsOrderAndEmptyParts) {
  const auto params = ParseQuery("b=2&a=1&&c");
  ASSERT_TRUE(params.has_value());
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"b", "2"}, {"a", "1"}, {"", ""}, {"c", ""}};
  EXPECT_EQ(*params, expected);
}

}  // namespace
}  // namespace bird_exporter
