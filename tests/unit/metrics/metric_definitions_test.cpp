#include "metrics/metric_definitions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace bird_exporter {
namespace {

using prometheus::MetricType;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

TEST(MetricDefinitionsTest, DefinesMetrics) { EXPECT_FALSE(AllMetricSpecs().empty()); }

TEST(MetricDefinitionsTest, NamesMatchPrometheusMetricNameSyntax) {
  const std::regex name_syntax("[a-zA-Z_:][a-zA-Z0-9_:]*");
  for (const auto& spec : AllMetricSpecs()) {
    EXPECT_TRUE(std::regex_match(std::string(spec.name), name_syntax)) << spec.name;
    EXPECT_TRUE(spec.name.starts_with("bird_")) << spec.name;
  }
}

TEST(MetricDefinitionsTest, NamesAreUnique) {
  std::set<std::string_view> seen;
  for (const auto& spec : AllMetricSpecs()) {
    EXPECT_TRUE(seen.insert(spec.name).second) << "duplicate " << spec.name;
  }
}

TEST(MetricDefinitionsTest, CountersAndOnlyCountersEndInTotal) {
  for (const auto& spec : AllMetricSpecs()) {
    EXPECT_EQ(spec.type == MetricType::Counter, EndsWith(spec.name, "_total")) << spec.name;
  }
}

TEST(MetricDefinitionsTest, NamesDoNotCollideWithHistogramSeries) {
  for (const auto& spec : AllMetricSpecs()) {
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      EXPECT_FALSE(EndsWith(spec.name, suffix)) << spec.name;
    }
  }
}

TEST(MetricDefinitionsTest, UsesOnlyCounterGaugeAndHistogramTypes) {
  for (const auto& spec : AllMetricSpecs()) {
    EXPECT_TRUE(spec.type == MetricType::Counter || spec.type == MetricType::Gauge ||
                spec.type == MetricType::Histogram)
        << spec.name;
  }
}

TEST(MetricDefinitionsTest, HistogramsHaveStrictlyIncreasingFiniteBuckets) {
  for (const auto& spec : AllMetricSpecs()) {
    if (spec.type != MetricType::Histogram) {
      EXPECT_TRUE(spec.buckets.empty()) << spec.name << " is not a histogram but has buckets";
      continue;
    }
    ASSERT_FALSE(spec.buckets.empty()) << spec.name;
    for (std::size_t i = 0; i < spec.buckets.size(); ++i) {
      EXPECT_TRUE(std::isfinite(spec.buckets[i])) << spec.name << " bucket " << i;
      if (i > 0) {
        EXPECT_LT(spec.buckets[i - 1], spec.buckets[i]) << spec.name << " bucket " << i;
      }
    }
  }
}

TEST(MetricDefinitionsTest, LabelNamesAreValidAndNotReserved) {
  const std::regex label_syntax("[a-zA-Z_][a-zA-Z0-9_]*");
  for (const auto& spec : AllMetricSpecs()) {
    std::set<std::string_view> seen;
    for (std::string_view label : spec.labels) {
      EXPECT_TRUE(std::regex_match(std::string(label), label_syntax)) << spec.name << " " << label;
      EXPECT_FALSE(label.starts_with("__")) << spec.name << " " << label;
      EXPECT_TRUE(seen.insert(label).second) << spec.name << " repeats " << label;
    }
  }
}

TEST(MetricDefinitionsTest, HasNoUnboundedOrReservedLabels) {
  const std::set<std::string_view> forbidden = {"le", "call_id", "id", "from", "to", "ip"};
  for (const auto& spec : AllMetricSpecs()) {
    for (std::string_view label : spec.labels) {
      EXPECT_EQ(forbidden.count(label), 0u) << spec.name << " has label " << label;
    }
  }
}

TEST(MetricDefinitionsTest, EveryMetricHasHelp) {
  for (const auto& spec : AllMetricSpecs()) {
    EXPECT_FALSE(spec.help.empty()) << spec.name;
    EXPECT_EQ(spec.help.find('\n'), std::string_view::npos) << spec.name;
  }
}

TEST(MetricDefinitionsTest, FindsMetricByName) {
  const MetricSpec& spec = FindMetricSpec("bird_calls_total");
  EXPECT_EQ(spec.name, "bird_calls_total");
  EXPECT_EQ(spec.type, MetricType::Counter);
  EXPECT_THAT(spec.labels, ElementsAre("workspace", "channel", "direction", "status"));
  EXPECT_EQ(spec.group, "outcome");
}

TEST(MetricDefinitionsDeathTest, AbortsOnUndefinedMetric) {
  EXPECT_DEATH(FindMetricSpec("bird_undefined_total"), "bird_undefined_total is not defined");
}

// Buckets follow the G.109 band edges and the FreeSWITCH value grid (2-decimal MOS, integer
// quality percentage): each quality bucket edge is half-way between two integer percentages.
TEST(MetricDefinitionsTest, UsesMosBandEdgesAsBuckets) {
  EXPECT_THAT(FindMetricSpec("bird_call_mos").buckets,
              ElementsAre(1.5, 2.0, 2.6, 3.1, 3.5, 3.6, 4.0, 4.3, 4.4, 4.49, 4.5));
}

TEST(MetricDefinitionsTest, UsesHalfPercentQualityBucketsAsRatios) {
  const std::vector<double> expected = {0.495, 0.595, 0.695, 0.795, 0.845, 0.895,
                                        0.945, 0.975, 0.985, 0.995, 1.0};
  EXPECT_THAT(FindMetricSpec("bird_call_quality_ratio").buckets, ElementsAreArray(expected));
}

TEST(MetricDefinitionsTest, EndsLossBucketsAtOneSoArtefactsLandInInf) {
  const auto& buckets = FindMetricSpec("bird_call_packet_loss_ratio").buckets;
  ASSERT_FALSE(buckets.empty());
  EXPECT_EQ(buckets.back(), 1.0);
}

}  // namespace
}  // namespace bird_exporter
