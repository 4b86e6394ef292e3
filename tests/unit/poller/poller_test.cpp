#include "poller/poller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <set>

#include "support/process.h"

namespace bird_exporter {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
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
  int status_list_requests = 0;  // list requests with a status filter
  int get_call_requests = 0;
  int insights_requests = 0;
  bool ignore_status_filter = false;         // a Bird that lists every call whatever the filter
  bool ignore_creation_bounds = false;       // and one that ignores startAt and endAt
  int range_list_requests = 0;               // list requests bounded by creation time
  int range_list_failures = 0;               // that many bounded lists fail (-1: all of them)
  std::set<std::string> left_out_of_ranges;  // calls a bounded list never shows
  std::set<std::string> unknown_channels;    // answered 404, as for a wrong channel id
  std::vector<std::string> list_tokens;      // page token of every unfiltered list request
  std::vector<int> list_limits;              // and its limit (0: the full page size)
  int countries_not_wanted = 0;  // ended calls listed whose country the poller did not want

  void Add(const std::string& channel, Call call) { calls[channel].push_back(std::move(call)); }
  int CallsPerPage() override { return page_size; }
  double budget = std::numeric_limits<double>::infinity();  // requests per second
  double RequestBudget(const ChannelRef&) override { return budget; }

  Call* Find(const std::string& channel, const std::string& id) {
    for (Call& call : calls[channel]) {
      if (call.id == id) return &call;
    }
    return nullptr;
  }

  // The poller lists channels and asks for insights from several threads at once.
  std::mutex mutex;

  ListCallsResult ListCalls(const ChannelRef& channel, const ListQuery& query,
                            std::stop_token) override {
    std::lock_guard lock(mutex);
    ++list_requests;
    const bool bounded = query.created_from || query.created_to;
    if (bounded) ++range_list_requests;
    if (!query.status.empty()) {
      ++status_list_requests;
    } else if (!bounded) {
      list_tokens.push_back(query.page_token);
      list_limits.push_back(query.limit);
    }
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
    if (bounded && range_list_failures != 0) {
      if (range_list_failures > 0) --range_list_failures;
      result.outcome = ApiOutcome::kFailed;
      result.http_status = 503;
      return result;
    }
    if (unknown_channels.count(channel.channel_id) > 0) {
      result.outcome = ApiOutcome::kFailed;
      result.http_status = 404;
      return result;
    }
    std::vector<Call> all;
    for (const Call& call : calls[channel.channel_id]) {
      const bool in_bounds = ignore_creation_bounds ||
                             ((!query.created_from || *call.created_at >= *query.created_from) &&
                              (!query.created_to || *call.created_at <= *query.created_to));
      if (bounded && left_out_of_ranges.count(call.id) > 0) continue;
      if (in_bounds &&
          (query.status.empty() || ignore_status_filter || ToString(call.status) == query.status)) {
        all.push_back(call);
      }
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const Call& a, const Call& b) { return *a.created_at > *b.created_at; });
    const std::size_t offset = query.page_token.empty() ? 0 : std::stoul(query.page_token);
    const std::size_t size =
        static_cast<std::size_t>(query.limit > 0 ? std::min(page_size, query.limit) : page_size);
    for (std::size_t i = offset; i < all.size() && i < offset + size; ++i) {
      result.page.calls.push_back(all[i]);
    }
    if (offset + size < all.size()) {
      result.page.next_page_token = std::to_string(offset + size);
    }
    if (endless_pages) {
      result.page.next_page_token = query.page_token.empty() ? "0" : query.page_token;
    }
    // As the page parser does: no lookup for a call the poller says it does not need.
    for (Call& call : result.page.calls) {
      if (IsTerminal(call.status) && query.country_wanted && !query.country_wanted(call.id)) {
        call.remote_country.clear();
        ++countries_not_wanted;
      }
    }
    result.outcome = ApiOutcome::kOk;
    return result;
  }

  CallResult GetCall(const ChannelRef& channel, const std::string& call_id,
                     std::stop_token) override {
    std::lock_guard lock(mutex);
    ++get_call_requests;
    CallResult result;
    if (Call* call = Find(channel.channel_id, call_id)) {
      result.outcome = ApiOutcome::kOk;
      result.call = *call;
    } else {
      result.outcome = ApiOutcome::kNotFound;
    }
    return result;
  }

  InsightsResult GetInsights(const ChannelRef&, const std::string& call_id,
                             std::stop_token) override {
    std::lock_guard lock(mutex);
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

// Built apart: GCC 12 warns wrongly (-Wrestrict) about "literal" + std::to_string() inlined.
std::string Name(std::string prefix, int n) {
  prefix += std::to_string(n);
  return prefix;
}

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

  std::unique_ptr<Poller> MakePoller(StateStore* state_file = nullptr) {
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

  // `open` ongoing calls on ch1, 8 minutes old, behind 20 ended ones of the last 2 minutes, in
  // pages of 5: after the first poll, the listing of new calls no longer reaches the open ones.
  // Ends the open calls [from, to) of AddOpenCallsBehindNewerOnes, 10 s from now.
  void EndOpenCallsBehind(int from, int to) {
    for (int i = from; i < to; ++i) bird_.End("ch1", Name("open", i), now_ + seconds(10));
  }

  void AddOpenCallsBehindNewerOnes(int open) {
    bird_.page_size = 5;
    for (int i = 0; i < open; ++i) {
      bird_.Add("ch1",
                MakeCall(Name("open", i), kStart - minutes(8) + seconds(i), CallStatus::kOngoing));
    }
    for (int i = 0; i < 20; ++i) {
      Call call =
          MakeCall(Name("done", i), kStart - minutes(2) + seconds(i), CallStatus::kCompleted);
      bird_.ReadyInsights(call);
      bird_.Add("ch1", call);
    }
  }

  PollerSettings settings_;
  InMemoryBird bird_;
  SystemTime now_ = kStart;
  prometheus::Registry registry_;
  ExporterMetrics exporter_metrics_;
  CallMetrics call_metrics_;
};

TEST_F(PollerTest, CountsEveryEndedCallOnceAcrossPagesAndPolls) {
  for (int i = 0; i < 7; ++i) {
    Call call = MakeCall(Name("a", i), kStart - minutes(5) + seconds(i), CallStatus::kCompleted);
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

TEST_F(PollerTest, LooksUpTheCountryOfAnEndedCallOnceAndKeepsItWhileItWaitsForInsights) {
  Call call = MakeCall("late", kStart - minutes(2), CallStatus::kCompleted);
  call.remote_country = "NL";
  bird_.Add("ch1", call);
  auto poller = MakePoller();
  Poll(*poller);  // ended, insights not ready: followed with its country
  EXPECT_EQ(bird_.countries_not_wanted, 0);
  call.remote_country.clear();  // the insights tell no country
  bird_.ReadyInsights(call);
  now_ += seconds(30);
  Poll(*poller);  // listed again: no second lookup, the first one's country is counted
  EXPECT_EQ(bird_.countries_not_wanted, 1);
  double nl = 0;
  for (const auto& family : registry_.Collect()) {
    if (family.name != "bird_calls_total") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "country" && label.value == "NL") nl += metric.counter.value;
      }
    }
  }
  EXPECT_EQ(Calls(), 1);
  EXPECT_EQ(nl, 1);
  now_ += seconds(30);
  Poll(*poller);  // counted: listed again, and never looked up
  EXPECT_EQ(bird_.countries_not_wanted, 2);
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
  now_ += minutes(10);  // the exporter learnt of its end 20m ago > 15m grace
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
    Call call = MakeCall(Name("c", i), kStart - minutes(1), CallStatus::kCompleted);
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
    Call call = MakeCall(Name("o", i), now_ + minutes(i), CallStatus::kCompleted);
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

// Ends every open call of the channel created at least `talk` ago (insights ready at once).
void EndOpenCalls(InMemoryBird& bird, const std::string& channel, SystemTime now,
                  std::chrono::seconds talk, const std::string& except = "") {
  for (Call& call : bird.calls[channel]) {
    if (IsTerminal(call.status) || call.id == except || *call.created_at > now - talk) continue;
    call.status = CallStatus::kCompleted;
    call.ended_at = *call.created_at + talk;
    call.duration_seconds = talk.count() - 5;
    bird.ReadyInsights(call);
  }
}

TEST_F(PollerTest, ASixHourCallOnABusyChannelIsCountedOnceForTensOfRequests) {
  bird_.page_size = 100;
  auto poller = MakePoller();
  bird_.Add("ch1", MakeCall("marathon", now_, CallStatus::kOngoing));
  int short_calls = 0;
  const SystemTime end_at = kStart + hours(6);
  while (now_ < end_at) {
    for (int k = 0; k < 5; ++k) {  // ten calls a minute, each one minute long
      bird_.Add("ch1", MakeCall(Name("s", short_calls++), now_ - seconds(k), CallStatus::kOngoing));
    }
    Poll(*poller);
    now_ += seconds(30);
    EndOpenCalls(bird_, "ch1", now_, seconds(50), "marathon");
  }
  EXPECT_EQ(Calls(), short_calls - 10);  // the last minute's calls are still open
  bird_.End("ch1", "marathon", now_ - seconds(10));
  for (int i = 0; i < 25; ++i) {  // its end is found within the 10 minute bound
    now_ += seconds(30);
    EndOpenCalls(bird_, "ch1", now_, seconds(50));
    Poll(*poller);
  }
  EXPECT_EQ(Calls(), short_calls + 1);
  EXPECT_EQ(bird_.insights_requests, short_calls + 1);  // one per call, none wasted
  // The short calls end within reach of each poll's first page; only the long one is
  // followed by id, less and less often as it ages.
  const int follow = bird_.get_call_requests + bird_.status_list_requests;
  EXPECT_GE(follow, 20);
  EXPECT_LE(follow, 80);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_calls_followed"), 0);
  // It outlived poll.max_call_age (6h): counted all the same, and reported as found late.
  EXPECT_EQ(SumOf(registry_, "bird_exporter_calls_found_late_total"), 1);
}

TEST_F(PollerTest, ListsOnlySinceThePreviousPollNotBackToTheOldestOpenCall) {
  bird_.page_size = 10;
  auto poller = MakePoller();
  bird_.Add("ch1", MakeCall("long", now_ - seconds(1), CallStatus::kOngoing));
  int n = 0;
  for (int poll = 0; poll < 100; ++poll) {
    for (int k = 0; k < 20; ++k) {  // 20 calls per poll, ended at once
      Call call = MakeCall(Name("c", n++), now_ - milliseconds(k * 100), CallStatus::kCompleted);
      call.ended_at = call.created_at;
      bird_.ReadyInsights(call);
      bird_.Add("ch1", call);
    }
    const int before = bird_.list_requests;
    Poll(*poller);
    // 20 new calls and, in the 10 s overlap, the previous poll's 20, 10 a page, plus one page
    // for the empty channel: however old the open call gets.
    EXPECT_LE(bird_.list_requests - before, 5 + 1) << "poll " << poll;
    now_ += seconds(30);
  }
  EXPECT_EQ(Calls(), n);
}

TEST_F(PollerTest, SizesTheFirstPageFromThePreviousListingAndStillReadsABurst) {
  bird_.page_size = 1000;
  settings_.poll.interval = seconds(1);
  auto poller = MakePoller();
  int n = 0;
  auto add = [&](int count) {
    for (int k = 0; k < count; ++k) {
      Call call =
          MakeCall(Name("c", n++), now_ - milliseconds(k * 900 / count), CallStatus::kCompleted);
      call.ended_at = call.created_at;
      bird_.ReadyInsights(call);
      bird_.Add("ch1", call);
    }
  };
  // Half an hour of history from before the initial lookback, then 20 calls a second.
  for (int i = 0; i < 1800; ++i) {
    Call call = MakeCall(Name("old", i), now_ - minutes(41) + seconds(i), CallStatus::kCompleted);
    bird_.Add("ch1", call);
  }
  add(20);
  Poll(*poller);
  EXPECT_EQ(bird_.list_limits.front(), 0) << "nothing known yet: a full page";
  for (int poll = 0; poll < 30; ++poll) {
    now_ += seconds(1);
    add(20);
    bird_.list_limits.clear();
    const int before = bird_.list_requests;
    Poll(*poller);
    // The 20 new calls and the 10 s overlap's 200: one page of about 350, not of 1,000.
    ASSERT_EQ(bird_.list_limits.size(), 2u);  // ch1 and the empty ch2
    EXPECT_GT(bird_.list_limits[0] + bird_.list_limits[1], 0);
    EXPECT_LE(std::max(bird_.list_limits[0], bird_.list_limits[1]), 400) << "poll " << poll;
    EXPECT_EQ(bird_.list_requests - before, 2) << "poll " << poll;
  }
  // A burst five times the usual: one more page, nothing missed.
  now_ += seconds(1);
  add(1000);
  const int before = bird_.list_requests;
  Poll(*poller);
  EXPECT_GE(bird_.list_requests - before, 3);
  for (int poll = 0; poll < 120 && Calls() < n; ++poll) {
    now_ += seconds(1);
    Poll(*poller);
  }
  EXPECT_EQ(Calls(), n);
}

TEST_F(PollerTest, AWrongChannelIdIsCountedAndDoesNotHoldReadinessBack) {
  Call call = MakeCall("ok", kStart - minutes(1), CallStatus::kCompleted);
  bird_.ReadyInsights(call);
  bird_.Add("ch1", call);
  bird_.unknown_channels.insert("ch2");
  auto poller = MakePoller();
  EXPECT_FALSE(poller->Ready());
  Poll(*poller);
  EXPECT_TRUE(poller->Ready()) << "ch1 listed, ch2 answered 404";
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_EQ(Calls(), 1);
  now_ += seconds(30);
  Poll(*poller);
  double not_found = 0, failed = 0, up = 0;
  for (const auto& family : registry_.Collect()) {
    for (const auto& metric : family.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& l : metric.label) labels[l.name] = l.value;
      if (family.name == "bird_exporter_channel_errors_total" && labels["channel"] == "sales") {
        (labels["reason"] == "not_found" ? not_found : failed) += metric.counter.value;
      }
      if (family.name == "bird_exporter_channel_up" && labels["channel"] == "sales") {
        up = metric.gauge.value;
      }
    }
  }
  EXPECT_EQ(not_found, 3);  // every poll
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(up, 0);
}

TEST_F(PollerTest, ACallOlderThanMaxCallAgeWhenItEndsIsCountedAndReportedLate) {
  settings_.poll.max_call_age = hours(1);
  auto poller = MakePoller();
  bird_.Add("ch1", MakeCall("late", now_ - seconds(5), CallStatus::kOngoing));
  for (int i = 0; i < 18; ++i) {  // three hours
    Poll(*poller);
    now_ += minutes(10);
  }
  EXPECT_EQ(Calls(), 0);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_calls_followed"), 1);
  bird_.End("ch1", "late", now_ - minutes(1));
  Poll(*poller);
  now_ += minutes(10);
  Poll(*poller);
  EXPECT_EQ(Calls(), 1);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_calls_found_late_total"), 1);
  now_ += minutes(10);
  Poll(*poller);
  EXPECT_EQ(Calls(), 1);
}

TEST_F(PollerTest, AtThePageCapTheNextPollsResumeFromTheCursorAndLoseNothing) {
  settings_.poll.initial_lookback = hours(1);
  settings_.max_pages_per_poll = 3;
  bird_.page_size = 2;
  for (int i = 0; i < 20; ++i) {
    Call call =
        MakeCall(Name("p", i), kStart - minutes(50) + minutes(2 * i), CallStatus::kCompleted);
    bird_.ReadyInsights(call);
    bird_.Add("ch1", call);
  }
  auto poller = MakePoller();
  Poll(*poller);
  EXPECT_EQ(Calls(), 6);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_channel_behind"), 1);
  for (int i = 0; i < 6; ++i) {
    now_ += seconds(30);
    Poll(*poller);
  }
  EXPECT_EQ(Calls(), 20);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_channel_behind"), 0);
  // The second poll went on from where the first one stopped, not from the newest call.
  EXPECT_NE(std::find(bird_.list_tokens.begin(), bird_.list_tokens.end(), "6"),
            bird_.list_tokens.end());
  EXPECT_EQ(bird_.insights_requests, 20);
}

TEST_F(PollerTest, FollowsManyOpenCallsThroughTheStatusFilteredList) {
  AddOpenCallsBehindNewerOnes(10);
  auto poller = MakePoller();
  Poll(*poller);
  EXPECT_EQ(Calls(), 20);
  EXPECT_EQ(SumOf(registry_, "bird_calls_active"), 10);
  now_ += minutes(5);
  Poll(*poller);
  EXPECT_EQ(bird_.status_list_requests, 2);  // 10 ongoing calls, pages of 5
  for (int i = 0; i < 3; ++i) bird_.End("ch1", Name("open", i), now_ - seconds(2));
  now_ += minutes(5);
  Poll(*poller);  // they left the ongoing list: insights are asked once the delay has passed
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_EQ(Calls(), 23);
  EXPECT_EQ(SumOf(registry_, "bird_calls_active"), 7);
  EXPECT_EQ(bird_.get_call_requests, 0);
  EXPECT_EQ(bird_.insights_requests, 23);
}

TEST_F(PollerTest, ACallLastSeenRingingThatEndedIsSettledByTheStatusListsWithoutALookup) {
  AddOpenCallsBehindNewerOnes(3);
  for (int i = 0; i < 3; ++i) {
    bird_.Add("ch1",
              MakeCall(Name("ring", i), kStart - minutes(7) + seconds(i), CallStatus::kRinging));
  }
  auto poller = MakePoller();
  Poll(*poller);
  EXPECT_EQ(SumOf(registry_, "bird_calls_active"), 6);
  bird_.Find("ch1", "ring0")->status = CallStatus::kOngoing;  // answered
  bird_.End("ch1", "ring1", kStart + seconds(20));
  bird_.End("ch1", "ring2", kStart + seconds(25));
  now_ += minutes(5);
  Poll(*poller);  // in neither the ongoing nor the ringing list: ended
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_EQ(Calls(), 22);
  EXPECT_EQ(SumOf(registry_, "bird_calls_active"), 4);
  EXPECT_EQ(bird_.get_call_requests, 0);
  EXPECT_EQ(bird_.status_list_requests, 2);  // one ongoing list, one ringing list
  EXPECT_EQ(bird_.insights_requests, 22);
}

TEST_F(PollerTest, FallsBackToOneByOneWhenBirdIgnoresTheStatusFilter) {
  AddOpenCallsBehindNewerOnes(4);
  bird_.ignore_status_filter = true;
  auto poller = MakePoller();
  Poll(*poller);
  bird_.End("ch1", "open0", kStart + seconds(10));
  now_ += minutes(5);
  Poll(*poller);
  EXPECT_EQ(bird_.status_list_requests, 1);  // learnt once that the filter is not honoured
  now_ += minutes(5);
  Poll(*poller);
  EXPECT_EQ(bird_.status_list_requests, 1);
  EXPECT_GE(bird_.get_call_requests, 3);
  EXPECT_EQ(Calls(), 21);
}

TEST_F(PollerTest, InsightsModeNoneCountsFromTheListWithoutInsightsRequests) {
  settings_.poll.insights = InsightsMode::kNone;
  for (int i = 0; i < 6; ++i) {
    Call call = MakeCall(Name("n", i), kStart - minutes(3) + seconds(i),
                         i < 4 ? CallStatus::kCompleted : CallStatus::kBusy);
    call.pdd_seconds = 1.2;
    if (i < 3) call.mos = 4.1;  // one answered call without a list MOS
    bird_.ReadyInsights(call);
    bird_.Add("ch1", call);
  }
  bird_.Add("ch1", MakeCall("open", kStart - minutes(1), CallStatus::kOngoing));
  auto poller = MakePoller();
  Poll(*poller);
  EXPECT_EQ(Calls(), 6);
  bird_.End("ch1", "open", kStart + seconds(20));
  bird_.Find("ch1", "open")->mos = 3.0;
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_EQ(Calls(), 7);
  EXPECT_EQ(bird_.insights_requests, 0);
  EXPECT_EQ(SumOf(registry_, "bird_call_mos"), 4);
  EXPECT_EQ(SumOf(registry_, "bird_call_pdd_seconds"), 6);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_insights_unavailable_total"), 0);
}

TEST_F(PollerTest, InsightsModeNoneReadsEndedCallsBackThroughAListBoundedByCreationTime) {
  settings_.poll.insights = InsightsMode::kNone;
  AddOpenCallsBehindNewerOnes(10);
  auto poller = MakePoller();
  Poll(*poller);
  EXPECT_EQ(Calls(), 20);
  EndOpenCallsBehind(0, 6);
  now_ += minutes(5);
  Poll(*poller);  // gone from the ongoing list; their final records in one bounded list
  EXPECT_EQ(Calls(), 26);
  EXPECT_EQ(SumOf(registry_, "bird_calls_active"), 4);
  EXPECT_EQ(bird_.get_call_requests, 0);
  EXPECT_EQ(bird_.range_list_requests, 2);  // the 6 calls, created over 5 s, in pages of 5
  EXPECT_EQ(SumOf(registry_, "bird_call_duration_seconds"), 26);
}

TEST_F(PollerTest, AsksForEndedCallsOneByOneWhenBirdIgnoresTheCreationBounds) {
  settings_.poll.insights = InsightsMode::kNone;
  AddOpenCallsBehindNewerOnes(10);
  bird_.ignore_creation_bounds = true;
  auto poller = MakePoller();
  Poll(*poller);
  EndOpenCallsBehind(0, 4);
  now_ += minutes(5);
  Poll(*poller);
  EXPECT_EQ(bird_.range_list_requests, 1);  // a call out of bounds on its first page
  EXPECT_EQ(Calls(), 24);
  EndOpenCallsBehind(4, 8);
  now_ += minutes(5);
  Poll(*poller);
  EXPECT_EQ(bird_.range_list_requests, 1);  // learnt: never asked again
  EXPECT_EQ(bird_.get_call_requests, 8);
  EXPECT_EQ(Calls(), 28);
}

TEST_F(PollerTest, EndedCallsOfABoundedListThatFailsAreAskedForByIdTheSamePoll) {
  settings_.poll.insights = InsightsMode::kNone;
  AddOpenCallsBehindNewerOnes(10);
  bird_.range_list_failures = -1;  // a Bird whose bounded lists always fail (5xx)
  auto poller = MakePoller();
  Poll(*poller);
  EndOpenCallsBehind(0, 6);
  now_ += minutes(5);
  Poll(*poller);
  EXPECT_EQ(bird_.range_list_requests, 1);
  EXPECT_EQ(bird_.get_call_requests, 6);
  EXPECT_EQ(Calls(), 26);
  now_ += minutes(5);
  Poll(*poller);  // a passing failure: bounded lists are still tried, nothing counted twice
  EXPECT_EQ(Calls(), 26);
}

TEST_F(PollerTest, ACallLeftOutOfABoundedListIsAskedForById) {
  settings_.poll.insights = InsightsMode::kNone;
  AddOpenCallsBehindNewerOnes(10);
  bird_.left_out_of_ranges = {"open2"};
  auto poller = MakePoller();
  Poll(*poller);
  EndOpenCallsBehind(0, 6);
  now_ += minutes(5);
  Poll(*poller);
  EXPECT_EQ(bird_.get_call_requests, 1);
  EXPECT_EQ(Calls(), 26);
  const int ranges = bird_.range_list_requests;
  EndOpenCallsBehind(6, 9);
  now_ += minutes(5);
  Poll(*poller);  // one call of six left out does not condemn the bounds
  EXPECT_GT(bird_.range_list_requests, ranges);
  EXPECT_EQ(bird_.get_call_requests, 1);
  EXPECT_EQ(Calls(), 29);
}

TEST_F(PollerTest, BoundsThatLeaveMostCallsOutAreGivenUp) {
  settings_.poll.insights = InsightsMode::kNone;
  AddOpenCallsBehindNewerOnes(10);
  bird_.left_out_of_ranges = {"open0", "open1", "open2", "open3"};
  auto poller = MakePoller();
  Poll(*poller);
  EndOpenCallsBehind(0, 6);
  now_ += minutes(5);
  Poll(*poller);
  EXPECT_EQ(bird_.get_call_requests, 4);
  EXPECT_EQ(Calls(), 26);
  const int ranges = bird_.range_list_requests;
  EndOpenCallsBehind(6, 9);
  now_ += minutes(5);
  Poll(*poller);
  EXPECT_EQ(bird_.range_list_requests, ranges);
  EXPECT_EQ(bird_.get_call_requests, 7);
  EXPECT_EQ(Calls(), 29);
}

TEST_F(PollerTest, BoundedListsOfAPollStopAtAMinuteOfTheBudgetAndTheRestGoesById) {
  settings_.poll.insights = InsightsMode::kNone;
  AddOpenCallsBehindNewerOnes(60);
  bird_.page_size = 4;
  bird_.budget = 0.1;  // a minute of it, shared by the two channels: 3 pages, so 10
  auto poller = MakePoller();
  Poll(*poller);
  EXPECT_EQ(Calls(), 20);
  EndOpenCallsBehind(0, 60);
  now_ += minutes(5);
  const int before = bird_.range_list_requests;
  Poll(*poller);  // 60 ended calls in 15 pages: 10 pages listed, the rest asked for by id
  EXPECT_EQ(bird_.range_list_requests - before, 10);
  EXPECT_EQ(bird_.get_call_requests, 3);  // what 30 s of the budget allows
  EXPECT_EQ(Calls(), 63);
  for (int i = 0; i < 10 && Calls() < 80; ++i) {
    now_ += seconds(30);
    Poll(*poller);
  }
  EXPECT_EQ(Calls(), 80);
}

TEST_F(PollerTest, InsightsModePoorAsksOnlyForAnsweredCallsWithALowOrMissingMos) {
  settings_.poll.insights = InsightsMode::kPoor;
  const std::vector<std::optional<double>> list_mos = {4.4, 3.2, std::nullopt, 4.0, 3.59};
  for (std::size_t i = 0; i < list_mos.size(); ++i) {
    Call call = MakeCall(Name("q", i), kStart - minutes(3) + seconds(i), CallStatus::kCompleted);
    call.mos = list_mos[i];
    bird_.ReadyInsights(call);
    bird_.Add("ch1", call);
  }
  Call busy = MakeCall("busy", kStart - minutes(2), CallStatus::kBusy);
  bird_.ReadyInsights(busy);
  bird_.Add("ch1", busy);
  auto poller = MakePoller();
  Poll(*poller);
  EXPECT_EQ(Calls(), 6);
  EXPECT_EQ(bird_.insights_requests, 3);  // 3.2, missing, 3.59
  // MOS from insights (4.4 in this fake) for those three, from the list for 4.4 and 4.0.
  EXPECT_EQ(SumOf(registry_, "bird_call_mos"), 5);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_insights_mode"), 1);
}

TEST_F(PollerTest, LearnsHowLongBirdTakesToPublishInsights) {
  auto poller = MakePoller();
  EXPECT_EQ(poller->InsightsDelay(), seconds(5));
  // Insights appear 8 s after each call ends; calls end between two polls 1 s apart.
  settings_.poll.interval = seconds(1);
  poller = MakePoller();
  std::map<std::string, SystemTime> ready_at;
  int n = 0;
  for (int tick = 0; tick < 600; ++tick) {
    Call call = MakeCall(Name("d", n++), now_ - seconds(40), CallStatus::kCompleted);
    call.ended_at = now_ - milliseconds(500);
    ready_at[call.id] = *call.ended_at + seconds(8);
    bird_.Add("ch1", call);
    for (const auto& [id, at] : ready_at) {
      if (at <= now_ && bird_.insights.count(id) == 0) bird_.ReadyInsights(*bird_.Find("ch1", id));
    }
    Poll(*poller);
    now_ += seconds(1);
  }
  EXPECT_GE(poller->InsightsDelay(), seconds(7));
  EXPECT_LE(poller->InsightsDelay(), seconds(10));
  // Misses are rare once learnt: well under 1.2 insights requests per counted call.
  EXPECT_LT(bird_.insights_requests, Calls() * 1.2);
}

TEST_F(PollerTest, CallsScheduledBeforeAMissRaisedTheDelayWaitForTheNewDelay) {
  settings_.poll.interval = seconds(1);
  auto poller = MakePoller();
  ASSERT_EQ(poller->InsightsDelay(), seconds(5));
  // One call ends each second; Bird publishes insights 6.2 s after the end, later than the
  // 5 s the exporter starts with.
  std::map<std::string, SystemTime> ready_at;
  for (int tick = 0; tick < 20; ++tick) {
    if (tick < 5) {
      Call call = MakeCall(Name("c", tick), now_ - seconds(30), CallStatus::kCompleted);
      call.ended_at = now_ - milliseconds(500);
      ready_at[call.id] = *call.ended_at + milliseconds(6200);
      bird_.Add("ch1", call);
    }
    for (const auto& [id, at] : ready_at) {
      if (at <= now_ && bird_.insights.count(id) == 0) bird_.ReadyInsights(*bird_.Find("ch1", id));
    }
    Poll(*poller);
    now_ += seconds(1);
  }
  EXPECT_EQ(Calls(), 5);
  // The first call is asked for too early (5.5 s after its end) and teaches 6.5 s; the four
  // already scheduled at 5 s wait for 6.5 s too, instead of each missing once.
  EXPECT_EQ(bird_.insights_requests, 5 + 1);
}

TEST_F(PollerTest, ACallWhoseInsightsNeverCameDoesNotHoldTheOthersBack) {
  settings_.poll.interval = seconds(1);
  auto poller = MakePoller();
  const milliseconds learnt = poller->InsightsDelay();
  // Ended nine minutes ago, insights never published: says nothing about the usual delay.
  bird_.Add("ch1", MakeCall("stale", now_ - minutes(9), CallStatus::kCompleted));
  Poll(*poller);
  EXPECT_EQ(poller->InsightsDelay(), learnt);
  Call call = MakeCall("fresh", now_ - seconds(50), CallStatus::kCompleted);
  call.ended_at = now_ - seconds(10);
  bird_.ReadyInsights(call);
  bird_.Add("ch1", call);
  now_ += seconds(1);
  Poll(*poller);
  EXPECT_EQ(Calls(), 1);
}

TEST_F(PollerTest, ACallDatedInTheFutureIsCountedClampedAndPrunedLikeAnyOther) {
  Call future = MakeCall("future", kStart + hours(24 * 365 * 70), CallStatus::kCompleted);
  bird_.ReadyInsights(future);
  bird_.Add("ch1", future);
  for (int i = 0; i < 2; ++i) {
    Call call = MakeCall(Name("now", i), kStart - minutes(3) - seconds(i), CallStatus::kCompleted);
    bird_.ReadyInsights(call);
    bird_.Add("ch1", call);
  }
  MemoryStateStore store;
  auto poller = MakePoller(&store);
  Poll(*poller);
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_EQ(Calls(), 3);
  // Its createdAt and endedAt (in the list and in the insights) are each one anomaly.
  EXPECT_EQ(SumOf(registry_, "bird_exporter_field_anomalies_total"), 2);

  // The window did not move to the future: a call created now is listed by the next polls.
  Call next = MakeCall("next", now_ - minutes(1), CallStatus::kCompleted);
  bird_.ReadyInsights(next);
  bird_.Add("ch1", next);
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_EQ(Calls(), 4);
  EXPECT_EQ(store.CountedCalls(), 4u);

  // Past max_call_age (plus the tolerance and the overlap), every call has aged out of the
  // state, the future-dated one too.
  now_ = kStart + settings_.poll.max_call_age + kFutureTolerance + minutes(2);
  Poll(*poller);
  EXPECT_EQ(store.CountedCalls(), 0u);
  EXPECT_EQ(Calls(), 4);
}

class PollerStateTest : public PollerTest {
 protected:
  testing::TempDir dir_{"bird_poller_test"};
  std::string path_ = dir_ / "state.json";
};

TEST_F(PollerStateTest, ARestartNeverCountsACallTwiceAndCatchesUpOnDowntime) {
  SqliteStateStore file(path_);
  for (int i = 0; i < 5; ++i) {
    Call call = MakeCall(Name("r", i), kStart - minutes(3), CallStatus::kCompleted);
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

TEST_F(PollerStateTest, AFollowedCallThatEndsWhileTheExporterIsDownIsCountedAfterRestart) {
  SqliteStateStore file(path_);
  bird_.Add("ch1", MakeCall("followed", kStart - minutes(5), CallStatus::kOngoing));
  for (int i = 0; i < 4; ++i) {
    Call call = MakeCall(Name("seen", i), kStart - minutes(1), CallStatus::kCompleted);
    bird_.ReadyInsights(call);
    bird_.Add("ch1", call);
  }
  {
    auto poller = MakePoller(&file);
    Poll(*poller);
    EXPECT_EQ(poller->TrackedCalls({"ws", "ch1"}), 1u);
  }
  EXPECT_EQ(Calls(), 4);
  // Down for two hours; the followed call ends meanwhile, and many newer calls come and go.
  now_ += hours(2);
  bird_.End("ch1", "followed", now_ - minutes(30));
  for (int i = 0; i < 30; ++i) {
    Call call = MakeCall(Name("new", i), now_ - minutes(90) + minutes(i), CallStatus::kCompleted);
    bird_.ReadyInsights(call);
    bird_.Add("ch1", call);
  }
  for (int run = 0; run < 2; ++run) {
    prometheus::Registry fresh;
    ExporterMetrics fresh_exporter(fresh);
    CallMetrics fresh_calls(fresh);
    Poller restarted(settings_, {{"ws", "prod", "ch1", "support"}}, bird_, fresh_calls,
                     fresh_exporter, &file, [this] { return now_; });
    restarted.LoadState();
    std::stop_source stop;
    ASSERT_TRUE(restarted.PollOnce(stop.get_token()));
    // The first restart counts the 30 new calls and the followed one; the second, nothing.
    EXPECT_EQ(SumOf(fresh, "bird_calls_total"), run == 0 ? 31 : 0);
    EXPECT_EQ(restarted.TrackedCalls({"ws", "ch1"}), 0u);
    now_ += seconds(30);
  }
}

TEST_F(PollerStateTest, ACorruptStateFileIsCountedAndReplaced) {
  {
    std::ofstream out(path_);
    out << "{not json";
  }
  Call call = MakeCall("s", kStart - minutes(1), CallStatus::kCompleted);
  bird_.ReadyInsights(call);
  bird_.Add("ch1", call);
  {
    SqliteStateStore file(path_);
    auto poller = MakePoller(&file);
    EXPECT_EQ(SumOf(registry_, "bird_exporter_state_errors_total"), 1);
    Poll(*poller);
    EXPECT_EQ(Calls(), 1);
  }
  std::ifstream aside(path_ + ".corrupt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(aside), {}), "{not json");
  // The replacement is a working database: a restart does not count the call again.
  SqliteStateStore file(path_);
  prometheus::Registry fresh;
  ExporterMetrics fresh_exporter(fresh);
  CallMetrics fresh_calls(fresh);
  Poller restarted(settings_, {{"ws", "prod", "ch1", "support"}}, bird_, fresh_calls,
                   fresh_exporter, &file, [this] { return now_; });
  ASSERT_TRUE(restarted.LoadState());
  std::stop_source stop;
  ASSERT_TRUE(restarted.PollOnce(stop.get_token()));
  EXPECT_EQ(SumOf(fresh, "bird_calls_total"), 0);
  EXPECT_EQ(SumOf(fresh, "bird_exporter_state_errors_total"), 0);
}

TEST_F(PollerStateTest, AStateThatCannotBeOpenedHoldsPollingBackUntilItCan) {
  Call call = MakeCall("s", kStart - minutes(1), CallStatus::kCompleted);
  bird_.ReadyInsights(call);
  bird_.Add("ch1", call);
  SqliteStateStore file(dir_ / "missing-dir/state.db");
  auto poller = MakePoller(&file);
  EXPECT_FALSE(poller->StateOpen());
  EXPECT_FALSE(poller->Ready());
  std::stop_source stop;
  EXPECT_FALSE(poller->PollOnce(stop.get_token()));
  EXPECT_EQ(bird_.list_requests, 0) << "Bird is not asked while nothing could be recorded";
  EXPECT_EQ(Calls(), 0);
  EXPECT_GE(SumOf(registry_, "bird_exporter_state_errors_total"), 1);
  std::filesystem::create_directory(dir_ / "missing-dir");
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_TRUE(poller->StateOpen());
  EXPECT_EQ(Calls(), 1);
}

// A store whose transactions fail on demand, as on a full disk.
class FailingStore : public MemoryStateStore {
 public:
  bool fail = false;
  void Commit(const PollRecord& record) override {
    if (fail) throw StateError("database or disk is full");
    MemoryStateStore::Commit(record);
  }
};

TEST_F(PollerStateTest, AFailedCommitCountsNothingUntilACommitSucceeds) {
  FailingStore store;
  auto poller = MakePoller(&store);
  for (int i = 0; i < 3; ++i) {
    Call call = MakeCall(Name("s", i), kStart - minutes(1), CallStatus::kCompleted);
    bird_.ReadyInsights(call);
    bird_.Add("ch1", call);
  }
  bird_.Add("ch1", MakeCall("open", kStart - minutes(1), CallStatus::kOngoing));
  store.fail = true;
  Poll(*poller);
  Poll(*poller);
  EXPECT_EQ(Calls(), 0);
  EXPECT_EQ(SumOf(registry_, "bird_exporter_state_errors_total"), 2);
  EXPECT_EQ(poller->TrackedCalls({"ws", "ch1"}), 0u) << "nothing of the failed polls is kept";
  store.fail = false;
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_EQ(Calls(), 3);
  EXPECT_EQ(poller->TrackedCalls({"ws", "ch1"}), 1u);
  now_ += seconds(30);
  Poll(*poller);
  EXPECT_EQ(Calls(), 3);
}

TEST_F(PollerStateTest, ASecondProcessOnTheSameStateIsRefused) {
  SqliteStateStore first(path_);
  auto poller = MakePoller(&first);
  ASSERT_TRUE(poller->StateOpen());
  // flock locks belong to the open file description: a second open of the lock file, as by
  // another process, is refused.
  SqliteStateStore second(path_);
  prometheus::Registry other;
  ExporterMetrics other_exporter(other);
  CallMetrics other_calls(other);
  Poller intruder(settings_, {{"ws", "prod", "ch1", "support"}}, bird_, other_calls, other_exporter,
                  &second, [this] { return now_; });
  try {
    intruder.LoadState();
    FAIL() << "a second exporter opened the state";
  } catch (const StateRefusedError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("another bird_call_exporter process"));
  }
}

}  // namespace
}  // namespace bird_exporter
