#include "metrics/call_mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "bird/model.h"
#include "support/fixtures.h"

namespace bird_exporter {
namespace {

using testing::AtMillis;
using testing::ReadFixture;

using ::testing::ElementsAre;
using ::testing::Optional;

CallInsights InsightsFixture(const std::string& name) {
  return ParseCallInsights(ReadFixture(name));
}

// A completed call as a list record, without quality insights.
Call CompletedCall() {
  Call call;
  call.id = "c1";
  call.status = CallStatus::kCompleted;
  call.direction = Direction::kOutgoing;
  call.type = CallType::kPstn;
  call.hangup_cause_code = 16;
  call.hangup_source = HangupSource::kCaller;
  call.hangup_sip_code = "200";
  return call;
}

// --- Insights of an answered call (Bird's published example) --------------------------------

class OutboundCompletedTest : public ::testing::Test {
 protected:
  const CallInsights insights_ = InsightsFixture("insights_outbound_completed.json");
  const CallObservation obs_ = MapCall(insights_.call, &insights_);
};

TEST_F(OutboundCompletedTest, TakesLabelValuesFromCallFields) {
  EXPECT_EQ(obs_.direction, "outgoing");
  EXPECT_EQ(obs_.call_type, "pstn");
  EXPECT_EQ(obs_.status, "completed");
  EXPECT_EQ(obs_.hangup_source, "caller");
  EXPECT_EQ(obs_.hangup_cause_code, "16");
  EXPECT_EQ(obs_.hangup_cause, "NORMAL_CLEARING");
  EXPECT_EQ(obs_.sip_code, "200");
  EXPECT_EQ(obs_.cause_class, "ok");
  EXPECT_EQ(obs_.codec, "PCMU");
  EXPECT_TRUE(obs_.answered);
  EXPECT_TRUE(obs_.from_insights);
  EXPECT_FALSE(obs_.no_inbound_media);
}

TEST_F(OutboundCompletedTest, CountsPacketsBytesAndFlawsPerFlow) {
  EXPECT_THAT(obs_.packets.in, Optional(918.0));
  EXPECT_THAT(obs_.packets.out, Optional(1462.0));
  EXPECT_THAT(obs_.media_packets.in, Optional(904.0));
  EXPECT_THAT(obs_.media_packets.out, Optional(0.0));
  EXPECT_THAT(obs_.dtmf_packets.in, Optional(0.0));
  EXPECT_THAT(obs_.dtmf_packets.out, Optional(0.0));
  EXPECT_THAT(obs_.bytes.in, Optional(918.0));
  EXPECT_THAT(obs_.bytes.out, Optional(1462.0));
  EXPECT_THAT(obs_.flaws, Optional(0.0));
}

TEST_F(OutboundCompletedTest, ConvertsQualityMetricsToBaseUnits) {
  EXPECT_THAT(obs_.mos, Optional(4.5));
  // qualityScore is a percentage; the histogram holds a ratio.
  EXPECT_THAT(obs_.quality_ratio, Optional(1.0));
  EXPECT_THAT(obs_.pdd_seconds, Optional(0.36154374));
  // Bird `duration` (30 s), not endedAt - answeredAt (29.44 s).
  EXPECT_THAT(obs_.duration_seconds, Optional(30.0));
  // Jitter variances are ms²: the std-dev is sqrt(var) ms, exported in seconds.
  ASSERT_TRUE(obs_.jitter_min_seconds.has_value());
  EXPECT_DOUBLE_EQ(*obs_.jitter_min_seconds, std::sqrt(126.08) / 1000.0);
  EXPECT_NEAR(*obs_.jitter_min_seconds, 0.0112285350, 1e-10);
  ASSERT_TRUE(obs_.jitter_max_seconds.has_value());
  EXPECT_DOUBLE_EQ(*obs_.jitter_max_seconds, std::sqrt(1187.95) / 1000.0);
  EXPECT_NEAR(*obs_.jitter_max_seconds, 0.0344666505, 1e-10);
  ASSERT_TRUE(obs_.mean_interval_seconds.has_value());
  EXPECT_DOUBLE_EQ(*obs_.mean_interval_seconds, 0.02089);
  EXPECT_THAT(obs_.packet_loss_ratio, Optional(0.0));
  EXPECT_THAT(obs_.jitter_burst_rate, Optional(0.0));
}

TEST_F(OutboundCompletedTest, EndsAtEndedAt) {
  EXPECT_THAT(obs_.ended_at, Optional(AtMillis(1698253305478)));  // 2023-10-25T17:01:45.478Z
}

// --- Metrics sent as numeric strings -------------------------------------------------------

TEST(CallMappingTest, MapsMetricsSentAsNumericStrings) {
  const CallInsights insights = InsightsFixture("insights_numbers_as_strings.json");
  const CallObservation obs = MapCall(insights.call, &insights);
  EXPECT_EQ(obs.hangup_source, "callee");
  EXPECT_EQ(obs.codec, "PCMA");
  EXPECT_FALSE(obs.no_inbound_media);
  EXPECT_THAT(obs.mos, Optional(3.87));
  ASSERT_TRUE(obs.quality_ratio.has_value());
  EXPECT_DOUBLE_EQ(*obs.quality_ratio, 0.76);
  EXPECT_THAT(obs.pdd_seconds, Optional(2.5));
  EXPECT_THAT(obs.duration_seconds, Optional(45.0));
  EXPECT_THAT(obs.packets.in, Optional(2260.0));
  EXPECT_THAT(obs.packets.out, Optional(2248.0));
  EXPECT_THAT(obs.media_packets.in, Optional(2231.0));
  EXPECT_THAT(obs.flaws, Optional(530.0));
  ASSERT_TRUE(obs.jitter_min_seconds.has_value());
  EXPECT_DOUBLE_EQ(*obs.jitter_min_seconds, std::sqrt(98.4) / 1000.0);
  ASSERT_TRUE(obs.jitter_max_seconds.has_value());
  EXPECT_DOUBLE_EQ(*obs.jitter_max_seconds, std::sqrt(2411.3) / 1000.0);
  EXPECT_NEAR(*obs.jitter_max_seconds, 0.0491049896, 1e-10);
  EXPECT_THAT(obs.packet_loss_ratio, Optional(0.02));
  EXPECT_THAT(obs.jitter_burst_rate, Optional(0.01));
  ASSERT_TRUE(obs.mean_interval_seconds.has_value());
  EXPECT_DOUBLE_EQ(*obs.mean_interval_seconds, 0.02012);
  EXPECT_THAT(obs.ended_at, Optional(AtMillis(1732206051620)));  // 2024-11-21T16:20:51.62Z
}

// --- No inbound media -----------------------------------------------------------------------

TEST(CallMappingTest, CountsAnsweredCallWithoutInboundMediaApartFromQuality) {
  const CallInsights insights = InsightsFixture("insights_no_inbound_media.json");
  const CallObservation obs = MapCall(insights.call, &insights);
  EXPECT_TRUE(obs.answered);
  EXPECT_TRUE(obs.no_inbound_media);
  // Bird reports MOS 4.5 and quality 100 for such calls; they describe nothing.
  EXPECT_EQ(obs.mos, std::nullopt);
  EXPECT_EQ(obs.quality_ratio, std::nullopt);
  EXPECT_EQ(obs.jitter_min_seconds, std::nullopt);
  EXPECT_EQ(obs.jitter_max_seconds, std::nullopt);
  EXPECT_EQ(obs.packet_loss_ratio, std::nullopt);
  EXPECT_EQ(obs.jitter_burst_rate, std::nullopt);
  EXPECT_EQ(obs.mean_interval_seconds, std::nullopt);
  // What did happen is still counted.
  EXPECT_EQ(obs.codec, "PCMU");
  EXPECT_THAT(obs.packets.in, Optional(0.0));
  EXPECT_THAT(obs.packets.out, Optional(602.0));
  EXPECT_THAT(obs.media_packets.in, Optional(0.0));
  EXPECT_THAT(obs.bytes.out, Optional(602.0));
  EXPECT_THAT(obs.pdd_seconds, Optional(0.41872305));
  EXPECT_THAT(obs.duration_seconds, Optional(12.0));
  EXPECT_EQ(obs.cause_class, "ok");
}

TEST(CallMappingTest, FallsBackToInPacketCountWhenMediaPacketCountIsAbsent) {
  CallInsights insights;
  insights.call = CompletedCall();
  insights.has_media_metrics = true;
  insights.media.mos = 4.5;
  insights.media.in_packet_count = 0;
  const CallObservation obs = MapCall(insights.call, &insights);
  EXPECT_TRUE(obs.no_inbound_media);
  EXPECT_EQ(obs.mos, std::nullopt);
}

TEST(CallMappingTest, DoesNotFlagUnansweredCallWithoutInboundMedia) {
  CallInsights insights;
  insights.call = CompletedCall();
  insights.call.status = CallStatus::kNoAnswer;
  insights.call.hangup_cause_code = 19;
  insights.call.hangup_sip_code = "480";
  insights.has_media_metrics = true;
  insights.media.mos = 4.5;
  insights.media.in_media_packet_count = 0;
  const CallObservation obs = MapCall(insights.call, &insights);
  EXPECT_FALSE(obs.answered);
  EXPECT_FALSE(obs.no_inbound_media);
  EXPECT_EQ(obs.mos, std::nullopt);
  EXPECT_EQ(obs.cause_class, "user");
}

TEST(CallMappingTest, ObservesMediaOfUnansweredCallButNotMosOrQuality) {
  CallInsights insights;
  insights.call = CompletedCall();
  insights.call.status = CallStatus::kFailed;
  insights.call.duration_seconds = 7;
  insights.has_media_metrics = true;
  insights.media.mos = 4.2;
  insights.media.quality_score = 90;
  insights.media.in_media_packet_count = 120;  // early media
  insights.media.jitter_max_var_ms2 = 400;
  const CallObservation obs = MapCall(insights.call, &insights);
  EXPECT_FALSE(obs.answered);
  EXPECT_EQ(obs.mos, std::nullopt);
  EXPECT_EQ(obs.quality_ratio, std::nullopt);
  EXPECT_EQ(obs.duration_seconds, std::nullopt);
  EXPECT_THAT(obs.jitter_max_seconds, Optional(0.02));
  EXPECT_THAT(obs.media_packets.in, Optional(120.0));
}

// --- Counted from the list alone ------------------------------------------------------------

TEST(CallMappingTest, MapsListRecordWithoutInsights) {
  const CallPage page = ParseCallPage(ReadFixture("list_calls_page1.json"));
  ASSERT_EQ(page.calls.size(), 2u);
  const CallObservation obs = MapCall(page.calls[0], nullptr);
  EXPECT_FALSE(obs.from_insights);
  EXPECT_EQ(obs.direction, "incoming");
  EXPECT_EQ(obs.call_type, "webrtc");
  EXPECT_EQ(obs.status, "completed");
  EXPECT_EQ(obs.hangup_source, "caller");
  EXPECT_EQ(obs.hangup_cause_code, "16");
  EXPECT_EQ(obs.hangup_cause, "NORMAL_CLEARING");
  EXPECT_EQ(obs.sip_code, "200");  // from sipInsights
  EXPECT_EQ(obs.cause_class, "ok");
  EXPECT_EQ(obs.codec, "unknown");
  EXPECT_TRUE(obs.answered);
  EXPECT_FALSE(obs.no_inbound_media);
  // qualityInsights strings.
  EXPECT_THAT(obs.mos, Optional(4.47));
  EXPECT_THAT(obs.pdd_seconds, Optional(1.23));
  EXPECT_THAT(obs.duration_seconds, Optional(6.0));
  EXPECT_THAT(obs.ended_at, Optional(AtMillis(1732212155120)));  // 2024-11-21T18:02:35.12Z
  // Nothing the list does not carry.
  EXPECT_EQ(obs.quality_ratio, std::nullopt);
  EXPECT_EQ(obs.packets.in, std::nullopt);
  EXPECT_EQ(obs.packets.out, std::nullopt);
  EXPECT_EQ(obs.media_packets.in, std::nullopt);
  EXPECT_EQ(obs.dtmf_packets.in, std::nullopt);
  EXPECT_EQ(obs.bytes.in, std::nullopt);
  EXPECT_EQ(obs.bytes.out, std::nullopt);
  EXPECT_EQ(obs.flaws, std::nullopt);
  EXPECT_EQ(obs.jitter_min_seconds, std::nullopt);
  EXPECT_EQ(obs.jitter_max_seconds, std::nullopt);
  EXPECT_EQ(obs.packet_loss_ratio, std::nullopt);
  EXPECT_EQ(obs.jitter_burst_rate, std::nullopt);
  EXPECT_EQ(obs.mean_interval_seconds, std::nullopt);

  const CallObservation leg = MapCall(page.calls[1], nullptr);
  EXPECT_EQ(leg.direction, "outgoing");
  EXPECT_EQ(leg.call_type, "pstn");
  EXPECT_THAT(leg.mos, Optional(4.41));
  EXPECT_THAT(leg.pdd_seconds, Optional(1.47));
}

TEST(CallMappingTest, MapsUnansweredListRecords) {
  const CallPage page = ParseCallPage(ReadFixture("list_calls_last_page.json"));
  ASSERT_EQ(page.calls.size(), 3u);

  const CallObservation no_answer = MapCall(page.calls[0], nullptr);
  EXPECT_EQ(no_answer.status, "no-answer");
  EXPECT_EQ(no_answer.hangup_source, "timeout");
  EXPECT_EQ(no_answer.hangup_cause_code, "19");
  EXPECT_EQ(no_answer.hangup_cause, "NO_ANSWER");
  EXPECT_EQ(no_answer.sip_code, "unknown");
  EXPECT_EQ(no_answer.cause_class, "user");
  EXPECT_FALSE(no_answer.answered);
  EXPECT_EQ(no_answer.duration_seconds, std::nullopt);
  EXPECT_EQ(no_answer.mos, std::nullopt);
  EXPECT_EQ(no_answer.pdd_seconds, std::nullopt);
  EXPECT_THAT(no_answer.ended_at, Optional(AtMillis(1732211733900)));

  const CallObservation busy = MapCall(page.calls[1], nullptr);
  EXPECT_EQ(busy.status, "busy");
  EXPECT_EQ(busy.hangup_source, "unknown");  // "hangupSource": null
  EXPECT_EQ(busy.hangup_cause_code, "17");
  EXPECT_EQ(busy.hangup_cause, "USER_BUSY");
  EXPECT_EQ(busy.sip_code, "486");
  EXPECT_EQ(busy.cause_class, "user");
  EXPECT_EQ(busy.duration_seconds, std::nullopt);  // duration 0 of an unanswered call

  const CallObservation transferred = MapCall(page.calls[2], nullptr);
  EXPECT_EQ(transferred.status, "unknown");
  EXPECT_EQ(transferred.call_type, "sip");
  EXPECT_EQ(transferred.direction, "incoming");
  EXPECT_EQ(transferred.sip_code, "200");
  EXPECT_FALSE(transferred.answered);
  // An unanswered 16 with SIP 200 tells nothing about why it ended.
  EXPECT_EQ(transferred.cause_class, "unknown");
  EXPECT_EQ(transferred.duration_seconds, std::nullopt);
}

TEST(CallMappingTest, ObservesMosAndDurationOfAnsweredCallsOnly) {
  Call call = CompletedCall();
  call.status = CallStatus::kNoAnswer;
  call.duration_seconds = 5;
  call.mos = 4.5;
  call.pdd_seconds = 2.0;
  const CallObservation obs = MapCall(call, nullptr);
  EXPECT_EQ(obs.mos, std::nullopt);
  EXPECT_EQ(obs.duration_seconds, std::nullopt);
  // PDD is a property of every ended call.
  EXPECT_THAT(obs.pdd_seconds, Optional(2.0));
}

TEST(CallMappingTest, TakesMosFromListWhenInsightsHaveNoMediaMetrics) {
  Call listed = CompletedCall();
  listed.mos = 4.3;
  listed.pdd_seconds = 1.5;
  CallInsights insights;
  insights.call = listed;
  insights.pdd_seconds = 0.8;
  const CallObservation obs = MapCall(listed, &insights);
  EXPECT_TRUE(obs.from_insights);
  EXPECT_EQ(obs.codec, "unknown");
  EXPECT_THAT(obs.mos, Optional(4.3));
  EXPECT_THAT(obs.pdd_seconds, Optional(0.8));
  EXPECT_EQ(obs.packets.in, std::nullopt);
}

// --- Merging list and insights ----------------------------------------------------------------

TEST(CallMappingTest, PrefersInsightsCallFieldsOverListRecord) {
  Call listed = CompletedCall();
  listed.status = CallStatus::kOngoing;
  listed.hangup_cause_code = std::nullopt;
  listed.hangup_sip_code = "";
  listed.pdd_seconds = 9.0;
  const CallInsights insights = InsightsFixture("insights_outbound_completed.json");
  const CallObservation obs = MapCall(listed, &insights);
  EXPECT_EQ(obs.status, "completed");
  EXPECT_EQ(obs.hangup_cause_code, "16");
  EXPECT_EQ(obs.sip_code, "200");
  EXPECT_THAT(obs.pdd_seconds, Optional(0.36154374));
  EXPECT_THAT(obs.duration_seconds, Optional(30.0));
}

TEST(CallMappingTest, KeepsListFieldsInsightsLeaveOut) {
  Call listed = CompletedCall();
  listed.hangup_sip_code = "200";
  listed.duration_seconds = 14;
  listed.ended_at = AtMillis(1'700'000'000'000);
  listed.pdd_seconds = 1.25;
  CallInsights insights;
  insights.call.id = "c1";  // only the id
  const CallObservation obs = MapCall(listed, &insights);
  EXPECT_EQ(obs.status, "completed");
  EXPECT_EQ(obs.direction, "outgoing");
  EXPECT_EQ(obs.call_type, "pstn");
  EXPECT_EQ(obs.hangup_source, "caller");
  EXPECT_EQ(obs.hangup_cause_code, "16");
  EXPECT_EQ(obs.sip_code, "200");
  EXPECT_THAT(obs.duration_seconds, Optional(14.0));
  EXPECT_THAT(obs.pdd_seconds, Optional(1.25));
  EXPECT_THAT(obs.ended_at, Optional(AtMillis(1'700'000'000'000)));
}

// --- Fallbacks and invalid values ---------------------------------------------------------------

TEST(CallMappingTest, DerivesDurationFromAnswerAndEndWhenDurationIsAbsent) {
  Call call = CompletedCall();
  call.answered_at = AtMillis(1'700'000'000'000);
  call.ended_at = AtMillis(1'700'000'012'500);
  const CallObservation obs = MapCall(call, nullptr);
  EXPECT_THAT(obs.duration_seconds, Optional(12.5));
}

TEST(CallMappingTest, LeavesDurationOutWhenEndPrecedesAnswer) {
  Call call = CompletedCall();
  call.answered_at = AtMillis(1'700'000'012'500);
  call.ended_at = AtMillis(1'700'000'000'000);
  EXPECT_EQ(MapCall(call, nullptr).duration_seconds, std::nullopt);
}

TEST(CallMappingTest, EndsAtUpdatedAtWhenEndedAtIsAbsent) {
  Call call = CompletedCall();
  call.updated_at = AtMillis(1'700'000'000'250);
  EXPECT_THAT(MapCall(call, nullptr).ended_at, Optional(AtMillis(1'700'000'000'250)));
  call.updated_at = std::nullopt;
  EXPECT_EQ(MapCall(call, nullptr).ended_at, std::nullopt);
}

TEST(CallMappingTest, LabelsMissingCauseAsUnknown) {
  Call call = CompletedCall();
  call.hangup_cause_code = std::nullopt;
  const CallObservation obs = MapCall(call, nullptr);
  EXPECT_EQ(obs.hangup_cause_code, "unknown");
  EXPECT_EQ(obs.hangup_cause, "unknown");
  EXPECT_EQ(obs.cause_class, "ok");  // answered
}

TEST(CallMappingTest, LabelsUnnamedCauseByCodeAndFreeSwitchName) {
  Call call = CompletedCall();
  call.status = CallStatus::kFailed;
  call.hangup_cause_code = 47;
  call.hangup_sip_code = "503";
  const CallObservation obs = MapCall(call, nullptr);
  EXPECT_EQ(obs.hangup_cause_code, "47");
  EXPECT_EQ(obs.hangup_cause, "UNKNOWN");
  EXPECT_EQ(obs.cause_class, "network");
}

TEST(CallMappingTest, LabelsInvalidSipCodeAsUnknown) {
  for (const char* sip : {"", "abc", "20", "2000", "099", "700", "48a", " 486", "-48"}) {
    Call call = CompletedCall();
    call.hangup_sip_code = sip;
    EXPECT_EQ(MapCall(call, nullptr).sip_code, "unknown") << '"' << sip << '"';
  }
  for (const char* sip : {"100", "200", "486", "603", "699"}) {
    Call call = CompletedCall();
    call.hangup_sip_code = sip;
    EXPECT_EQ(MapCall(call, nullptr).sip_code, sip);
  }
}

TEST(CallMappingTest, DropsNegativeAndNonFiniteValues) {
  CallInsights insights;
  insights.call = CompletedCall();
  insights.pdd_seconds = -0.5;
  insights.has_media_metrics = true;
  insights.media.in_media_packet_count = 100;
  insights.media.mos = -1;
  insights.media.quality_score = std::nan("");
  insights.media.jitter_min_var_ms2 = -4;
  insights.media.jitter_max_var_ms2 = std::numeric_limits<double>::infinity();
  insights.media.mean_interval_ms = -20;
  insights.media.out_bytes = -1;
  const CallObservation obs = MapCall(insights.call, &insights);
  EXPECT_EQ(obs.pdd_seconds, std::nullopt);
  EXPECT_EQ(obs.mos, std::nullopt);
  EXPECT_EQ(obs.quality_ratio, std::nullopt);
  EXPECT_EQ(obs.jitter_min_seconds, std::nullopt);
  EXPECT_EQ(obs.jitter_max_seconds, std::nullopt);
  EXPECT_EQ(obs.mean_interval_seconds, std::nullopt);
  EXPECT_EQ(obs.bytes.out, std::nullopt);
  EXPECT_THAT(obs.media_packets.in, Optional(100.0));
}

TEST(CallMappingTest, DropsALossRateAboveOneAsASequenceJumpAndKeepsItsBurstRate) {
  CallInsights insights;
  insights.call = CompletedCall();
  insights.has_media_metrics = true;
  insights.media.in_media_packet_count = 500;
  insights.media.jitter_loss_rate = 1.32;
  insights.media.jitter_burst_rate = 0.32;
  const CallObservation obs = MapCall(insights.call, &insights);
  EXPECT_EQ(obs.packet_loss_ratio, std::nullopt);
  EXPECT_THAT(obs.field_anomalies, ElementsAre("mediaMetrics.jitterLossRate"));
  EXPECT_THAT(obs.jitter_burst_rate, Optional(0.32));
}

TEST(CallMappingTest, SanitisesReadCodecNameForTheCodecLabel) {
  CallInsights insights;
  insights.call = CompletedCall();
  insights.has_media_metrics = true;
  insights.media.in_media_packet_count = 10;
  insights.media.read_codec_name = "PC MU";
  insights.media.write_codec_name = "PCMU";
  EXPECT_EQ(MapCall(insights.call, &insights).codec, "other");
  insights.media.read_codec_name = "";
  EXPECT_EQ(MapCall(insights.call, &insights).codec, "unknown");
}

// --- Codec label ------------------------------------------------------------------------------

struct CodecCase {
  std::string name;
  std::string label;
};

class CodecLabelTest : public ::testing::TestWithParam<CodecCase> {};

TEST_P(CodecLabelTest, KeepsCodecLabelBounded) {
  EXPECT_EQ(CodecLabel(GetParam().name), GetParam().label) << '"' << GetParam().name << '"';
}

INSTANTIATE_TEST_SUITE_P(Codecs, CodecLabelTest,
                         ::testing::Values(CodecCase{"", "unknown"}, CodecCase{"PCMU", "PCMU"},
                                           CodecCase{"PCMA", "PCMA"}, CodecCase{"opus", "opus"},
                                           CodecCase{"G722", "G722"}, CodecCase{"G.729", "G.729"},
                                           CodecCase{"AMR-WB", "AMR-WB"},
                                           CodecCase{"a_b+c", "a_b+c"}, CodecCase{"PC MU", "other"},
                                           CodecCase{"PCMU\n", "other"},
                                           CodecCase{"opus/48000", "other"},
                                           CodecCase{"\"x\"", "other"}, CodecCase{"{x}", "other"},
                                           CodecCase{"op\xc3\xbcs", "other"},
                                           CodecCase{std::string(32, 'a'), std::string(32, 'a')},
                                           CodecCase{std::string(33, 'a'), "other"}));

// --- Values out of range ----------------------------------------------------------------------

struct OutOfRangeCase {
  const char* field;
  double bad;
  std::function<void(CallInsights&, double)> set;
  std::function<std::optional<double>(const CallObservation&)> observed;
};

CallInsights HealthyInsights() {
  CallInsights insights;
  insights.call = CompletedCall();
  insights.call.duration_seconds = 60;
  insights.pdd_seconds = 1.2;
  insights.has_media_metrics = true;
  MediaMetrics& m = insights.media;
  m.mos = 4.4;
  m.quality_score = 97;
  m.in_bytes = m.out_bytes = 160000;
  m.in_packet_count = m.out_packet_count = 3000;
  m.in_media_packet_count = m.out_media_packet_count = 2990;
  m.in_dtmf_packet_count = m.out_dtmf_packet_count = 10;
  m.jitter_min_var_ms2 = 4;
  m.jitter_max_var_ms2 = 400;
  m.jitter_loss_rate = 0.01;
  m.jitter_burst_rate = 0.99;
  m.mean_interval_ms = 20;
  m.flaw_total = 3;
  return insights;
}

class OutOfRangeTest : public ::testing::TestWithParam<OutOfRangeCase> {};

TEST_P(OutOfRangeTest, DropsTheValueCountsTheCallAndNamesTheField) {
  const OutOfRangeCase& c = GetParam();
  CallInsights insights = HealthyInsights();
  const CallObservation healthy = MapCall(insights.call, &insights);
  ASSERT_TRUE(healthy.field_anomalies.empty());
  ASSERT_TRUE(c.observed(healthy).has_value()) << c.field;

  c.set(insights, c.bad);
  const CallObservation obs = MapCall(insights.call, &insights);
  EXPECT_EQ(c.observed(obs), std::nullopt) << c.field << " = " << c.bad;
  EXPECT_THAT(obs.field_anomalies, ElementsAre(c.field)) << c.bad;
  // The rest of the call is intact.
  EXPECT_EQ(obs.status, "completed");
  EXPECT_EQ(obs.cause_class, healthy.cause_class);
}

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

auto Media(std::optional<double> MediaMetrics::*member) {
  return [member](CallInsights& i, double v) { i.media.*member = v; };
}

INSTANTIATE_TEST_SUITE_P(
    Fields, OutOfRangeTest,
    ::testing::Values(
        OutOfRangeCase{"mediaMetrics.mos", 7.3, Media(&MediaMetrics::mos),
                       [](const CallObservation& o) { return o.mos; }},
        OutOfRangeCase{"mediaMetrics.mos", 0.5, Media(&MediaMetrics::mos),
                       [](const CallObservation& o) { return o.mos; }},
        OutOfRangeCase{"mediaMetrics.mos", kNaN, Media(&MediaMetrics::mos),
                       [](const CallObservation& o) { return o.mos; }},
        OutOfRangeCase{"mediaMetrics.qualityScore", 101, Media(&MediaMetrics::quality_score),
                       [](const CallObservation& o) { return o.quality_ratio; }},
        OutOfRangeCase{"mediaMetrics.qualityScore", -1, Media(&MediaMetrics::quality_score),
                       [](const CallObservation& o) { return o.quality_ratio; }},
        OutOfRangeCase{"mediaMetrics.jitterLossRate", 1.5, Media(&MediaMetrics::jitter_loss_rate),
                       [](const CallObservation& o) { return o.packet_loss_ratio; }},
        OutOfRangeCase{"mediaMetrics.jitterLossRate", -0.1, Media(&MediaMetrics::jitter_loss_rate),
                       [](const CallObservation& o) { return o.packet_loss_ratio; }},
        OutOfRangeCase{"mediaMetrics.jitterBurstRate", -2, Media(&MediaMetrics::jitter_burst_rate),
                       [](const CallObservation& o) { return o.jitter_burst_rate; }},
        OutOfRangeCase{"mediaMetrics.jitterMinVar", -4, Media(&MediaMetrics::jitter_min_var_ms2),
                       [](const CallObservation& o) { return o.jitter_min_seconds; }},
        OutOfRangeCase{"mediaMetrics.jitterMaxVar", 1e308, Media(&MediaMetrics::jitter_max_var_ms2),
                       [](const CallObservation& o) { return o.jitter_max_seconds; }},
        OutOfRangeCase{"mediaMetrics.meanInterval", 9e7, Media(&MediaMetrics::mean_interval_ms),
                       [](const CallObservation& o) { return o.mean_interval_seconds; }},
        OutOfRangeCase{"mediaMetrics.inBytes", 1e20, Media(&MediaMetrics::in_bytes),
                       [](const CallObservation& o) { return o.bytes.in; }},
        OutOfRangeCase{"mediaMetrics.outBytes", -1, Media(&MediaMetrics::out_bytes),
                       [](const CallObservation& o) { return o.bytes.out; }},
        OutOfRangeCase{"mediaMetrics.outPacketCount", 9007199254740994.0,
                       Media(&MediaMetrics::out_packet_count),
                       [](const CallObservation& o) { return o.packets.out; }},
        OutOfRangeCase{"mediaMetrics.outMediaPacketCount", kInf,
                       Media(&MediaMetrics::out_media_packet_count),
                       [](const CallObservation& o) { return o.media_packets.out; }},
        OutOfRangeCase{"mediaMetrics.inDtmfPacketCount", -5,
                       Media(&MediaMetrics::in_dtmf_packet_count),
                       [](const CallObservation& o) { return o.dtmf_packets.in; }},
        OutOfRangeCase{"mediaMetrics.outDtmfPacketCount", 1e300,
                       Media(&MediaMetrics::out_dtmf_packet_count),
                       [](const CallObservation& o) { return o.dtmf_packets.out; }},
        OutOfRangeCase{"mediaMetrics.flawTotal", -3, Media(&MediaMetrics::flaw_total),
                       [](const CallObservation& o) { return o.flaws; }},
        OutOfRangeCase{"signallingMetrics.pdd", -0.2,
                       [](CallInsights& i, double v) { i.pdd_seconds = v; },
                       [](const CallObservation& o) { return o.pdd_seconds; }},
        OutOfRangeCase{"signallingMetrics.pdd", 90000,
                       [](CallInsights& i, double v) { i.pdd_seconds = v; },
                       [](const CallObservation& o) { return o.pdd_seconds; }},
        OutOfRangeCase{"duration", 86401,
                       [](CallInsights& i, double v) {
                         i.call.duration_seconds = static_cast<std::int64_t>(v);
                       },
                       [](const CallObservation& o) { return o.duration_seconds; }},
        OutOfRangeCase{"duration", -30,
                       [](CallInsights& i, double v) {
                         i.call.duration_seconds = static_cast<std::int64_t>(v);
                       },
                       [](const CallObservation& o) { return o.duration_seconds; }}));

TEST(CallMappingTest, ACauseCodeOutsideQ850IsUnknownAndAnAnomaly) {
  Call call = CompletedCall();
  call.hangup_cause_code = 999;
  const CallObservation obs = MapCall(call, nullptr);
  EXPECT_EQ(obs.hangup_cause_code, "unknown");
  EXPECT_EQ(obs.hangup_cause, "unknown");
  EXPECT_THAT(obs.field_anomalies, ElementsAre("hangupCauseCode"));
}

TEST(CallMappingTest, ListMosAndPddOutOfRangeAreDroppedFromAListCountedCall) {
  Call call = CompletedCall();
  call.mos = 12;
  call.pdd_seconds = -1;
  call.duration_seconds = 20;
  const CallObservation obs = MapCall(call, nullptr);
  EXPECT_EQ(obs.mos, std::nullopt);
  EXPECT_EQ(obs.pdd_seconds, std::nullopt);
  EXPECT_THAT(obs.duration_seconds, Optional(20.0));
  EXPECT_THAT(obs.field_anomalies, ElementsAre("qualityInsights.mos", "qualityInsights.pdd"));
}

TEST(CallMappingTest, CarriesWhatTheParserAndThePollerFoundUnusableOncePerField) {
  Call listed = CompletedCall();
  listed.anomalies = {"createdAt", "duration"};
  CallInsights insights = HealthyInsights();
  insights.call.anomalies = {"duration", "mediaMetrics.inBytes"};
  insights.media.in_bytes.reset();
  const CallObservation obs = MapCall(listed, &insights);
  EXPECT_THAT(obs.field_anomalies, ElementsAre("createdAt", "duration", "mediaMetrics.inBytes"));
}

TEST(CallMappingTest, EveryFieldRangeIsAClosedIntervalWithinTheDoubles) {
  std::set<std::string_view> seen;
  for (const FieldRange& range : FieldRanges()) {
    EXPECT_TRUE(seen.insert(range.field).second) << range.field << " twice";
    EXPECT_LE(range.min, range.max) << range.field;
    EXPECT_TRUE(std::isfinite(range.max)) << range.field;
  }
}

}  // namespace
}  // namespace bird_exporter
