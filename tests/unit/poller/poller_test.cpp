#include "poller/poller.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

namespace bird_exporter {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const SystemTime kStart = *ParseRfc3339("2026-11-21T12:00:00Z");

// An in-memory Bird: lists newest first in pages of `page_size`, insights per call id.
class InMemoryBird : public BirdApi {
 public:
  int page_size = 2;
  std::map<std::string, std::vector<Call>> calls;  // channel id -> calls
  std::map<std::string, CallInsights> insights;    // call id -> ready insights
  int list_failures = 0;
  bool endless_pages = false;  // a broken cursor: every page says there is another one
  int insights_failures = 0;
  bool unauthorized = false;
  int list_requests = 0;
  int insights_requests = 0;

  void Add(const std::string& channel, Call call) { calls[channel].push_back(std::move(call)); }

  ListCallsResult ListCalls(const ChannelRef& channel, const std::string& page_token,
                            std::stop_token) override {
    ++list_requests;
    ListCallsResult result;
    if (unauthorized) {
      result.outcome = ApiOutcome::kUnauthorized;
      result.http_status = 401;
      return result;
    }
    if (list_failures > 0) {
      --list_failures;
      result.outcome = ApiOutcome::kFailed;
      return result;
    }
    auto all = calls[channel.channel_id];
    std::sort(all.begin(), all.end(),
              [](const Call& a, const Call& b) { return *a.created_at > *b.created_at; });
    const std::size_t offset = page_token.empty() ? 0 : std::stoul(page_token);
    for (std::size_t i = offset; i < all.size() && i < offset + page_size; ++i) {
      result.page.calls.push_back(all[i]);
    }
    if (offset + page_size < all.size()) {
      result.page.next_page_token = std::to_string(offset + page_size);
    }
    if (endless_pages) result.page.next_page_token = page_token.empty() ? "0" : page_token;
    result.outcome = ApiOutcome::kOk;
    return result;
  }

  InsightsResult GetInsights(const ChannelRef&, const std::string& call_id,
                             std::stop_token) override {
    ++insights_requests;
    InsightsResult result;
    if (insights_failures > 0) {
      --insights_failures;
      result.outcome = ApiOutcome::kFailed;
      return result;
    }
    auto it = insights.find(call_id);
    if (it == insights.end()) {
      result.outcome = ApiOutcome::kNotFound;
      return result;
    }
    result.outcome = ApiOutcome::kOk;
    result.insights = it->second;
    return result;
  }

  // Moves a call to a terminal status and makes its insights ready.
  void End(const std::string& channel, const std::string& id, SystemTime ended,
           bool insights_ready = true) {
    for (Call& call : calls[channel]) {
      if (call.id != id) continue;
      call.status = CallStatus::kCompleted;
      call.ended_at = ended;
      call.duration_seconds = 30;
      if (insights_ready) ReadyInsights(call);
    }
  }

  void ReadyInsights(const Call& call) {
    CallInsights ins;
    ins.call = call;
    ins.pdd_seconds = 1.5;
    ins.has_media_metrics = true;
    ins.media.mos = 4.4;
    ins.media.in_media_packet_count = 100;
    insights[call.id] = ins;
  }
};

Call MakeCall(const std::string& id, SystemTime created, CallStatus status) {
  Call call;
  call.id = id;
  call.status = status;
  call.direction = Direction::kOutgoing;
  call.type = CallType::kPstn;
  call.created_at = created;
  if (IsTerminal(status)) {
    call.ended_at = created + seconds(40);
    call.duration_seconds = 30;
    call.hangup_cause_code = 16;
    call.hangup_sip_code = "200";
  }
  return call;
}

double SumOf(prometheus::Registry& registry, const std::string& name) {
  double total = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      total += family.type == prometheus::MetricType::Histogram
                   ? static_cast<double>(metric.histogram.sample_count)
                   : family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                    : metric.gauge.value;
    }
  }
  return total;
}

class PollerTest : public ::testing::Test {
 protected:
  PollerTest() : exporter_metrics_(registry_), call_metrics_(registry_) {
    settings_.poll.interval = seconds(30);
    settings_.poll.initial_lookback = minutes(10);
    settings_.poll.insights_grace_period = minutes(15);
    settings_.poll.max_call_age = hours(6);
    settings_.max_concurrent_requests = 4;
  }

  std::unique_ptr<Poller> MakePoller(const StateFile* state_file = nullptr) {
    auto poller = std::make_unique<Poller>(
        settings_,
        std::vector<ChannelRef>{{"ws", "prod", "ch1", "support"}, {"ws", "prod", "ch2", "sales"}},
        bird_, call_metrics_, exporter_metrics_, state_file, [this] { return now_; });
    poller->LoadState();
    return poller;
  }

  void Poll(Poller& poller) {
    std::stop_source stop;
    ASSERT_TRUE(poller.PollOnce(stop.get_token()));
  }

  double Calls() { return SumOf(registry_, "bird_calls_total"); }

  PollerSettings settings_;
  InMemoryBird bird_;
  SystemTime now_ = kStart;
  prometheus::Registry registry_;
  ExporterMetrics exporter_metrics_;
  CallMetrics call_metrics_;
};

TEST_F(PollerTest, CountsEveryEndedCallOnceAcrossPagesAndPolls) {
  for (int i = 0; i < 7; ++i) {
    Call call = MakeCall("a" + std::to_string(i), kStart - minutes(5) + seconds(i), CallStatus::kCompleted);
    bird_.ReadyInsights(call);
    bird_.Add("ch1", call);
  }
  Call other = MakeCall("b0", kStart - minutes(1), CallStatus::kBusy);
  bird_.ReadyInsights(other);
  bird_.Add("ch2", other);
  auto poller = MakePoller();

  Poll(*poller);
  EXPECT_EQ(Calls(), 8);
  now_ += seconds(30);
  Poll(*poller);
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_EQ(Calls(), 8);
  EXPECT_EQ(SumOf(registry_, "bird_call_mos"), 7);  // the busy call has no MOS observation
  EXPECT_TRUE(poller->Ready());
}

TEST_F(PollerTest, IgnoresCallsCreatedBeforeTheInitialLookback) {
  Call old_call = MakeCall("old", kStart - minutes(11), CallStatus::kCompleted);
  Call recent = MakeCall("recent", kStart - minutes(9), CallStatus::kCompleted);
  bird_.ReadyInsights(old_call);
  bird_.ReadyInsights(recent);
  bird_.Add("ch1", old_call);
  bird_.Add("ch1", recent);
  auto poller = MakePoller();
  Poll(*poller);
  EXPECT_EQ(Calls(), 1);
}

TEST_F(PollerTest, FindsALongCallThatEndsAfterItsCreationLeftTheWindow) {
  bird_.Add("ch1", MakeCall("long", kStart - minutes(1), CallStatus::kOngoing));
  auto poller = MakePoller();
  Poll(*poller);
  EXPECT_EQ(Calls(), 0);
  EXPECT_EQ(SumOf(registry_, "bird_calls_active"), 1);
  // An hour of polls later the call ends; it was created long before the last few polls.
  for (int i = 0; i < 120; ++i) {
    now_ += seconds(30);
    Poll(*poller);
  }
  bird_.End("ch1", "long", now_ - seconds(5));
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_EQ(Calls(), 1);
  EXPECT_EQ(SumOf(registry_, "bird_calls_active"), 0);
}

TEST_F(PollerTest, AsksAgainForInsightsUntilTheyAreReady) {
  Call call = MakeCall("late", kStart - minutes(2), CallStatus::kCompleted);
  bird_.Add("ch1", call);
  auto poller = MakePoller();
  Poll(*poller);
  EXPECT_EQ(Calls(), 0);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_insights_pending"), 1);
  now_ += minutes(5);
  Poll(*poller);
  EXPECT_EQ(Calls(), 0);
  bird_.ReadyInsights(call);
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_EQ(Calls(), 1);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_insights_unavailable_total"), 0);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_insights_pending"), 0);
}

TEST_F(PollerTest, CountsFromTheListAfterTheGracePeriod) {
  Call call = MakeCall("never", kStart - minutes(2), CallStatus::kCompleted);
  call.mos = 3.9;
  call.pdd_seconds = 2.0;
  bird_.Add("ch1", call);
  auto poller = MakePoller();
  Poll(*poller);
  now_ += minutes(10);
  Poll(*poller);
  EXPECT_EQ(Calls(), 0);
  now_ += minutes(10);  // the call ended 14m20s + 10m ago > 15m grace
  Poll(*poller);
  EXPECT_EQ(Calls(), 1);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_insights_unavailable_total"), 1);
  EXPECT_EQ(SumOf(registry_, "bird_call_mos"), 1);
  EXPECT_EQ(SumOf(registry_, "bird_call_pdd_seconds"), 1);
  now_ += minutes(1);
  Poll(*poller);
  EXPECT_EQ(Calls(), 1);
}

TEST_F(PollerTest, FailedInsightsAreRetriedNextPollWithoutLoss) {
  for (int i = 0; i < 3; ++i) {
    Call call = MakeCall("c" + std::to_string(i), kStart - minutes(1), CallStatus::kCompleted);
    bird_.ReadyInsights(call);
    bird_.Add("ch1", call);
  }
  bird_.insights_failures = 2;
  auto poller = MakePoller();
  Poll(*poller);
  EXPECT_EQ(Calls(), 1);
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_EQ(Calls(), 3);
}

TEST_F(PollerTest, AFailedListKeepsTheWindowAndMarksTheChannelDown) {
  Call call = MakeCall("x", kStart - minutes(1), CallStatus::kCompleted);
  bird_.ReadyInsights(call);
  bird_.Add("ch1", call);
  bird_.list_failures = 2;  // both channels fail the first poll
  auto poller = MakePoller();
  Poll(*poller);
  EXPECT_EQ(Calls(), 0);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_channel_up"), 0);
  EXPECT_FALSE(poller->Ready());
  now_ += minutes(30);  // long outage: the initial window must still be honoured
  Poll(*poller);
  // The channel never had a window yet, so its first successful list uses initial_lookback
  // from now: the call created 31 minutes ago is outside it.
  EXPECT_EQ(Calls(), 0);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_channel_up"), 2);
  EXPECT_TRUE(poller->Ready());
}

TEST_F(PollerTest, AnOutageAfterTheFirstPollLosesNothing) {
  auto poller = MakePoller();
  Poll(*poller);
  bird_.list_failures = 1000;
  for (int i = 0; i < 20; ++i) {
    Call call = MakeCall("o" + std::to_string(i), now_ + minutes(i), CallStatus::kCompleted);
    bird_.ReadyInsights(call);
    bird_.Add("ch2", call);
  }
  for (int i = 0; i < 60; ++i) {
    now_ += minutes(1);
    Poll(*poller);
  }
  EXPECT_EQ(Calls(), 0);
  bird_.list_failures = 0;
  now_ += minutes(1);
  Poll(*poller);
  EXPECT_EQ(Calls(), 20);
}

TEST_F(PollerTest, UnauthorizedMarksChannelsDownAndKeepsRunning) {
  bird_.unauthorized = true;
  auto poller = MakePoller();
  Poll(*poller);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_channel_up"), 0);
  EXPECT_EQ(bird_.list_requests, 2);  // one attempt per channel, no paging
  bird_.unauthorized = false;
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_channel_up"), 2);
}

TEST_F(PollerTest, AnEndlessCursorStopsAtThePageCapAndStillCounts) {
  Call call = MakeCall("looping", kStart - minutes(1), CallStatus::kCompleted);
  bird_.ReadyInsights(call);
  bird_.Add("ch1", call);
  bird_.endless_pages = true;
  settings_.max_pages_per_poll = 25;
  auto poller = MakePoller();
  Poll(*poller);
  EXPECT_EQ(bird_.list_requests, 2 * 25);  // both channels, capped
  EXPECT_EQ(Calls(), 1);                   // the repeated page is counted once
  EXPECT_EQ(SumOf(registry_, "bird_exporter_channel_up"), 2);
}

class PollerStateTest : public PollerTest {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/bird_poller_test_XXXXXX";
    dir_ = mkdtemp(dir_template);
    path_ = dir_ + "/state.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  std::string path_;
};

TEST_F(PollerStateTest, ARestartNeverCountsACallTwiceAndCatchesUpOnDowntime) {
  StateFile file(path_);
  for (int i = 0; i < 5; ++i) {
    Call call = MakeCall("r" + std::to_string(i), kStart - minutes(3), CallStatus::kCompleted);
    bird_.ReadyInsights(call);
    bird_.Add("ch1", call);
  }
  bird_.Add("ch1", MakeCall("live", kStart - minutes(3), CallStatus::kOngoing));
  {
    auto poller = MakePoller(&file);
    Poll(*poller);
  }
  EXPECT_EQ(Calls(), 5);

  // Down for 40 minutes; a call created and ended meanwhile, and the live call ended.
  now_ += minutes(40);
  Call during = MakeCall("during", now_ - minutes(20), CallStatus::kNoAnswer);
  bird_.ReadyInsights(during);
  bird_.Add("ch1", during);
  bird_.End("ch1", "live", now_ - minutes(10));

  prometheus::Registry fresh;
  ExporterMetrics fresh_exporter(fresh);
  CallMetrics fresh_calls(fresh);
  Poller restarted(settings_, {{"ws", "prod", "ch1", "support"}}, bird_, fresh_calls,
                   fresh_exporter, &file, [this] { return now_; });
  restarted.LoadState();
  std::stop_source stop;
  ASSERT_TRUE(restarted.PollOnce(stop.get_token()));
  EXPECT_EQ(SumOf(fresh, "bird_calls_total"), 2);  // "during" and "live", not the first five
}

TEST_F(PollerStateTest, ACorruptStateFileIsCountedAndReplaced) {
  {
    std::ofstream out(path_);
    out << "{not json";
  }
  StateFile file(path_);
  auto poller = MakePoller(&file);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_state_errors_total"), 1);
  Poll(*poller);
  EXPECT_NO_THROW(file.Load());
}

TEST_F(PollerStateTest, AFailedSaveCountsNothingUntilASaveSucceeds) {
  Call call = MakeCall("s", kStart - minutes(1), CallStatus::kCompleted);
  bird_.ReadyInsights(call);
  bird_.Add("ch1", call);
  StateFile file(dir_ + "/missing-dir/state.json");
  auto poller = MakePoller(&file);
  Poll(*poller);
  EXPECT_EQ(Calls(), 0);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_state_errors_total"), 1);
  std::filesystem::create_directory(dir_ + "/missing-dir");
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_EQ(Calls(), 1);
}

}  // namespace
}  // namespace bird_exporter
