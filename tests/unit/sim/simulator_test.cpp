#include "sim/simulator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bird/rfc3339.h"
#include "sim/call_generator.h"
#include "sim/scenario.h"
#include "support/encoding.h"
#include "support/exporter_process.h"
#include "support/http_client.h"

namespace bird_exporter::sim {
namespace {

using Clock = std::chrono::system_clock;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Base64;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr const char* kAccessKey = "sim-test-key-4f2a9c";
const std::set<std::string> kTerminal = {"completed", "busy", "no-answer", "cancelled", "failed"};

// The demo topology: workspace 0 holds channels 0 and 1, workspace 1 holds channels 2 and 3.
const std::vector<SimWorkspace>& Workspaces() {
  static const std::vector<SimWorkspace> workspaces = DemoWorkspaces();
  return workspaces;
}
const std::string& Ws(int i) { return Workspaces()[i].id; }
const std::string& Ch(int i) { return Workspaces()[i / 2].channel_ids[i % 2]; }

// ---------------------------------------------------------------------------------------------
// HTTP with an Authorization header.

// The answer, with its headers by lower-cased name (Header("content-type")).
struct Reply : testing::HttpResponse {
  json Json() const { return json::parse(body, nullptr, false); }
};

Reply Fetch(const std::string& url, const std::optional<std::string>& authorization) {
  testing::HttpRequest request;
  request.url = url;
  if (authorization) request.headers.push_back("Authorization: " + *authorization);
  return Reply{testing::HttpSend(request)};
}

std::string Escape(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 0xF]};
    }
  }
  return out;
}

int ChannelIndex(const std::string& channel_id) {
  for (int i = 0; i < 4; ++i) {
    if (Ch(i) == channel_id) return i;
  }
  return -1;
}

std::string CallsPath(int channel) {
  return "/workspaces/" + Ws(channel / 2) + "/channels/" + Ch(channel) + "/calls";
}
std::string LogPath(int workspace) { return "/workspaces/" + Ws(workspace) + "/channels/calls"; }

std::vector<std::string> Ids(const json& calls) {
  std::vector<std::string> ids;
  for (const auto& call : calls) ids.push_back(call.at("id").get<std::string>());
  return ids;
}

SystemTime Time(const json& call, const char* field) {
  return ParseRfc3339(call.at(field).get<std::string>()).value();
}

// The keyset order: createdAt (ms) then id, both descending.
void ExpectNewestFirst(const json& calls) {
  for (std::size_t i = 1; i < calls.size(); ++i) {
    const auto previous = std::make_pair(Time(calls[i - 1], "createdAt"), calls[i - 1]["id"]);
    const auto current = std::make_pair(Time(calls[i], "createdAt"), calls[i]["id"]);
    EXPECT_GT(previous, current) << "at " << i;
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios and settings.

// Healthy traffic, two calls a second per channel, answered calls of 3 s.
Scenario ShortCalls() {
  Scenario s = ScenarioByName("healthy");
  s.name = "short-calls";
  s.calls_per_minute = 120;
  s.mean_talk_seconds = 0.1;
  s.long_call_share = 0;
  return s;
}

// Only busy and failed calls to a fast destination: every call is over within about 1.5 s and
// its insights follow 2-6 s later.
Scenario QuickCalls() {
  Scenario s = ScenarioByName("healthy");
  s.name = "quick-calls";
  s.calls_per_minute = 60;
  s.answered = s.no_answer = s.cancelled = 0;
  s.busy = 1;
  s.failed = 0.3;
  s.destinations = {{"NL", 1, 0.2}};
  return s;
}

SimulatorSettings Settings(Scenario scenario,
                           std::optional<milliseconds> generate_for = seconds(1)) {
  SimulatorSettings settings;
  settings.listen_address = "127.0.0.1:0";
  settings.access_key = kAccessKey;
  settings.seed = 20240501;
  settings.scenario = std::move(scenario);
  settings.workspaces = DemoWorkspaces();
  settings.history = std::chrono::minutes(2);
  settings.generate_for = generate_for;
  settings.max_gets_per_second = 100000;
  return settings;
}

// The simulated wall clock of a simulator (SimulatorSettings::clock): it stands still until the
// test moves it, so nothing waits for time to pass.
class ManualClock {
 public:
  ManualClock() : now_(*ParseRfc3339("2026-05-01T12:00:00Z")) {}
  SystemTime Now() const { return now_.load(); }
  void Advance(milliseconds by) { now_ = now_.load() + by; }
  SimulatorSettings Drive(SimulatorSettings settings) {
    settings.clock = [this] { return now_.load(); };
    return settings;
  }

 private:
  std::atomic<SystemTime> now_;
};

// The simulator's steady clock stepped by hand: its 429 window moves only when a test says.
class ManualSteadyClock {
 public:
  void Advance(milliseconds by) { now_ = now_.load() + by; }
  SimulatorSettings Drive(SimulatorSettings settings) {
    settings.steady_clock = [this] { return now_.load(); };
    return settings;
  }

 private:
  std::atomic<std::chrono::steady_clock::time_point> now_{std::chrono::steady_clock::time_point{}};
};

class SimulatorTest : public ::testing::Test {
 protected:
  // Starts a simulator that the helpers below talk to; it lives until the end of the test.
  void Start(SimulatorSettings settings) {
    owned_.push_back(std::make_unique<Simulator>(std::move(settings)));
    simulator_ = owned_.back().get();
    ASSERT_GT(simulator_->Port(), 0);
  }

  void TearDown() override { owned_.clear(); }

  Reply Get(const std::string& path,
            const std::optional<std::string>& authorization = std::string("AccessKey ") +
                                                              kAccessKey) {
    return Fetch(simulator_->BaseUrl() + path, authorization);
  }

  json Page(const std::string& path_and_query) {
    const Reply reply = Get(path_and_query);
    EXPECT_EQ(reply.status, 200) << path_and_query << ": " << reply.body;
    json body = reply.Json();
    EXPECT_TRUE(body.is_object() && body.contains("results")) << reply.body;
    return body;
  }

  // Everything a list shows in one page of up to 1000 calls.
  json ListAll(const std::string& path, const std::string& query = "") {
    const json body = Page(path + "?limit=1000" + (query.empty() ? "" : "&" + query));
    EXPECT_FALSE(body.contains("nextPageToken")) << "more than 1000 calls";
    return body.value("results", json::array());
  }

  Reply Insights(int channel, const std::string& call_id) {
    return Get(CallsPath(channel) + "/" + call_id + "/insights");
  }

  Simulator* simulator_ = nullptr;
  ManualClock clock_;         // for the simulators started with clock_.Drive(settings)
  ManualSteadyClock steady_;  // for those started with steady_.Drive(settings)

 private:
  std::vector<std::unique_ptr<Simulator>> owned_;
};

// One simulator for the tests that only read: two minutes of history, no call after the start
// (so the set of calls is fixed while statuses move on), no rate limit in the way.
class SimulatorApiTest : public SimulatorTest {
 protected:
  static void SetUpTestSuite() {
    shared_ = std::make_unique<Simulator>(Settings(ShortCalls(), milliseconds(0)));
  }
  static void TearDownTestSuite() { shared_.reset(); }
  void SetUp() override { simulator_ = shared_.get(); }

 private:
  static std::unique_ptr<Simulator> shared_;
};

std::unique_ptr<Simulator> SimulatorApiTest::shared_;

// ---------------------------------------------------------------------------------------------
// Authentication (bird-api.md §5).

TEST_F(SimulatorApiTest, RejectsAMissingOrWrongAccessKeyWith401) {
  for (const std::optional<std::string>& authorization :
       {std::optional<std::string>(), std::optional<std::string>("AccessKey wrong-key"),
        std::optional<std::string>(std::string("Bearer ") + kAccessKey),
        std::optional<std::string>(kAccessKey),
        std::optional<std::string>(std::string("AccessKey ") + kAccessKey + "x")}) {
    SCOPED_TRACE(authorization.value_or("(none)"));
    const Reply reply = Get(CallsPath(0), authorization);
    EXPECT_EQ(reply.status, 401);
    EXPECT_THAT(reply.Header("content-type"), StartsWith("application/json"));
    EXPECT_EQ(reply.Json().value("code", ""), "Unauthorized");
    EXPECT_FALSE(reply.Json().value("message", "").empty());
  }
  EXPECT_EQ(Get(CallsPath(0)).status, 200);
  EXPECT_EQ(Get(LogPath(1), std::nullopt).status, 401);
  EXPECT_EQ(Get("/workspaces/unknown", std::nullopt).status, 401);
}

// ---------------------------------------------------------------------------------------------
// Lists and keyset paging (bird-api.md §1, §2, §6).

TEST_F(SimulatorApiTest, ListsAChannelsCallsNewestFirstWithinTheLimit) {
  const json all = ListAll(CallsPath(0));
  ASSERT_GT(all.size(), 150u);  // two minutes at two calls a second
  ExpectNewestFirst(all);
  for (const auto& call : all) {
    EXPECT_EQ(call.at("channelId"), Ch(0));
    EXPECT_LE(Time(call, "createdAt"), Clock::now());
  }

  const json five = Page(CallsPath(0) + "?limit=5");
  const std::vector<std::string> ids = Ids(all);
  EXPECT_EQ(Ids(five["results"]), std::vector<std::string>(ids.begin(), ids.begin() + 5));
  EXPECT_TRUE(five.contains("nextPageToken"));

  const json default_page = Page(CallsPath(0));
  EXPECT_EQ(default_page["results"].size(), 10u);
}

TEST_F(SimulatorTest, ListedCallsShowTheirLifecycleFields) {
  Start(Settings(ShortCalls(), milliseconds(0)));
  const json all = ListAll(CallsPath(1));
  int terminal = 0, in_flight = 0;
  for (const auto& call : all) {
    SCOPED_TRACE(call.dump());
    const std::string status = call.at("status");
    EXPECT_TRUE(call.contains("originator"));
    EXPECT_TRUE(call.contains("receiver"));
    if (kTerminal.count(status)) {
      ++terminal;
      EXPECT_LE(Time(call, "createdAt"), Time(call, "endedAt"));
      EXPECT_EQ(call.at("updatedAt"), call.at("endedAt"));
      EXPECT_TRUE(call.at("hangupCauseCode").is_number_integer());
      EXPECT_TRUE(call.at("hangupSipCode").is_string());
      EXPECT_EQ(call.at("sipInsights").at("hangupSipCode"), call.at("hangupSipCode"));
      EXPECT_TRUE(call.at("qualityInsights").at("pdd").is_string());
      EXPECT_EQ(call.at("qualityInsights").contains("mos"), status == "completed");
      EXPECT_EQ(call.contains("answeredAt"), status == "completed");
    } else {
      ++in_flight;
      EXPECT_TRUE(status == "starting" || status == "ringing" || status == "ongoing") << status;
      EXPECT_FALSE(call.contains("endedAt"));
      EXPECT_FALSE(call.contains("hangupCauseCode"));
      EXPECT_FALSE(call.contains("qualityInsights"));
      EXPECT_EQ(call.contains("ringingAt"), status != "starting");
      EXPECT_EQ(call.contains("answeredAt"), status == "ongoing");
    }
  }
  EXPECT_GT(terminal, 100);
  EXPECT_GT(in_flight, 0);
}

TEST_F(SimulatorApiTest, FiltersByStatus) {
  const json filtered = ListAll(CallsPath(0), "status=busy&status=failed");
  ASSERT_FALSE(filtered.empty());
  for (const auto& call : filtered) {
    EXPECT_TRUE(call.at("status") == "busy" || call.at("status") == "failed") << call.dump();
  }
  int expected = 0;
  for (const auto& call : ListAll(CallsPath(0))) {
    expected += call.at("status") == "busy" || call.at("status") == "failed";
  }
  EXPECT_EQ(static_cast<int>(filtered.size()), expected);
}

TEST_F(SimulatorApiTest, RejectsAnInvalidLimitOrPageTokenWith422) {
  for (const std::string& query :
       std::vector<std::string>{"limit=0", "limit=1001", "limit=-3", "limit=ten",
                                "pageToken=%21%21%21", "pageToken=" + Escape("eyJhIjoxfQ==")}) {
    SCOPED_TRACE(query);
    const Reply reply = Get(CallsPath(0) + "?" + query);
    EXPECT_EQ(reply.status, 422);
    EXPECT_EQ(reply.Json().value("code", ""), "InvalidParameters");
  }
  EXPECT_EQ(Get(CallsPath(0) + "?limit=1000").status, 200);
  EXPECT_EQ(Get(CallsPath(0) + "?limit=1").status, 200);
}

TEST_F(SimulatorApiTest, KeysetPagingVisitsEveryCallExactlyOnce) {
  const json all = ListAll(CallsPath(0));
  ASSERT_GT(all.size(), 100u);

  std::vector<std::string> paged;
  std::string token;
  int pages = 0;
  while (true) {
    ++pages;
    ASSERT_LT(pages, 100) << "paging does not end";
    const json page =
        Page(CallsPath(0) + "?limit=25" + (token.empty() ? "" : "&pageToken=" + Escape(token)));
    for (const auto& id : Ids(page["results"])) paged.push_back(id);
    if (!page.contains("nextPageToken")) {
      EXPECT_GE(page["results"].size(), 1u);
      EXPECT_LE(page["results"].size(), 25u);
      break;
    }
    EXPECT_EQ(page["results"].size(), 25u);
    token = page["nextPageToken"].get<std::string>();
    EXPECT_FALSE(token.empty());
  }
  EXPECT_EQ(pages, static_cast<int>((all.size() + 24) / 25));
  EXPECT_EQ(paged, Ids(all));
  EXPECT_EQ(std::set<std::string>(paged.begin(), paged.end()).size(), all.size());
}

TEST_F(SimulatorApiTest, LastPageThatIsExactlyFullCarriesNoToken) {
  const std::size_t total = ListAll(CallsPath(2)).size();
  const json first = Page(CallsPath(2) + "?limit=" + std::to_string(total - 1));
  ASSERT_TRUE(first.contains("nextPageToken"));
  const json last = Page(CallsPath(2) +
                         "?limit=1&pageToken=" + Escape(first["nextPageToken"].get<std::string>()));
  EXPECT_EQ(last["results"].size(), 1u);
  EXPECT_FALSE(last.contains("nextPageToken"));
  EXPECT_FALSE(Page(CallsPath(2) + "?limit=" + std::to_string(total)).contains("nextPageToken"));
}

TEST_F(SimulatorTest, PagingSkipsCallsThatStartMeanwhile) {
  Start(clock_.Drive(Settings(ShortCalls(), seconds(30))));
  const json first = Page(CallsPath(0) + "?limit=20");
  const std::vector<std::string> first_ids = Ids(first["results"]);
  ASSERT_EQ(first_ids.size(), 20u);
  const auto newest = std::make_pair(Time(first["results"][0], "createdAt"), first_ids[0]);
  const auto new_call_started = [&] {
    return Ids(Page(CallsPath(0) + "?limit=1")["results"])[0] != first_ids[0];
  };
  for (int second = 0; second < 30 && !new_call_started(); ++second) clock_.Advance(seconds(1));
  ASSERT_TRUE(new_call_started()) << "no new call started";

  std::vector<std::string> paged = first_ids;
  std::string token = first["nextPageToken"];
  while (!token.empty()) {
    const json page = Page(CallsPath(0) + "?limit=50&pageToken=" + Escape(token));
    for (const auto& id : Ids(page["results"])) paged.push_back(id);
    token = page.value("nextPageToken", "");
  }
  std::vector<std::string> expected;
  for (const auto& call : ListAll(CallsPath(0))) {
    if (std::make_pair(Time(call, "createdAt"), call["id"].get<std::string>()) <= newest) {
      expected.push_back(call["id"]);
    }
  }
  EXPECT_EQ(paged, expected);
}

TEST_F(SimulatorApiTest, WorkspaceCallLogMergesItsChannelsAndFiltersByChannelId) {
  const json a = ListAll(CallsPath(0));
  const json b = ListAll(CallsPath(1));
  const json log = ListAll(LogPath(0));
  ExpectNewestFirst(log);
  EXPECT_EQ(log.size(), a.size() + b.size());
  std::set<std::string> expected;
  for (const auto& id : Ids(a)) expected.insert(id);
  for (const auto& id : Ids(b)) expected.insert(id);
  const std::vector<std::string> log_ids = Ids(log);
  EXPECT_EQ(std::set<std::string>(log_ids.begin(), log_ids.end()), expected);

  EXPECT_EQ(Ids(ListAll(LogPath(0), "channelId=" + Ch(0))), Ids(a));
  EXPECT_EQ(Ids(ListAll(LogPath(0), "channelId=" + Ch(1))), Ids(b));
  EXPECT_EQ(Ids(ListAll(LogPath(0), "channelId=" + Ch(0) + "&channelId=" + Ch(1))), log_ids);
  // A channel of the other workspace is not part of this workspace's log.
  EXPECT_THAT(ListAll(LogPath(0), "channelId=" + Ch(2)), IsEmpty());

  const json other = ListAll(LogPath(1));
  ASSERT_FALSE(other.empty());
  for (const auto& call : other) {
    EXPECT_TRUE(call.at("channelId") == Ch(2) || call.at("channelId") == Ch(3));
  }
}

TEST_F(SimulatorApiTest, WorkspaceCallLogPagesLikeAChannelList) {
  const std::vector<std::string> all = Ids(ListAll(LogPath(1)));
  std::vector<std::string> paged;
  std::string token;
  do {
    const json page =
        Page(LogPath(1) + "?limit=40" + (token.empty() ? "" : "&pageToken=" + Escape(token)));
    for (const auto& id : Ids(page["results"])) paged.push_back(id);
    token = page.value("nextPageToken", "");
  } while (!token.empty());
  EXPECT_EQ(paged, all);
}

// ---------------------------------------------------------------------------------------------
// Paging over many channels, compared with a full sort and scan.

using Key = std::pair<long long, std::string>;  // createdAt ms, id

long long Millis(SystemTime t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

Key KeyOf(const json& call) { return {Millis(Time(call, "createdAt")), call.at("id")}; }

std::string TokenFor(const Key& key) { return Base64(json::array({key.first, key.second}).dump()); }

// What a list shows: the statuses it accepts (any, when empty) and the first and last
// millisecond of createdAt it takes in.
struct ListFilter {
  std::vector<std::string> statuses;
  std::optional<long long> start_ms = std::nullopt, end_ms = std::nullopt;

  // startAt at the first instant of start_ms, endAt at the last nanosecond of end_ms.
  std::string Query() const {
    std::string query;
    for (const auto& status : statuses) query += "&status=" + Escape(status);
    auto at = [](long long ms) { return FormatRfc3339(SystemTime(milliseconds(ms))); };
    if (start_ms) query += "&startAt=" + Escape(at(*start_ms));
    if (end_ms) {
      std::string end = at(*end_ms);  // 2024-05-01T12:00:00.123Z
      end.insert(end.size() - 1, "999999");
      query += "&endAt=" + Escape(end);
    }
    return query;
  }
};

struct ListPage {
  std::vector<std::string> ids;
  std::string token;  // empty: the last page
};

// The page a full sort and scan gives: every matching call, newest first by (createdAt ms, id),
// those at or after the cursor skipped, `limit` of them, a token while calls remain.
ListPage ReferencePage(const std::vector<json>& calls, const ListFilter& filter, int limit,
                       const std::optional<Key>& after) {
  std::vector<Key> visible;
  for (const auto& call : calls) {
    const Key key = KeyOf(call);
    if (filter.start_ms && key.first < *filter.start_ms) continue;
    if (filter.end_ms && key.first > *filter.end_ms) continue;
    if (!filter.statuses.empty() && std::find(filter.statuses.begin(), filter.statuses.end(),
                                              call.at("status")) == filter.statuses.end()) {
      continue;
    }
    visible.push_back(key);
  }
  std::sort(visible.begin(), visible.end(), std::greater<>());
  std::size_t i = 0;
  if (after) {
    while (i < visible.size() && visible[i] >= *after) ++i;
  }
  ListPage page;
  for (; i < visible.size() && static_cast<int>(page.ids.size()) < limit; ++i) {
    page.ids.push_back(visible[i].second);
  }
  if (!page.ids.empty() && i < visible.size()) page.token = TokenFor(visible[i - 1]);
  return page;
}

// Many channels at 20 calls a second, every call busy or failed within about a second of its
// start: once the newest are over the lists no longer change.
Scenario QuickBusyCalls() {
  Scenario s = ScenarioByName("healthy");
  s.name = "quick-busy-calls";
  s.calls_per_minute = 1200;
  s.answered = s.no_answer = s.cancelled = 0;
  s.busy = 1;
  s.failed = 0.5;
  s.destinations = {{"NL", 1, 0.01}};
  return s;
}

// Two generated workspaces of three channels: ~240 calls per channel.
const std::vector<SimWorkspace>& Generated() {
  static const std::vector<SimWorkspace> workspaces = GeneratedWorkspaces(2, 3);
  return workspaces;
}
std::string GenCallsPath(int ws, int ch) {
  return "/workspaces/" + Generated()[ws].id + "/channels/" + Generated()[ws].channel_ids[ch] +
         "/calls";
}
std::string GenLogPath(int ws) { return "/workspaces/" + Generated()[ws].id + "/channels/calls"; }

class SimulatorPagingTest : public SimulatorTest {
 protected:
  static void SetUpTestSuite() {
    SimulatorSettings settings = Settings(QuickBusyCalls(), milliseconds(0));
    settings.workspaces = Generated();
    settings.history = seconds(12);
    shared_clock_ = std::make_unique<ManualClock>();
    shared_ = std::make_unique<Simulator>(shared_clock_->Drive(settings));
  }
  static void TearDownTestSuite() {
    shared_.reset();
    shared_clock_.reset();
  }
  void SetUp() override { simulator_ = shared_.get(); }

  // Statuses stop changing once the newest calls, started with the simulator, are over.
  bool EveryCallEnded() {
    const auto ended = [&] {
      for (int ws = 0; ws < 2; ++ws) {
        const Reply reply =
            Get(GenLogPath(ws) + "?limit=1&status=starting&status=ringing&status=ongoing");
        if (reply.status != 200 || !reply.Json()["results"].empty()) return false;
      }
      return true;
    };
    for (int second = 0; second < 5 && !ended(); ++second) shared_clock_->Advance(seconds(1));
    return ended();
  }

  // Every call of the channels, from each channel's single full page, checked against the
  // number the simulator generated.
  std::vector<json> Calls(int ws, const std::vector<int>& channels) {
    const json generated = simulator_->Truth()["calls_by_channel_generated"];
    std::vector<json> calls;
    for (int ch : channels) {
      const json listed = ListAll(GenCallsPath(ws, ch));
      ExpectNewestFirst(listed);
      EXPECT_EQ(static_cast<int>(listed.size()),
                generated.value(Generated()[ws].channel_ids[ch], -1));
      calls.insert(calls.end(), listed.begin(), listed.end());
    }
    return calls;
  }

  // Pages through `path` and through the reference side by side (at most `max_pages`).
  void ExpectPagesAsAFullSortAndScan(const std::string& path, const std::vector<json>& calls,
                                     const ListFilter& filter, int limit, int max_pages = 1000) {
    SCOPED_TRACE(path + " limit=" + std::to_string(limit) + filter.Query());
    std::optional<Key> after;
    std::string token;
    for (int page = 0; page < max_pages; ++page) {
      SCOPED_TRACE("page " + std::to_string(page));
      const ListPage expected = ReferencePage(calls, filter, limit, after);
      const json served = Page(path + (path.find('?') == std::string::npos ? "?" : "&") +
                               "limit=" + std::to_string(limit) + filter.Query() +
                               (token.empty() ? "" : "&pageToken=" + Escape(token)));
      ASSERT_EQ(Ids(served["results"]), expected.ids);
      ASSERT_EQ(served.value("nextPageToken", ""), expected.token);
      if (expected.token.empty()) return;
      token = expected.token;
      after = KeyOf(served["results"].back());
    }
  }

 private:
  static std::unique_ptr<Simulator> shared_;
  static std::unique_ptr<ManualClock> shared_clock_;
};

std::unique_ptr<Simulator> SimulatorPagingTest::shared_;
std::unique_ptr<ManualClock> SimulatorPagingTest::shared_clock_;

TEST_F(SimulatorPagingTest, EveryCallAppearsExactlyOnceAcrossPagesNewestFirst) {
  const std::vector<json> calls = Calls(0, {0, 1, 2});
  ASSERT_GT(calls.size(), 600u);
  const json log = ListAll(GenLogPath(0));
  ExpectNewestFirst(log);
  ASSERT_EQ(log.size(), calls.size());

  for (const int limit : {7, 100}) {
    SCOPED_TRACE(limit);
    std::vector<std::string> paged;
    std::string token;
    do {
      const json page = Page(GenLogPath(0) + "?limit=" + std::to_string(limit) +
                             (token.empty() ? "" : "&pageToken=" + Escape(token)));
      ASSERT_FALSE(page["results"].empty());
      for (const auto& id : Ids(page["results"])) paged.push_back(id);
      token = page.value("nextPageToken", "");
      if (!token.empty()) {
        EXPECT_EQ(static_cast<int>(page["results"].size()), limit);
        EXPECT_EQ(token, TokenFor(KeyOf(page["results"].back())));  // base64 [ms,"id"]
      }
    } while (!token.empty());
    EXPECT_EQ(paged, Ids(log));
    EXPECT_EQ(std::set<std::string>(paged.begin(), paged.end()).size(), calls.size());
  }
}

TEST_F(SimulatorPagingTest, PagesAreThoseOfAFullSortAndScan) {
  ASSERT_TRUE(EveryCallEnded());
  const std::vector<json> ws0 = Calls(0, {0, 1, 2});
  const std::vector<json> ch0 = Calls(0, {0});
  const std::vector<json> ch0_and_2 = Calls(0, {0, 2});
  const std::vector<json> ws1 = Calls(1, {0, 1, 2});
  // Bounds on the milliseconds of calls, some of them shared by calls of two channels.
  std::vector<long long> millis, tied;
  for (const auto& call : ws0) millis.push_back(KeyOf(call).first);
  std::sort(millis.begin(), millis.end());
  for (std::size_t i = 1; i < millis.size(); ++i) {
    if (millis[i] == millis[i - 1]) tied.push_back(millis[i]);
  }
  ASSERT_GE(tied.size(), 2u);
  const long long third = millis[millis.size() / 3];
  const long long two_thirds = millis[2 * millis.size() / 3];
  ExpectPagesAsAFullSortAndScan(GenLogPath(0), ws0, {{}, tied.front(), tied.back()}, 50);
  ExpectPagesAsAFullSortAndScan(GenLogPath(0), ws0, {{}, tied.front(), tied.front()}, 5);
  ExpectPagesAsAFullSortAndScan(GenLogPath(0), ws0, {{}, millis.front(), millis.back()}, 1000);

  ExpectPagesAsAFullSortAndScan(GenLogPath(0), ws0, {}, 7);
  ExpectPagesAsAFullSortAndScan(GenLogPath(0), ws0, {}, 1, 25);
  ExpectPagesAsAFullSortAndScan(GenLogPath(0), ws0, {}, 1000);
  ExpectPagesAsAFullSortAndScan(GenLogPath(0), ws0, {{}, third, two_thirds}, 25);
  ExpectPagesAsAFullSortAndScan(GenLogPath(0), ws0, {{}, third, std::nullopt}, 60);
  ExpectPagesAsAFullSortAndScan(GenLogPath(0), ws0, {{}, std::nullopt, third}, 60);
  ExpectPagesAsAFullSortAndScan(GenLogPath(0), ws0, {{}, two_thirds, third}, 10);  // empty
  ExpectPagesAsAFullSortAndScan(GenLogPath(0), ws0, {{"failed"}, std::nullopt, two_thirds}, 9);
  ExpectPagesAsAFullSortAndScan(GenCallsPath(0, 0), ch0, {}, 13);
  ExpectPagesAsAFullSortAndScan(GenCallsPath(0, 0), ch0, {{"busy"}, third, std::nullopt}, 11);
  ExpectPagesAsAFullSortAndScan(GenLogPath(0) + "?channelId=" + Generated()[0].channel_ids[0] +
                                    "&channelId=" + Generated()[0].channel_ids[2],
                                ch0_and_2, {}, 11);
  ExpectPagesAsAFullSortAndScan(GenLogPath(1), ws1, {}, 64);
}

TEST_F(SimulatorPagingTest, StatusFilterWithSeveralValuesMatchesAnyOfThem) {
  ASSERT_TRUE(EveryCallEnded());
  const std::vector<json> calls = Calls(0, {0, 1, 2});
  std::map<std::string, int> by_status;
  for (const auto& call : calls) ++by_status[call.at("status")];
  ASSERT_GT(by_status["busy"], 100);
  ASSERT_GT(by_status["failed"], 50);
  ASSERT_EQ(by_status["busy"] + by_status["failed"], static_cast<int>(calls.size()));

  EXPECT_EQ(ListAll(GenLogPath(0), "status=busy&status=failed").size(), calls.size());
  EXPECT_EQ(static_cast<int>(ListAll(GenLogPath(0), "status=failed").size()), by_status["failed"]);
  EXPECT_EQ(static_cast<int>(ListAll(GenLogPath(0), "status=busy&status=no-answer").size()),
            by_status["busy"]);
  EXPECT_THAT(ListAll(GenLogPath(0), "status=ongoing&status=no-answer"), IsEmpty());
  for (const ListFilter& filter :
       {ListFilter{{"busy", "failed"}}, ListFilter{{"failed", "completed"}},
        ListFilter{{"no-answer", "busy", "cancelled"}}, ListFilter{{"ringing", "no-answer"}}}) {
    ExpectPagesAsAFullSortAndScan(GenLogPath(0), calls, filter, 40);
  }
  ExpectPagesAsAFullSortAndScan(GenLogPath(0), calls, {{"failed", "busy"}}, 1, 10);

  // A page holding the last match carries no token, though calls of other statuses are older.
  const auto oldest = std::min_element(
      calls.begin(), calls.end(), [](const json& a, const json& b) { return KeyOf(a) < KeyOf(b); });
  const std::string other = oldest->at("status") == "busy" ? "failed" : "busy";
  const json page =
      Page(GenLogPath(0) + "?status=" + other + "&limit=" + std::to_string(by_status[other]));
  EXPECT_EQ(static_cast<int>(page["results"].size()), by_status[other]);
  EXPECT_FALSE(page.contains("nextPageToken"));
  ExpectPagesAsAFullSortAndScan(GenLogPath(0), calls, {{other}}, by_status[other] / 2);
}

// Calls of different channels created in the same millisecond: newest first means the greater
// id first, and a token in between carries on with the smaller.
TEST_F(SimulatorPagingTest, CallsOfTheSameMillisecondAreOrderedByIdDescending) {
  const json log = ListAll(GenLogPath(0));
  int ties = 0;
  for (std::size_t i = 1; i < log.size(); ++i) {
    const Key first = KeyOf(log[i - 1]), second = KeyOf(log[i]);
    if (first.first != second.first) continue;
    ++ties;
    SCOPED_TRACE(first.second + " / " + second.second);
    EXPECT_GT(first.second, second.second);
    const json page = Page(GenLogPath(0) + "?limit=1&pageToken=" + Escape(TokenFor(first)));
    ASSERT_EQ(page["results"].size(), 1u);
    EXPECT_EQ(page["results"][0]["id"], second.second);
  }
  EXPECT_GT(ties, 0) << "no two calls in the same millisecond";
}

TEST_F(SimulatorPagingTest, ATokenOfNoCallResumesAtItsPlaceInTheOrder) {
  const std::vector<json> calls = Calls(0, {0, 1, 2});
  const Key middle = KeyOf(calls[calls.size() / 2]);
  for (const Key& cursor :
       {Key{middle.first, ""}, Key{middle.first, "~"}, Key{middle.first, middle.second + "0"},
        Key{0, ""}, Key{std::numeric_limits<long long>::max() / 2, ""}}) {
    SCOPED_TRACE(cursor.first);
    SCOPED_TRACE(cursor.second);
    const ListPage expected = ReferencePage(calls, {}, 5, cursor);
    const json page = Page(GenLogPath(0) + "?limit=5&pageToken=" + Escape(TokenFor(cursor)));
    EXPECT_EQ(Ids(page["results"]), expected.ids);
    EXPECT_EQ(page.value("nextPageToken", ""), expected.token);
  }
}

// ---------------------------------------------------------------------------------------------
// Get a call (bird-api.md §3).

TEST_F(SimulatorApiTest, GetsOneCallAsTheListShowsIt) {
  const json all = ListAll(CallsPath(1));
  const auto terminal = std::find_if(all.begin(), all.end(), [](const json& call) {
    return kTerminal.count(call.at("status").get<std::string>()) > 0;
  });
  ASSERT_NE(terminal, all.end());
  const std::string id = (*terminal)["id"];
  const Reply reply = Get(CallsPath(1) + "/" + id);
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.Json(), *terminal);  // a finished call no longer changes
}

TEST_F(SimulatorApiTest, AnswersNotFoundForUnknownCallsChannelsAndPaths) {
  const std::string id = ListAll(CallsPath(0)).at(0).at("id");
  for (const std::string& path : std::vector<std::string>{
           CallsPath(0) + "/00000000-0000-4000-8000-000000000000",
           CallsPath(1) + "/" + id,  // the call belongs to channel 0
           "/workspaces/" + Ws(1) + "/channels/" + Ch(0) + "/calls",  // channel of workspace 0
           "/workspaces/" + Ws(0) + "/channels/00000000-0000-4000-8000-000000000000/calls",
           CallsPath(0) + "/" + id + "/recording", "/workspaces/" + Ws(0) + "/channels",
           "/workspaces/" + Ws(0) + "/numbers/x", "/"}) {
    SCOPED_TRACE(path);
    const Reply reply = Get(path);
    EXPECT_EQ(reply.status, 404);
    EXPECT_EQ(reply.Json().value("code", ""), "NotFound");
  }
}

// ---------------------------------------------------------------------------------------------
// Insights (bird-api.md §3).

TEST_F(SimulatorTest, InsightsAreNotFoundUntilTheyAreReady) {
  Start(clock_.Drive(Settings(ShortCalls(), milliseconds(0))));
  const SystemTime listed_before = clock_.Now();
  const json all = ListAll(CallsPath(0));
  std::vector<json> pending;
  int ready = 0;
  for (const auto& call : all) {
    SCOPED_TRACE(call.dump());
    const SystemTime before = clock_.Now();
    const Reply reply = Insights(0, call["id"]);
    const SystemTime after = clock_.Now();
    ASSERT_TRUE(reply.status == 200 || reply.status == 404) << reply.status;
    if (!call.contains("endedAt")) {
      // Not over when listed, so its insights are at least 2 s away.
      if (after < listed_before + seconds(2)) {
        EXPECT_EQ(reply.status, 404);
      }
      continue;
    }
    const SystemTime ended = Time(call, "endedAt");
    if (after < ended + seconds(2)) {
      EXPECT_EQ(reply.status, 404);
    }
    if (before >= ended + seconds(6)) {
      EXPECT_EQ(reply.status, 200);
    }
    if (reply.status == 404) {
      EXPECT_EQ(reply.Json().value("code", ""), "NotFound");
      pending.push_back(call);
    } else {
      ++ready;
    }
  }
  EXPECT_GT(ready, 100);
  ASSERT_FALSE(pending.empty()) << "no call between its end and its insights";

  // The first pending call whose insights turn up: at most 6 s after its end.
  std::optional<json> insights;
  json listed;
  const auto found = [&] {
    for (const auto& call : pending) {
      const Reply reply = Insights(0, call["id"]);
      if (reply.status == 200) {
        insights = reply.Json();
        listed = call;
        return true;
      }
    }
    return false;
  };
  for (int step = 0; step < 80 && !found(); ++step) clock_.Advance(milliseconds(100));
  ASSERT_TRUE(insights.has_value());
  EXPECT_LE(clock_.Now(), Time(listed, "endedAt") + seconds(6) + milliseconds(100));
  EXPECT_EQ((*insights)["id"], listed["id"]);
  EXPECT_EQ((*insights)["status"], listed["status"]);
  EXPECT_EQ((*insights)["endedAt"], listed["endedAt"]);
  EXPECT_EQ((*insights)["hangupCauseCode"], listed["hangupCauseCode"]);
}

TEST_F(SimulatorApiTest, InsightsCarryNumbersWhereTheListCarriesStrings) {
  const SystemTime now = Clock::now();
  int completed = 0, unanswered = 0;
  for (const auto& call : ListAll(CallsPath(0))) {
    if (!call.contains("endedAt") || Time(call, "endedAt") + seconds(6) > now) continue;
    SCOPED_TRACE(call.dump());
    const Reply reply = Insights(0, call["id"]);
    ASSERT_EQ(reply.status, 200);
    const json insights = reply.Json();
    EXPECT_FALSE(insights.contains("originator"));
    EXPECT_FALSE(insights.contains("receiver"));
    EXPECT_FALSE(insights.contains("qualityInsights"));
    for (const char* field : {"id", "channelId", "from", "to", "status", "type", "direction",
                              "createdAt", "updatedAt", "endedAt", "duration"}) {
      EXPECT_EQ(insights.at(field), call.at(field)) << field;
    }
    const json& signalling = insights.at("signallingMetrics");
    ASSERT_TRUE(signalling.at("pdd").is_number());
    const std::string listed_pdd = call.at("qualityInsights").at("pdd");
    EXPECT_NEAR(std::stod(listed_pdd), signalling["pdd"].get<double>(), 0.005);
    if (call["status"] != "completed") {
      ++unanswered;
      EXPECT_FALSE(insights.contains("mediaMetrics"));
      continue;
    }
    ++completed;
    const json& media = insights.at("mediaMetrics");
    for (const char* field :
         {"mos", "qualityScore", "inBytes", "outBytes", "inPacketCount", "outPacketCount",
          "inMediaPacketCount", "outMediaPacketCount", "inDtmfPacketCount", "outDtmfPacketCount",
          "jitterMinVar", "jitterMaxVar", "jitterLossRate", "jitterBurstRate", "meanInterval",
          "flawTotal"}) {
      EXPECT_TRUE(media.at(field).is_number()) << field;
    }
    for (const char* field :
         {"readCodecName", "readCodecRate", "writeCodecName", "writeCodecRate", "dtmfType"}) {
      EXPECT_TRUE(media.at(field).is_string()) << field;
    }
    const double mos = media["mos"];
    EXPECT_EQ(mos, MosFromQuality(media["qualityScore"].get<int>()));
    const json& listed_mos = call.at("qualityInsights").at("mos");
    ASSERT_TRUE(listed_mos.is_string());
    EXPECT_EQ(std::stod(listed_mos.get<std::string>()), mos);
    EXPECT_EQ(listed_mos.get<std::string>().size(), 4u);  // "4.49"
  }
  EXPECT_GT(completed, 20);
  EXPECT_GT(unanswered, 10);
}

// ---------------------------------------------------------------------------------------------
// Rate limit (bird-api.md §6).

TEST_F(SimulatorTest, AnswersTooManyRequestsBeyondTheGetsPerSecondOfAWorkspace) {
  SimulatorSettings settings = Settings(ShortCalls());
  settings.max_gets_per_second = 5;
  Start(steady_.Drive(settings));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Get(CallsPath(i % 2) + "?limit=1").status, 200) << i;

  const Reply limited = Get(LogPath(0) + "?limit=1");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Header("retry-after"), "1");
  EXPECT_EQ(limited.Json().value("code", ""), "TooManyRequests");
  EXPECT_EQ(Get(CallsPath(1) + "?limit=1").status, 429);
  // The budget is per workspace; authentication comes first; the truth is never limited.
  EXPECT_EQ(Get(CallsPath(2) + "?limit=1").status, 200);
  EXPECT_EQ(Get(CallsPath(0), "AccessKey wrong").status, 401);
  EXPECT_EQ(Get("/_sim/truth", std::nullopt).status, 200);

  // Refused requests do not use the budget: the five expire a second after they were taken.
  steady_.Advance(milliseconds(999));
  EXPECT_EQ(Get(CallsPath(0) + "?limit=1").status, 429);
  steady_.Advance(milliseconds(1));
  EXPECT_EQ(Get(CallsPath(0) + "?limit=1").status, 200);
}

// A steady clock that reads `arrivals` in turn, one per request (the time it arrives; nothing
// else reads it with record_requests off), then stays at the last.
SimulatorSettings WithArrivals(SimulatorSettings settings, std::vector<milliseconds> arrivals) {
  settings.record_requests = false;
  auto next = std::make_shared<std::atomic<std::size_t>>(0);
  settings.steady_clock = [arrivals = std::move(arrivals), next] {
    const std::size_t i = std::min(next->fetch_add(1), arrivals.size() - 1);
    return std::chrono::steady_clock::time_point{} + arrivals[i];
  };
  return settings;
}

// Requests are timed when they arrive, before they queue for the simulator's lock behind a long
// page, so the busiest second is that of their arrivals even when they are counted out of order.
TEST_F(SimulatorTest, TheBusiestSecondIsThatOfTheArrivalsInWhateverOrderTheyAreCounted) {
  SimulatorSettings settings = Settings(ShortCalls());
  const std::vector<milliseconds> arrivals = {milliseconds(0), milliseconds(900),
                                              milliseconds(1950), milliseconds(950)};
  Start(WithArrivals(settings, arrivals));
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    EXPECT_EQ(Get(CallsPath(0) + "?limit=1").status, 200) << i;
  }
  // The second (-50 ms, 950 ms] holds the arrivals at 0, 900 and 950 ms; counted in order of
  // answering, the one at 950 ms came after the one at 1950 ms.
  EXPECT_EQ(simulator_->Truth()["requests"][Ws(0)]["max_in_any_second"], 3);
}

// A request that arrived earlier but is admitted later is refused when it would make a second
// that ends at a later arrival hold more than the limit.
TEST_F(SimulatorTest, RefusesALateCountedArrivalThatWouldOverfillALaterSecond) {
  SimulatorSettings settings = Settings(ShortCalls());
  settings.max_gets_per_second = 2;
  const std::vector<milliseconds> arrivals = {milliseconds(900), milliseconds(1000),
                                              milliseconds(50), milliseconds(2100)};
  Start(WithArrivals(settings, arrivals));
  std::vector<long> answers;
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    answers.push_back(Get(CallsPath(0) + "?limit=1").status);
  }
  // (0 ms, 1000 ms] would hold 50, 900 and 1000 ms; the one at 2100 ms finds a second with one.
  EXPECT_EQ(answers, (std::vector<long>{200, 200, 429, 200}));
  EXPECT_EQ(simulator_->Truth()["requests"][Ws(0)]["max_in_any_second"], 3);  // answered or not
}

// ---------------------------------------------------------------------------------------------
// API trouble (scenario api-trouble).

enum class Answer { kOk, kMalformed, kTooMany, kBadGatewayHtml, kOther };

class SimulatorApiTroubleTest : public SimulatorTest {
 protected:
  static SimulatorSettings TroubleSettings(std::uint64_t seed) {
    Scenario scenario = ScenarioByName("api-trouble");
    scenario.slow_seconds = 0.01;
    SimulatorSettings settings = Settings(scenario);
    settings.seed = seed;
    return settings;
  }

  std::vector<Answer> Answers(int requests) {
    std::vector<Answer> answers;
    for (int i = 0; i < requests; ++i) {
      const Reply reply = Get(CallsPath(i % 4) + "?limit=5");
      if (reply.status == 200) {
        const json body = reply.Json();
        answers.push_back(body.is_object() && body.contains("results") ? Answer::kOk
                                                                       : Answer::kMalformed);
      } else if (reply.status == 429) {
        EXPECT_EQ(reply.Json().value("code", ""), "TooManyRequests");
        answers.push_back(Answer::kTooMany);
      } else if (reply.status == 502) {
        EXPECT_THAT(reply.Header("content-type"), StartsWith("text/html"));
        EXPECT_THAT(reply.body, HasSubstr("502 Bad Gateway"));
        EXPECT_TRUE(reply.Json().is_discarded());
        answers.push_back(Answer::kBadGatewayHtml);
      } else {
        ADD_FAILURE() << "unexpected status " << reply.status;
        answers.push_back(Answer::kOther);
      }
    }
    return answers;
  }
};

TEST_F(SimulatorApiTroubleTest, AnswersSome429s502HtmlPagesAndMalformedBodies) {
  Start(TroubleSettings(3));
  const std::vector<Answer> answers = Answers(200);
  std::map<Answer, int> counts;
  for (Answer answer : answers) ++counts[answer];
  EXPECT_GE(counts[Answer::kTooMany], 1);
  EXPECT_GE(counts[Answer::kBadGatewayHtml], 1);
  EXPECT_GE(counts[Answer::kMalformed], 1);
  EXPECT_EQ(counts[Answer::kOther], 0);
  // 17% of the answers are faults: 34 expected out of 200.
  EXPECT_GE(counts[Answer::kOk], 140);
  EXPECT_LE(counts[Answer::kOk], 190);
}

TEST_F(SimulatorApiTroubleTest, FaultsFollowTheSeed) {
  Start(TroubleSettings(11));
  const std::vector<Answer> first = Answers(120);
  Start(TroubleSettings(11));
  EXPECT_EQ(Answers(120), first);
  Start(TroubleSettings(12));
  EXPECT_NE(Answers(120), first);
}

TEST_F(SimulatorApiTest, HealthyScenarioAnswersEveryRequest) {
  for (int i = 0; i < 100; ++i) {
    const Reply reply = Get(CallsPath(i % 4) + "?limit=5");
    ASSERT_EQ(reply.status, 200) << i;
    ASSERT_FALSE(reply.Json().is_discarded()) << reply.body;
  }
}

// ---------------------------------------------------------------------------------------------
// Ground truth.

std::map<std::string, int> CountBy(const std::vector<json>& calls, const char* field) {
  std::map<std::string, int> counts;
  for (const auto& call : calls) {
    const json& value = call.at(field);
    ++counts[value.is_string() ? value.get<std::string>() : value.dump()];
  }
  return counts;
}

std::map<std::string, int> AsCounts(const json& object) {
  return object.get<std::map<std::string, int>>();
}

TEST_F(SimulatorTest, TruthCountsOnlyListedTerminalCallsWithReadyInsights) {
  Start(Settings(ShortCalls()));
  json truth = simulator_->Truth();
  EXPECT_EQ(truth["calls"], 0);  // nothing listed yet
  EXPECT_EQ(truth["by_status"], json::object());
  EXPECT_EQ(truth["scenario"], "short-calls");
  EXPECT_EQ(truth["quiet"], false);
  const Reply served_first = Get("/_sim/truth", std::nullopt);  // no access key needed
  ASSERT_EQ(served_first.status, 200);
  EXPECT_EQ(served_first.Json().value("calls", -1), 0);
  EXPECT_EQ(served_first.Json().value("scenario", ""), "short-calls");

  std::vector<json> listed_terminal;
  for (const auto& call : ListAll(CallsPath(0))) {
    if (kTerminal.count(call.at("status").get<std::string>())) listed_terminal.push_back(call);
  }
  ASSERT_GT(listed_terminal.size(), 100u);
  auto ready = [&] {
    int count = 0;
    for (const auto& call : listed_terminal) count += Insights(0, call["id"]).status == 200;
    return count;
  };
  const int ready_before = ready();
  truth = simulator_->Truth();
  const json served = Get("/_sim/truth", std::nullopt).Json();
  const int ready_after = ready();

  const int calls = truth["calls"];
  EXPECT_LE(ready_before, calls);
  EXPECT_LE(calls, ready_after);
  EXPECT_LE(ready_before, served.value("calls", -1));
  EXPECT_LE(served.value("calls", -1), ready_after);
  EXPECT_EQ(truth["quiet"], false);  // calls are still ringing and talking
  // Only the listed channel counts: the insights asked for are those of its listed calls.
  EXPECT_EQ(AsCounts(truth["by_channel"]), (std::map<std::string, int>{{Ch(0), calls}}));

  int by_status = 0;
  const auto listed_statuses = CountBy(listed_terminal, "status");
  for (const auto& [status, count] : AsCounts(truth["by_status"])) {
    EXPECT_TRUE(kTerminal.count(status)) << status;
    EXPECT_LE(count, listed_statuses.at(status)) << status;
    by_status += count;
  }
  EXPECT_EQ(by_status, calls);
  int by_cause = 0;
  for (const auto& [cause, count] : AsCounts(truth["by_hangup_cause_code"])) by_cause += count;
  EXPECT_EQ(by_cause, calls);
  EXPECT_EQ(truth["pdd_observations"], calls);
  const int completed = truth["by_status"].value("completed", 0);
  EXPECT_GT(completed, 0);
  EXPECT_EQ(truth["duration_observations"], completed);
  EXPECT_EQ(truth["mos_observations"].get<int>() + truth["no_inbound_media"].get<int>(), completed);

  // Listing the second channel adds its finished calls.
  ListAll(CallsPath(1));
  EXPECT_GT(simulator_->Truth()["by_channel"].value(Ch(1), 0), 0);
}

TEST_F(SimulatorTest, TruthTurnsQuietOnceGenerationStoppedAndEveryInsightIsReady) {
  const SystemTime started = clock_.Now();
  Start(clock_.Drive(Settings(QuickCalls(), seconds(1))));
  EXPECT_EQ(simulator_->Truth()["quiet"], false);

  // What workspace 0 shows now: only its calls that are already over will count.
  std::vector<json> listed_terminal;
  for (const auto& call : ListAll(LogPath(0))) {
    if (kTerminal.count(call.at("status").get<std::string>())) listed_terminal.push_back(call);
  }
  ASSERT_FALSE(listed_terminal.empty());

  for (int step = 0; step < 150 && simulator_->Truth()["quiet"] != true; ++step) {
    clock_.Advance(milliseconds(100));
  }
  ASSERT_EQ(simulator_->Truth()["quiet"], true);
  EXPECT_GE(clock_.Now() - started, seconds(1));
  json truth = simulator_->Truth();
  EXPECT_EQ(truth["calls"], static_cast<int>(listed_terminal.size()));
  EXPECT_EQ(AsCounts(truth["by_status"]), CountBy(listed_terminal, "status"));
  EXPECT_EQ(AsCounts(truth["by_channel"]), CountBy(listed_terminal, "channelId"));
  EXPECT_EQ(AsCounts(truth["by_hangup_cause_code"]), CountBy(listed_terminal, "hangupCauseCode"));

  // Now every call is over with its insights ready, and listing them all counts them all.
  std::vector<json> all;
  for (int ws = 0; ws < 2; ++ws) {
    for (const auto& call : ListAll(LogPath(ws))) all.push_back(call);
  }
  for (const auto& call : all) {
    ASSERT_TRUE(kTerminal.count(call.at("status").get<std::string>())) << call.dump();
    EXPECT_EQ(Insights(ChannelIndex(call["channelId"]), call["id"]).status, 200) << call.dump();
  }
  truth = simulator_->Truth();
  EXPECT_EQ(truth["quiet"], true);
  EXPECT_EQ(truth["calls"], static_cast<int>(all.size()));
  EXPECT_EQ(AsCounts(truth["by_status"]), CountBy(all, "status"));
  EXPECT_EQ(AsCounts(truth["by_channel"]), CountBy(all, "channelId"));
  EXPECT_EQ(truth["pdd_observations"], static_cast<int>(all.size()));
  EXPECT_EQ(truth["duration_observations"], 0);  // nobody answered

  // No call starts any more.
  EXPECT_EQ(ListAll(LogPath(0)).size() + ListAll(LogPath(1)).size(), all.size());
}

// The first calls of a channel, from the generator: with two minutes of history they are long
// over, with their insights ready, when the simulator starts.
std::vector<std::string> FirstCallIds(const SimulatorSettings& settings, int channel, int count) {
  const CallGenerator generator(settings.seed, settings.scenario);
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    ids.push_back(
        generator.Generate(Ws(channel / 2), Ch(channel), static_cast<std::uint64_t>(i), {}).id);
  }
  return ids;
}

TEST_F(SimulatorTest, GettingAnEndedCallOrItsInsightsCountsItInTheTruth) {
  const SimulatorSettings settings = Settings(ShortCalls(), milliseconds(0));
  Start(settings);
  const std::vector<std::string> got = FirstCallIds(settings, 0, 6);
  const std::vector<std::string> insights = FirstCallIds(settings, 3, 4);
  std::map<std::string, int> statuses;
  for (const auto& id : got) {
    const Reply reply = Get(CallsPath(0) + "/" + id);
    ASSERT_EQ(reply.status, 200) << id;
    const std::string status = reply.Json().at("status");
    ASSERT_TRUE(kTerminal.count(status)) << status;
    ++statuses[status];
  }
  for (const auto& id : insights) {
    const Reply reply = Insights(3, id);
    ASSERT_EQ(reply.status, 200) << id;
    ++statuses[reply.Json().at("status").get<std::string>()];
  }
  // Served again: still counted once.
  EXPECT_EQ(Get(CallsPath(0) + "/" + got[0]).status, 200);
  EXPECT_EQ(Insights(0, got[0]).status, 200);
  // Unknown calls and calls asked of the wrong channel are not found and count nothing.
  EXPECT_EQ(Get(CallsPath(1) + "/" + got[1]).status, 404);
  EXPECT_EQ(Insights(2, insights[0]).status, 404);
  EXPECT_EQ(Get(CallsPath(1) + "/00000000-0000-4000-8000-000000000000").status, 404);

  const json truth = simulator_->Truth();
  EXPECT_EQ(truth["calls"], 10);
  EXPECT_EQ(AsCounts(truth["by_channel"]), (std::map<std::string, int>{{Ch(0), 6}, {Ch(3), 4}}));
  EXPECT_EQ(AsCounts(truth["by_status"]), statuses);
  EXPECT_EQ(truth["pdd_observations"], 10);
}

TEST_F(SimulatorTest, TruthCountsRequestsPerWorkspaceAndTheBusiestSecond) {
  SimulatorSettings settings = Settings(ShortCalls());
  settings.max_gets_per_second = 5;
  Start(steady_.Drive(settings));  // one instant: the burst is within a second
  const std::vector<std::string> ids = FirstCallIds(settings, 0, 2);
  json truth = simulator_->Truth();
  const json zero = {{"total", 0},         {"list_calls", 0},   {"get_call", 0},
                     {"call_insights", 0}, {"rate_limited", 0}, {"max_in_any_second", 0}};
  EXPECT_EQ(truth["requests"], (json{{Ws(0), zero}, {Ws(1), zero}}));

  std::vector<long> answers;
  for (const std::string& path :
       {CallsPath(0) + "?limit=1", CallsPath(1) + "?limit=1", LogPath(0) + "?limit=1",
        CallsPath(0) + "/" + ids[0], CallsPath(0) + "/" + ids[1] + "/insights",
        CallsPath(0) + "?limit=1", CallsPath(0) + "/" + ids[0]}) {
    answers.push_back(Get(path).status);
  }
  EXPECT_EQ(Get(CallsPath(0), "AccessKey wrong").status, 401);  // not counted
  EXPECT_EQ(Get("/_sim/truth", std::nullopt).status, 200);      // not counted
  EXPECT_EQ(Get("/workspaces/" + Ws(0) + "/channels").status, 404);
  EXPECT_EQ(Get(CallsPath(2) + "?limit=1").status, 200);
  EXPECT_EQ(answers, (std::vector<long>{200, 200, 200, 200, 200, 429, 429}));

  truth = simulator_->Truth();
  EXPECT_EQ(truth["requests"][Ws(0)], (json{{"total", 8},
                                            {"list_calls", 4},
                                            {"get_call", 2},
                                            {"call_insights", 1},
                                            {"rate_limited", 2},
                                            {"max_in_any_second", 8}}));
  EXPECT_EQ(truth["requests"][Ws(1)], (json{{"total", 1},
                                            {"list_calls", 1},
                                            {"get_call", 0},
                                            {"call_insights", 0},
                                            {"rate_limited", 0},
                                            {"max_in_any_second", 1}}));
  // Every other field of the truth is still there.
  for (const char* field :
       {"calls", "generated", "calls_by_channel_generated", "by_status", "by_channel",
        "by_hangup_cause_code", "mos_observations", "no_inbound_media", "pdd_observations",
        "duration_observations", "quiet", "scenario"}) {
    EXPECT_TRUE(truth.contains(field)) << field;
  }
}

TEST_F(SimulatorTest, TruthCountsScenarioFaultsAsRateLimited) {
  Scenario scenario = ShortCalls();
  scenario.rate_429 = 1;  // every request
  Start(Settings(scenario));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(Get(CallsPath(i % 3) + "?limit=1").status, 429) << i;
  EXPECT_EQ(Get(CallsPath(3) + "/00000000-0000-4000-8000-000000000000").status, 429);
  const json requests = simulator_->Truth()["requests"];
  EXPECT_EQ(requests[Ws(0)]["total"], 4);
  EXPECT_EQ(requests[Ws(0)]["list_calls"], 4);
  EXPECT_EQ(requests[Ws(0)]["rate_limited"], 4);
  EXPECT_EQ(requests[Ws(1)]["total"], 3);
  EXPECT_EQ(requests[Ws(1)]["list_calls"], 2);
  EXPECT_EQ(requests[Ws(1)]["get_call"], 1);
  EXPECT_EQ(requests[Ws(1)]["rate_limited"], 3);
}

TEST_F(SimulatorApiTest, TruthCountsTheCallsGeneratedPerChannel) {
  const json truth = simulator_->Truth();
  int sum = 0;
  ASSERT_EQ(truth["calls_by_channel_generated"].size(), 4u);
  for (int ch = 0; ch < 4; ++ch) {
    const int generated = truth["calls_by_channel_generated"].value(Ch(ch), -1);
    EXPECT_EQ(generated, static_cast<int>(ListAll(CallsPath(ch)).size())) << ch;
    sum += generated;
  }
  EXPECT_EQ(truth["generated"], sum);
}

// ---------------------------------------------------------------------------------------------
// Generated topologies.

TEST(GeneratedWorkspacesTest, HasTheRequestedShapeWithDistinctUuidShapedIds) {
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  const std::vector<SimWorkspace> workspaces = GeneratedWorkspaces(40, 25);
  ASSERT_EQ(workspaces.size(), 40u);
  std::set<std::string> ids;
  for (const auto& ws : workspaces) {
    EXPECT_TRUE(std::regex_match(ws.id, uuid)) << ws.id;
    ids.insert(ws.id);
    ASSERT_EQ(ws.channel_ids.size(), 25u);
    for (const auto& ch : ws.channel_ids) {
      EXPECT_TRUE(std::regex_match(ch, uuid)) << ch;
      ids.insert(ch);
    }
  }
  EXPECT_EQ(ids.size(), 40u + 40u * 25u);
  for (const auto& ws : DemoWorkspaces()) EXPECT_EQ(ids.count(ws.id), 0u);
  EXPECT_THAT(GeneratedWorkspaces(0, 3), IsEmpty());
  EXPECT_THAT(GeneratedWorkspaces(2, 0)[1].channel_ids, IsEmpty());
}

TEST(GeneratedWorkspacesTest, IdsDependOnlyOnTheIndices) {
  const std::vector<SimWorkspace> small = GeneratedWorkspaces(2, 3);
  const std::vector<SimWorkspace> large = GeneratedWorkspaces(5, 8);
  const std::vector<SimWorkspace> again = GeneratedWorkspaces(2, 3);
  for (std::size_t w = 0; w < small.size(); ++w) {
    EXPECT_EQ(small[w].id, again[w].id);
    EXPECT_EQ(small[w].channel_ids, again[w].channel_ids);
    EXPECT_EQ(small[w].id, large[w].id);
    for (std::size_t c = 0; c < small[w].channel_ids.size(); ++c) {
      EXPECT_EQ(small[w].channel_ids[c], large[w].channel_ids[c]);
    }
  }
  // The same on every run and build; the last group holds the indices.
  EXPECT_EQ(small[0].id, "e2c15192-473b-4b50-b8b0-000000000000");
  EXPECT_EQ(small[0].channel_ids[0], "ed5be844-8637-4c24-bb56-000000000001");
  EXPECT_EQ(large[4].channel_ids[7].substr(24), "000004000008");
}

TEST_F(SimulatorPagingTest, ServesAGeneratedTopology) {
  for (const auto& ws : Generated()) {
    for (const auto& ch : ws.channel_ids) {
      const json page = Page("/workspaces/" + ws.id + "/channels/" + ch + "/calls?limit=3");
      ASSERT_EQ(page["results"].size(), 3u) << ch;
      EXPECT_EQ(page["results"][0]["channelId"], ch);
    }
  }
  EXPECT_EQ(Get(CallsPath(0)).status, 404);  // the demo channels are not there
  EXPECT_EQ(simulator_->Truth()["calls_by_channel_generated"].size(), 6u);
}

}  // namespace
}  // namespace bird_exporter::sim
