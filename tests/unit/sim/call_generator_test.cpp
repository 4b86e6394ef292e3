#include "sim/call_generator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bird/country.h"
#include "bird/rfc3339.h"
#include "sim/scenario.h"

namespace bird_exporter::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* kWorkspace = "2d7c3f1e-5a4b-4c8d-9e0f-1a2b3c4d5e6f";
constexpr const char* kChannel = "9f1e2d3c-4b5a-4697-8870-a1b2c3d4e5f6";

SystemTime Epoch() { return ParseRfc3339("2024-05-01T12:00:00Z").value(); }

// `count` consecutive calls of one channel, three seconds apart.
std::vector<SimCall> GenerateCalls(const std::string& scenario, int count, std::uint64_t seed = 7) {
  const CallGenerator generator(seed, ScenarioByName(scenario));
  std::vector<SimCall> calls;
  calls.reserve(count);
  for (int i = 0; i < count; ++i) {
    calls.push_back(generator.Generate(kWorkspace, kChannel, static_cast<std::uint64_t>(i),
                                       Epoch() + seconds(3 * i)));
  }
  return calls;
}

double Median(std::vector<double> values) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

double Seconds(nanoseconds d) { return std::chrono::duration<double>(d).count(); }

void ExpectSameMedia(const SimMedia& a, const SimMedia& b) {
  EXPECT_EQ(a.codec, b.codec);
  EXPECT_EQ(a.rate, b.rate);
  EXPECT_EQ(a.mos, b.mos);
  EXPECT_EQ(a.quality_score, b.quality_score);
  EXPECT_EQ(a.in_packets, b.in_packets);
  EXPECT_EQ(a.out_packets, b.out_packets);
  EXPECT_EQ(a.in_media_packets, b.in_media_packets);
  EXPECT_EQ(a.out_media_packets, b.out_media_packets);
  EXPECT_EQ(a.in_dtmf_packets, b.in_dtmf_packets);
  EXPECT_EQ(a.out_dtmf_packets, b.out_dtmf_packets);
  EXPECT_EQ(a.in_bytes, b.in_bytes);
  EXPECT_EQ(a.out_bytes, b.out_bytes);
  EXPECT_EQ(a.jitter_min_var, b.jitter_min_var);
  EXPECT_EQ(a.jitter_max_var, b.jitter_max_var);
  EXPECT_EQ(a.loss_rate, b.loss_rate);
  EXPECT_EQ(a.burst_rate, b.burst_rate);
  EXPECT_EQ(a.mean_interval_ms, b.mean_interval_ms);
  EXPECT_EQ(a.flaws, b.flaws);
}

void ExpectSameCall(const SimCall& a, const SimCall& b) {
  EXPECT_EQ(a.workspace_id, b.workspace_id);
  EXPECT_EQ(a.channel_id, b.channel_id);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.direction, b.direction);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.final_status, b.final_status);
  EXPECT_EQ(a.country, b.country);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.ringing_at, b.ringing_at);
  EXPECT_EQ(a.answered_at, b.answered_at);
  EXPECT_EQ(a.ended_at, b.ended_at);
  EXPECT_EQ(a.insights_ready_at, b.insights_ready_at);
  EXPECT_EQ(a.hangup_cause_code, b.hangup_cause_code);
  EXPECT_EQ(a.hangup_sip_code, b.hangup_sip_code);
  EXPECT_EQ(a.hangup_source, b.hangup_source);
  EXPECT_EQ(a.pdd_seconds, b.pdd_seconds);
  EXPECT_EQ(a.one_way_audio, b.one_way_audio);
  ASSERT_EQ(a.media.has_value(), b.media.has_value());
  if (a.media) ExpectSameMedia(*a.media, *b.media);
}

// ---------------------------------------------------------------------------------------------
// MOS from quality percentage (domain notes §1.2).

TEST(CallGeneratorMosTest, MatchesTheFreeSwitchTable) {
  const std::vector<std::pair<int, double>> table = {
      {100, 4.50}, {99, 4.49}, {98, 4.48}, {95, 4.44}, {93, 4.41}, {90, 4.34},
      {89, 4.31},  {88, 4.29}, {85, 4.20}, {80, 4.02}, {79, 3.99}, {75, 3.82},
      {71, 3.64},  {70, 3.60}, {69, 3.55}, {68, 3.50}, {67, 3.45}, {60, 3.10},
      {59, 3.05},  {50, 2.58}, {40, 2.06}, {0, 1.00}};
  for (const auto& [quality, mos] : table) {
    EXPECT_EQ(MosFromQuality(quality), mos) << "R=" << quality;
  }
}

TEST(CallGeneratorMosTest, ClampsOutOfRangeQualityLikeG107) {
  EXPECT_EQ(MosFromQuality(-5), 1.0);
  EXPECT_EQ(MosFromQuality(101), 4.5);
  EXPECT_EQ(MosFromQuality(1000), 4.5);
}

// G.107's cubic dips just below 1 for R under 6 (R 1 -> 0.99), as FreeSWITCH prints it.
TEST(CallGeneratorMosTest, RisesWithQualityAboveTheCubicsDip) {
  EXPECT_EQ(MosFromQuality(1), 0.99);
  for (int r = 7; r <= 100; ++r) {
    EXPECT_GE(MosFromQuality(r), MosFromQuality(r - 1)) << "R=" << r;
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

TEST(ScenarioTest, NamesTheSixScenariosInOrder) {
  EXPECT_THAT(ScenarioNames(), ElementsAre("healthy", "degraded-carrier", "slow-pdd",
                                           "one-way-audio", "api-trouble", "contact-centre"));
}

TEST(ScenarioTest, EveryNamedScenarioCarriesItsNameAndATrafficMix) {
  for (const auto& name : ScenarioNames()) {
    const Scenario s = ScenarioByName(name);
    EXPECT_EQ(s.name, name);
    EXPECT_FALSE(s.description.empty()) << name;
    EXPECT_FALSE(s.destinations.empty()) << name;
    EXPECT_FALSE(s.carriers.empty()) << name;
    EXPECT_GT(s.answered + s.busy + s.no_answer + s.cancelled + s.failed, 0) << name;
  }
}

TEST(ScenarioTest, HealthyHasNoApiFaultsAndWeightsSummingToOne) {
  const Scenario s = ScenarioByName("healthy");
  EXPECT_DOUBLE_EQ(s.answered + s.busy + s.no_answer + s.cancelled + s.failed, 1.0);
  EXPECT_EQ(s.rate_429, 0);
  EXPECT_EQ(s.rate_5xx_html, 0);
  EXPECT_EQ(s.rate_slow, 0);
  EXPECT_EQ(s.rate_malformed, 0);
}

TEST(ScenarioTest, OnlyApiTroubleInjectsApiFaults) {
  const Scenario s = ScenarioByName("api-trouble");
  EXPECT_GT(s.rate_429, 0);
  EXPECT_GT(s.rate_5xx_html, 0);
  EXPECT_GT(s.rate_slow, 0);
  EXPECT_GT(s.rate_malformed, 0);
  for (const auto& name : {"degraded-carrier", "slow-pdd", "one-way-audio", "contact-centre"}) {
    const Scenario other = ScenarioByName(name);
    EXPECT_EQ(other.rate_429 + other.rate_5xx_html + other.rate_slow + other.rate_malformed, 0)
        << name;
  }
}

TEST(ScenarioTest, UnknownNameThrowsInvalidArgumentListingTheKnownOnes) {
  EXPECT_THROW(ScenarioByName("sunny"), std::invalid_argument);
  EXPECT_THROW(ScenarioByName(""), std::invalid_argument);
  EXPECT_THROW(ScenarioByName("Healthy"), std::invalid_argument);
  try {
    ScenarioByName("sunny");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(),
                AllOf(HasSubstr("\"sunny\""), HasSubstr("healthy"), HasSubstr("degraded-carrier"),
                      HasSubstr("slow-pdd"), HasSubstr("one-way-audio"), HasSubstr("api-trouble"),
                      HasSubstr("contact-centre")));
  }
}

TEST(ScenarioTest, LongCallsLastThreeToEightMinutesUnlessAScenarioSaysOtherwise) {
  for (const auto& name :
       {"healthy", "degraded-carrier", "slow-pdd", "one-way-audio", "api-trouble"}) {
    const Scenario s = ScenarioByName(name);
    EXPECT_EQ(s.long_call_share, 0.03) << name;
    EXPECT_EQ(s.long_call_min_seconds, 180) << name;
    EXPECT_EQ(s.long_call_max_seconds, 480) << name;
  }
  EXPECT_EQ(Scenario().long_call_min_seconds, 180);
  EXPECT_EQ(Scenario().long_call_max_seconds, 480);
}

TEST(ScenarioTest, ContactCentreIsAHealthyDayAtTwentyCallsASecondWithLongSupportCalls) {
  const Scenario s = ScenarioByName("contact-centre");
  const Scenario healthy = ScenarioByName("healthy");
  EXPECT_EQ(s.name, "contact-centre");
  EXPECT_THAT(s.description, AllOf(HasSubstr("20 calls a second"), HasSubstr("10-60 minutes")));
  EXPECT_EQ(s.calls_per_minute, 1200);
  EXPECT_EQ(s.long_call_share, 0.05);
  EXPECT_EQ(s.long_call_min_seconds, 600);
  EXPECT_EQ(s.long_call_max_seconds, 3600);
  // Everything else as healthy.
  EXPECT_EQ(s.answered, healthy.answered);
  EXPECT_EQ(s.busy, healthy.busy);
  EXPECT_EQ(s.no_answer, healthy.no_answer);
  EXPECT_EQ(s.cancelled, healthy.cancelled);
  EXPECT_EQ(s.failed, healthy.failed);
  EXPECT_EQ(s.one_way_audio_share, healthy.one_way_audio_share);
  EXPECT_EQ(s.mean_talk_seconds, healthy.mean_talk_seconds);
  ASSERT_EQ(s.destinations.size(), healthy.destinations.size());
  for (std::size_t i = 0; i < s.destinations.size(); ++i) {
    EXPECT_EQ(s.destinations[i].country, healthy.destinations[i].country);
    EXPECT_EQ(s.destinations[i].weight, healthy.destinations[i].weight);
    EXPECT_EQ(s.destinations[i].pdd_median_seconds, healthy.destinations[i].pdd_median_seconds);
  }
  ASSERT_EQ(s.carriers.size(), healthy.carriers.size());
  for (std::size_t i = 0; i < s.carriers.size(); ++i) {
    EXPECT_EQ(s.carriers[i].codec, healthy.carriers[i].codec);
    EXPECT_EQ(s.carriers[i].weight, healthy.carriers[i].weight);
    EXPECT_EQ(s.carriers[i].loss_mean, healthy.carriers[i].loss_mean);
  }
  EXPECT_EQ(s.rate_429 + s.rate_5xx_html + s.rate_slow + s.rate_malformed, 0);
}

// ---------------------------------------------------------------------------------------------
// Determinism.

TEST(CallGeneratorTest, SameSeedChannelAndSequenceGiveAnIdenticalCall) {
  const CallGenerator first(42, ScenarioByName("healthy"));
  const CallGenerator second(42, ScenarioByName("healthy"));
  for (std::uint64_t sequence = 0; sequence < 200; ++sequence) {
    SCOPED_TRACE(sequence);
    const SystemTime created = Epoch() + seconds(sequence);
    ExpectSameCall(first.Generate(kWorkspace, kChannel, sequence, created),
                   second.Generate(kWorkspace, kChannel, sequence, created));
    EXPECT_EQ(first.InterArrival(kChannel, sequence), second.InterArrival(kChannel, sequence));
  }
}

// Every field of a call, doubles in full precision, instants in ns since Epoch().
std::string Describe(const SimCall& call) {
  auto ns = [](SystemTime t) { return std::to_string((t - Epoch()).count()); };
  auto num = [](double v) {
    char buffer[40];
    std::snprintf(buffer, sizeof(buffer), "%.17g", v);
    return std::string(buffer);
  };
  std::string out =
      call.workspace_id + "|" + call.channel_id + "|" + call.id + "|" + call.direction + "|" +
      call.type + "|" + call.final_status + "|" + call.country + "|" + ns(call.created_at) + "|" +
      ns(call.ringing_at) + "|" + (call.answered_at ? ns(*call.answered_at) : "-") + "|" +
      ns(call.ended_at) + "|" + ns(call.insights_ready_at) + "|" +
      std::to_string(call.hangup_cause_code) + "|" + call.hangup_sip_code + "|" +
      call.hangup_source + "|" + num(call.pdd_seconds) + "|" + (call.one_way_audio ? "1" : "0") +
      "|" + (call.inbound_missing ? "1" : "0") + "|" + call.remote_party + "|" +
      call.expected_country + "|" + call.provider + "|" + call.edge_region;
  if (call.media) {
    const SimMedia& m = *call.media;
    for (const double v : {m.mos, m.quality_score, m.in_packets, m.out_packets, m.in_media_packets,
                           m.out_media_packets, m.in_dtmf_packets, m.out_dtmf_packets, m.in_bytes,
                           m.out_bytes, m.jitter_min_var, m.jitter_max_var, m.loss_rate,
                           m.burst_rate, m.mean_interval_ms, m.flaws}) {
      out += "|" + num(v);
    }
    out += "|" + m.codec + "|" + m.rate;
  }
  return out;
}

std::uint64_t Fnv1a(const std::string& s, std::uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// The draws of the named scenarios (other than contact-centre) since carriers, remote parties
// and one-way audio in both directions: the same seed must keep giving exactly the same calls
// and gaps (with libstdc++'s distributions).
TEST(CallGeneratorTest, ExistingScenariosKeepTheirExactCallsAndGaps) {
  std::uint64_t calls = 1469598103934665603ull;
  for (const char* name :
       {"healthy", "degraded-carrier", "slow-pdd", "one-way-audio", "api-trouble"}) {
    for (const SimCall& call : GenerateCalls(name, 400, 5)) calls = Fnv1a(Describe(call), calls);
  }
  std::uint64_t gaps = 1469598103934665603ull;
  for (const double per_minute : {20.0, 30.0, 60.0, 90.0, 120.0, 150.0}) {
    Scenario s = ScenarioByName("healthy");
    s.calls_per_minute = per_minute;
    const CallGenerator generator(5, s);
    for (std::uint64_t sequence = 0; sequence < 2000; ++sequence) {
      gaps = Fnv1a(std::to_string(generator.InterArrival(kChannel, sequence).count()) + ",", gaps);
    }
  }
  EXPECT_EQ(calls, 8105733494984705128ull);
  EXPECT_EQ(gaps, 1022350068869247402ull);
}

TEST(CallGeneratorTest, IdIsAStableFunctionOfSeedChannelAndSequence) {
  const CallGenerator generator(1, ScenarioByName("healthy"));
  EXPECT_EQ(generator.Generate(kWorkspace, kChannel, 0, Epoch()).id,
            "7e75eb9b-2ac2-4949-b262-154e348a1d4d");
}

TEST(CallGeneratorTest, DifferentSeedGivesDifferentIds) {
  const CallGenerator a(1, ScenarioByName("healthy"));
  const CallGenerator b(2, ScenarioByName("healthy"));
  std::set<std::string> ids_a, ids_b;
  for (std::uint64_t sequence = 0; sequence < 100; ++sequence) {
    ids_a.insert(a.Generate(kWorkspace, kChannel, sequence, Epoch()).id);
    ids_b.insert(b.Generate(kWorkspace, kChannel, sequence, Epoch()).id);
  }
  EXPECT_EQ(ids_a.size(), 100u);
  EXPECT_EQ(ids_b.size(), 100u);
  std::vector<std::string> common;
  std::set_intersection(ids_a.begin(), ids_a.end(), ids_b.begin(), ids_b.end(),
                        std::back_inserter(common));
  EXPECT_THAT(common, IsEmpty());
}

TEST(CallGeneratorTest, DifferentChannelsGetDifferentCalls) {
  const CallGenerator generator(1, ScenarioByName("healthy"));
  const SimCall a = generator.Generate(kWorkspace, kChannel, 3, Epoch());
  const SimCall b =
      generator.Generate(kWorkspace, "4c5d6e7f-8091-4a2b-bc3d-e4f5a6b7c8d9", 3, Epoch());
  EXPECT_NE(a.id, b.id);
  EXPECT_EQ(b.channel_id, "4c5d6e7f-8091-4a2b-bc3d-e4f5a6b7c8d9");
  EXPECT_EQ(b.workspace_id, kWorkspace);
}

TEST(CallGeneratorTest, IdsAreUniqueVersion4Uuids) {
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> ids;
  for (const SimCall& call : GenerateCalls("healthy", 2000)) {
    EXPECT_TRUE(std::regex_match(call.id, uuid)) << call.id;
    ids.insert(call.id);
  }
  EXPECT_EQ(ids.size(), 2000u);
}

TEST(CallGeneratorTest, InterArrivalIsExponentialAroundTheScenarioRate) {
  Scenario s = ScenarioByName("healthy");
  s.calls_per_minute = 30;  // a call every 2 s on average
  const CallGenerator generator(9, s);
  double total = 0;
  for (std::uint64_t sequence = 0; sequence < 5000; ++sequence) {
    const milliseconds gap = generator.InterArrival(kChannel, sequence);
    EXPECT_GE(gap, milliseconds(50));
    total += Seconds(gap);
  }
  EXPECT_NEAR(total / 5000, 2.0, 0.1);
}

TEST(CallGeneratorTest, ContactCentreStartsTwentyCallsASecondPerChannel) {
  const CallGenerator generator(9, ScenarioByName("contact-centre"));
  double total = 0;
  milliseconds shortest = milliseconds::max();
  for (std::uint64_t sequence = 0; sequence < 20000; ++sequence) {
    const milliseconds gap = generator.InterArrival(kChannel, sequence);
    shortest = std::min(shortest, gap);
    total += Seconds(gap);
  }
  EXPECT_NEAR(20000 / total, 20.0, 0.6);  // calls a second
  // A gap is whole milliseconds, at least one, so no two calls of a channel share a millisecond.
  EXPECT_GE(shortest, milliseconds(1));
  EXPECT_LT(shortest, milliseconds(50));
}

TEST(CallGeneratorTest, ContactCentreSupportCallsLastTenToSixtyMinutes) {
  int answered = 0, support = 0, first_half = 0;
  for (const SimCall& call : GenerateCalls("contact-centre", 10000, 13)) {
    if (!call.answered_at) continue;
    ++answered;
    const double talk = Seconds(call.ended_at - *call.answered_at);
    if (talk < 600) continue;  // an ordinary call: exponential around 45 s
    ++support;
    EXPECT_LE(talk, 3600) << call.id;
    first_half += talk < 2100;
  }
  ASSERT_GT(answered, 5000);
  EXPECT_NEAR(static_cast<double>(support) / answered, 0.05, 0.012);
  // Uniform over the range: about half of them in its first half.
  EXPECT_NEAR(static_cast<double>(first_half) / support, 0.5, 0.15);
}

TEST(CallGeneratorTest, LongCallBoundsComeFromTheScenario) {
  Scenario s = ScenarioByName("healthy");
  s.long_call_share = 1;
  s.long_call_min_seconds = 100;
  s.long_call_max_seconds = 120;
  Scenario swapped = s;
  std::swap(swapped.long_call_min_seconds, swapped.long_call_max_seconds);
  for (const Scenario& scenario : {s, swapped}) {
    const CallGenerator generator(4, scenario);
    int answered = 0;
    for (std::uint64_t sequence = 0; sequence < 500; ++sequence) {
      const SimCall call = generator.Generate(kWorkspace, kChannel, sequence, Epoch());
      if (!call.answered_at) continue;
      ++answered;
      const double talk = Seconds(call.ended_at - *call.answered_at);
      EXPECT_GE(talk, 100) << call.id;
      EXPECT_LE(talk, 120) << call.id;
    }
    EXPECT_GT(answered, 200);
  }
}

// Only the talk time of the long calls depends on the bounds: every draw stays where it was.
TEST(CallGeneratorTest, LongCallBoundsChangeNothingButTheLongCallsTalkTime) {
  Scenario wide = ScenarioByName("healthy");
  wide.long_call_min_seconds = 600;
  wide.long_call_max_seconds = 3600;
  const CallGenerator usual(21, ScenarioByName("healthy"));
  const CallGenerator longer(21, wide);
  int long_calls = 0;
  for (std::uint64_t sequence = 0; sequence < 2000; ++sequence) {
    const SimCall a = usual.Generate(kWorkspace, kChannel, sequence, Epoch());
    const SimCall b = longer.Generate(kWorkspace, kChannel, sequence, Epoch());
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.final_status, b.final_status);
    EXPECT_EQ(a.answered_at, b.answered_at);
    EXPECT_EQ(a.hangup_source, b.hangup_source);
    EXPECT_EQ(a.one_way_audio, b.one_way_audio);
    EXPECT_EQ(a.media.has_value(), b.media.has_value());
    if (a.media && b.media) {
      EXPECT_EQ(a.media->codec, b.media->codec);
    }
    if (a.answered_at && a.ended_at != b.ended_at) {
      ++long_calls;
      EXPECT_GE(Seconds(a.ended_at - *a.answered_at), 180);
      EXPECT_LE(Seconds(a.ended_at - *a.answered_at), 480);
      EXPECT_GE(Seconds(b.ended_at - *b.answered_at), 600);
    }
  }
  EXPECT_GT(long_calls, 10);  // 3% of the answered 62%
}

// ---------------------------------------------------------------------------------------------
// Outcomes (domain notes §4, §5).

TEST(CallGeneratorTest, HealthyOutcomeSharesFollowTheScenarioWeights) {
  const Scenario s = ScenarioByName("healthy");
  const auto calls = GenerateCalls("healthy", 5000);
  std::map<std::string, int> counts;
  for (const SimCall& call : calls) ++counts[call.final_status];
  const double total = s.answered + s.busy + s.no_answer + s.cancelled + s.failed;
  const std::map<std::string, double> expected = {{"completed", s.answered / total},
                                                  {"busy", s.busy / total},
                                                  {"no-answer", s.no_answer / total},
                                                  {"cancelled", s.cancelled / total},
                                                  {"failed", s.failed / total}};
  int sum = 0;
  for (const auto& [status, share] : expected) {
    EXPECT_NEAR(counts[status] / 5000.0, share, 0.025) << status;
    sum += counts[status];
  }
  EXPECT_EQ(sum, 5000) << "no status outside the five final ones";
}

TEST(CallGeneratorTest, EachOutcomeCarriesItsQ850CauseAndSipCode) {
  const std::set<std::pair<int, std::string>> failures = {{34, "503"},  {38, "502"}, {41, "500"},
                                                          {102, "504"}, {1, "404"},  {21, "403"}};
  std::set<std::string> seen;
  for (const SimCall& call : GenerateCalls("healthy", 5000)) {
    SCOPED_TRACE(call.final_status);
    seen.insert(call.final_status);
    if (call.final_status == "completed") {
      EXPECT_EQ(call.hangup_cause_code, 16);
      EXPECT_EQ(call.hangup_sip_code, "200");
      EXPECT_TRUE(call.hangup_source == "caller" || call.hangup_source == "callee");
    } else if (call.final_status == "busy") {
      EXPECT_EQ(call.hangup_cause_code, 17);
      EXPECT_EQ(call.hangup_sip_code, "486");
      EXPECT_EQ(call.hangup_source, "callee");
    } else if (call.final_status == "no-answer") {
      EXPECT_EQ(call.hangup_cause_code, 19);
      EXPECT_EQ(call.hangup_sip_code, "480");
      EXPECT_EQ(call.hangup_source, "timeout");
    } else if (call.final_status == "cancelled") {
      EXPECT_EQ(call.hangup_cause_code, 16);
      EXPECT_EQ(call.hangup_sip_code, "487");
      EXPECT_EQ(call.hangup_source, "caller");
    } else {
      ASSERT_EQ(call.final_status, "failed");
      EXPECT_NE(call.hangup_cause_code, 16);
      EXPECT_TRUE(failures.count({call.hangup_cause_code, call.hangup_sip_code}))
          << call.hangup_cause_code << "/" << call.hangup_sip_code;
      EXPECT_EQ(call.hangup_source, "none");
    }
  }
  EXPECT_EQ(seen.size(), 5u);
}

TEST(CallGeneratorTest, OnlyCompletedCallsAreAnsweredAndHaveMedia) {
  for (const SimCall& call : GenerateCalls("healthy", 3000)) {
    const bool completed = call.final_status == "completed";
    EXPECT_EQ(call.answered_at.has_value(), completed) << call.id;
    EXPECT_EQ(call.media.has_value(), completed) << call.id;
    if (!completed) {
      EXPECT_EQ(call.DurationSeconds(), 0);
      EXPECT_FALSE(call.one_way_audio);
    } else {
      EXPECT_GE(call.DurationSeconds(), 3);
    }
  }
}

TEST(CallGeneratorTest, DirectionTypeAndCountryComeFromTheKnownSets) {
  const std::set<std::string> countries = {"NL", "DE", "PT", "GB", "FR", "US"};
  std::set<std::string> directions, types, seen_countries;
  for (const SimCall& call : GenerateCalls("healthy", 3000)) {
    directions.insert(call.direction);
    types.insert(call.type);
    seen_countries.insert(call.country);
    EXPECT_EQ(call.workspace_id, kWorkspace);
    EXPECT_EQ(call.channel_id, kChannel);
  }
  EXPECT_EQ(directions, (std::set<std::string>{"incoming", "outgoing"}));
  EXPECT_EQ(types, (std::set<std::string>{"pstn", "sip", "webrtc"}));
  EXPECT_EQ(seen_countries, countries);
}

// ---------------------------------------------------------------------------------------------
// Media (domain notes §1).

TEST(CallGeneratorTest, AnsweredCallsHaveMediaWhoseMosFollowsTheirQuality) {
  const std::map<std::string, std::string> rates = {
      {"PCMA", "8000"}, {"PCMU", "8000"}, {"G722", "16000"}, {"opus", "48000"}};
  int answered = 0;
  for (const SimCall& call : GenerateCalls("healthy", 3000)) {
    if (!call.media) continue;
    ++answered;
    const SimMedia& m = *call.media;
    SCOPED_TRACE(call.id);
    ASSERT_TRUE(rates.count(m.codec)) << m.codec;
    EXPECT_EQ(m.rate, rates.at(m.codec));
    EXPECT_GE(m.quality_score, 0);
    EXPECT_LE(m.quality_score, 100);
    EXPECT_EQ(m.quality_score, std::floor(m.quality_score));
    EXPECT_EQ(m.mos, MosFromQuality(static_cast<int>(m.quality_score)));
    // 20 ms packetisation over the talk time; the duration is rounded to whole seconds.
    const bool sends = !(call.one_way_audio && !call.inbound_missing);
    EXPECT_NEAR(m.out_packets, sends ? call.DurationSeconds() * 50.0 : 0, 26);
    EXPECT_EQ(m.out_media_packets, m.out_packets);
    EXPECT_EQ(m.in_packets, m.in_media_packets + m.in_dtmf_packets);
    EXPECT_EQ(std::fmod(m.in_dtmf_packets, 8), 0);
    EXPECT_LE(m.in_dtmf_packets, 48);
    if (!call.one_way_audio) {
      EXPECT_GT(m.in_media_packets, 0);
      EXPECT_LE(m.in_media_packets, m.out_packets);
      EXPECT_GE(m.mean_interval_ms, 20);
      EXPECT_GE(m.jitter_max_var, m.jitter_min_var);
      EXPECT_GE(m.loss_rate, 0);
      if (m.flaws == 0) {
        EXPECT_EQ(m.quality_score, 100);
        EXPECT_EQ(m.burst_rate, 0);
      }
    }
  }
  EXPECT_GT(answered, 1500);
}

TEST(CallGeneratorTest, OneWayAudioCallsWithoutInboundMediaStillScorePerfectly) {
  int one_way = 0;
  for (const SimCall& call : GenerateCalls("one-way-audio", 2000)) {
    if (!call.one_way_audio) continue;
    ++one_way;
    if (!call.inbound_missing) continue;
    ASSERT_TRUE(call.media.has_value());
    const SimMedia& m = *call.media;
    EXPECT_EQ(call.final_status, "completed");
    EXPECT_EQ(m.in_media_packets, 0);
    EXPECT_EQ(m.in_packets, m.in_dtmf_packets);
    EXPECT_EQ(m.mos, 4.5);
    EXPECT_EQ(m.quality_score, 100);
    EXPECT_EQ(m.flaws, 0);
    EXPECT_EQ(m.loss_rate, 0);
    EXPECT_GT(m.out_media_packets, 0);
  }
  // 30% of the answered ~62%.
  EXPECT_NEAR(one_way / 2000.0, 0.3 * 0.62, 0.04);
}

TEST(CallGeneratorTest, HealthyCallsAreRarelyJittery) {
  int calls = 0, jittery = 0;
  for (const SimCall& call : GenerateCalls("healthy", 3000)) {
    if (!call.media || call.one_way_audio) continue;
    ++calls;
    if (call.media->jitter_max_var > 900) ++jittery;  // above 30 ms
  }
  EXPECT_LT(jittery, calls / 50);
}

TEST(CallGeneratorTest, HealthyCallsAreMostlyExcellent) {
  std::vector<double> mos;
  for (const SimCall& call : GenerateCalls("healthy", 3000)) {
    if (call.media && !call.one_way_audio) mos.push_back(call.media->mos);
  }
  EXPECT_GE(Median(mos), 4.4);
}

TEST(CallGeneratorTest, DegradedCarrierPushesG722MedianMosBelowFair) {
  std::vector<double> g722, others;
  for (const SimCall& call : GenerateCalls("degraded-carrier", 5000)) {
    if (!call.media || call.one_way_audio) continue;
    (call.media->codec == "G722" ? g722 : others).push_back(call.media->mos);
  }
  ASSERT_GT(g722.size(), 500u);
  EXPECT_LT(Median(g722), 3.6);
  EXPECT_GE(Median(others), 4.4);
}

// ---------------------------------------------------------------------------------------------
// PDD (domain notes §3).

TEST(CallGeneratorTest, HealthyPddStaysUnderTwoAndAHalfSecondsPerDestination) {
  std::map<std::string, std::vector<double>> pdd;
  for (const SimCall& call : GenerateCalls("healthy", 5000)) {
    EXPECT_GT(call.pdd_seconds, 0);
    pdd[call.country].push_back(call.pdd_seconds);
  }
  for (const auto& [country, values] : pdd) EXPECT_LT(Median(values), 2.5) << country;
}

TEST(CallGeneratorTest, SlowPddMakesUsCallsRingAfterFiveSeconds) {
  std::vector<double> us, others;
  for (const SimCall& call : GenerateCalls("slow-pdd", 5000)) {
    (call.country == "US" ? us : others).push_back(call.pdd_seconds);
  }
  ASSERT_GT(us.size(), 500u);
  EXPECT_GE(Median(us), 5.0);
  EXPECT_LT(Median(others), 2.5);
}

TEST(CallGeneratorTest, RingingStartsOnePddAfterCreation) {
  for (const SimCall& call : GenerateCalls("healthy", 1000)) {
    EXPECT_NEAR(Seconds(call.ringing_at - call.created_at), call.pdd_seconds, 0.001) << call.id;
  }
}

// ---------------------------------------------------------------------------------------------
// Timeline and status.

TEST(CallGeneratorTest, TimelineIsOrderedForEveryCall) {
  for (const SimCall& call : GenerateCalls("healthy", 5000)) {
    SCOPED_TRACE(call.id);
    EXPECT_LE(call.created_at, call.ringing_at);
    if (call.answered_at) {
      EXPECT_LE(call.ringing_at, *call.answered_at);
      EXPECT_LE(*call.answered_at, call.ended_at);
    }
    EXPECT_LE(call.ringing_at, call.ended_at);
    EXPECT_LE(call.ended_at, call.insights_ready_at);
    const double insights_delay = Seconds(call.insights_ready_at - call.ended_at);
    EXPECT_GE(insights_delay, 1.999);
    EXPECT_LE(insights_delay, 6.0);
  }
}

TEST(CallGeneratorTest, LongCallsAreOffWhenTheirShareIsZero) {
  Scenario s = ScenarioByName("healthy");
  s.mean_talk_seconds = 0.1;  // exponential draws stay under the 3 s floor
  s.long_call_share = 0;
  const CallGenerator generator(3, s);
  for (std::uint64_t sequence = 0; sequence < 1000; ++sequence) {
    const SimCall call = generator.Generate(kWorkspace, kChannel, sequence, Epoch());
    if (call.answered_at) {
      EXPECT_EQ(call.ended_at - *call.answered_at, seconds(3)) << call.id;
    }
  }
}

SimCall FixedCall(bool answered) {
  SimCall call;
  call.id = "0b6c1f0e-8d5f-4b57-9a4e-2f1d8c7b6a59";
  call.created_at = Epoch();
  call.ringing_at = Epoch() + milliseconds(1500);
  if (answered) {
    call.final_status = "completed";
    call.answered_at = Epoch() + seconds(5);
    call.ended_at = Epoch() + milliseconds(50400);
  } else {
    call.final_status = "no-answer";
    call.ended_at = Epoch() + seconds(26);
  }
  call.insights_ready_at = call.ended_at + seconds(3);
  return call;
}

TEST(SimCallTest, StatusAtFollowsStartingRingingOngoingThenFinal) {
  const SimCall call = FixedCall(true);
  const nanoseconds tick(1);
  EXPECT_EQ(call.StatusAt(call.created_at), "starting");
  EXPECT_EQ(call.StatusAt(call.ringing_at - tick), "starting");
  EXPECT_EQ(call.StatusAt(call.ringing_at), "ringing");
  EXPECT_EQ(call.StatusAt(*call.answered_at - tick), "ringing");
  EXPECT_EQ(call.StatusAt(*call.answered_at), "ongoing");
  EXPECT_EQ(call.StatusAt(call.ended_at - tick), "ongoing");
  EXPECT_EQ(call.StatusAt(call.ended_at), "completed");
  EXPECT_EQ(call.StatusAt(call.insights_ready_at + seconds(3600)), "completed");
}

TEST(SimCallTest, UnansweredCallRingsUntilItsFinalStatus) {
  const SimCall call = FixedCall(false);
  const nanoseconds tick(1);
  EXPECT_EQ(call.StatusAt(call.ringing_at - tick), "starting");
  EXPECT_EQ(call.StatusAt(call.ringing_at), "ringing");
  EXPECT_EQ(call.StatusAt(call.ended_at - tick), "ringing");
  EXPECT_EQ(call.StatusAt(call.ended_at), "no-answer");
}

TEST(SimCallTest, EndedAndInsightsReadyFlipAtTheirInstants) {
  const SimCall call = FixedCall(true);
  const nanoseconds tick(1);
  EXPECT_FALSE(call.EndedAt(call.ended_at - tick));
  EXPECT_TRUE(call.EndedAt(call.ended_at));
  EXPECT_FALSE(call.InsightsReadyAt(call.ended_at));
  EXPECT_FALSE(call.InsightsReadyAt(call.insights_ready_at - tick));
  EXPECT_TRUE(call.InsightsReadyAt(call.insights_ready_at));
}

TEST(SimCallTest, DurationIsTheAnsweredTimeRoundedToWholeSeconds) {
  SimCall call = FixedCall(true);
  EXPECT_EQ(call.DurationSeconds(), 45);  // 45.4 s
  call.ended_at = *call.answered_at + milliseconds(45500);
  EXPECT_EQ(call.DurationSeconds(), 46);
  EXPECT_EQ(FixedCall(false).DurationSeconds(), 0);
}

TEST(CallGeneratorTest, GeneratedCallsPassThroughEveryStatusAtTheRightInstants) {
  const nanoseconds tick(1);
  for (const SimCall& call : GenerateCalls("healthy", 1000)) {
    SCOPED_TRACE(call.id);
    if (call.ringing_at > call.created_at) {
      EXPECT_EQ(call.StatusAt(call.created_at), "starting");
      EXPECT_EQ(call.StatusAt(call.ringing_at - tick), "starting");
    }
    EXPECT_EQ(call.StatusAt(call.ringing_at), "ringing");
    if (call.answered_at) {
      EXPECT_EQ(call.StatusAt(*call.answered_at - tick), "ringing");
      EXPECT_EQ(call.StatusAt(*call.answered_at), "ongoing");
      EXPECT_EQ(call.StatusAt(call.ended_at - tick), "ongoing");
    } else {
      EXPECT_EQ(call.StatusAt(call.ended_at - tick), "ringing");
    }
    EXPECT_EQ(call.StatusAt(call.ended_at), call.final_status);
  }
}

}  // namespace
}  // namespace bird_exporter::sim

namespace bird_exporter::sim {
namespace {

// The ground truth of the remote party's country is what libphonenumber makes of the number.
TEST(CallGeneratorTest, RemotePartiesAreRealisticAndTheirCountryIsTheGroundTruth) {
  std::map<std::string, int> by_expected;
  int sip = 0, webrtc = 0, withheld = 0, invalid = 0;
  for (const SimCall& call : GenerateCalls("healthy", 6000)) {
    SCOPED_TRACE(call.remote_party);
    EXPECT_EQ(CountryOfNumber(call.remote_party), call.expected_country);
    ++by_expected[call.expected_country];
    if (call.type == "sip") {
      ++sip;
      EXPECT_TRUE(call.remote_party.starts_with("sip:"));
    } else if (call.type == "webrtc") {
      ++webrtc;
      EXPECT_EQ(call.remote_party, "client:" + call.id);
    } else if (call.remote_party == "anonymous") {
      ++withheld;
      EXPECT_EQ(call.direction, "incoming");
    } else if (call.expected_country == "unknown") {
      ++invalid;
    } else {
      EXPECT_EQ(call.expected_country, call.country);
    }
  }
  for (const char* country : {"NL", "DE", "PT", "GB", "FR", "US", "unknown"}) {
    EXPECT_GT(by_expected[country], 100) << country;
  }
  EXPECT_GT(sip, 600);
  EXPECT_GT(webrtc, 600);
  EXPECT_GT(withheld, 20);
  EXPECT_GT(invalid, 20);
}

TEST(CallGeneratorTest, EveryCallHasACarrierAndAnEdge) {
  std::set<std::string> providers, edges;
  std::map<std::string, std::vector<double>> pdd_by_provider;
  for (const SimCall& call : GenerateCalls("healthy", 4000)) {
    providers.insert(call.provider);
    edges.insert(call.edge_region);
    if (call.country == "GB" && call.type != "webrtc") {
      pdd_by_provider[call.provider].push_back(call.pdd_seconds);
    }
    if (call.media) {
      // The carrier's codec.
      const std::map<std::string, std::string> codec = {{"northsea-telecom", "PCMA"},
                                                        {"atlantic-voice", "PCMU"},
                                                        {"alpine-connect", "G722"},
                                                        {"webrtc-edge", "opus"}};
      EXPECT_EQ(call.media->codec, codec.at(call.provider));
    }
  }
  EXPECT_EQ(providers, (std::set<std::string>{"northsea-telecom", "atlantic-voice",
                                              "alpine-connect", "webrtc-edge"}));
  EXPECT_EQ(edges, (std::set<std::string>{"eu-west-1", "us-east-1"}));
  // GB is routed by two carriers with their own set-up delay: atlantic-voice (x1.3) is slower
  // than northsea-telecom (x1.0).
  ASSERT_EQ(pdd_by_provider.size(), 2u);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  EXPECT_GT(median(pdd_by_provider["atlantic-voice"]),
            1.15 * median(pdd_by_provider["northsea-telecom"]));
}

TEST(CallGeneratorTest, OneWayAudioMissesEitherDirection) {
  int inbound = 0, outbound = 0;
  for (const SimCall& call : GenerateCalls("one-way-audio", 3000)) {
    if (!call.one_way_audio) continue;
    ASSERT_TRUE(call.media.has_value());
    if (call.inbound_missing) {
      ++inbound;
      EXPECT_EQ(call.media->in_media_packets, 0);
      EXPECT_GT(call.media->out_media_packets, 0);
    } else {
      ++outbound;
      EXPECT_EQ(call.media->out_media_packets, 0);
      EXPECT_GT(call.media->in_media_packets, 0);
    }
  }
  EXPECT_GT(inbound, 150);
  EXPECT_GT(outbound, 150);
}

TEST(CallGeneratorTest, ADegradedCarrierFailsMoreOfItsCalls) {
  std::map<std::string, std::pair<int, int>> failed_of;  // provider -> (failed, all)
  for (const SimCall& call : GenerateCalls("degraded-carrier", 6000)) {
    auto& [failed, all] = failed_of[call.provider];
    ++all;
    if (call.final_status == "failed") ++failed;
  }
  const auto share = [&](const std::string& p) {
    return static_cast<double>(failed_of[p].first) / failed_of[p].second;
  };
  EXPECT_GT(share("alpine-connect"), 0.3);
  EXPECT_LT(share("northsea-telecom"), 0.12);
}

}  // namespace
}  // namespace bird_exporter::sim
