#include "metrics/openmetrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <set>
#include <sstream>
#include <string>

#include "server/exposition.h"

namespace bird_exporter {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The sample lines, with any exemplar cut off.
std::multiset<std::string> Samples(const std::string& text) {
  std::multiset<std::string> samples;
  for (const auto& line : Lines(text)) {
    if (line.empty() || line[0] == '#') continue;
    samples.insert(line.substr(0, line.find(" # ")));
  }
  return samples;
}

class OpenMetricsTest : public ::testing::Test {
 protected:
  OpenMetricsTest() {
    auto& calls = prometheus::BuildCounter()
                      .Name("bird_calls_total")
                      .Help("Ended calls, by \"status\", with a \\ backslash.")
                      .Register(registry_);
    calls.Add({{"channel", "support \"nl\""}, {"status", "completed"}}).Increment(3);
    calls.Add({{"channel", "back\\slash\nnewline"}, {"status", "busy"}}).Increment(12345678.25);
    auto& gauge =
        prometheus::BuildGauge().Name("bird_calls_active").Help("Open.").Register(registry_);
    gauge.Add({}).Set(-0.000012345);
    gauge.Add({{"x", "big"}}).Set(1.5e300);
    auto& mos = prometheus::BuildHistogram().Name("bird_call_mos").Help("MOS.").Register(registry_);
    auto& h = mos.Add({{"channel", "support"}}, kMosBuckets);
    for (double v : {4.4, 3.1, 1.2, 4.49, 4.2}) h.Observe(v);
    // A counter whose name does not end in _total keeps its sample name, as "unknown".
    prometheus::BuildCounter()
        .Name("odd_counter")
        .Help("No suffix.")
        .Register(registry_)
        .Add({})
        .Increment();
  }

  std::vector<prometheus::MetricFamily> Families() { return registry_.Collect(); }

  const std::vector<double> kMosBuckets = {1, 2, 3, 3.6, 4, 4.3, 4.5};
  prometheus::Registry registry_;
};

TEST_F(OpenMetricsTest, HasExactlyTheSamplesOfTheTextFormat) {
  const auto families = Families();
  const std::string text = prometheus::TextSerializer().Serialize(families);
  const std::string om = SerializeOpenMetrics(families, {});
  EXPECT_EQ(Samples(om), Samples(text));
  EXPECT_FALSE(Samples(om).empty());
}

TEST_F(OpenMetricsTest, WritesOpenMetricsMetadataAndEndsWithEof) {
  const std::string om = SerializeOpenMetrics(Families(), {});
  EXPECT_THAT(om, HasSubstr("# TYPE bird_calls counter\n"));
  EXPECT_THAT(om, HasSubstr("# HELP bird_calls Ended calls, by \\\"status\\\", with a \\\\ "
                            "backslash.\n"));
  EXPECT_THAT(om, HasSubstr("# TYPE bird_calls_active gauge\n"));
  EXPECT_THAT(om, HasSubstr("# TYPE bird_call_mos histogram\n"));
  EXPECT_THAT(om, HasSubstr("# TYPE odd_counter unknown\n# HELP odd_counter No suffix.\n"
                            "odd_counter 1\n"));
  EXPECT_THAT(om,
              HasSubstr("bird_calls_total{channel=\"back\\\\slash\\nnewline\",status=\"busy\"}"));
  ASSERT_GE(om.size(), 6u);
  EXPECT_EQ(om.substr(om.size() - 6), "# EOF\n");
  EXPECT_EQ(om.find("# EOF"), om.size() - 6) << "# EOF only at the end";
}

TEST_F(OpenMetricsTest, PutsEachExemplarOnTheBucketItsValueFellInto) {
  ExemplarMap exemplars;
  auto& series = exemplars[{"bird_call_mos", {{"channel", "support"}}}];
  series.resize(kMosBuckets.size() + 1);
  series[BucketIndex(kMosBuckets, 3.1)] = Exemplar{"c-31", 3.1, 1700000000.5};
  series[BucketIndex(kMosBuckets, 4.49)] = Exemplar{"c-449", 4.49, 1700000001.25};
  const std::string om = SerializeOpenMetrics(Families(), exemplars);
  EXPECT_THAT(om, HasSubstr("bird_call_mos_bucket{channel=\"support\",le=\"3.6\"} 2 # "
                            "{call_id=\"c-31\"} 3.1 1700000000.500\n"));
  EXPECT_THAT(om, HasSubstr("bird_call_mos_bucket{channel=\"support\",le=\"4.5\"} 5 # "
                            "{call_id=\"c-449\"} 4.49 1700000001.250\n"));
  EXPECT_THAT(om, HasSubstr("bird_call_mos_bucket{channel=\"support\",le=\"3\"} 1\n"));
  EXPECT_THAT(om, HasSubstr("bird_call_mos_bucket{channel=\"support\",le=\"+Inf\"} 5\n"));
  EXPECT_THAT(om, HasSubstr("bird_call_mos_count{channel=\"support\"} 5\n"));
  // An exemplar of a series that does not exist (any more) is not written.
  exemplars[{"bird_call_mos", {{"channel", "gone"}}}] = series;
  EXPECT_EQ(SerializeOpenMetrics(Families(), exemplars).find("gone"), std::string::npos);
}

TEST_F(OpenMetricsTest, LeavesOutAnExemplarWhoseLabelsWouldExceed128Characters) {
  ExemplarMap exemplars;
  auto& series = exemplars[{"bird_call_mos", {{"channel", "support"}}}];
  series.resize(kMosBuckets.size() + 1);
  series[0] = Exemplar{std::string(200, 'a'), 1.2, 1};
  EXPECT_EQ(SerializeOpenMetrics(Families(), exemplars).find("call_id"), std::string::npos);
}

TEST(BucketIndexTest, FindsTheFirstUpperBoundAtOrAboveTheValue) {
  const std::vector<double> bounds = {1, 2, 3};
  EXPECT_EQ(BucketIndex(bounds, 0.5), 0u);
  EXPECT_EQ(BucketIndex(bounds, 1), 0u);  // le is inclusive
  EXPECT_EQ(BucketIndex(bounds, 1.01), 1u);
  EXPECT_EQ(BucketIndex(bounds, 3), 2u);
  EXPECT_EQ(BucketIndex(bounds, 3.5), 3u);  // +Inf
}

struct FormatCase {
  const char* accept;
  ExpositionFormat format;
};

class ExpositionFormatTest : public ::testing::TestWithParam<FormatCase> {};

TEST_P(ExpositionFormatTest, Negotiates) {
  EXPECT_EQ(ChooseExpositionFormat(GetParam().accept), GetParam().format) << GetParam().accept;
}

INSTANTIATE_TEST_SUITE_P(
    Accept, ExpositionFormatTest,
    ::testing::Values(
        // What Prometheus 2.x sends with exemplar storage on, and without.
        FormatCase{"application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                   "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                   ExpositionFormat::kOpenMetrics},
        FormatCase{"text/plain;version=0.0.4;q=1,*/*;q=0.1", ExpositionFormat::kText},
        FormatCase{"application/openmetrics-text", ExpositionFormat::kOpenMetrics},
        FormatCase{"application/openmetrics-text; version=1.0.0; q=0.2, text/plain; q=0.9",
                   ExpositionFormat::kText},
        FormatCase{"application/openmetrics-text;version=2.0.0", ExpositionFormat::kText},
        FormatCase{"application/openmetrics-text;q=0", ExpositionFormat::kText},
        FormatCase{"*/*", ExpositionFormat::kText}, FormatCase{"", ExpositionFormat::kText}));

struct CodingCase {
  bool present;
  const char* accept_encoding;
  ContentCoding coding;
};

class ContentCodingTest : public ::testing::TestWithParam<CodingCase> {};

TEST_P(ContentCodingTest, Negotiates) {
  EXPECT_EQ(ChooseContentCoding(GetParam().present, GetParam().accept_encoding), GetParam().coding)
      << GetParam().accept_encoding;
}

INSTANTIATE_TEST_SUITE_P(
    AcceptEncoding, ContentCodingTest,
    ::testing::Values(CodingCase{false, "", ContentCoding::kIdentity},
                      CodingCase{true, "gzip", ContentCoding::kGzip},
                      CodingCase{true, "GZIP", ContentCoding::kGzip},
                      CodingCase{true, "gzip, deflate, br", ContentCoding::kGzip},
                      CodingCase{true, "x-gzip", ContentCoding::kGzip},
                      CodingCase{true, "gzip;q=0", ContentCoding::kIdentity},
                      CodingCase{true, "gzip; q=0.000", ContentCoding::kIdentity},
                      CodingCase{true, "gzip;q=0.5", ContentCoding::kGzip},
                      CodingCase{true, "gzip;q=0.5, identity", ContentCoding::kIdentity},
                      CodingCase{true, "gzip;q=0.5, identity;q=0.4", ContentCoding::kGzip},
                      CodingCase{true, "identity", ContentCoding::kIdentity},
                      CodingCase{true, "*", ContentCoding::kGzip},
                      CodingCase{true, "*;q=0", ContentCoding::kIdentity},
                      CodingCase{true, "br, *;q=0.1", ContentCoding::kGzip},
                      CodingCase{true, "gzip;q=2", ContentCoding::kIdentity},  // malformed q
                      CodingCase{true, "", ContentCoding::kIdentity}));

TEST(GzipTest, RoundTripsThroughTheGzipFormat) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "bird_calls_total{status=\"completed\"} 1\n";
  const std::string compressed = Gzip(text);
  ASSERT_GE(compressed.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(compressed[1]), 0x8b);
  EXPECT_LT(compressed.size(), text.size() / 20);
}

}  // namespace
}  // namespace bird_exporter
