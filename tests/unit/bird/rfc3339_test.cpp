#include "bird/rfc3339.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

namespace bird_exporter {
namespace {

using std::chrono::nanoseconds;

// Expected instants are written as nanoseconds since the epoch so that a parse is checked
// exactly, not through FormatRfc3339.
SystemTime FromNanos(std::int64_t ns) {
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(nanoseconds(ns)));
}

constexpr std::int64_t kSeedCreatedAtSeconds = 1698253274;  // 2023-10-25T17:01:14Z

struct ValidCase {
  const char* text;
  std::int64_t epoch_nanos;
};

class ParseRfc3339ValidTest : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ParseRfc3339ValidTest, ParsesToExactInstant) {
  const auto& c = GetParam();
  const std::optional<SystemTime> parsed = ParseRfc3339(c.text);
  ASSERT_TRUE(parsed.has_value()) << c.text;
  EXPECT_EQ(parsed->time_since_epoch(), FromNanos(c.epoch_nanos).time_since_epoch()) << c.text;
}

constexpr std::int64_t kS = kSeedCreatedAtSeconds * 1'000'000'000;

INSTANTIATE_TEST_SUITE_P(
    FractionDigits, ParseRfc3339ValidTest,
    ::testing::Values(ValidCase{"2023-10-25T17:01:14Z", kS},
                      ValidCase{"2023-10-25T17:01:14.6Z", kS + 600'000'000},
                      ValidCase{"2023-10-25T17:01:14.77Z", kS + 770'000'000},
                      ValidCase{"2023-10-25T17:01:14.645Z", kS + 645'000'000},
                      ValidCase{"2023-10-25T17:01:14.6451Z", kS + 645'100'000},
                      ValidCase{"2023-10-25T17:01:14.64512Z", kS + 645'120'000},
                      ValidCase{"2023-10-25T17:01:14.645123Z", kS + 645'123'000},
                      ValidCase{"2023-10-25T17:01:14.6451237Z", kS + 645'123'700},
                      ValidCase{"2023-10-25T17:01:14.64512378Z", kS + 645'123'780},
                      ValidCase{"2023-10-25T17:01:14.645123789Z", kS + 645'123'789},
                      ValidCase{"2023-10-25T17:01:14.000000001Z", kS + 1},
                      ValidCase{"2023-10-25T17:01:14.0Z", kS}));

INSTANTIATE_TEST_SUITE_P(
    Zones, ParseRfc3339ValidTest,
    ::testing::Values(ValidCase{"2023-10-25T17:01:14.645+00:00", kS + 645'000'000},
                      ValidCase{"2023-10-25T17:01:14.645-00:00", kS + 645'000'000},
                      ValidCase{"2023-10-25T19:01:14.645+02:00", kS + 645'000'000},
                      ValidCase{"2023-10-25T12:31:14.645-04:30", kS + 645'000'000},
                      ValidCase{"2023-10-26T06:46:14.645+13:45", kS + 645'000'000},
                      ValidCase{"2023-10-24T18:01:14.645-23:00", kS + 645'000'000},
                      // An offset that moves the instant into the previous year.
                      ValidCase{"2024-01-01T00:30:00+01:00", 1'704'065'400'000'000'000}));

INSTANTIATE_TEST_SUITE_P(Separators, ParseRfc3339ValidTest,
                         ::testing::Values(ValidCase{"2023-10-25t17:01:14.645Z", kS + 645'000'000},
                                           ValidCase{"2023-10-25 17:01:14.645Z", kS + 645'000'000},
                                           ValidCase{"2023-10-25T17:01:14.645z",
                                                     kS + 645'000'000}));

INSTANTIATE_TEST_SUITE_P(
    Calendar, ParseRfc3339ValidTest,
    ::testing::Values(ValidCase{"1970-01-01T00:00:00Z", 0},
                      ValidCase{"1970-01-01T00:00:00.000000001Z", 1},
                      ValidCase{"1969-12-31T23:59:59.5Z", -500'000'000},
                      ValidCase{"1900-01-01T00:00:00Z", -2'208'988'800'000'000'000},
                      ValidCase{"2024-02-29T00:00:00Z", 1'709'164'800'000'000'000},
                      ValidCase{"2000-02-29T12:00:00Z", 951'825'600'000'000'000},
                      ValidCase{"2023-12-31T23:59:59Z", 1'704'067'199'000'000'000}));

class ParseRfc3339InvalidTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ParseRfc3339InvalidTest, RejectsInvalidText) {
  EXPECT_EQ(ParseRfc3339(GetParam()), std::nullopt) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(MissingParts, ParseRfc3339InvalidTest,
                         ::testing::Values("", "2023-10-25", "2023-10-25T17:01:14",
                                           "2023-10-25T17:01:14.645", "2023-10-25T17:01Z",
                                           "2023-10-25TZ", "T17:01:14Z", "2023-10-25T17:01:14.Z",
                                           "2023-10-25T17:01:14+02", "2023-10-25T17:01:14+02:"));

INSTANTIATE_TEST_SUITE_P(BadFields, ParseRfc3339InvalidTest,
                         ::testing::Values("2023-13-01T00:00:00Z", "2023-00-10T00:00:00Z",
                                           "2023-10-00T00:00:00Z", "2023-10-32T00:00:00Z",
                                           "2023-04-31T00:00:00Z", "2023-02-29T00:00:00Z",
                                           "1900-02-29T00:00:00Z", "2023-10-25T24:00:00Z",
                                           "2023-10-25T23:60:00Z", "2023-10-25T23:59:60Z",
                                           "2023-10-25T17:01:14+24:00",
                                           "2023-10-25T17:01:14+02:60"));

INSTANTIATE_TEST_SUITE_P(
    BadSyntax, ParseRfc3339InvalidTest,
    ::testing::Values("2023-10-25T17:01:14.6451237890Z", "2023-10-25T17:01:14Zx",
                      "2023-10-25T17:01:14Z ", " 2023-10-25T17:01:14Z", "2023-10-25_17:01:14Z",
                      "2023-10-25TT17:01:14Z", "2023-10-25T17:01:14,645Z",
                      "2023-10-25T17:01:14+0200", "23-10-25T17:01:14Z", "2023-1-25T17:01:14Z",
                      "2023-10-25T17:1:14Z", "+2023-10-25T17:01:14Z", "2023/10/25T17:01:14Z",
                      "2023-10-25T17:01:14.64a5Z", "2023-10-25T17:01:14 Z",
                      "2023-10-25T17:01:14UTC", "2023-10-25T17:01:14GMT+02:00", "yesterday"));

TEST(ParseRfc3339Test, RejectsInstantsTheClockCannotHold) {
  if (!std::is_same_v<SystemTime::duration, nanoseconds>) {
    GTEST_SKIP() << "range limits below assume a 64-bit nanosecond system_clock";
  }
  EXPECT_EQ(ParseRfc3339("9999-12-31T23:59:59Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("0000-01-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("2262-04-12T00:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseRfc3339("1677-09-21T00:00:00Z"), std::nullopt);
  EXPECT_NE(ParseRfc3339("2262-04-11T00:00:00Z"), std::nullopt);
  EXPECT_NE(ParseRfc3339("1677-09-22T00:00:00Z"), std::nullopt);
}

struct FormatCase {
  std::int64_t epoch_nanos;
  const char* expected;
};

class FormatRfc3339Test : public ::testing::TestWithParam<FormatCase> {};

TEST_P(FormatRfc3339Test, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(FromNanos(GetParam().epoch_nanos)), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Instants, FormatRfc3339Test,
    ::testing::Values(FormatCase{0, "1970-01-01T00:00:00.000Z"},
                      FormatCase{kS + 645'000'000, "2023-10-25T17:01:14.645Z"},
                      FormatCase{kS + 770'000'000, "2023-10-25T17:01:14.770Z"},
                      // Sub-millisecond digits are cut, never rounded up into the next second.
                      FormatCase{kS + 999'999'999, "2023-10-25T17:01:14.999Z"},
                      FormatCase{1'709'164'800'000'000'000, "2024-02-29T00:00:00.000Z"},
                      FormatCase{1'704'067'199'000'000'000, "2023-12-31T23:59:59.000Z"},
                      // Before the epoch the floor is still the earlier millisecond.
                      FormatCase{-500'000'000, "1969-12-31T23:59:59.500Z"},
                      FormatCase{-1, "1969-12-31T23:59:59.999Z"},
                      FormatCase{-2'208'988'800'000'000'000, "1900-01-01T00:00:00.000Z"}));

TEST(FormatRfc3339Test, NormalisesOffsetsToUtc) {
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2023-10-25T19:01:14.645+02:00")),
            "2023-10-25T17:01:14.645Z");
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2024-01-01T00:30:00+01:00")), "2023-12-31T23:30:00.000Z");
}

TEST(FormatRfc3339Test, RoundTripsEveryDayFrom1900To2200) {
  // Every day at a time with all fields non-zero: checks both calendar conversions against
  // each other, including every leap-year rule (1900 no, 2000 yes, 2100 no).
  const std::int64_t first_day = -2'208'988'800 / 86400;
  const std::int64_t last_day = 7'258'118'400 / 86400;  // 2200-01-01
  int failures = 0;
  for (std::int64_t day = first_day; day <= last_day && failures < 5; ++day) {
    const SystemTime t =
        FromNanos((day * 86400 + 13 * 3600 + 37 * 60 + 42) * 1'000'000'000 + 123'000'000);
    const std::string text = FormatRfc3339(t);
    const auto back = ParseRfc3339(text);
    if (!back.has_value() || *back != t) {
      ADD_FAILURE() << "day " << day << " formatted as " << text << " does not round-trip";
      ++failures;
    }
  }
}

struct UnixSecondsCase {
  std::int64_t epoch_nanos;
  double expected;
};

class ToUnixSecondsTest : public ::testing::TestWithParam<UnixSecondsCase> {};

TEST_P(ToUnixSecondsTest, ConvertsToFractionalSeconds) {
  EXPECT_DOUBLE_EQ(ToUnixSeconds(FromNanos(GetParam().epoch_nanos)), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Instants, ToUnixSecondsTest,
                         ::testing::Values(UnixSecondsCase{0, 0.0},
                                           UnixSecondsCase{1'500'000'000, 1.5},
                                           UnixSecondsCase{-500'000'000, -0.5},
                                           UnixSecondsCase{kS + 645'000'000, 1698253274.645}));

}  // namespace
}  // namespace bird_exporter
