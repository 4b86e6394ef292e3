#include "metrics/process_collector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>

namespace bird_exporter {
namespace {

// /proc/self/stat of a process whose command name holds spaces and parentheses, including a
// ") S" that would fool a parser splitting at the first ')'. Fields 14/15 (utime/stime) are
// 250/130 ticks, 22 (starttime) 98765 ticks, 23 (vsize) 734003200 bytes, 24 (rss) 2048 pages.
constexpr const char* kStat =
    "4242 (bird (call) S 1 2 exporter) S 1 4242 4242 0 -1 4194560 1523 0 2 0 250 130 7 3 20 0 6 "
    "0 98765 734003200 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n";

TEST(ParseProcSelfStatTest, ParsesFieldsAfterCommandName) {
  const ProcessStats stats = ParseProcSelfStat(kStat, 100, 4096, 1'700'000'000);
  EXPECT_DOUBLE_EQ(stats.cpu_seconds, 3.8);                      // (250 + 130) / 100
  EXPECT_DOUBLE_EQ(stats.start_time_seconds, 1'700'000'987.65);  // btime + 98765 / 100
  EXPECT_DOUBLE_EQ(stats.virtual_memory_bytes, 734003200);
  EXPECT_DOUBLE_EQ(stats.resident_memory_bytes, 2048.0 * 4096);
}

TEST(ParseProcSelfStatTest, UsesGivenTickRateAndPageSize) {
  const ProcessStats stats = ParseProcSelfStat(kStat, 250, 16384, 0);
  EXPECT_DOUBLE_EQ(stats.cpu_seconds, 1.52);           // 380 / 250
  EXPECT_DOUBLE_EQ(stats.start_time_seconds, 395.06);  // 98765 / 250
  EXPECT_DOUBLE_EQ(stats.resident_memory_bytes, 2048.0 * 16384);
}

TEST(ParseProcSelfStatTest, RejectsTextWithoutCommandName) {
  EXPECT_THROW(ParseProcSelfStat("4242 bird S 1 2 3", 100, 4096, 0), std::runtime_error);
  EXPECT_THROW(ParseProcSelfStat("", 100, 4096, 0), std::runtime_error);
}

TEST(ParseProcSelfStatTest, RejectsShortText) {
  EXPECT_THROW(
      ParseProcSelfStat("4242 (bird) S 1 4242 4242 0 -1 4194560 1523 0 2 0 250 130", 100, 4096, 0),
      std::runtime_error);
}

TEST(ParseProcSelfStatTest, RejectsNonNumericFields) {
  // utime (field 14) is not a number.
  EXPECT_THROW(ParseProcSelfStat("4242 (bird) S 1 4242 4242 0 -1 4194560 1523 0 2 0 x 130 7 3 20 0 "
                                 "6 0 98765 734003200 2048 18446744073709551615 1 1",
                                 100, 4096, 0),
               std::runtime_error);
  // rss (field 24) has trailing garbage.
  EXPECT_THROW(ParseProcSelfStat("4242 (bird) S 1 4242 4242 0 -1 4194560 1523 0 2 0 250 130 7 3 20 "
                                 "0 6 0 98765 734003200 2048kB 18446744073709551615 1 1",
                                 100, 4096, 0),
               std::runtime_error);
}

TEST(ProcessCollectorTest, CollectsStandardProcessMetrics) {
  const auto families = ProcessCollector().Collect();
  std::set<std::string> names;
  for (const auto& family : families) {
    names.insert(family.name);
    ASSERT_EQ(family.metric.size(), 1u) << family.name;
    EXPECT_FALSE(family.help.empty()) << family.name;
  }
  EXPECT_THAT(names,
              ::testing::IsSupersetOf({"process_cpu_seconds_total", "process_resident_memory_bytes",
                                       "process_virtual_memory_bytes", "process_start_time_seconds",
                                       "process_open_fds", "process_max_fds"}));
  for (const auto& family : families) {
    if (family.name == "process_resident_memory_bytes" || family.name == "process_open_fds" ||
        family.name == "process_start_time_seconds") {
      EXPECT_GT(family.metric[0].gauge.value, 0) << family.name;
    }
  }
}

}  // namespace
}  // namespace bird_exporter
