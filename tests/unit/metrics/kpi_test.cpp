// The breakdowns and KPIs a counted call gives: remote country, provider and edge, time to
// answer, ring time, abandon, poor-call reasons and the E-model R estimate.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include "bird/model.h"
#include "metrics/call_mapping.h"
#include "metrics/emodel.h"
#include "support/fixtures.h"

namespace bird_exporter {
namespace {

using testing::ReadFixture;

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

SystemTime At(double seconds) {
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(
      std::chrono::duration<double>(1700000000 + seconds)));
}

// An answered incoming call of a minute with healthy media, created at 0, ringing at 1,
// answered at 9.
CallInsights AnsweredIncoming() {
  CallInsights insights;
  Call& call = insights.call;
  call.id = "c1";
  call.status = CallStatus::kCompleted;
  call.direction = Direction::kIncoming;
  call.type = CallType::kPstn;
  call.hangup_cause_code = 16;
  call.hangup_source = HangupSource::kCaller;
  call.hangup_sip_code = "200";
  call.duration_seconds = 60;
  call.created_at = At(0);
  call.ringing_at = At(1);
  call.answered_at = At(9);
  call.ended_at = At(69);
  call.remote_country = "NL";
  insights.pdd_seconds = 1.2;
  insights.provider = "carrier-a";
  insights.edge_region = "eu-west-1";
  insights.has_media_metrics = true;
  MediaMetrics& m = insights.media;
  m.mos = 4.4;
  m.quality_score = 97;
  m.in_packet_count = m.out_packet_count = 3000;
  m.in_media_packet_count = m.out_media_packet_count = 2990;
  m.jitter_max_var_ms2 = 100;  // 10 ms
  m.jitter_loss_rate = 0.01;
  m.jitter_burst_rate = 0.99;
  m.read_codec_name = "PCMA";
  return insights;
}

// --- Parsing: the remote party, provider and edge ---------------------------------------------

TEST(RemotePartyTest, IsTheCalleeOfAnOutgoingCallInBirdsInsightsExample) {
  const CallInsights insights = ParseCallInsights(ReadFixture("insights_outbound_completed.json"));
  EXPECT_EQ(insights.call.remote_country, "PT");  // to: 351919150029
  const CallObservation obs = MapCall(insights.call, &insights);
  EXPECT_EQ(obs.country, "PT");
  EXPECT_EQ(obs.provider, "unknown");  // the example has no providerName
  EXPECT_EQ(obs.edge_region, "unknown");
}

TEST(RemotePartyTest, IsTheCallerOfAnIncomingCall) {
  const Call call = ParseSingleCall(R"({"id": "c", "status": "completed",
      "direction": "incoming", "from": "+447400123456", "to": "3197004499436"})");
  EXPECT_EQ(call.remote_country, "GB");
}

TEST(RemotePartyTest, IsUnknownForAWebrtcClientAndLookedUpOnlyOnceTheCallEnded) {
  const CallPage page = ParseCallPage(ReadFixture("list_calls_page1.json"));
  ASSERT_GE(page.calls.size(), 2u);
  EXPECT_EQ(page.calls[0].remote_country, "unknown");  // incoming from client:<uuid>
  EXPECT_EQ(page.calls[1].remote_country, "PT");       // outgoing to +351919150029
  const Call ringing = ParseSingleCall(
      R"({"id": "c", "status": "ringing", "direction": "outgoing", "to": "351919150029"})");
  EXPECT_EQ(ringing.remote_country, "");
}

TEST(RemotePartyTest, IsLookedUpOnlyForTheCallsAPageReaderWantsItFor) {
  std::vector<std::string> asked;
  const CountryWanted only_second = [&asked](const std::string& id) {
    asked.push_back(id);
    return asked.size() == 2;
  };
  const CallPage page = ParseCallPage(ReadFixture("list_calls_page1.json"), only_second);
  ASSERT_GE(page.calls.size(), 2u);
  EXPECT_EQ(page.calls[0].remote_country, "");    // not wanted: left to an earlier record
  EXPECT_EQ(page.calls[1].remote_country, "PT");  // wanted: looked up
  ASSERT_GE(asked.size(), 2u);
  EXPECT_EQ(asked[0], page.calls[0].id);
  EXPECT_EQ(asked[1], page.calls[1].id);
}

TEST(RemotePartyTest, ReadsProviderAndEdgeFromSignallingMetrics) {
  const CallInsights insights = ParseCallInsights(R"({"id": "c", "status": "completed",
      "direction": "outgoing", "to": "351919150029",
      "signallingMetrics": {"pdd": 1.5, "providerName": "carrier-b", "edgeRegion": "us-east-1",
                            "remoteSignallingIp": "203.0.113.7"}})");
  EXPECT_EQ(insights.provider, "carrier-b");
  EXPECT_EQ(insights.edge_region, "us-east-1");
  const CallObservation obs = MapCall(insights.call, &insights);
  EXPECT_EQ(obs.provider, "carrier-b");
  EXPECT_EQ(obs.edge_region, "us-east-1");
}

TEST(RemotePartyTest, KeepsTheListsCountryWhenTheInsightsCannotTell) {
  Call listed = AnsweredIncoming().call;
  CallInsights insights = AnsweredIncoming();
  insights.call.remote_country = "unknown";
  EXPECT_EQ(MapCall(listed, &insights).country, "NL");
  listed.remote_country.clear();
  EXPECT_EQ(MapCall(listed, nullptr).country, "unknown");
}

TEST(FreeFormLabelTest, MapsEmptyToUnknownAndControlCharactersToOther) {
  EXPECT_EQ(FreeFormLabel(""), "unknown");
  EXPECT_EQ(FreeFormLabel("Carrier A (EU)"), "Carrier A (EU)");
  EXPECT_EQ(FreeFormLabel("carrier\nforged=1"), "other");
  EXPECT_EQ(FreeFormLabel(std::string("a\0b", 3)), "other");
}

// --- Time to answer and ring time -------------------------------------------------------------

TEST(SetupTimesTest, TimeToAnswerOfAnIncomingCallAndRingTime) {
  const CallInsights insights = AnsweredIncoming();
  const CallObservation obs = MapCall(insights.call, &insights);
  EXPECT_THAT(obs.time_to_answer_seconds, Optional(9.0));
  EXPECT_THAT(obs.ring_seconds, Optional(8.0));
}

TEST(SetupTimesTest, AnOutgoingCallHasRingTimeButNoTimeToAnswer) {
  const CallInsights insights = ParseCallInsights(ReadFixture("insights_outbound_completed.json"));
  const CallObservation obs = MapCall(insights.call, &insights);
  EXPECT_EQ(obs.time_to_answer_seconds, std::nullopt);
  ASSERT_TRUE(obs.ring_seconds.has_value());
  EXPECT_NEAR(*obs.ring_seconds, 1.032, 1e-9);  // 17:01:16.038 - 17:01:15.006
}

TEST(SetupTimesTest, UnansweredOrUnorderedTimestampsGiveNone) {
  CallInsights missed = AnsweredIncoming();
  missed.call.status = CallStatus::kNoAnswer;
  missed.call.answered_at.reset();
  const CallObservation none = MapCall(missed.call, &missed);
  EXPECT_EQ(none.time_to_answer_seconds, std::nullopt);
  EXPECT_EQ(none.ring_seconds, std::nullopt);

  CallInsights skewed = AnsweredIncoming();
  skewed.call.ringing_at = At(10);  // after the answer
  const CallObservation obs = MapCall(skewed.call, &skewed);
  EXPECT_EQ(obs.ring_seconds, std::nullopt);
  EXPECT_THAT(obs.time_to_answer_seconds, Optional(9.0));
  EXPECT_THAT(obs.field_anomalies, ElementsAre("ringingAt"));
}

// --- Abandoned before the answer --------------------------------------------------------------

struct AbandonCase {
  CallStatus status;
  HangupSource source;
  const char* sip;
  bool abandoned;
};

class AbandonTest : public ::testing::TestWithParam<AbandonCase> {};

TEST_P(AbandonTest, IsACallerHangupWhileRinging) {
  Call call = AnsweredIncoming().call;
  call.status = GetParam().status;
  call.hangup_source = GetParam().source;
  call.hangup_sip_code = GetParam().sip;
  call.answered_at.reset();
  EXPECT_EQ(MapCall(call, nullptr).abandoned, GetParam().abandoned);
}

INSTANTIATE_TEST_SUITE_P(
    Outcomes, AbandonTest,
    ::testing::Values(AbandonCase{CallStatus::kCancelled, HangupSource::kCaller, "", true},
                      AbandonCase{CallStatus::kNoAnswer, HangupSource::kCaller, "", true},
                      AbandonCase{CallStatus::kCancelled, HangupSource::kApi, "487", true},
                      // A ring timeout's own CANCEL is answered 487 too: not the caller.
                      AbandonCase{CallStatus::kNoAnswer, HangupSource::kTimeout, "487", false},
                      AbandonCase{CallStatus::kNoAnswer, HangupSource::kUnknown, "487", true},
                      AbandonCase{CallStatus::kNoAnswer, HangupSource::kTimeout, "480", false},
                      AbandonCase{CallStatus::kCancelled, HangupSource::kCallee, "603", false},
                      AbandonCase{CallStatus::kBusy, HangupSource::kCaller, "486", false},
                      AbandonCase{CallStatus::kFailed, HangupSource::kCaller, "487", false},
                      AbandonCase{CallStatus::kCompleted, HangupSource::kCaller, "200", false}));

// --- Poor-call reasons ------------------------------------------------------------------------

TEST(PoorCallTest, AHealthyCallHasNoReason) {
  const CallInsights insights = AnsweredIncoming();
  EXPECT_THAT(MapCall(insights.call, &insights).poor_reasons, IsEmpty());
}

TEST(PoorCallTest, EachThresholdGivesItsReasonInTheFixedOrder) {
  CallInsights insights = AnsweredIncoming();
  insights.media.mos = 3.4;                 // below 3.5
  insights.media.jitter_loss_rate = 0.06;   // above 5%
  insights.media.jitter_max_var_ms2 = 961;  // 31 ms
  insights.pdd_seconds = 5.5;               // above 5 s
  EXPECT_THAT(MapCall(insights.call, &insights).poor_reasons,
              ElementsAre("low_mos", "high_loss", "high_jitter", "high_pdd"));
}

TEST(PoorCallTest, ValuesAtTheThresholdsAreNotPoor) {
  CallInsights insights = AnsweredIncoming();
  insights.media.mos = 3.5;
  insights.media.jitter_loss_rate = 0.05;
  insights.media.jitter_max_var_ms2 = 900;  // exactly 30 ms
  insights.pdd_seconds = 5;
  EXPECT_THAT(MapCall(insights.call, &insights).poor_reasons, IsEmpty());
}

TEST(PoorCallTest, ThresholdsAreConfigurable) {
  const CallInsights insights = AnsweredIncoming();
  PoorCallThresholds strict;
  strict.mos_below = 4.5;
  strict.packet_loss_above = 0.005;
  strict.jitter_above = std::chrono::milliseconds(5);
  strict.pdd_above = std::chrono::seconds(1);
  EXPECT_THAT(MapCall(insights.call, &insights, strict).poor_reasons,
              ElementsAre("low_mos", "high_loss", "high_jitter", "high_pdd"));
}

TEST(PoorCallTest, OneWayAudioInEitherDirectionAndNoMedia) {
  CallInsights out_silent = AnsweredIncoming();
  out_silent.media.out_media_packet_count = 0;
  const CallObservation out = MapCall(out_silent.call, &out_silent);
  EXPECT_THAT(out.poor_reasons, ElementsAre("one_way_audio"));
  EXPECT_FALSE(out.no_inbound_media);
  EXPECT_TRUE(out.mos.has_value());  // what was received is still measured

  CallInsights in_silent = AnsweredIncoming();
  in_silent.media.in_media_packet_count = 0;
  const CallObservation in = MapCall(in_silent.call, &in_silent);
  EXPECT_THAT(in.poor_reasons, ElementsAre("one_way_audio"));
  EXPECT_TRUE(in.no_inbound_media);
  EXPECT_EQ(in.mos, std::nullopt);

  CallInsights silent = AnsweredIncoming();
  silent.media.in_media_packet_count = silent.media.out_media_packet_count = 0;
  EXPECT_THAT(MapCall(silent.call, &silent).poor_reasons, ElementsAre("no_media"));
}

TEST(PoorCallTest, BirdsInsightsExampleIsJitteryAndSentNoOutboundMedia) {
  // jitterMaxVar 1187.95 ms² (34.5 ms) and outMediaPacketCount 0 on a 30 s answered call.
  const CallInsights insights = ParseCallInsights(ReadFixture("insights_outbound_completed.json"));
  EXPECT_THAT(MapCall(insights.call, &insights).poor_reasons,
              ElementsAre("high_jitter", "one_way_audio"));
}

TEST(PoorCallTest, MissingMediaOnAShortCallIsNotJudged) {
  CallInsights insights = AnsweredIncoming();
  insights.call.duration_seconds = 4;  // below media_min_duration (5 s)
  insights.media.in_media_packet_count = insights.media.out_media_packet_count = 0;
  EXPECT_THAT(MapCall(insights.call, &insights).poor_reasons, IsEmpty());
}

TEST(PoorCallTest, UnansweredCallsAreNeverPoor) {
  CallInsights insights = AnsweredIncoming();
  insights.call.status = CallStatus::kNoAnswer;
  insights.pdd_seconds = 20;
  EXPECT_THAT(MapCall(insights.call, &insights).poor_reasons, IsEmpty());
}

TEST(PoorCallTest, ACallCountedFromTheListIsJudgedOnWhatTheListSays) {
  Call listed = AnsweredIncoming().call;
  listed.mos = 2.9;
  listed.pdd_seconds = 6;
  EXPECT_THAT(MapCall(listed, nullptr).poor_reasons, ElementsAre("low_mos", "high_pdd"));
}

TEST(PoorCallTest, ReasonsAreTheFixedEnum) {
  EXPECT_THAT(PoorReasons(), ElementsAre("low_mos", "high_loss", "high_jitter", "one_way_audio",
                                         "no_media", "high_pdd"));
}

// --- E-model R ----------------------------------------------------------------------------------

// Hand-computed: R = 93.2 - Ie - (95 - Ie) * Ppl / (Ppl + Bpl) with BurstR = 1.
// G.711 (Ie 0, Bpl 25.1): 1% -> 95 / 26.1 = 3.63985; 5% -> 475 / 30.1 = 15.78073.
// G.729A (Ie 11, Bpl 19): 1% -> 11 + 84 / 20 = 15.2; 5% -> 11 + 420 / 24 = 28.5.
struct RCase {
  const char* codec;
  double loss;
  double r;
};

class RFactorTest : public ::testing::TestWithParam<RCase> {};

TEST_P(RFactorTest, MatchesTheHandComputedValue) {
  EXPECT_THAT(RFactor(GetParam().codec, GetParam().loss, 1.0),
              Optional(::testing::DoubleNear(GetParam().r, 1e-4)))
      << GetParam().codec << " at " << GetParam().loss;
}

INSTANTIATE_TEST_SUITE_P(G711AndG729, RFactorTest,
                         ::testing::Values(RCase{"PCMU", 0, 93.2}, RCase{"PCMU", 0.01, 89.56015},
                                           RCase{"PCMA", 0.05, 77.41927}, RCase{"G729", 0, 82.2},
                                           RCase{"G729", 0.01, 78.0}, RCase{"G729", 0.05, 64.7}));

TEST(RFactor, BurstyLossCostsMoreThanRandomLoss) {
  // BurstR 2 at 5% G.711: 95 * 5 / (2.5 + 25.1) = 17.21014.
  EXPECT_THAT(RFactor("PCMU", 0.05, 2.0), Optional(::testing::DoubleNear(93.2 - 17.21014, 1e-4)));
  // FreeSWITCH's burst rate is about 1 - loss for isolated losses: read as random loss.
  EXPECT_EQ(RFactor("PCMU", 0.05, 0.95), RFactor("PCMU", 0.05, 1.0));
  EXPECT_EQ(RFactor("PCMU", 0.05, std::nullopt), RFactor("PCMU", 0.05, 1.0));
}

TEST(RFactor, IsUndefinedForACodecWithoutKnownValues) {
  EXPECT_EQ(RFactor("opus", 0.01, 1.0), std::nullopt);
  EXPECT_EQ(RFactor("", 0, 1.0), std::nullopt);
  EXPECT_THAT(RFactor("pcmu", 0, 1.0), Optional(93.2));  // names match without case
}

TEST(RFactor, IsObservedForAnsweredCallsWithInboundMedia) {
  const CallInsights insights = AnsweredIncoming();  // PCMA, 1% loss, burst 0.99
  EXPECT_THAT(MapCall(insights.call, &insights).r_factor,
              Optional(::testing::DoubleNear(89.56015, 1e-4)));
  CallInsights silent = AnsweredIncoming();
  silent.media.in_media_packet_count = 0;
  EXPECT_EQ(MapCall(silent.call, &silent).r_factor, std::nullopt);
  CallInsights opus = AnsweredIncoming();
  opus.media.read_codec_name = "opus";
  EXPECT_EQ(MapCall(opus.call, &opus).r_factor, std::nullopt);
}

}  // namespace
}  // namespace bird_exporter
