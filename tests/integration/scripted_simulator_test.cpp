// Exercises the simulator's scripted calls, injected faults and request record over real HTTP
// with libcurl, so the exporter's integration tests can trust what it serves.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bird/rfc3339.h"
#include "sim/simulator.h"
#include "support/http_client.h"

namespace bird_exporter::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using namespace std::chrono_literals;
using sim::Fault;
using sim::RecordedRequest;
using sim::ScriptedCall;
using Clock = std::chrono::system_clock;

constexpr char kKey[] = "test-access-key";
constexpr char kWorkspace[] = "2f1b6c1e-0a4e-4c8e-9d51-6f1e0a0b0001";
constexpr char kChannel[] = "7d3c2b1a-5e4f-4a3b-8c2d-1e0f9a8b0002";

// The requests of an exporter's Bird client: one handle, whose connection consecutive requests
// reuse (keep-alive), "Accept: application/json", a user agent, 20 s at most.
class BirdClient {
 public:
  HttpResponse Get(const std::string& url, const std::string& authorization,
                   const std::string& method = "GET") {
    HttpRequest request;
    request.method = method;
    request.url = url;
    if (!authorization.empty()) request.headers.push_back("Authorization: " + authorization);
    request.headers.push_back("Accept: application/json");
    request.user_agent = "scripted-simulator-test/1.0";
    request.timeout = std::chrono::milliseconds(20000);
    HttpResponse response = client_.Send(request);
    EXPECT_TRUE(response.ok()) << response.error << " for " << url;
    return response;
  }

 private:
  HttpClient client_;
};

std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof(buffer), "%%%02X", c);
      out += buffer;
    }
  }
  return out;
}

std::string CallId(int n) {
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "00000000-0000-4000-8000-%012d", n);
  return buffer;
}

// 2024-11-21T08:00:00Z plus `seconds`.
Clock::time_point At(int seconds) {
  return Clock::time_point(std::chrono::seconds(1732176000) + std::chrono::seconds(seconds));
}

ScriptedCall MakeCall(int n, Clock::time_point created_at) {
  ScriptedCall call;
  call.workspace_id = kWorkspace;
  call.channel_id = kChannel;
  call.id = CallId(n);
  call.created_at = created_at;
  return call;
}

class ScriptedSimulatorTest : public ::testing::Test {
 protected:
  std::string CallsUrl(const std::string& query = "") const {
    std::string url =
        api_.BaseUrl() + "/workspaces/" + kWorkspace + "/channels/" + kChannel + "/calls";
    if (!query.empty()) url += "?" + query;
    return url;
  }

  std::string InsightsUrl(const std::string& call_id) const {
    return api_.BaseUrl() + "/workspaces/" + kWorkspace + "/channels/" + kChannel + "/calls/" +
           call_id + "/insights";
  }

  HttpResponse Get(const std::string& url) { return client_.Get(url, auth_); }

  // Follows nextPageToken until it is absent; returns the ids in order, one vector per page.
  std::vector<std::vector<std::string>> ListAllPages(
      int limit, const std::function<void()>& between_pages = nullptr) {
    std::vector<std::vector<std::string>> pages;
    std::string token;
    for (int guard = 0; guard < 100; ++guard) {
      std::string query = "limit=" + std::to_string(limit);
      if (!token.empty()) query += "&pageToken=" + UrlEncode(token);
      const HttpResponse response = Get(CallsUrl(query));
      EXPECT_EQ(response.status, 200) << response.body;
      const auto body = nlohmann::json::parse(response.body);
      std::vector<std::string> ids;
      for (const auto& record : body.at("results")) ids.push_back(record.at("id"));
      pages.push_back(ids);
      if (!body.contains("nextPageToken")) break;
      token = body.at("nextPageToken").get<std::string>();
      if (between_pages) between_pages();
    }
    return pages;
  }

  sim::Simulator api_{sim::ScriptedSettings(kKey, {{kWorkspace, {kChannel}}})};
  BirdClient client_;
  std::string auth_ = std::string("AccessKey ") + kKey;
};

TEST_F(ScriptedSimulatorTest, ListensOnAnOsChosenLoopbackPort) {
  EXPECT_GT(api_.Port(), 0);
  EXPECT_EQ(api_.BaseUrl(), "http://127.0.0.1:" + std::to_string(api_.Port()));
}

TEST_F(ScriptedSimulatorTest, RejectsAWrongOrMissingKeyWith401) {
  for (const std::string& authorization :
       {std::string("AccessKey wrong"), std::string("Bearer ") + kKey, std::string()}) {
    const HttpResponse response = client_.Get(CallsUrl(), authorization);
    EXPECT_EQ(response.status, 401) << authorization;
    const auto body = nlohmann::json::parse(response.body);
    EXPECT_EQ(body.at("code"), "Unauthorized");
    EXPECT_TRUE(body.at("message").is_string());
  }
}

TEST_F(ScriptedSimulatorTest, SetAccessKeyRotatesTheAcceptedKey) {
  api_.SetAccessKey("rotated");
  EXPECT_EQ(Get(CallsUrl()).status, 401);
  EXPECT_EQ(client_.Get(CallsUrl(), "AccessKey rotated").status, 200);
}

TEST_F(ScriptedSimulatorTest, PagesThroughCallsNewestFirst) {
  for (int i = 1; i <= 25; ++i) api_.UpsertCall(MakeCall(i, At(i)));

  const auto pages = ListAllPages(10);

  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0].size(), 10u);
  EXPECT_EQ(pages[1].size(), 10u);
  EXPECT_EQ(pages[2].size(), 5u);
  std::vector<std::string> all;
  for (const auto& page : pages) all.insert(all.end(), page.begin(), page.end());
  std::vector<std::string> expected;
  for (int i = 25; i >= 1; --i) expected.push_back(CallId(i));
  EXPECT_EQ(all, expected);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 25u);
}

TEST_F(ScriptedSimulatorTest, OmitsNextPageTokenWhenTheLastPageIsExactlyFull) {
  for (int i = 1; i <= 20; ++i) api_.UpsertCall(MakeCall(i, At(i)));
  const auto pages = ListAllPages(10);
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[1].size(), 10u);
}

TEST_F(ScriptedSimulatorTest, PageTokenIsBase64OfCreatedMillisAndId) {
  for (int i = 1; i <= 3; ++i) api_.UpsertCall(MakeCall(i, At(i)));
  const auto body = nlohmann::json::parse(Get(CallsUrl("limit=2")).body);
  const std::string token = body.at("nextPageToken");
  // Decode with a tiny base64 reader to check the shape Bird uses.
  std::string decoded;
  int bits = 0;
  unsigned acc = 0;
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (char c : token) {
    if (c == '=') break;
    acc = (acc << 6) | static_cast<unsigned>(alphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      decoded += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  const auto cursor = nlohmann::json::parse(decoded);
  const auto expected_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(At(2).time_since_epoch()).count();
  EXPECT_EQ(cursor, nlohmann::json::array({expected_ms, CallId(2)}));
}

TEST_F(ScriptedSimulatorTest, BreaksCreatedAtTiesByIdDescendingAcrossPages) {
  for (int i = 1; i <= 6; ++i) api_.UpsertCall(MakeCall(i, At(100)));
  const auto pages = ListAllPages(4);
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_THAT(pages[0], ElementsAre(CallId(6), CallId(5), CallId(4), CallId(3)));
  EXPECT_THAT(pages[1], ElementsAre(CallId(2), CallId(1)));
}

TEST_F(ScriptedSimulatorTest, KeysetPagingSkipsNothingWhenANewerCallArrivesBetweenPages) {
  for (int i = 1; i <= 25; ++i) api_.UpsertCall(MakeCall(i, At(i)));
  int inserted = 0;
  const auto pages = ListAllPages(10, [&] {
    ++inserted;
    api_.UpsertCall(MakeCall(100 + inserted, At(1000 + inserted)));
  });

  std::vector<std::string> all;
  for (const auto& page : pages) all.insert(all.end(), page.begin(), page.end());
  std::set<std::string> unique(all.begin(), all.end());
  EXPECT_EQ(unique.size(), all.size()) << "a call was served twice";
  for (int i = 1; i <= 25; ++i) EXPECT_TRUE(unique.count(CallId(i))) << CallId(i);
  EXPECT_EQ(all.size(), 25u);
  // The newer calls show up on the next pass from the first page.
  const auto first = nlohmann::json::parse(Get(CallsUrl("limit=1")).body);
  EXPECT_EQ(first.at("results").at(0).at("id"), CallId(100 + inserted));
}

TEST_F(ScriptedSimulatorTest, DefaultsToTenAndCapsAtMaxPageSize) {
  for (int i = 1; i <= 25; ++i) api_.UpsertCall(MakeCall(i, At(i)));
  auto body = nlohmann::json::parse(Get(CallsUrl()).body);
  EXPECT_EQ(body.at("results").size(), 10u);

  api_.SetMaxPageSize(7);
  body = nlohmann::json::parse(Get(CallsUrl("limit=1000")).body);
  EXPECT_EQ(body.at("results").size(), 7u);
  EXPECT_TRUE(body.contains("nextPageToken"));
}

TEST_F(ScriptedSimulatorTest, RejectsInvalidLimitAndTokenWith422) {
  api_.UpsertCall(MakeCall(1, At(1)));
  for (const std::string query :
       {"limit=0", "limit=1001", "limit=abc", "limit=", "limit=-5", "pageToken=%21%21%21",
        "pageToken=bm90IGpzb24", "limit=5&pageToken=WzEsMl0="}) {
    const HttpResponse response = Get(CallsUrl(query));
    EXPECT_EQ(response.status, 422) << query;
    EXPECT_TRUE(nlohmann::json::parse(response.body).contains("code")) << query;
  }
  for (const std::string query : {"limit=5x", "limit=%2B5", "limit=%205"}) {
    const HttpResponse response = Get(CallsUrl(query));
    EXPECT_EQ(response.status, 422) << query;
    EXPECT_EQ(nlohmann::json::parse(response.body).at("message"),
              "limit must be between 1 and 1000")
        << query;
  }
  EXPECT_EQ(Get(CallsUrl("limit=1000")).status, 200);
  EXPECT_EQ(Get(CallsUrl("limit=1&status=completed&status=failed")).status, 200);
}

TEST_F(ScriptedSimulatorTest, ListsOnlyTheRequestedChannel) {
  api_.UpsertCall(MakeCall(1, At(1)));
  ScriptedCall other = MakeCall(2, At(2));
  other.channel_id = "another-channel";
  api_.UpsertCall(other);
  const auto body = nlohmann::json::parse(Get(CallsUrl()).body);
  ASSERT_EQ(body.at("results").size(), 1u);
  EXPECT_EQ(body.at("results").at(0).at("id"), CallId(1));
}

TEST_F(ScriptedSimulatorTest, ServesRecordsShapedLikeBirdChannelCalls) {
  ScriptedCall call = MakeCall(1, At(0) + 748ms);
  call.status = "completed";
  call.direction = "incoming";
  call.type = "webrtc";
  call.answered_at = At(5);
  call.ended_at = At(35) + 5ms;
  call.duration = 30;
  call.hangup_cause_code = 16;
  call.hangup_source = "caller";
  call.hangup_sip_code = "200";
  call.list_mos = 4.47;
  call.list_pdd = 1.23;
  api_.UpsertCall(call);
  ScriptedCall bare = MakeCall(2, At(-10));
  bare.status = "ringing";
  api_.UpsertCall(bare);

  const HttpResponse response = Get(CallsUrl());
  ASSERT_EQ(response.status, 200);
  EXPECT_THAT(response.content_type, StartsWith("application/json"));
  const auto results = nlohmann::json::parse(response.body).at("results");
  ASSERT_EQ(results.size(), 2u);
  const auto& full = results.at(0);
  EXPECT_EQ(full.at("id"), CallId(1));
  EXPECT_EQ(full.at("channelId"), kChannel);
  EXPECT_THAT(full.at("from").get<std::string>(), StartsWith("+316"));
  EXPECT_THAT(full.at("to").get<std::string>(), StartsWith("+31"));
  EXPECT_EQ(full.at("direction"), "incoming");
  EXPECT_EQ(full.at("status"), "completed");
  EXPECT_EQ(full.at("type"), "webrtc");
  EXPECT_EQ(full.at("createdAt"), "2024-11-21T08:00:00.748Z");
  EXPECT_EQ(full.at("answeredAt"), "2024-11-21T08:00:05.000Z");
  EXPECT_EQ(full.at("endedAt"), "2024-11-21T08:00:35.005Z");
  EXPECT_EQ(full.at("updatedAt"), "2024-11-21T08:00:35.005Z");
  EXPECT_EQ(full.at("duration"), 30);
  EXPECT_EQ(full.at("hangupCauseCode"), 16);
  EXPECT_EQ(full.at("hangupSource"), "caller");
  EXPECT_EQ(full.at("hangupSipCode"), "200");
  EXPECT_EQ(full.at("qualityInsights"), (nlohmann::json{{"mos", "4.47"}, {"pdd", "1.23"}}));
  EXPECT_FALSE(full.contains("parentId"));

  const auto& sparse = results.at(1);
  EXPECT_EQ(sparse.at("status"), "ringing");
  EXPECT_EQ(sparse.at("createdAt"), "2024-11-21T07:59:50.000Z");
  EXPECT_EQ(sparse.at("updatedAt"), sparse.at("createdAt"));
  for (const char* absent : {"answeredAt", "endedAt", "duration", "hangupCauseCode", "hangupSource",
                             "hangupSipCode", "qualityInsights", "parentId"}) {
    EXPECT_FALSE(sparse.contains(absent)) << absent;
  }
}

TEST_F(ScriptedSimulatorTest, QualityInsightsCarriesOnlyThePresentValues) {
  ScriptedCall call = MakeCall(1, At(1));
  call.list_mos = 3.9;
  api_.UpsertCall(call);
  const auto record = nlohmann::json::parse(Get(CallsUrl()).body).at("results").at(0);
  EXPECT_EQ(record.at("qualityInsights"), (nlohmann::json{{"mos", "3.9"}}));
}

TEST_F(ScriptedSimulatorTest, InsightsAre404UntilReadyThen200) {
  ScriptedCall call = MakeCall(1, At(0));
  call.ended_at = At(30);
  call.duration = 30;
  call.hangup_sip_code = "200";
  api_.UpsertCall(call);

  HttpResponse response = Get(InsightsUrl(CallId(1)));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(nlohmann::json::parse(response.body).at("code"), "NotFound");
  EXPECT_EQ(Get(InsightsUrl(CallId(99))).status, 404);

  call.insights_ready = true;
  api_.UpsertCall(call);
  response = Get(InsightsUrl(CallId(1)));
  ASSERT_EQ(response.status, 200);
  const auto built = nlohmann::json::parse(response.body);
  EXPECT_EQ(built.at("id"), CallId(1));
  EXPECT_EQ(built.at("channelId"), kChannel);
  EXPECT_EQ(built.at("status"), "completed");
  EXPECT_EQ(built.at("duration"), 30);
  EXPECT_EQ(built.at("hangupSipCode"), "200");
  EXPECT_EQ(built.at("createdAt"), "2024-11-21T08:00:00.000Z");
  EXPECT_EQ(built.at("updatedAt"), "2024-11-21T08:00:30.000Z");
  for (const char* key : {"from", "to", "direction", "type"}) EXPECT_TRUE(built.contains(key));
  EXPECT_FALSE(built.contains("mediaMetrics"));
  EXPECT_FALSE(built.contains("signallingMetrics"));
  EXPECT_FALSE(built.contains("qualityInsights"));

  call.insights = {{"id", CallId(1)}, {"mediaMetrics", {{"mos", 4.5}}}};
  api_.UpsertCall(call);
  EXPECT_EQ(nlohmann::json::parse(Get(InsightsUrl(CallId(1))).body), call.insights);
}

TEST_F(ScriptedSimulatorTest, InsightsOfAnotherChannelAre404) {
  ScriptedCall call = MakeCall(1, At(0));
  call.channel_id = "another-channel";
  call.insights_ready = true;
  api_.UpsertCall(call);
  EXPECT_EQ(Get(InsightsUrl(CallId(1))).status, 404);
}

TEST_F(ScriptedSimulatorTest, UnknownPathsAre404AndOtherMethods405) {
  HttpResponse response = Get(api_.BaseUrl() + "/workspaces/" + kWorkspace + "/channels");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(nlohmann::json::parse(response.body).at("code"), "NotFound");
  EXPECT_EQ(Get(api_.BaseUrl() + "/").status, 404);
  EXPECT_EQ(Get(CallsUrl() + "/" + CallId(1)).status, 404);

  for (const std::string method : {"POST", "DELETE", "PUT", "PATCH"}) {
    response = client_.Get(CallsUrl(), auth_, method);
    EXPECT_EQ(response.status, 405) << method;
  }
}

TEST_F(ScriptedSimulatorTest, KeepsConnectionsAlive) {
  EXPECT_EQ(Get(CallsUrl()).new_connections, 1);
  EXPECT_EQ(Get(CallsUrl()).new_connections, 0);
  EXPECT_EQ(Get(InsightsUrl(CallId(1))).new_connections, 0);
}

TEST_F(ScriptedSimulatorTest, TooManyRequestsWithoutRetryAfter) {
  api_.InjectFaults("list_calls", Fault::kTooManyRequests, 1);
  const HttpResponse response = Get(CallsUrl());
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.headers.count("retry-after"), 0u);
  EXPECT_EQ(nlohmann::json::parse(response.body).at("code"), "TooManyRequests");
  EXPECT_EQ(Get(CallsUrl()).status, 200);
}

TEST_F(ScriptedSimulatorTest, TooManyRequestsWithRetryAfter) {
  api_.InjectFaults("list_calls", Fault::kTooManyRequestsRetryAfter, 1);
  const HttpResponse response = Get(CallsUrl());
  EXPECT_EQ(response.status, 429);
  ASSERT_EQ(response.headers.count("retry-after"), 1u);
  EXPECT_EQ(response.headers.at("retry-after"), "1");
  EXPECT_TRUE(nlohmann::json::accept(response.body));
}

TEST_F(ScriptedSimulatorTest, ServerErrorHtml) {
  api_.InjectFaults("", Fault::kServerErrorHtml, 1);
  const HttpResponse response = Get(CallsUrl());
  EXPECT_EQ(response.status, 502);
  EXPECT_THAT(response.content_type, StartsWith("text/html"));
  EXPECT_THAT(response.body, HasSubstr("<html>"));
  EXPECT_FALSE(nlohmann::json::accept(response.body));
}

TEST_F(ScriptedSimulatorTest, ServiceUnavailable) {
  api_.InjectFaults("call_insights", Fault::kServiceUnavailable, 1);
  const HttpResponse response = Get(InsightsUrl(CallId(1)));
  EXPECT_EQ(response.status, 503);
  EXPECT_THAT(response.content_type, StartsWith("application/json"));
  EXPECT_EQ(nlohmann::json::parse(response.body).at("code"), "ServiceUnavailable");
}

TEST_F(ScriptedSimulatorTest, TruncatedBodyIsHalfTheRealOne) {
  for (int i = 1; i <= 5; ++i) api_.UpsertCall(MakeCall(i, At(i)));
  const std::string real = Get(CallsUrl()).body;
  api_.InjectFaults("list_calls", Fault::kTruncatedBody, 1);
  const HttpResponse response = Get(CallsUrl());
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, real.substr(0, real.size() / 2));
  EXPECT_FALSE(nlohmann::json::accept(response.body));
}

TEST_F(ScriptedSimulatorTest, MalformedBodies) {
  ScriptedCall call = MakeCall(1, At(1));
  call.insights_ready = true;
  api_.UpsertCall(call);
  api_.InjectFaults("list_calls", Fault::kMalformedBody, 1);
  api_.InjectFaults("call_insights", Fault::kMalformedBody, 1);

  HttpResponse response = Get(CallsUrl());
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(nlohmann::json::parse(response.body), (nlohmann::json{{"results", "oops"}}));

  response = Get(InsightsUrl(CallId(1)));
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(nlohmann::json::parse(response.body).is_array());
}

TEST_F(ScriptedSimulatorTest, HtmlOk) {
  api_.InjectFaults("", Fault::kHtmlOk, 1);
  const HttpResponse response = Get(CallsUrl());
  EXPECT_EQ(response.status, 200);
  EXPECT_THAT(response.content_type, StartsWith("text/html"));
  EXPECT_FALSE(nlohmann::json::accept(response.body));
}

TEST_F(ScriptedSimulatorTest, SlowAnswersAfterTheDelay) {
  api_.UpsertCall(MakeCall(1, At(1)));
  api_.SetSlowDelay(300ms);
  api_.InjectFaults("list_calls", Fault::kSlow, 1);
  const auto start = std::chrono::steady_clock::now();
  const HttpResponse response = Get(CallsUrl());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(nlohmann::json::parse(response.body).at("results").size(), 1u);
  EXPECT_GE(elapsed, 300ms);
}

TEST_F(ScriptedSimulatorTest, FaultsAreFifoPerEndpointThenAny) {
  api_.InjectFaults("", Fault::kServiceUnavailable, 1);
  api_.InjectFaults("list_calls", Fault::kTooManyRequests, 2);
  api_.InjectFaults("list_calls", Fault::kServerErrorHtml, 1);
  EXPECT_EQ(api_.PendingFaults(), 4);

  EXPECT_EQ(Get(InsightsUrl(CallId(1))).status, 503);  // no insights faults: takes the "" one
  EXPECT_EQ(Get(CallsUrl()).status, 429);
  EXPECT_EQ(Get(CallsUrl()).status, 429);
  EXPECT_EQ(Get(CallsUrl()).status, 502);
  EXPECT_EQ(api_.PendingFaults(), 0);
  EXPECT_EQ(Get(CallsUrl()).status, 200);
}

TEST_F(ScriptedSimulatorTest, ServesOneCallById) {
  ScriptedCall call = MakeCall(1, At(1));
  call.status = "ongoing";
  api_.UpsertCall(call);
  const HttpResponse response = Get(CallsUrl() + "/" + CallId(1));
  ASSERT_EQ(response.status, 200) << response.body;
  const auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body.at("id"), CallId(1));
  EXPECT_EQ(body.at("status"), "ongoing");
  EXPECT_EQ(Get(CallsUrl() + "/" + CallId(2)).status, 404);
  EXPECT_EQ(api_.Requests().back().endpoint, "get_call");
}

TEST_F(ScriptedSimulatorTest, FiltersTheListByStatus) {
  for (int i = 1; i <= 4; ++i) {
    ScriptedCall call = MakeCall(i, At(i));
    call.status = i % 2 == 0 ? "ongoing" : "completed";
    api_.UpsertCall(call);
  }
  auto ids = [&](const std::string& query) {
    std::vector<std::string> out;
    const auto body = nlohmann::json::parse(Get(CallsUrl(query)).body);
    for (const auto& record : body.at("results")) out.push_back(record.at("id"));
    return out;
  };
  EXPECT_THAT(ids("status=ongoing"), ElementsAre(CallId(4), CallId(2)));
  EXPECT_THAT(ids("status=ongoing&status=completed"),
              ElementsAre(CallId(4), CallId(3), CallId(2), CallId(1)));
  EXPECT_THAT(ids("status=busy"), IsEmpty());
}

TEST_F(ScriptedSimulatorTest, FiltersTheListByCreationTime) {
  for (int i = 1; i <= 5; ++i) api_.UpsertCall(MakeCall(i, At(i)));
  auto ids = [&](const std::string& query) {
    std::vector<std::string> out;
    const auto body = nlohmann::json::parse(Get(CallsUrl(query)).body);
    for (const auto& record : body.at("results")) out.push_back(record.at("id"));
    return out;
  };
  const std::string from = "startAt=" + FormatRfc3339(At(2));
  const std::string to = "endAt=" + FormatRfc3339(At(4));
  EXPECT_THAT(ids(from + "&" + to), ElementsAre(CallId(4), CallId(3), CallId(2)));
  EXPECT_THAT(ids(from), ElementsAre(CallId(5), CallId(4), CallId(3), CallId(2)));
  EXPECT_THAT(ids(to + "&limit=1"), ElementsAre(CallId(4)));
}

TEST_F(ScriptedSimulatorTest, AuthIsCheckedBeforeFaults) {
  api_.InjectFaults("", Fault::kServiceUnavailable, 1);
  EXPECT_EQ(client_.Get(CallsUrl(), "AccessKey wrong").status, 401);
  EXPECT_EQ(api_.PendingFaults(), 1);
  EXPECT_EQ(Get(CallsUrl()).status, 503);
}

TEST_F(ScriptedSimulatorTest, RecordsEveryRequest) {
  api_.UpsertCall(MakeCall(1, At(1)));
  Get(CallsUrl("limit=5"));
  Get(InsightsUrl(CallId(1)));
  client_.Get(api_.BaseUrl() + "/nope", "AccessKey wrong");

  const auto requests = api_.Requests();
  ASSERT_EQ(requests.size(), 3u);
  const RecordedRequest& list = requests[0];
  EXPECT_EQ(list.method, "GET");
  EXPECT_EQ(list.path,
            std::string("/workspaces/") + kWorkspace + "/channels/" + kChannel + "/calls");
  EXPECT_EQ(list.query, "limit=5");
  EXPECT_EQ(list.authorization, auth_);
  EXPECT_EQ(list.accept, "application/json");
  EXPECT_EQ(list.user_agent, "scripted-simulator-test/1.0");
  EXPECT_EQ(list.endpoint, "list_calls");
  EXPECT_EQ(list.status, 200);
  EXPECT_LE(list.received_at, list.answered_at);

  EXPECT_EQ(requests[1].endpoint, "call_insights");
  EXPECT_EQ(requests[1].status, 404);
  EXPECT_EQ(requests[1].query, "");
  EXPECT_EQ(requests[2].endpoint, "other");
  EXPECT_EQ(requests[2].status, 401);
  EXPECT_EQ(requests[2].authorization, "AccessKey wrong");

  api_.ClearRequests();
  EXPECT_TRUE(api_.Requests().empty());
}

TEST_F(ScriptedSimulatorTest, TracksTheMostRequestsInFlight) {
  Get(CallsUrl());
  EXPECT_EQ(api_.MaxConcurrentRequests(), 1);

  constexpr int kParallel = 4;
  api_.SetSlowDelay(500ms);
  api_.InjectFaults("list_calls", Fault::kSlow, kParallel);
  std::vector<std::thread> threads;
  std::vector<long> statuses(kParallel, 0);
  for (int i = 0; i < kParallel; ++i) {
    threads.emplace_back([&, i] {
      BirdClient client;
      statuses[i] = client.Get(CallsUrl(), auth_).status;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_THAT(statuses, ::testing::Each(200));
  EXPECT_EQ(api_.MaxConcurrentRequests(), kParallel);
}

TEST_F(ScriptedSimulatorTest, UpsertReplacesAndCallsListsEverything) {
  api_.UpsertCall(MakeCall(1, At(1)));
  ScriptedCall changed = MakeCall(1, At(1));
  changed.status = "failed";
  api_.UpsertCall(changed);
  api_.UpsertCall(MakeCall(2, At(2)));

  ASSERT_TRUE(api_.GetCall(CallId(1)).has_value());
  EXPECT_EQ(api_.GetCall(CallId(1))->status, "failed");
  EXPECT_FALSE(api_.GetCall(CallId(3)).has_value());
  EXPECT_EQ(api_.Calls().size(), 2u);
}

TEST_F(ScriptedSimulatorTest, ADeclaredChannelWithoutCallsListsEmptyAndAnUnknownOneIs404) {
  const auto body = nlohmann::json::parse(Get(CallsUrl()).body);
  EXPECT_THAT(body.at("results"), IsEmpty());
  const HttpResponse unknown =
      Get(api_.BaseUrl() + "/workspaces/" + kWorkspace + "/channels/no-such-channel/calls");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(nlohmann::json::parse(unknown.body).at("code"), "NotFound");
}

TEST_F(ScriptedSimulatorTest, ACallDatedInTheFutureIsServedAsWritten) {
  ScriptedCall call = MakeCall(1, Clock::now() + std::chrono::hours(24 * 365));
  call.insights_ready = true;
  api_.UpsertCall(call);
  const auto body = nlohmann::json::parse(Get(CallsUrl()).body);
  ASSERT_EQ(body.at("results").size(), 1u);
  EXPECT_EQ(body.at("results").at(0).at("id"), CallId(1));
  EXPECT_EQ(Get(CallsUrl() + "/" + CallId(1)).status, 200);
  EXPECT_EQ(Get(InsightsUrl(CallId(1))).status, 200);
}

TEST_F(ScriptedSimulatorTest, AChannelBelongsToOneWorkspace) {
  ScriptedCall call = MakeCall(1, At(1));
  call.workspace_id = "another-workspace";  // kChannel is declared in kWorkspace
  EXPECT_THROW(api_.UpsertCall(call), std::invalid_argument);
  EXPECT_TRUE(api_.Calls().empty());
}

TEST_F(ScriptedSimulatorTest, ScriptedCallsAreNoPartOfTheTruth) {
  for (int i = 1; i <= 3; ++i) {
    ScriptedCall call = MakeCall(i, At(i));
    call.ended_at = At(i + 30);
    call.insights_ready = true;
    api_.UpsertCall(call);
    EXPECT_EQ(Get(InsightsUrl(CallId(i))).status, 200);
  }
  EXPECT_EQ(Get(CallsUrl()).status, 200);
  const nlohmann::json truth = api_.Truth();
  EXPECT_EQ(truth.at("calls"), 0);
  EXPECT_EQ(truth.at("generated"), 0);
  EXPECT_EQ(truth.at("requests").at(kWorkspace).at("call_insights"), 3);
  EXPECT_EQ(truth.at("requests").at(kWorkspace).at("list_calls"), 1);
}

TEST(ScriptedSimulatorRecordTest, RequestsAreRecordedOnlyWhenAsked) {
  sim::SimulatorSettings settings = sim::ScriptedSettings(kKey, {{kWorkspace, {kChannel}}});
  settings.record_requests = false;
  sim::Simulator simulator(settings);
  HttpClient client;
  HttpRequest request;
  request.url =
      simulator.BaseUrl() + "/workspaces/" + kWorkspace + "/channels/" + kChannel + "/calls";
  request.headers.push_back(std::string("Authorization: AccessKey ") + kKey);
  EXPECT_EQ(client.Send(request).status, 200);
  EXPECT_THAT(simulator.Requests(), IsEmpty());
  EXPECT_EQ(simulator.Truth().at("requests").at(kWorkspace).at("list_calls"), 1);
}

}  // namespace
}  // namespace bird_exporter::testing
