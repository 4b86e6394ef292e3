#include "config/duration.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>

namespace bird_exporter {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

struct ParseCase {
  std::string text;
  Duration expected;
};

void PrintTo(const ParseCase& c, std::ostream* os) { *os << '"' << c.text << '"'; }

class ParseDurationAccepts : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseDurationAccepts, ValidDuration) {
  const std::optional<Duration> d = ParseDuration(GetParam().text);
  ASSERT_TRUE(d.has_value()) << GetParam().text;
  EXPECT_EQ(*d, GetParam().expected) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Units, ParseDurationAccepts,
    ::testing::Values(ParseCase{"0s", Duration::zero()}, ParseCase{"0ms", Duration::zero()},
                      ParseCase{"500ms", milliseconds(500)}, ParseCase{"30s", seconds(30)},
                      ParseCase{"10m", minutes(10)}, ParseCase{"6h", hours(6)},
                      ParseCase{"1d", days(1)}, ParseCase{"2w", days(14)},
                      ParseCase{"1y", days(365)}, ParseCase{"90s", seconds(90)},
                      ParseCase{"007s", seconds(7)}));

INSTANTIATE_TEST_SUITE_P(
    Combined, ParseDurationAccepts,
    ::testing::Values(ParseCase{"1h30m", minutes(90)},
                      ParseCase{"1m30s500ms", milliseconds(90'500)},
                      ParseCase{"1y2w3d4h5m6s7ms", days(365 + 14 + 3) + hours(4) + minutes(5) +
                                                       seconds(6) + milliseconds(7)},
                      ParseCase{"1d12h", hours(36)}, ParseCase{"1h0m", hours(1)}));

class ParseDurationRejects : public ::testing::TestWithParam<std::string> {};

TEST_P(ParseDurationRejects, InvalidDuration) {
  EXPECT_EQ(ParseDuration(GetParam()), std::nullopt) << '"' << GetParam() << '"';
}

INSTANTIATE_TEST_SUITE_P(Malformed, ParseDurationRejects,
                         ::testing::Values("", "s", "ms", "30", "0", "-5s", "+5s", "1.5s", "1,5s",
                                           " 30s", "30s ", "30 s", "10 seconds", "30S", "1H", "5x",
                                           "1h 30m", "h1", "1hm"));

INSTANTIATE_TEST_SUITE_P(OrderAndRepeats, ParseDurationRejects,
                         ::testing::Values("30s1m", "1ms1s", "1d1w", "1w1y", "1m1h", "1s1s", "1h2h",
                                           "1m1m", "1ms1ms", "1h30"));

INSTANTIATE_TEST_SUITE_P(Overflow, ParseDurationRejects,
                         ::testing::Values("9223372036854775808ms", "99999999999999999999s",
                                           "300000000y", "9223372036854776s", "292471208y1000w"));

TEST(ParseDuration, AcceptsLargestRepresentableMilliseconds) {
  EXPECT_EQ(ParseDuration("9223372036854775807ms"), Duration(std::numeric_limits<int64_t>::max()));
}

struct FormatCase {
  Duration duration;
  std::string expected;
};

void PrintTo(const FormatCase& c, std::ostream* os) { *os << c.duration.count() << "ms"; }

class FormatDurationGives : public ::testing::TestWithParam<FormatCase> {};

TEST_P(FormatDurationGives, ShortestForm) {
  EXPECT_EQ(FormatDuration(GetParam().duration), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FormatDurationGives,
    ::testing::Values(FormatCase{Duration::zero(), "0s"}, FormatCase{milliseconds(500), "500ms"},
                      FormatCase{seconds(30), "30s"}, FormatCase{milliseconds(90'000), "1m30s"},
                      FormatCase{milliseconds(90'500), "1m30s500ms"}, FormatCase{minutes(60), "1h"},
                      FormatCase{minutes(90), "1h30m"}, FormatCase{hours(6), "6h"},
                      FormatCase{hours(36), "1d12h"}, FormatCase{days(14), "2w"},
                      FormatCase{days(365), "1y"},
                      // Years and weeks only when exact, as Prometheus prints them.
                      FormatCase{days(90), "90d"}, FormatCase{days(366), "366d"},
                      FormatCase{days(730), "2y"}, FormatCase{hours(24 * 7 + 1), "7d1h"},
                      FormatCase{seconds(-30), "-30s"}));

TEST(FormatDuration, RoundTripsThroughParse) {
  for (const char* text : {"1m30s500ms", "1h30m", "10m", "15m", "6h", "2w", "1y", "90d", "1ms"}) {
    const std::optional<Duration> d = ParseDuration(text);
    ASSERT_TRUE(d.has_value()) << text;
    EXPECT_EQ(FormatDuration(*d), text);
  }
}

}  // namespace
}  // namespace bird_exporter
