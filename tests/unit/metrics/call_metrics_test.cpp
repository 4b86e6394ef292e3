#include "metrics/call_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace bird_exporter {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;

const ChannelLabels kChannel{"w", "c"};

// Every group by call type (and quality also by codec): the labels these tests were written for.
MetricDimensions CallTypeDimensions() {
  MetricDimensions d;
  d.outcome = d.setup = d.answer = d.duration = d.media = d.poor = {"call_type"};
  d.quality = {"call_type", "codec"};
  return d;
}

SystemTime AtSeconds(std::int64_t s) { return SystemTime(std::chrono::seconds(s)); }

// An answered outgoing PSTN call with nothing measured.
CallObservation Observation() {
  CallObservation obs;
  obs.direction = "outgoing";
  obs.call_type = "pstn";
  obs.status = "completed";
  obs.hangup_source = "caller";
  obs.hangup_cause_code = "16";
  obs.hangup_cause = "NORMAL_CLEARING";
  obs.sip_code = "200";
  obs.cause_class = "ok";
  obs.codec = "PCMU";
  obs.answered = true;
  obs.from_insights = true;
  return obs;
}

class CallMetricsTest : public ::testing::Test {
 protected:
  // The exposition lines, without HELP and TYPE comments.
  std::vector<std::string> Lines() {
    const std::string text = prometheus::TextSerializer().Serialize(registry_.Collect());
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.front() != '#') lines.push_back(line);
    }
    return lines;
  }

  // Lines of one metric (exact name, or name followed by `_bucket`, `_sum`, `_count`).
  std::vector<std::string> LinesOf(const std::string& name) {
    std::vector<std::string> out;
    for (const auto& line : Lines()) {
      if (line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0 ||
          line.rfind(name + "_bucket{", 0) == 0 || line.rfind(name + "_sum{", 0) == 0 ||
          line.rfind(name + "_count{", 0) == 0) {
        out.push_back(line);
      }
    }
    return out;
  }

  prometheus::Registry registry_;
  CallMetrics metrics_{registry_, CallTypeDimensions()};
};

TEST_F(CallMetricsTest, CountsEachRecordedCallByStatus) {
  metrics_.Record(kChannel, Observation());
  EXPECT_THAT(LinesOf("bird_calls_total"),
              ::testing::ElementsAre("bird_calls_total{call_type=\"pstn\",channel=\"c\","
                                     "direction=\"outgoing\",status=\"completed\",workspace=\"w\"} "
                                     "1"));
  CallObservation busy = Observation();
  busy.status = "busy";
  metrics_.Record(kChannel, Observation());
  metrics_.Record(kChannel, busy);
  EXPECT_THAT(LinesOf("bird_calls_total"),
              ::testing::UnorderedElementsAre(
                  "bird_calls_total{call_type=\"pstn\",channel=\"c\",direction=\"outgoing\","
                  "status=\"completed\",workspace=\"w\"} 2",
                  "bird_calls_total{call_type=\"pstn\",channel=\"c\",direction=\"outgoing\","
                  "status=\"busy\",workspace=\"w\"} 1"));
}

TEST_F(CallMetricsTest, CountsEachDroppedFieldOfACountedCall) {
  CallObservation obs = Observation();
  obs.field_anomalies = {"duration", "mediaMetrics.mos"};
  metrics_.Record(kChannel, obs);
  obs.field_anomalies = {"mediaMetrics.mos"};
  metrics_.Record(kChannel, obs);
  EXPECT_THAT(
      Lines(),
      IsSupersetOf({
          R"(bird_exporter_field_anomalies_total{channel="c",field="duration",workspace="w"} 1)",
          R"(bird_exporter_field_anomalies_total{channel="c",field="mediaMetrics.mos",workspace="w"} 2)",
      }));
  metrics_.RemoveChannel(kChannel);
  EXPECT_THAT(Lines(), Not(Contains(HasSubstr("bird_exporter_field_anomalies_total{"))));
}

TEST_F(CallMetricsTest, CountsHangupsByCauseLabels) {
  metrics_.Record(kChannel, Observation());
  EXPECT_THAT(LinesOf("bird_call_hangups_total"),
              ::testing::ElementsAre(
                  "bird_call_hangups_total{cause_class=\"ok\",channel=\"c\",direction=\"outgoing\","
                  "hangup_cause=\"NORMAL_CLEARING\",hangup_cause_code=\"16\","
                  "hangup_source=\"caller\",sip_code=\"200\",workspace=\"w\"} 1"));
}

TEST_F(CallMetricsTest, AddsPacketAndByteCountsPerFlow) {
  CallObservation obs = Observation();
  obs.packets = {918, 1462};
  obs.media_packets = {904, 0};
  obs.dtmf_packets = {12, std::nullopt};
  obs.bytes = {157896, 251464};
  obs.flaws = 3;
  metrics_.Record(kChannel, obs);
  obs.packets = {82, std::nullopt};
  metrics_.Record(kChannel, obs);

  const std::string base = "call_type=\"pstn\",channel=\"c\",direction=\"outgoing\",";
  EXPECT_THAT(LinesOf("bird_call_packets_total"),
              ::testing::UnorderedElementsAre(
                  "bird_call_packets_total{" + base + "flow=\"in\",workspace=\"w\"} 1000",
                  "bird_call_packets_total{" + base + "flow=\"out\",workspace=\"w\"} 1462"));
  EXPECT_THAT(LinesOf("bird_call_media_packets_total"),
              ::testing::UnorderedElementsAre(
                  "bird_call_media_packets_total{" + base + "flow=\"in\",workspace=\"w\"} 1808",
                  "bird_call_media_packets_total{" + base + "flow=\"out\",workspace=\"w\"} 0"));
  // An absent count makes no series.
  EXPECT_THAT(LinesOf("bird_call_dtmf_packets_total"),
              ::testing::ElementsAre("bird_call_dtmf_packets_total{" + base +
                                     "flow=\"in\",workspace=\"w\"} 24"));
  EXPECT_THAT(LinesOf("bird_call_bytes_total"),
              ::testing::UnorderedElementsAre(
                  "bird_call_bytes_total{" + base + "flow=\"in\",workspace=\"w\"} 315792",
                  "bird_call_bytes_total{" + base + "flow=\"out\",workspace=\"w\"} 502928"));
  EXPECT_THAT(LinesOf("bird_call_flaws_total"),
              ::testing::ElementsAre("bird_call_flaws_total{" + base + "workspace=\"w\"} 6"));
}

TEST_F(CallMetricsTest, CountsCallsWithoutInboundMedia) {
  CallObservation obs = Observation();
  obs.no_inbound_media = true;
  metrics_.Record(kChannel, obs);
  metrics_.Record(kChannel, Observation());
  EXPECT_THAT(LinesOf("bird_call_no_inbound_media_total"),
              ::testing::ElementsAre("bird_call_no_inbound_media_total{call_type=\"pstn\","
                                     "channel=\"c\",direction=\"outgoing\",workspace=\"w\"} 1"));
}

TEST_F(CallMetricsTest, PutsPerfectMosInTopBucketOnly) {
  CallObservation obs = Observation();
  obs.mos = 4.5;
  metrics_.Record(kChannel, obs);
  const std::string labels =
      "call_type=\"pstn\",channel=\"c\",codec=\"PCMU\",direction=\"outgoing\",workspace=\"w\"";
  EXPECT_THAT(LinesOf("bird_call_mos"),
              IsSupersetOf({"bird_call_mos_bucket{" + labels + ",le=\"4.4\"} 0",
                            "bird_call_mos_bucket{" + labels + ",le=\"4.49\"} 0",
                            "bird_call_mos_bucket{" + labels + ",le=\"4.5\"} 1",
                            "bird_call_mos_bucket{" + labels + ",le=\"+Inf\"} 1",
                            "bird_call_mos_sum{" + labels + "} 4.5",
                            "bird_call_mos_count{" + labels + "} 1"}));
  // 11 buckets, +Inf, sum and count.
  EXPECT_EQ(LinesOf("bird_call_mos").size(), 14u);
}

TEST_F(CallMetricsTest, PutsLossAboveOneInInfBucketOnly) {
  CallObservation obs = Observation();
  obs.packet_loss_ratio = 1.32;
  metrics_.Record(kChannel, obs);
  const std::string labels =
      "call_type=\"pstn\",channel=\"c\",direction=\"outgoing\",workspace=\"w\"";
  const auto lines = LinesOf("bird_call_packet_loss_ratio");
  EXPECT_THAT(lines,
              IsSupersetOf({"bird_call_packet_loss_ratio_bucket{" + labels + ",le=\"0.5\"} 0",
                            "bird_call_packet_loss_ratio_bucket{" + labels + ",le=\"1\"} 0",
                            "bird_call_packet_loss_ratio_bucket{" + labels + ",le=\"+Inf\"} 1",
                            "bird_call_packet_loss_ratio_count{" + labels + "} 1"}));
  int nonzero_finite_buckets = 0;
  for (const auto& line : lines) {
    if (line.find("_bucket{") != std::string::npos && line.find("+Inf") == std::string::npos &&
        line.back() != '0') {
      ++nonzero_finite_buckets;
    }
  }
  EXPECT_EQ(nonzero_finite_buckets, 0);
}

TEST_F(CallMetricsTest, PutsBoundaryValueInItsOwnBucket) {
  CallObservation obs = Observation();
  obs.pdd_seconds = 2.0;  // le is "less than or equal"
  obs.duration_seconds = 30;
  metrics_.Record(kChannel, obs);
  const std::string labels =
      "call_type=\"pstn\",channel=\"c\",direction=\"outgoing\",workspace=\"w\"";
  EXPECT_THAT(LinesOf("bird_call_pdd_seconds"),
              IsSupersetOf({"bird_call_pdd_seconds_bucket{" + labels + ",le=\"1.5\"} 0",
                            "bird_call_pdd_seconds_bucket{" + labels + ",le=\"2\"} 1",
                            "bird_call_pdd_seconds_bucket{" + labels + ",le=\"3\"} 1"}));
  EXPECT_THAT(LinesOf("bird_call_duration_seconds"),
              IsSupersetOf({"bird_call_duration_seconds_bucket{" + labels + ",le=\"15\"} 0",
                            "bird_call_duration_seconds_bucket{" + labels + ",le=\"30\"} 1",
                            "bird_call_duration_seconds_sum{" + labels + "} 30"}));
}

TEST_F(CallMetricsTest, ObservesEveryMediaHistogram) {
  CallObservation obs = Observation();
  obs.quality_ratio = 0.76;
  obs.jitter_min_seconds = 0.011;
  obs.jitter_max_seconds = 0.0345;
  obs.jitter_burst_rate = 1;
  obs.mean_interval_seconds = 0.02089;
  metrics_.Record(kChannel, obs);
  const std::string labels =
      "call_type=\"pstn\",channel=\"c\",direction=\"outgoing\",workspace=\"w\"";
  const std::string codec_labels =
      "call_type=\"pstn\",channel=\"c\",codec=\"PCMU\",direction=\"outgoing\",workspace=\"w\"";
  EXPECT_THAT(
      LinesOf("bird_call_quality_ratio"),
      IsSupersetOf({"bird_call_quality_ratio_bucket{" + codec_labels + ",le=\"0.695\"} 0",
                    "bird_call_quality_ratio_bucket{" + codec_labels + ",le=\"0.795\"} 1"}));
  EXPECT_THAT(LinesOf("bird_call_jitter_min_seconds"),
              IsSupersetOf({"bird_call_jitter_min_seconds_bucket{" + labels + ",le=\"0.01\"} 0",
                            "bird_call_jitter_min_seconds_bucket{" + labels + ",le=\"0.015\"} 1"}));
  EXPECT_THAT(LinesOf("bird_call_jitter_max_seconds"),
              IsSupersetOf({"bird_call_jitter_max_seconds_bucket{" + labels + ",le=\"0.03\"} 0",
                            "bird_call_jitter_max_seconds_bucket{" + labels + ",le=\"0.04\"} 1"}));
  EXPECT_THAT(LinesOf("bird_call_jitter_burst_rate"),
              IsSupersetOf({"bird_call_jitter_burst_rate_bucket{" + labels + ",le=\"0.99\"} 0",
                            "bird_call_jitter_burst_rate_bucket{" + labels + ",le=\"1\"} 1"}));
  EXPECT_THAT(
      LinesOf("bird_call_mean_interval_seconds"),
      IsSupersetOf({"bird_call_mean_interval_seconds_bucket{" + labels + ",le=\"0.019\"} 0",
                    "bird_call_mean_interval_seconds_bucket{" + labels + ",le=\"0.021\"} 1"}));
}

TEST_F(CallMetricsTest, MakesNoSeriesForAbsentValues) {
  metrics_.Record(kChannel, Observation());
  for (const char* name :
       {"bird_call_packets_total", "bird_call_media_packets_total", "bird_call_dtmf_packets_total",
        "bird_call_bytes_total", "bird_call_flaws_total", "bird_call_no_inbound_media_total",
        "bird_call_mos", "bird_call_quality_ratio", "bird_call_pdd_seconds",
        "bird_call_duration_seconds", "bird_call_jitter_min_seconds",
        "bird_call_jitter_max_seconds", "bird_call_packet_loss_ratio",
        "bird_call_jitter_burst_rate", "bird_call_mean_interval_seconds", "bird_call_last_mos",
        "bird_call_last_pdd_seconds", "bird_call_last_end_timestamp_seconds"}) {
    EXPECT_THAT(LinesOf(name), ::testing::IsEmpty()) << name;
  }
}

TEST_F(CallMetricsTest, LastGaugesFollowNewestEndedCall) {
  CallObservation newer = Observation();
  newer.mos = 4.1;
  newer.pdd_seconds = 0.5;
  newer.ended_at = AtSeconds(1'700'000'200);
  CallObservation older = Observation();
  older.mos = 3.0;
  older.pdd_seconds = 2.5;
  older.ended_at = AtSeconds(1'700'000'100);

  metrics_.Record(kChannel, newer);
  metrics_.Record(kChannel, older);  // insights of an older call arriving late
  EXPECT_THAT(LinesOf("bird_call_last_mos"),
              ::testing::ElementsAre("bird_call_last_mos{channel=\"c\",workspace=\"w\"} 4.1"));
  EXPECT_THAT(
      LinesOf("bird_call_last_pdd_seconds"),
      ::testing::ElementsAre("bird_call_last_pdd_seconds{channel=\"c\",workspace=\"w\"} 0.5"));
  EXPECT_THAT(
      LinesOf("bird_call_last_end_timestamp_seconds"),
      ::testing::ElementsAre(
          "bird_call_last_end_timestamp_seconds{channel=\"c\",workspace=\"w\"} 1700000200"));
  // The older call is still counted in the histograms.
  EXPECT_THAT(Lines(), Contains("bird_call_mos_count{call_type=\"pstn\",channel=\"c\","
                                "codec=\"PCMU\",direction=\"outgoing\",workspace=\"w\"} 2"));

  // A newer call without MOS moves the end time and PDD but keeps the last MOS.
  CallObservation newest = Observation();
  newest.pdd_seconds = 1.25;
  newest.ended_at = AtSeconds(1'700'000'300);
  metrics_.Record(kChannel, newest);
  EXPECT_THAT(LinesOf("bird_call_last_mos"),
              ::testing::ElementsAre("bird_call_last_mos{channel=\"c\",workspace=\"w\"} 4.1"));
  EXPECT_THAT(
      LinesOf("bird_call_last_pdd_seconds"),
      ::testing::ElementsAre("bird_call_last_pdd_seconds{channel=\"c\",workspace=\"w\"} 1.25"));
  EXPECT_THAT(
      LinesOf("bird_call_last_end_timestamp_seconds"),
      ::testing::ElementsAre(
          "bird_call_last_end_timestamp_seconds{channel=\"c\",workspace=\"w\"} 1700000300"));
}

TEST_F(CallMetricsTest, KeepsLastGaugesPerChannel) {
  CallObservation first = Observation();
  first.mos = 4.2;
  first.ended_at = AtSeconds(1'700'000'200);
  CallObservation second = Observation();
  second.mos = 3.3;
  second.ended_at = AtSeconds(1'700'000'100);
  metrics_.Record(kChannel, first);
  metrics_.Record(ChannelLabels{"w", "d"}, second);  // older, but another channel
  EXPECT_THAT(
      LinesOf("bird_call_last_mos"),
      ::testing::UnorderedElementsAre("bird_call_last_mos{channel=\"c\",workspace=\"w\"} 4.2",
                                      "bird_call_last_mos{channel=\"d\",workspace=\"w\"} 3.3"));
}

TEST_F(CallMetricsTest, SetsActiveCallsAndZeroesVanishedCombinations) {
  metrics_.SetActive(kChannel, {{{"outgoing", "ringing"}, 2}, {{"incoming", "ongoing"}, 1}});
  metrics_.SetActive(ChannelLabels{"w", "d"}, {{{"incoming", "ongoing"}, 4}});
  EXPECT_THAT(LinesOf("bird_calls_active"),
              ::testing::UnorderedElementsAre(
                  "bird_calls_active{channel=\"c\",direction=\"outgoing\",status=\"ringing\","
                  "workspace=\"w\"} 2",
                  "bird_calls_active{channel=\"c\",direction=\"incoming\",status=\"ongoing\","
                  "workspace=\"w\"} 1",
                  "bird_calls_active{channel=\"d\",direction=\"incoming\",status=\"ongoing\","
                  "workspace=\"w\"} 4"));

  metrics_.SetActive(kChannel, {{{"outgoing", "ringing"}, 1}});
  EXPECT_THAT(LinesOf("bird_calls_active"),
              ::testing::UnorderedElementsAre(
                  "bird_calls_active{channel=\"c\",direction=\"outgoing\",status=\"ringing\","
                  "workspace=\"w\"} 1",
                  "bird_calls_active{channel=\"c\",direction=\"incoming\",status=\"ongoing\","
                  "workspace=\"w\"} 0",
                  "bird_calls_active{channel=\"d\",direction=\"incoming\",status=\"ongoing\","
                  "workspace=\"w\"} 4"));

  metrics_.SetActive(kChannel, {});
  EXPECT_THAT(LinesOf("bird_calls_active"),
              ::testing::UnorderedElementsAre(
                  "bird_calls_active{channel=\"c\",direction=\"outgoing\",status=\"ringing\","
                  "workspace=\"w\"} 0",
                  "bird_calls_active{channel=\"c\",direction=\"incoming\",status=\"ongoing\","
                  "workspace=\"w\"} 0",
                  "bird_calls_active{channel=\"d\",direction=\"incoming\",status=\"ongoing\","
                  "workspace=\"w\"} 4"));
}

TEST_F(CallMetricsTest, ServesHelpFromMetricDefinitions) {
  CallObservation obs = Observation();
  obs.mos = 4.5;
  metrics_.Record(kChannel, obs);
  metrics_.SetActive(kChannel, {{{"outgoing", "ringing"}, 1}});
  const std::string text = prometheus::TextSerializer().Serialize(registry_.Collect());
  EXPECT_THAT(text, HasSubstr("# TYPE bird_calls_total counter\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE bird_call_mos histogram\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE bird_calls_active gauge\n"));
  EXPECT_THAT(text, HasSubstr("# HELP bird_calls_total Calls that reached a terminal status"));
  EXPECT_THAT(text, Not(HasSubstr("process_")));
}

}  // namespace
}  // namespace bird_exporter

namespace bird_exporter {
namespace {

TEST(CallMetricsExemplarTest, KeepsTheLatestCallOfEachBucketOfTheFiveCallHistograms) {
  prometheus::Registry registry;
  CallMetrics metrics(registry, CallTypeDimensions());
  CallObservation first = Observation();
  first.call_id = "call-a";
  first.mos = 4.1;
  first.pdd_seconds = 1.2;
  metrics.Record(kChannel, first);
  CallObservation second = Observation();
  second.call_id = "call-b";
  second.mos = 4.2;                  // the same MOS bucket as 4.1: replaces it
  second.jitter_max_seconds = 0.01;  // not one of the five: no exemplar
  metrics.Record(kChannel, second);

  const ExemplarMap exemplars = metrics.Exemplars();
  const prometheus::Labels mos_labels = {{"workspace", "w"},
                                         {"channel", "c"},
                                         {"direction", "outgoing"},
                                         {"call_type", "pstn"},
                                         {"codec", "PCMU"}};
  const auto mos = exemplars.find({"bird_call_mos", mos_labels});
  ASSERT_NE(mos, exemplars.end());
  int with_exemplar = 0;
  for (const auto& e : mos->second) {
    if (!e) continue;
    ++with_exemplar;
    EXPECT_EQ(e->call_id, "call-b");
    EXPECT_DOUBLE_EQ(e->value, 4.2);
    EXPECT_GT(e->timestamp_seconds, 1.7e9);
  }
  EXPECT_EQ(with_exemplar, 1);
  const prometheus::Labels base = {
      {"workspace", "w"}, {"channel", "c"}, {"direction", "outgoing"}, {"call_type", "pstn"}};
  ASSERT_NE(exemplars.find({"bird_call_pdd_seconds", base}), exemplars.end());
  EXPECT_EQ(exemplars.find({"bird_call_jitter_max_seconds", base}), exemplars.end());

  metrics.RemoveChannel(kChannel);
  EXPECT_TRUE(metrics.Exemplars().empty());
}

}  // namespace
}  // namespace bird_exporter

namespace bird_exporter {
namespace {

// The families each dimension group labels, with the documented default dimensions.
class DefaultDimensionsTest : public ::testing::Test {
 protected:
  static CallObservation Kpis() {
    CallObservation obs = Observation();
    obs.direction = "incoming";
    obs.country = "NL";
    obs.provider = "carrier-a";
    obs.edge_region = "eu-west-1";
    obs.mos = 3.2;
    obs.r_factor = 71.5;
    obs.pdd_seconds = 1.5;
    obs.time_to_answer_seconds = 18;
    obs.ring_seconds = 6;
    obs.duration_seconds = 5;
    obs.packet_loss_ratio = 0.07;
    obs.poor_reasons = {"low_mos", "high_loss"};
    return obs;
  }

  std::string Text() { return prometheus::TextSerializer().Serialize(registry_.Collect()); }

  prometheus::Registry registry_;
  CallMetrics metrics_{registry_};
};

TEST_F(DefaultDimensionsTest, OutcomeByCountryAndProvider) {
  metrics_.Record(kChannel, Kpis());
  CallObservation abandoned = Kpis();
  abandoned.status = "cancelled";
  abandoned.answered = false;
  abandoned.abandoned = true;
  abandoned.poor_reasons.clear();
  metrics_.Record(kChannel, abandoned);
  const std::string text = Text();
  EXPECT_THAT(text, HasSubstr("bird_calls_total{channel=\"c\",country=\"NL\","
                              "direction=\"incoming\",provider=\"carrier-a\",status=\"completed\","
                              "workspace=\"w\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("bird_calls_abandoned_total{channel=\"c\","
                              "country=\"NL\",direction=\"incoming\",provider=\"carrier-a\","
                              "workspace=\"w\"} 1\n"));
}

TEST_F(DefaultDimensionsTest, SetupByCountryAndProviderAnswerByDirectionOnly) {
  metrics_.Record(kChannel, Kpis());
  const std::string text = Text();
  EXPECT_THAT(text, HasSubstr("bird_call_pdd_seconds_count{channel=\"c\",country=\"NL\","
                              "direction=\"incoming\",provider=\"carrier-a\",workspace=\"w\"} "
                              "1\n"));
  const std::string labels = "channel=\"c\",direction=\"incoming\",workspace=\"w\"";
  EXPECT_THAT(text,
              HasSubstr("bird_call_time_to_answer_seconds_bucket{" + labels + ",le=\"10\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("bird_call_time_to_answer_seconds_bucket{" + labels + ",le=\"20\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("bird_call_time_to_answer_seconds_sum{" + labels + "} 18\n"));
  EXPECT_THAT(text, HasSubstr("bird_call_ring_seconds_sum{" + labels + "} 6\n"));
}

TEST_F(DefaultDimensionsTest, QualityByCodecDurationAndMediaByDirectionOnly) {
  metrics_.Record(kChannel, Kpis());
  const std::string text = Text();
  EXPECT_THAT(text, HasSubstr("bird_call_mos_count{channel=\"c\",codec=\"PCMU\","
                              "direction=\"incoming\",workspace=\"w\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("bird_call_r_factor_bucket{channel=\"c\",codec=\"PCMU\","
                              "direction=\"incoming\",workspace=\"w\",le=\"70\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("bird_call_r_factor_bucket{channel=\"c\",codec=\"PCMU\","
                              "direction=\"incoming\",workspace=\"w\",le=\"80\"} 1\n"));
  // Short calls: answered 6 s or less is the le="6" bucket of the duration histogram.
  EXPECT_THAT(text, HasSubstr("bird_call_duration_seconds_bucket{channel=\"c\","
                              "direction=\"incoming\",workspace=\"w\",le=\"6\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("bird_call_packet_loss_ratio_count{channel=\"c\","
                              "direction=\"incoming\",workspace=\"w\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("edge_region")));  // in no default group
  EXPECT_THAT(text, Not(HasSubstr("call_type")));
}

TEST_F(DefaultDimensionsTest, PoorCallsOnceAndEachReason) {
  metrics_.Record(kChannel, Kpis());
  metrics_.Record(kChannel, Observation());  // a good call: no reason
  const std::string text = Text();
  const std::string labels = "channel=\"c\",direction=\"incoming\",provider=\"carrier-a\"";
  EXPECT_THAT(text, HasSubstr("bird_calls_poor_total{" + labels + ",workspace=\"w\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("bird_call_poor_reasons_total{" + labels +
                              ",reason=\"low_mos\",workspace=\"w\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("bird_call_poor_reasons_total{" + labels +
                              ",reason=\"high_loss\",workspace=\"w\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("reason=\"high_pdd\"")));
}

TEST(ConfiguredDimensionsTest, EveryGroupCarriesWhatItIsGiven) {
  prometheus::Registry registry;
  MetricDimensions d;
  d.outcome = {};
  d.setup = {"edge_region"};
  d.quality = {"provider", "codec", "country"};
  CallMetrics metrics(registry, d);
  CallObservation obs = Observation();
  obs.country = "PT";
  obs.provider = "carrier-b";
  obs.edge_region = "us-east-1";
  obs.mos = 4.1;
  obs.pdd_seconds = 2;
  metrics.Record(kChannel, obs);
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_THAT(text, HasSubstr("bird_calls_total{channel=\"c\",direction=\"outgoing\","
                              "status=\"completed\",workspace=\"w\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("bird_call_pdd_seconds_count{channel=\"c\",direction=\"outgoing\","
                              "edge_region=\"us-east-1\",workspace=\"w\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("bird_call_mos_count{channel=\"c\",codec=\"PCMU\",country=\"PT\","
                        "direction=\"outgoing\",provider=\"carrier-b\",workspace=\"w\"} 1\n"));
}

TEST(ConfiguredDimensionsTest, RemovingAChannelRemovesItsKpiSeries) {
  prometheus::Registry registry;
  CallMetrics metrics(registry);
  CallObservation obs = Observation();
  obs.abandoned = true;
  obs.r_factor = 90;
  obs.time_to_answer_seconds = 3;
  obs.ring_seconds = 2;
  obs.poor_reasons = {"no_media"};
  metrics.Record(kChannel, obs);
  metrics.RemoveChannel(kChannel);
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_THAT(text, Not(HasSubstr("channel=\"c\"")));
}

}  // namespace
}  // namespace bird_exporter
