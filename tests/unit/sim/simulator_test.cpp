#include "sim/simulator.h"

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bird/rfc3339.h"
#include "sim/call_generator.h"
#include "sim/scenario.h"
#include "support/exporter_process.h"

namespace bird_exporter::sim {
namespace {

using Clock = std::chrono::system_clock;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
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

struct Reply {
  long status = 0;  // 0: no answer
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased

  json Json() const { return json::parse(body, nullptr, false); }
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<Reply*>(user)->body.append(data, size * count);
  return size * count;
}

size_t AppendHeader(char* data, size_t size, size_t count, void* user) {
  const std::string line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    static_cast<Reply*>(user)->headers[name] = value;
  }
  return size * count;
}

Reply Fetch(const std::string& url, const std::optional<std::string>& authorization) {
  Reply reply;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return reply;
  curl_slist* headers = nullptr;
  if (authorization)
    headers = curl_slist_append(headers, ("Authorization: " + *authorization).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, AppendHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
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

class SimulatorTest : public ::testing::Test {
 protected:
  // Starts a simulator that the helpers below talk to; it lives until the end of the test.
  void Start(SimulatorSettings settings) {
    owned_.push_back(std::make_unique<Simulator>(std::move(settings)));
    simulator_ = owned_.back().get();
    ASSERT_GT(simulator_->Port(), 0);
  }

  // civetweb's master thread notices a stop only at its next 2 s poll timeout: stop the
  // simulators side by side rather than one after the other.
  void TearDown() override {
    std::vector<std::thread> stops;
    for (auto& simulator : owned_) {
      stops.emplace_back([s = std::move(simulator)]() mutable { s.reset(); });
    }
    for (auto& stop : stops) stop.join();
  }

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
  Start(Settings(ShortCalls(), seconds(30)));
  const json first = Page(CallsPath(0) + "?limit=20");
  const std::vector<std::string> first_ids = Ids(first["results"]);
  ASSERT_EQ(first_ids.size(), 20u);
  const auto newest = std::make_pair(Time(first["results"][0], "createdAt"), first_ids[0]);
  ASSERT_TRUE(testing::WaitFor(
      [&] { return Ids(Page(CallsPath(0) + "?limit=1")["results"])[0] != first_ids[0]; },
      seconds(5)))
      << "no new call started";

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
  Start(Settings(ShortCalls(), milliseconds(0)));
  const SystemTime listed_before = Clock::now();
  const json all = ListAll(CallsPath(0));
  std::vector<json> pending;
  int ready = 0;
  for (const auto& call : all) {
    SCOPED_TRACE(call.dump());
    const SystemTime before = Clock::now();
    const Reply reply = Insights(0, call["id"]);
    const SystemTime after = Clock::now();
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
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        for (const auto& call : pending) {
          const Reply reply = Insights(0, call["id"]);
          if (reply.status == 200) {
            insights = reply.Json();
            listed = call;
            return true;
          }
        }
        return false;
      },
      seconds(8)));
  EXPECT_LE(Clock::now(), Time(listed, "endedAt") + seconds(7));
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
  Start(settings);
  const auto started = std::chrono::steady_clock::now();
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

  // Refused requests do not use the budget: the first second's five expire and room returns.
  ASSERT_TRUE(
      testing::WaitFor([&] { return Get(CallsPath(0) + "?limit=1").status == 200; }, seconds(3)));
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, seconds(1));
  EXPECT_LT(waited, milliseconds(2500));
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
  // Only the listed channel counts; getting insights does not list a call.
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
  const auto started = std::chrono::steady_clock::now();
  Start(Settings(QuickCalls(), seconds(1)));
  EXPECT_EQ(simulator_->Truth()["quiet"], false);

  // What workspace 0 shows now: only its calls that are already over will count.
  std::vector<json> listed_terminal;
  for (const auto& call : ListAll(LogPath(0))) {
    if (kTerminal.count(call.at("status").get<std::string>())) listed_terminal.push_back(call);
  }
  ASSERT_FALSE(listed_terminal.empty());

  ASSERT_TRUE(testing::WaitFor([&] { return simulator_->Truth()["quiet"] == true; }, seconds(15)));
  EXPECT_GE(std::chrono::steady_clock::now() - started, seconds(1));
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

}  // namespace
}  // namespace bird_exporter::sim
