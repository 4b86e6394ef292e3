#include "bird/model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/fixtures.h"

namespace bird_exporter {
namespace {

using testing::AtMillis;
using testing::ReadFixture;

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A one-record list page whose record has the given extra members (a JSON object's inside).
std::string PageWithRecord(const std::string& members) {
  return R"({"results":[{"id":"c1")" + (members.empty() ? "" : "," + members) + "}]}";
}

Call ParseSingleRecord(const std::string& members) {
  const CallPage page = ParseCallPage(PageWithRecord(members));
  EXPECT_EQ(page.calls.size(), 1u);
  return page.calls.at(0);
}

// --- Enums ------------------------------------------------------------------------------------

struct StatusCase {
  const char* text;
  CallStatus status;
  bool terminal;
};

class CallStatusTest : public ::testing::TestWithParam<StatusCase> {};

TEST_P(CallStatusTest, ParsesDocumentedStatusAndRoundTripsLabel) {
  const auto& c = GetParam();
  EXPECT_EQ(ParseCallStatus(c.text), c.status);
  EXPECT_EQ(ToString(c.status), c.text);
  EXPECT_EQ(IsTerminal(c.status), c.terminal) << c.text;
}

INSTANTIATE_TEST_SUITE_P(Documented, CallStatusTest,
                         ::testing::Values(StatusCase{"accepted", CallStatus::kAccepted, false},
                                           StatusCase{"scheduled", CallStatus::kScheduled, false},
                                           StatusCase{"starting", CallStatus::kStarting, false},
                                           StatusCase{"ringing", CallStatus::kRinging, false},
                                           StatusCase{"ongoing", CallStatus::kOngoing, false},
                                           StatusCase{"completed", CallStatus::kCompleted, true},
                                           StatusCase{"no-answer", CallStatus::kNoAnswer, true},
                                           StatusCase{"busy", CallStatus::kBusy, true},
                                           StatusCase{"failed", CallStatus::kFailed, true},
                                           StatusCase{"cancelled", CallStatus::kCancelled, true},
                                           StatusCase{"unknown", CallStatus::kUnknown, false}));

TEST(CallStatusTest, MapsUnknownStatusToUnknown) {
  for (const char* text : {"transferred", "", "COMPLETED", "no_answer", "canceled", " busy"}) {
    EXPECT_EQ(ParseCallStatus(text), CallStatus::kUnknown) << '"' << text << '"';
  }
}

TEST(DirectionTest, ParsesDocumentedDirectionsAndMapsOthersToUnknown) {
  EXPECT_EQ(ParseDirection("incoming"), Direction::kIncoming);
  EXPECT_EQ(ParseDirection("outgoing"), Direction::kOutgoing);
  EXPECT_EQ(ParseDirection("inbound"), Direction::kUnknown);
  EXPECT_EQ(ParseDirection(""), Direction::kUnknown);
  EXPECT_EQ(ToString(Direction::kIncoming), "incoming");
  EXPECT_EQ(ToString(Direction::kOutgoing), "outgoing");
  EXPECT_EQ(ToString(Direction::kUnknown), "unknown");
}

TEST(CallTypeTest, ParsesDocumentedTypesAndMapsOthersToUnknown) {
  EXPECT_EQ(ParseCallType("pstn"), CallType::kPstn);
  EXPECT_EQ(ParseCallType("sip"), CallType::kSip);
  EXPECT_EQ(ParseCallType("webrtc"), CallType::kWebrtc);
  EXPECT_EQ(ParseCallType("whatsapp"), CallType::kUnknown);
  EXPECT_EQ(ToString(CallType::kPstn), "pstn");
  EXPECT_EQ(ToString(CallType::kSip), "sip");
  EXPECT_EQ(ToString(CallType::kWebrtc), "webrtc");
  EXPECT_EQ(ToString(CallType::kUnknown), "unknown");
}

struct HangupSourceCase {
  const char* text;
  HangupSource source;
};

class HangupSourceTest : public ::testing::TestWithParam<HangupSourceCase> {};

TEST_P(HangupSourceTest, ParsesDocumentedSourceAndRoundTripsLabel) {
  EXPECT_EQ(ParseHangupSource(GetParam().text), GetParam().source);
  EXPECT_EQ(ToString(GetParam().source), GetParam().text);
}

INSTANTIATE_TEST_SUITE_P(Documented, HangupSourceTest,
                         ::testing::Values(HangupSourceCase{"callee", HangupSource::kCallee},
                                           HangupSourceCase{"caller", HangupSource::kCaller},
                                           HangupSourceCase{"api", HangupSource::kApi},
                                           HangupSourceCase{"timeout", HangupSource::kTimeout},
                                           HangupSourceCase{"media-timeout",
                                                            HangupSource::kMediaTimeout},
                                           HangupSourceCase{"none", HangupSource::kNone},
                                           HangupSourceCase{"unknown", HangupSource::kUnknown}));

TEST(HangupSourceTest, MapsUnknownSourceToUnknown) {
  EXPECT_EQ(ParseHangupSource("network"), HangupSource::kUnknown);
  EXPECT_EQ(ParseHangupSource("media_timeout"), HangupSource::kUnknown);
  EXPECT_EQ(ParseHangupSource(""), HangupSource::kUnknown);
}

// --- Insights: the published example ----------------------------------------------------------

class SeedInsightsTest : public ::testing::Test {
 protected:
  CallInsights insights_ = ParseCallInsights(ReadFixture("insights_outbound_completed.json"));
};

TEST_F(SeedInsightsTest, ParsesCallFields) {
  const Call& call = insights_.call;
  EXPECT_EQ(call.id, "382ef429-78ba-416d-899e-657d39d194ea");
  EXPECT_EQ(call.channel_id, "880d8171-cbab-47bb-81b6-b1a0902da136");
  EXPECT_EQ(call.parent_id, "");
  EXPECT_EQ(call.status, CallStatus::kCompleted);
  EXPECT_EQ(call.direction, Direction::kOutgoing);
  EXPECT_EQ(call.type, CallType::kPstn);
  EXPECT_EQ(call.duration_seconds, 30);
  EXPECT_EQ(call.hangup_cause_code, 16);
  EXPECT_EQ(call.hangup_source, HangupSource::kCaller);
  EXPECT_EQ(call.hangup_sip_code, "200");
  // Insights carry no qualityInsights block; quality comes from the metrics blocks.
  EXPECT_EQ(call.mos, std::nullopt);
  EXPECT_EQ(call.pdd_seconds, std::nullopt);
}

TEST_F(SeedInsightsTest, ParsesTimestampsExactly) {
  const Call& call = insights_.call;
  EXPECT_EQ(call.created_at, AtMillis(1698253274645));   // 2023-10-25T17:01:14.645Z
  EXPECT_EQ(call.updated_at, AtMillis(1698253305655));   // 2023-10-25T17:01:45.655Z
  EXPECT_EQ(call.answered_at, AtMillis(1698253276038));  // 2023-10-25T17:01:16.038Z
  EXPECT_EQ(call.ended_at, AtMillis(1698253305478));     // 2023-10-25T17:01:45.478Z
}

TEST_F(SeedInsightsTest, ParsesSignallingPddInSeconds) {
  ASSERT_TRUE(insights_.pdd_seconds.has_value());
  EXPECT_DOUBLE_EQ(*insights_.pdd_seconds, 0.36154374);
}

TEST_F(SeedInsightsTest, ParsesEveryMediaMetric) {
  ASSERT_TRUE(insights_.has_media_metrics);
  const MediaMetrics& m = insights_.media;
  EXPECT_EQ(m.mos, 4.5);
  EXPECT_EQ(m.quality_score, 100.0);
  EXPECT_EQ(m.in_bytes, 918.0);
  EXPECT_EQ(m.out_bytes, 1462.0);
  EXPECT_EQ(m.in_packet_count, 918.0);
  EXPECT_EQ(m.out_packet_count, 1462.0);
  EXPECT_EQ(m.in_media_packet_count, 904.0);
  EXPECT_EQ(m.out_media_packet_count, 0.0);
  EXPECT_EQ(m.in_dtmf_packet_count, 0.0);
  EXPECT_EQ(m.out_dtmf_packet_count, 0.0);
  EXPECT_EQ(m.jitter_min_var_ms2, 126.08);
  EXPECT_EQ(m.jitter_max_var_ms2, 1187.95);
  EXPECT_EQ(m.jitter_loss_rate, 0.0);
  EXPECT_EQ(m.jitter_burst_rate, 0.0);
  EXPECT_EQ(m.mean_interval_ms, 20.89);
  EXPECT_EQ(m.flaw_total, 0.0);
  EXPECT_EQ(m.read_codec_name, "PCMU");
  EXPECT_EQ(m.write_codec_name, "PCMU");
}

// --- Insights: quirks ---------------------------------------------------------------------------

TEST(CallInsightsTest, ParsesMetricsGivenAsStrings) {
  const CallInsights insights = ParseCallInsights(ReadFixture("insights_numbers_as_strings.json"));
  EXPECT_EQ(insights.pdd_seconds, 2.5);
  ASSERT_TRUE(insights.has_media_metrics);
  const MediaMetrics& m = insights.media;
  EXPECT_EQ(m.mos, 3.87);
  EXPECT_EQ(m.quality_score, 76.0);
  EXPECT_EQ(m.in_bytes, 2260.0);
  EXPECT_EQ(m.out_bytes, 2248.0);
  EXPECT_EQ(m.in_packet_count, 2260.0);
  EXPECT_EQ(m.out_packet_count, 2248.0);
  EXPECT_EQ(m.in_media_packet_count, 2231.0);
  EXPECT_EQ(m.out_media_packet_count, 2248.0);
  EXPECT_EQ(m.in_dtmf_packet_count, 0.0);
  EXPECT_EQ(m.out_dtmf_packet_count, 0.0);
  EXPECT_EQ(m.jitter_min_var_ms2, 98.4);
  EXPECT_EQ(m.jitter_max_var_ms2, 2411.3);
  EXPECT_EQ(m.jitter_loss_rate, 0.02);
  EXPECT_EQ(m.jitter_burst_rate, 0.01);
  EXPECT_EQ(m.mean_interval_ms, 20.12);
  EXPECT_EQ(m.flaw_total, 530.0);
  EXPECT_EQ(m.read_codec_name, "PCMA");
  EXPECT_EQ(m.write_codec_name, "PCMA");
  EXPECT_EQ(insights.call.duration_seconds, 45);
  EXPECT_EQ(insights.call.hangup_source, HangupSource::kCallee);
}

TEST(CallInsightsTest, KeepsDefaultQualityOfCallWithoutInboundMedia) {
  // Bird still reports mos 4.5 / qualityScore 100 here; the parser passes the values through
  // and leaves the decision to skip them to whoever records the call.
  const CallInsights insights = ParseCallInsights(ReadFixture("insights_no_inbound_media.json"));
  ASSERT_TRUE(insights.has_media_metrics);
  EXPECT_EQ(insights.media.in_media_packet_count, 0.0);
  EXPECT_EQ(insights.media.out_media_packet_count, 602.0);
  EXPECT_EQ(insights.media.mos, 4.5);
  EXPECT_EQ(insights.media.quality_score, 100.0);
  EXPECT_EQ(insights.pdd_seconds, 0.41872305);
  EXPECT_EQ(insights.call.answered_at, AtMillis(1732201363517));  // 2024-11-21T15:02:43.517Z
}

TEST(CallInsightsTest, ReportsNoMediaMetricsWhenBlockAbsentOrNull) {
  for (const char* body : {R"({"id":"c1","status":"failed"})",
                           R"({"id":"c1","status":"failed","mediaMetrics":null})"}) {
    const CallInsights insights = ParseCallInsights(body);
    EXPECT_FALSE(insights.has_media_metrics) << body;
    EXPECT_EQ(insights.media.mos, std::nullopt) << body;
    EXPECT_EQ(insights.media.read_codec_name, "") << body;
    EXPECT_EQ(insights.pdd_seconds, std::nullopt) << body;
    EXPECT_EQ(insights.call.status, CallStatus::kFailed) << body;
  }
}

TEST(CallInsightsTest, ReportsMediaMetricsForEmptyBlock) {
  const CallInsights insights =
      ParseCallInsights(R"({"id":"c1","mediaMetrics":{},"signallingMetrics":{}})");
  EXPECT_TRUE(insights.has_media_metrics);
  EXPECT_EQ(insights.media.mos, std::nullopt);
  EXPECT_EQ(insights.media.in_media_packet_count, std::nullopt);
  EXPECT_EQ(insights.pdd_seconds, std::nullopt);
}

TEST(CallInsightsTest, IgnoresUndocumentedFields) {
  const CallInsights insights = ParseCallInsights(
      R"({"id":"c1","mediaMetrics":{"mos":4.1,"rtcpRtt":[1,2]},"callFlow":{"id":"f"},"x":null})");
  EXPECT_EQ(insights.media.mos, 4.1);
}

// --- List pages -------------------------------------------------------------------------------

class FirstListPageTest : public ::testing::Test {
 protected:
  CallPage page_ = ParseCallPage(ReadFixture("list_calls_page1.json"));
};

TEST_F(FirstListPageTest, ParsesBothRecordsAndTheCursor) {
  ASSERT_EQ(page_.calls.size(), 2u);
  EXPECT_EQ(page_.next_page_token,
            "WzE3MzIyMTIxNTU1NTAsIjY3MzEyNjAxLTliMmUtNGM4YS1hMWY0LTNlNWQ3YzJiOWYxMCJd");
}

TEST_F(FirstListPageTest, ParsesWebrtcParentCall) {
  const Call& call = page_.calls.at(0);
  EXPECT_EQ(call.id, "9f3c2a71-5d4e-4b8a-8c61-2e7f0a9b3d15");
  EXPECT_EQ(call.channel_id, "880d8171-cbab-47bb-81b6-b1a0902da136");
  EXPECT_EQ(call.parent_id, "");
  EXPECT_EQ(call.status, CallStatus::kCompleted);
  EXPECT_EQ(call.direction, Direction::kIncoming);
  EXPECT_EQ(call.type, CallType::kWebrtc);
  EXPECT_EQ(call.duration_seconds, 6);
  EXPECT_EQ(call.hangup_cause_code, 16);
  EXPECT_EQ(call.hangup_source, HangupSource::kCaller);
}

TEST_F(FirstListPageTest, ParsesMosGivenAsString) {
  EXPECT_EQ(page_.calls.at(0).mos, 4.47);
  EXPECT_EQ(page_.calls.at(1).mos, 4.41);
}

TEST_F(FirstListPageTest, ParsesPddGivenAsString) {
  EXPECT_EQ(page_.calls.at(0).pdd_seconds, 1.23);
  EXPECT_EQ(page_.calls.at(1).pdd_seconds, 1.47);
}

TEST_F(FirstListPageTest, ReadsSipCodeFromSipInsights) {
  EXPECT_EQ(page_.calls.at(0).hangup_sip_code, "200");
  EXPECT_EQ(page_.calls.at(1).hangup_sip_code, "200");
}

TEST_F(FirstListPageTest, LinksChildLegToParentById) {
  const Call& leg = page_.calls.at(1);
  EXPECT_EQ(leg.id, "67312601-9b2e-4c8a-a1f4-3e5d7c2b9f10");
  EXPECT_EQ(leg.parent_id, page_.calls.at(0).id);
  EXPECT_EQ(leg.type, CallType::kPstn);
  EXPECT_EQ(leg.direction, Direction::kOutgoing);
}

TEST_F(FirstListPageTest, ParsesTimestampsWithVaryingFractionDigits) {
  const Call& call = page_.calls.at(0);
  EXPECT_EQ(call.created_at, AtMillis(1732212145770));   // .77Z
  EXPECT_EQ(call.updated_at, AtMillis(1732212155543));   // .543Z
  EXPECT_EQ(call.answered_at, AtMillis(1732212149104));  // .104Z
  EXPECT_EQ(call.ended_at, AtMillis(1732212155120));     // .12Z
  EXPECT_EQ(page_.calls.at(1).created_at, AtMillis(1732212146015));
  EXPECT_EQ(page_.calls.at(1).ended_at, AtMillis(1732212155118));
}

class LastListPageTest : public ::testing::Test {
 protected:
  CallPage page_ = ParseCallPage(ReadFixture("list_calls_last_page.json"));
};

TEST_F(LastListPageTest, HasNoCursor) {
  ASSERT_EQ(page_.calls.size(), 3u);
  EXPECT_EQ(page_.next_page_token, "");
}

TEST_F(LastListPageTest, LeavesOmittedFieldsAbsent) {
  const Call& call = page_.calls.at(0);
  EXPECT_EQ(call.id, "1b6d9e42-8c3f-4a07-b5e1-6f2a9d0c7e38");
  EXPECT_EQ(call.status, CallStatus::kNoAnswer);
  EXPECT_EQ(call.hangup_cause_code, 19);
  EXPECT_EQ(call.hangup_source, HangupSource::kTimeout);
  EXPECT_EQ(call.duration_seconds, std::nullopt);
  EXPECT_EQ(call.answered_at, std::nullopt);
  EXPECT_EQ(call.mos, std::nullopt);
  EXPECT_EQ(call.pdd_seconds, std::nullopt);
  EXPECT_EQ(call.hangup_sip_code, "");
  EXPECT_EQ(call.parent_id, "");
  EXPECT_EQ(call.created_at, AtMillis(1732211702400));  // .4Z
  EXPECT_EQ(call.ended_at, AtMillis(1732211733900));    // .9Z
}

TEST_F(LastListPageTest, MapsNullHangupSourceToUnknown) {
  const Call& call = page_.calls.at(1);
  EXPECT_EQ(call.status, CallStatus::kBusy);
  EXPECT_EQ(call.hangup_source, HangupSource::kUnknown);
  EXPECT_EQ(call.hangup_cause_code, 17);
  EXPECT_EQ(call.duration_seconds, 0);
  EXPECT_EQ(call.hangup_sip_code, "486");
}

TEST_F(LastListPageTest, MapsUnknownStatusToUnknownAndKeepsTheRest) {
  const Call& call = page_.calls.at(2);
  EXPECT_EQ(call.status, CallStatus::kUnknown);
  EXPECT_FALSE(IsTerminal(call.status));
  EXPECT_EQ(call.type, CallType::kSip);
  EXPECT_EQ(call.direction, Direction::kIncoming);
  EXPECT_EQ(call.duration_seconds, 42);
  EXPECT_EQ(call.hangup_sip_code, "200");
  EXPECT_EQ(call.answered_at, AtMillis(1732210817250));  // .25Z
}

TEST(CallPageTest, ParsesEmptyPage) {
  const CallPage page = ParseCallPage(R"({"results":[]})");
  EXPECT_TRUE(page.calls.empty());
  EXPECT_EQ(page.next_page_token, "");
}

TEST(CallPageTest, ReadsNullOrEmptyCursorAsLastPage) {
  for (const char* body :
       {R"({"results":[],"nextPageToken":null})", R"({"results":[],"nextPageToken":""})"}) {
    EXPECT_EQ(ParseCallPage(body).next_page_token, "") << body;
  }
}

TEST(CallPageTest, AcceptsRecordWithOnlyAnId) {
  const Call call = ParseSingleRecord("");
  EXPECT_EQ(call.id, "c1");
  EXPECT_EQ(call.channel_id, "");
  EXPECT_EQ(call.status, CallStatus::kUnknown);
  EXPECT_EQ(call.direction, Direction::kUnknown);
  EXPECT_EQ(call.type, CallType::kUnknown);
  EXPECT_EQ(call.hangup_source, HangupSource::kUnknown);
  EXPECT_EQ(call.duration_seconds, std::nullopt);
  EXPECT_EQ(call.hangup_cause_code, std::nullopt);
  EXPECT_EQ(call.created_at, std::nullopt);
  EXPECT_EQ(call.updated_at, std::nullopt);
  EXPECT_EQ(call.mos, std::nullopt);
}

// --- Value tolerance --------------------------------------------------------------------------

struct NumberCase {
  const char* json_value;
  std::optional<double> expected;
};

class QualityNumberTest : public ::testing::TestWithParam<NumberCase> {};

TEST_P(QualityNumberTest, ReadsMosFromNumberOrNumericStringElseAbsent) {
  const Call call =
      ParseSingleRecord(std::string(R"("qualityInsights":{"mos":)") + GetParam().json_value + "}");
  EXPECT_EQ(call.mos, GetParam().expected) << GetParam().json_value;
  // A value that is there but unreadable is an anomaly; null and "" are "no value".
  const std::string text = GetParam().json_value;
  const bool no_value = text == "null" || text == R"("")";
  if (GetParam().expected || no_value) {
    EXPECT_THAT(call.anomalies, ::testing::IsEmpty()) << text;
  } else {
    EXPECT_THAT(call.anomalies, ::testing::ElementsAre("qualityInsights.mos")) << text;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Values, QualityNumberTest,
    ::testing::Values(NumberCase{"4.47", 4.47}, NumberCase{R"("4.47")", 4.47}, NumberCase{"4", 4.0},
                      NumberCase{R"("4")", 4.0}, NumberCase{R"("1e0")", 1.0},
                      NumberCase{R"("-0.5")", -0.5}, NumberCase{R"("")", std::nullopt},
                      NumberCase{"null", std::nullopt}, NumberCase{R"("n/a")", std::nullopt},
                      NumberCase{R"("4.47abc")", std::nullopt},
                      NumberCase{R"(" 4.47")", std::nullopt}, NumberCase{R"("4,47")", std::nullopt},
                      NumberCase{R"("nan")", std::nullopt}, NumberCase{R"("inf")", std::nullopt},
                      NumberCase{R"("1e400")", std::nullopt}, NumberCase{"true", std::nullopt},
                      NumberCase{"[4.47]", std::nullopt},
                      NumberCase{R"({"v":4.47})", std::nullopt}));

TEST(QualityNumberTest, TreatsNullOrAbsentQualityBlockAsNoQuality) {
  EXPECT_EQ(ParseSingleRecord(R"("qualityInsights":null)").mos, std::nullopt);
  EXPECT_EQ(ParseSingleRecord(R"("qualityInsights":{})").pdd_seconds, std::nullopt);
}

struct IntegerCase {
  const char* json_value;
  std::optional<std::int64_t> expected;
};

class DurationTest : public ::testing::TestWithParam<IntegerCase> {};

TEST_P(DurationTest, ReadsIntegerFromNumberFloatOrStringElseAbsent) {
  const Call call = ParseSingleRecord(std::string(R"("duration":)") + GetParam().json_value);
  EXPECT_EQ(call.duration_seconds, GetParam().expected) << GetParam().json_value;
}

INSTANTIATE_TEST_SUITE_P(
    Values, DurationTest,
    ::testing::Values(IntegerCase{"30", 30}, IntegerCase{"30.0", 30}, IntegerCase{"3e1", 30},
                      IntegerCase{R"("30")", 30}, IntegerCase{R"("30.0")", 30}, IntegerCase{"0", 0},
                      IntegerCase{"-1", -1},
                      IntegerCase{"9223372036854775807", std::numeric_limits<std::int64_t>::max()},
                      IntegerCase{R"("9223372036854775807")",
                                  std::numeric_limits<std::int64_t>::max()},
                      IntegerCase{"18446744073709551615", std::nullopt},
                      IntegerCase{"1e300", std::nullopt}, IntegerCase{"30.5", std::nullopt},
                      IntegerCase{R"("30.5")", std::nullopt}, IntegerCase{R"("")", std::nullopt},
                      IntegerCase{"null", std::nullopt}, IntegerCase{R"("thirty")", std::nullopt},
                      IntegerCase{"false", std::nullopt}));

TEST(HangupCauseCodeTest, ReadsCodeGivenAsStringAndDropsOutOfRangeValues) {
  EXPECT_EQ(ParseSingleRecord(R"("hangupCauseCode":"19")").hangup_cause_code, 19);
  EXPECT_EQ(ParseSingleRecord(R"("hangupCauseCode":16.0)").hangup_cause_code, 16);
  EXPECT_EQ(ParseSingleRecord(R"("hangupCauseCode":4294967296)").hangup_cause_code, std::nullopt);
}

struct SipCodeCase {
  const char* members;
  const char* expected;
};

class SipCodeTest : public ::testing::TestWithParam<SipCodeCase> {};

TEST_P(SipCodeTest, PrefersTopLevelCodeThenSipInsights) {
  EXPECT_EQ(ParseSingleRecord(GetParam().members).hangup_sip_code, GetParam().expected)
      << GetParam().members;
}

INSTANTIATE_TEST_SUITE_P(
    Sources, SipCodeTest,
    ::testing::Values(
        SipCodeCase{R"("hangupSipCode":"486")", "486"},
        SipCodeCase{R"("hangupSipCode":486)", "486"},
        SipCodeCase{R"("hangupSipCode":486.0)", "486"},
        SipCodeCase{R"("sipInsights":{"hangupSipCode":"603"})", "603"},
        SipCodeCase{R"("sipInsights":{"hangupSipCode":603})", "603"},
        SipCodeCase{R"("hangupSipCode":"486","sipInsights":{"hangupSipCode":"200"})", "486"},
        SipCodeCase{R"("hangupSipCode":"","sipInsights":{"hangupSipCode":"200"})", "200"},
        SipCodeCase{R"("hangupSipCode":null,"sipInsights":{"hangupSipCode":"200"})", "200"},
        SipCodeCase{R"("sipInsights":null)", ""},
        SipCodeCase{R"("sipInsights":{"userAgent":"MessageBird webRTC 1.0"})", ""},
        SipCodeCase{R"("hangupSipCode":true)", ""}));

TEST(CallRecordTest, TreatsUnparsableTimestampAsAbsent) {
  const Call call = ParseSingleRecord(
      R"("createdAt":"yesterday","updatedAt":1698253274,"endedAt":"2023-10-25T17:01:45",)"
      R"("answeredAt":"2023-10-25T17:01:16.038Z")");
  EXPECT_EQ(call.created_at, std::nullopt);
  EXPECT_EQ(call.updated_at, std::nullopt);
  EXPECT_EQ(call.ended_at, std::nullopt);
  EXPECT_EQ(call.answered_at, AtMillis(1698253276038));
}

TEST(CallRecordTest, MapsNonStringEnumsToUnknown) {
  const Call call =
      ParseSingleRecord(R"("status":3,"direction":null,"type":["pstn"],"hangupSource":{})");
  EXPECT_EQ(call.status, CallStatus::kUnknown);
  EXPECT_EQ(call.direction, Direction::kUnknown);
  EXPECT_EQ(call.type, CallType::kUnknown);
  EXPECT_EQ(call.hangup_source, HangupSource::kUnknown);
}

TEST(CallRecordTest, IgnoresUndocumentedFields) {
  const Call call = ParseSingleRecord(
      R"("amdResult":"human","tags":["a"],"callFlow":{"commands":[]},"status":"completed",)"
      R"("originator":{"number":{"type":"pstn","anonymous":true}})");
  EXPECT_EQ(call.status, CallStatus::kCompleted);
}

TEST(CallRecordTest, ReadsNonStringOptionalIdsAsEmpty) {
  const Call call = ParseSingleRecord(R"("parentId":null,"channelId":7)");
  EXPECT_EQ(call.parent_id, "");
  EXPECT_EQ(call.channel_id, "");
}

// --- Malformed bodies -------------------------------------------------------------------------

struct MalformedCase {
  const char* name;
  const char* body;
  const char* message_part;       // a piece of the ParseError message
  const char* fixture = nullptr;  // when set, the body is this fixture instead
};

// Fixtures are read when a test runs, not at registration, so a missing file fails one test.
std::string BodyOf(const MalformedCase& c) {
  return c.fixture != nullptr ? ReadFixture(c.fixture) : std::string(c.body);
}

std::string PrintMalformedCase(const ::testing::TestParamInfo<MalformedCase>& info) {
  return info.param.name;
}

class MalformedPageTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedPageTest, ThrowsParseError) {
  try {
    ParseCallPage(BodyOf(GetParam()));
    FAIL() << "no ParseError for " << GetParam().name;
  } catch (const ParseError& e) {
    EXPECT_THAT(e.what(), HasSubstr(GetParam().message_part));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, MalformedPageTest,
    ::testing::Values(
        MalformedCase{"EmptyBody", "", "empty body"},
        MalformedCase{"WhitespaceBody", " \r\n", "empty body"},
        MalformedCase{"HtmlGatewayPage", "", "not JSON", "error_502.html"},
        MalformedCase{"TruncatedPage", "", "not JSON", "truncated_page.json"},
        MalformedCase{"PlainText", "upstream connect error", "not JSON"},
        MalformedCase{"TopLevelArray", "[]", "not an object"},
        MalformedCase{"TopLevelString", R"("results")", "not an object"},
        MalformedCase{"TopLevelNull", "null", "not an object"},
        MalformedCase{"ErrorBody", "", "results is missing", "error_404.json"},
        MalformedCase{"ResultsMissing", "{}", "results is missing"},
        MalformedCase{"ResultsNull", R"({"results":null})", "results is missing"},
        MalformedCase{"ResultsString", R"({"results":"[]"})", "results is string"},
        MalformedCase{"ResultsObject", R"({"results":{}})", "results is object"},
        MalformedCase{"ElementNumber", R"({"results":[1]})", "results[0] is number"},
        MalformedCase{"ElementNull", R"({"results":[{"id":"a"},null]})", "results[1] is null"},
        MalformedCase{"ElementWithoutId", R"({"results":[{"id":"a"},{"status":"busy"}]})",
                      "results[1].id"},
        MalformedCase{"ElementWithEmptyId", R"({"results":[{"id":""}]})", "results[0].id"},
        MalformedCase{"ElementWithNumericId", R"({"results":[{"id":42}]})", "results[0].id"},
        MalformedCase{"QualityInsightsString",
                      R"({"results":[{"id":"a","qualityInsights":"4.47"}]})",
                      "results[0].qualityInsights is string"},
        MalformedCase{"SipInsightsArray", R"({"results":[{"id":"a","sipInsights":[]}]})",
                      "results[0].sipInsights is array"},
        MalformedCase{"CursorNumber", R"({"results":[],"nextPageToken":5})",
                      "nextPageToken is number"}),
    PrintMalformedCase);

class MalformedInsightsTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedInsightsTest, ThrowsParseError) {
  try {
    ParseCallInsights(BodyOf(GetParam()));
    FAIL() << "no ParseError for " << GetParam().name;
  } catch (const ParseError& e) {
    EXPECT_THAT(e.what(), HasSubstr(GetParam().message_part));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, MalformedInsightsTest,
    ::testing::Values(
        MalformedCase{"EmptyBody", "", "empty body"},
        MalformedCase{"HtmlGatewayPage", "", "not JSON", "error_502.html"},
        MalformedCase{"TruncatedBody", R"({"id":"c1","mediaMetrics":{"mos":4.)", "not JSON"},
        MalformedCase{"TopLevelArray", R"([{"id":"c1"}])", "not an object"},
        MalformedCase{"ErrorBody", "", "id is missing", "error_404.json"},
        MalformedCase{"NoId", R"({"status":"completed"})", "id is missing"},
        MalformedCase{"MediaMetricsString", R"({"id":"c1","mediaMetrics":"n/a"})",
                      "mediaMetrics is string"},
        MalformedCase{"MediaMetricsNumber", R"({"id":"c1","mediaMetrics":4.5})",
                      "mediaMetrics is number"},
        MalformedCase{"SignallingMetricsArray", R"({"id":"c1","signallingMetrics":[0.36]})",
                      "signallingMetrics is array"}),
    PrintMalformedCase);

TEST(ParseErrorTest, QuotesOnlyTheStartOfANonJsonBody) {
  const std::string html = ReadFixture("error_502.html");
  try {
    ParseCallPage(html);
    FAIL() << "no ParseError";
  } catch (const ParseError& e) {
    const std::string message = e.what();
    EXPECT_THAT(message, StartsWith("not JSON"));
    EXPECT_THAT(message, HasSubstr("<!DOCTYPE html>"));
    EXPECT_THAT(message, Not(HasSubstr("nginx")));
    EXPECT_THAT(message, Not(HasSubstr("\n")));
  }
}

TEST(ParseErrorTest, KeepsMessageShortForLargeBodies) {
  const std::string body = R"({"results":[)" + std::string(100000, '{');
  try {
    ParseCallPage(body);
    FAIL() << "no ParseError";
  } catch (const ParseError& e) {
    EXPECT_LT(std::string(e.what()).size(), 100u) << e.what();
  }
}

TEST(ParseErrorTest, DoesNotQuoteBodyOfWellFormedButWrongJson) {
  try {
    ParseCallPage(R"({"results":"secret-looking-value"})");
    FAIL() << "no ParseError";
  } catch (const ParseError& e) {
    EXPECT_THAT(e.what(), Not(HasSubstr("secret-looking-value")));
  }
}

// --- The streaming page reader reads what the document reader reads ----------------------------

void ExpectSameCall(const Call& a, const Call& b, const std::string& what) {
  EXPECT_EQ(a.id, b.id) << what;
  EXPECT_EQ(a.channel_id, b.channel_id) << what;
  EXPECT_EQ(a.parent_id, b.parent_id) << what;
  EXPECT_EQ(a.status, b.status) << what;
  EXPECT_EQ(a.direction, b.direction) << what;
  EXPECT_EQ(a.type, b.type) << what;
  EXPECT_EQ(a.duration_seconds, b.duration_seconds) << what;
  EXPECT_EQ(a.hangup_cause_code, b.hangup_cause_code) << what;
  EXPECT_EQ(a.hangup_source, b.hangup_source) << what;
  EXPECT_EQ(a.hangup_sip_code, b.hangup_sip_code) << what;
  EXPECT_EQ(a.created_at, b.created_at) << what;
  EXPECT_EQ(a.updated_at, b.updated_at) << what;
  EXPECT_EQ(a.answered_at, b.answered_at) << what;
  EXPECT_EQ(a.ended_at, b.ended_at) << what;
  EXPECT_EQ(a.mos, b.mos) << what;
  EXPECT_EQ(a.pdd_seconds, b.pdd_seconds) << what;
}

TEST(CallPageReaderTest, ReadsEveryRecordOfTheFixturesAsASingleCallWould) {
  for (const char* fixture : {"list_calls_page1.json", "list_calls_last_page.json"}) {
    const std::string body = ReadFixture(fixture);
    const auto doc = nlohmann::json::parse(body);
    const CallPage page = ParseCallPage(body);
    ASSERT_EQ(page.calls.size(), doc["results"].size()) << fixture;
    for (std::size_t i = 0; i < page.calls.size(); ++i) {
      ExpectSameCall(page.calls[i], ParseSingleCall(doc["results"][i].dump()),
                     std::string(fixture) + " record " + std::to_string(i));
    }
  }
}

TEST(CallPageReaderTest, ReadsOddValuesOfEveryMemberAsASingleCallWould) {
  // Each member the model reads, with values of every JSON type and the odd forms Bird sends.
  const std::vector<std::string> members = {
      "channelId", "parentId",        "status",       "direction",     "type",
      "duration",  "hangupCauseCode", "hangupSource", "hangupSipCode", "createdAt",
      "updatedAt", "answeredAt",      "endedAt"};
  const std::vector<std::string> values = {"null",
                                           "true",
                                           "0",
                                           "-7",
                                           "30",
                                           "30.0",
                                           "30.5",
                                           "1e3",
                                           "18446744073709551615",
                                           "9223372036854775807",
                                           R"("")",
                                           R"("30")",
                                           R"("4.47")",
                                           R"("n/a")",
                                           R"("completed")",
                                           R"("outgoing")",
                                           R"("pstn")",
                                           R"("caller")",
                                           R"("2026-12-01T10:00:00.5Z")",
                                           R"("2026-12-01T10:00:00+02:00")",
                                           "[]",
                                           "[1,{\"a\":2}]",
                                           "{}",
                                           R"({"mos":"1"})"};
  std::vector<std::string> records;
  for (const auto& member : members) {
    for (const auto& value : values) records.push_back("\"" + member + "\":" + value);
  }
  for (const auto& value : values) {
    records.push_back(R"("sipInsights":{"hangupSipCode":)" + value + "}");
    records.push_back(R"("qualityInsights":{"mos":)" + value + R"(,"pdd":)" + value + "}");
    records.push_back(R"("hangupSipCode":"",)"
                      R"("sipInsights":{"hangupSipCode":)" +
                      value + "}");
  }
  // Repeated members count with their last value; blocks nested in unread members are skipped.
  records.push_back(R"("status":"ringing","status":"completed","duration":1,"duration":"x")");
  records.push_back(R"("qualityInsights":{"mos":"4"},"qualityInsights":{"pdd":2})");
  records.push_back(R"("sipInsights":{"hangupSipCode":"486"},"hangupSipCode":"200")");
  records.push_back(R"("originator":{"qualityInsights":{"mos":1},"id":"x"},"to":"+3161")");
  records.push_back(R"("callFlow":{"commands":[{"id":"y","status":"failed"}]},"status":"busy")");
  std::string page = R"({"results":[)";
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i > 0) page += ",";
    page += "{\"id\":\"c" + std::to_string(i) + "\"," + records[i] + "}";
  }
  page += R"(],"nextPageToken":"t"})";
  const CallPage parsed = ParseCallPage(page);
  ASSERT_EQ(parsed.calls.size(), records.size());
  EXPECT_EQ(parsed.next_page_token, "t");
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::string single = "{\"id\":\"c" + std::to_string(i) + "\"," + records[i] + "}";
    ExpectSameCall(parsed.calls[i], ParseSingleCall(single), records[i]);
  }
}

TEST(CallPageReaderTest, ADeeplyNestedUnreadMemberCostsNoDocument) {
  const std::string nested = std::string(200000, '[') + std::string(200000, ']');
  const CallPage page = ParseCallPage(R"({"results":[{"id":"c1","callFlow":)" + nested +
                                      R"(,"status":"completed"}],"extra":)" + nested + "}");
  ASSERT_EQ(page.calls.size(), 1u);
  EXPECT_EQ(page.calls[0].status, CallStatus::kCompleted);
}

TEST(CallPageReaderTest, ANumberTooLargeForADoubleCostsOnlyItsField) {
  const CallPage page = ParseCallPage(
      R"({"results":[{"id":"c1","duration":1e400,"status":"completed",)"
      R"("qualityInsights":{"mos":-1E+999,"pdd":"0.5"}},{"id":"1e400","duration":30}],)"
      R"("nextPageToken":"t"})");
  ASSERT_EQ(page.calls.size(), 2u);
  EXPECT_EQ(page.calls[0].status, CallStatus::kCompleted);
  EXPECT_EQ(page.calls[0].duration_seconds, std::nullopt);
  EXPECT_THAT(page.calls[0].anomalies, ::testing::ElementsAre("duration"));
  // Capped to the largest double, which the range check of the mapping refuses.
  EXPECT_EQ(page.calls[0].mos, -1e308);
  EXPECT_EQ(page.calls[0].pdd_seconds, 0.5);
  // A number inside a string is left alone.
  EXPECT_EQ(page.calls[1].id, "1e400");
  EXPECT_EQ(page.calls[1].duration_seconds, 30);
  EXPECT_EQ(page.next_page_token, "t");
}

TEST(CallPageReaderTest, ABodyThatIsBrokenBesidesAHugeNumberIsStillAParseError) {
  EXPECT_THROW(ParseCallPage(R"({"results":[{"id":"c1","duration":1e400},]})"), ParseError);
  EXPECT_THROW(ParseCallInsights(R"({"id":"c1","mediaMetrics":{"mos":1e400})"), ParseError);
}

TEST(InsightsParseTest, ANumberTooLargeForADoubleCostsOnlyItsField) {
  const CallInsights insights = ParseCallInsights(
      R"({"id":"c1","status":"completed","signallingMetrics":{"pdd":"x"},)"
      R"("mediaMetrics":{"mos":1e400,"inBytes":true,"outBytes":"12","readCodecName":"PCMA"}})");
  EXPECT_EQ(insights.media.mos, 1e308);
  EXPECT_EQ(insights.media.in_bytes, std::nullopt);
  EXPECT_EQ(insights.media.out_bytes, 12);
  EXPECT_EQ(insights.pdd_seconds, std::nullopt);
  EXPECT_EQ(insights.media.read_codec_name, "PCMA");
  EXPECT_THAT(insights.call.anomalies,
              ::testing::ElementsAre("mediaMetrics.inBytes", "signallingMetrics.pdd"));
}

TEST(CallAnomaliesTest, NamesEveryUnreadableCallFieldOnceAndForgetsARepeatedGoodOne) {
  const Call call = ParseSingleRecord(
      R"("duration":"30.5","hangupCauseCode":1e12,"createdAt":"yesterday",)"
      R"("answeredAt":17,"endedAt":"","hangupSipCode":{"code":200},)"
      R"("sipInsights":{"hangupSipCode":200.5},"updatedAt":"soon","updatedAt":"2026-11-21T12:00:00Z")");
  EXPECT_THAT(call.anomalies,
              ::testing::ElementsAre("answeredAt", "createdAt", "duration", "hangupCauseCode",
                                     "hangupSipCode", "sipInsights.hangupSipCode"));
  EXPECT_TRUE(call.updated_at.has_value());
  EXPECT_EQ(call.ended_at, std::nullopt);
}

TEST(CallAnomaliesTest, ClampsTimesBeyondTheToleranceAndNamesThem) {
  const SystemTime now = *ParseRfc3339("2026-11-21T12:00:00Z");
  Call call;
  call.id = "c1";
  call.created_at = now + std::chrono::hours(24 * 365 * 70);
  call.updated_at = now + std::chrono::seconds(30);  // clock skew within the tolerance
  call.answered_at = now - std::chrono::seconds(30);
  call.ended_at = now + std::chrono::minutes(6);
  ClampFutureTimes(call, now, std::chrono::minutes(5));
  EXPECT_EQ(call.created_at, now + std::chrono::minutes(5));
  EXPECT_EQ(call.updated_at, now + std::chrono::seconds(30));
  EXPECT_EQ(call.answered_at, now - std::chrono::seconds(30));
  EXPECT_EQ(call.ended_at, now + std::chrono::minutes(5));
  EXPECT_THAT(call.anomalies, ::testing::ElementsAre("createdAt", "endedAt"));
  ClampFutureTimes(call, now, std::chrono::minutes(5));
  EXPECT_THAT(call.anomalies, ::testing::ElementsAre("createdAt", "endedAt"));
}

}  // namespace
}  // namespace bird_exporter
