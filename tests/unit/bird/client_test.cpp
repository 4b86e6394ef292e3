#include "bird/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/fixtures.h"
#include "version.h"

namespace bird_exporter {
namespace {

using testing::ReadFixture;

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;

constexpr const char* kAccessKey = "sk-live-9f8e7d6c5b4a";
constexpr const char* kBaseUrl = "https://api.bird.test";

HttpResponse Response(int status, std::string body,
                      std::map<std::string, std::string> headers = {}) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

HttpResponse TransportFailure(std::string error) {
  HttpResponse response;
  response.error = std::move(error);
  return response;
}

// Answers with the scripted responses in order and records every request.
class ScriptedTransport : public HttpTransport {
 public:
  struct Recorded {
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::milliseconds timeout;
  };

  void Push(HttpResponse response) {
    std::lock_guard lock(mutex_);
    responses_.push_back(std::move(response));
  }

  HttpResponse Get(const HttpRequest& request) override {
    std::lock_guard lock(mutex_);
    requests_.push_back({request.url, request.headers, request.timeout});
    ++request_count_;
    if (responses_.empty()) return TransportFailure("no scripted response left");
    HttpResponse response = std::move(responses_.front());
    responses_.pop_front();
    return response;
  }

  std::vector<Recorded> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  int request_count() const { return request_count_; }

 private:
  mutable std::mutex mutex_;
  std::deque<HttpResponse> responses_;
  std::vector<Recorded> requests_;
  std::atomic<int> request_count_{0};
};

class RecordingObserver : public ApiObserver {
 public:
  struct Request {
    std::string workspace;
    std::string endpoint;
    std::string code;
  };

  void OnApiRequest(const std::string& workspace, std::string_view endpoint,
                    const std::string& code, double seconds) override {
    std::lock_guard lock(mutex_);
    EXPECT_GE(seconds, 0.0);
    requests_.push_back({workspace, std::string(endpoint), code});
  }
  void OnParseError(std::string_view endpoint) override {
    std::lock_guard lock(mutex_);
    parse_errors_.emplace_back(endpoint);
  }
  void OnBudget(const std::string&, double rate) override {
    std::lock_guard lock(mutex_);
    budget_ = rate;
  }
  void OnRateLimited(const std::string& workspace) override {
    std::lock_guard lock(mutex_);
    rate_limited_.push_back(workspace);
  }
  double budget() const {
    std::lock_guard lock(mutex_);
    return budget_;
  }
  std::vector<std::string> rate_limited() const {
    std::lock_guard lock(mutex_);
    return rate_limited_;
  }

  std::vector<std::string> Codes() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> codes;
    for (const auto& r : requests_) codes.push_back(r.code);
    return codes;
  }
  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::vector<std::string> parse_errors() const {
    std::lock_guard lock(mutex_);
    return parse_errors_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
  std::vector<std::string> parse_errors_;
  std::vector<std::string> rate_limited_;
  double budget_ = 0;
};

ClientSettings FastSettings() {
  ClientSettings settings;
  settings.base_url = kBaseUrl;
  settings.access_key = kAccessKey;
  settings.request_timeout = milliseconds(2500);
  settings.max_retries = 3;
  settings.page_size = 100;
  settings.initial_backoff = milliseconds(1);
  settings.max_backoff = milliseconds(5);
  settings.max_retry_after = milliseconds(5);
  return settings;
}

const ChannelRef kChannel{"ws-1", "main", "ch-1", "support"};
constexpr const char* kCallId = "382ef429-78ba-416d-899e-657d39d194ea";

class BirdClientTest : public ::testing::Test {
 protected:
  BirdClient& Client(ClientSettings settings = FastSettings()) {
    client_ = std::make_unique<BirdClient>(std::move(settings), transport_, limiter_, observer_);
    return *client_;
  }

  ListCallsResult List(const std::string& page_token = "") {
    if (!client_) Client();
    return client_->ListCalls(kChannel, ListQuery{page_token, {}}, stop_.get_token());
  }
  InsightsResult Insights() {
    if (!client_) Client();
    return client_->GetInsights(kChannel, kCallId, stop_.get_token());
  }

  ScriptedTransport transport_;
  WorkspaceRateLimiter limiter_{1e6};
  RecordingObserver observer_;
  std::stop_source stop_;
  std::unique_ptr<BirdClient> client_;
};

// --- Requests -------------------------------------------------------------------------------

TEST_F(BirdClientTest, GetsOneCallById) {
  transport_.Push(Response(200, R"({"id":"382ef429-78ba-416d-899e-657d39d194ea",
      "status":"completed","direction":"incoming","type":"sip","duration":12,
      "createdAt":"2026-11-21T12:00:00Z","qualityInsights":{"mos":"4.10"}})"));
  Client();
  const CallResult result = client_->GetCall(kChannel, kCallId, stop_.get_token());
  ASSERT_EQ(result.outcome, ApiOutcome::kOk);
  EXPECT_EQ(result.call.id, kCallId);
  EXPECT_EQ(result.call.status, CallStatus::kCompleted);
  EXPECT_EQ(result.call.mos, 4.1);
  EXPECT_EQ(transport_.requests()[0].url,
            std::string("https://api.bird.test/workspaces/ws-1/channels/ch-1/calls/") + kCallId);
  EXPECT_EQ(observer_.requests()[0].endpoint, "get_call");
}

TEST_F(BirdClientTest, AnUnknownCallIsNotFoundWithoutRetries) {
  transport_.Push(Response(404, R"({"code":"NotFound","message":"call not found"})"));
  Client();
  EXPECT_EQ(client_->GetCall(kChannel, kCallId, stop_.get_token()).outcome, ApiOutcome::kNotFound);
  EXPECT_EQ(transport_.request_count(), 1);
}

TEST_F(BirdClientTest, ListsCallsInOneStatus) {
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  Client();
  client_->ListCalls(kChannel, ListQuery{"tok", "ongoing"}, stop_.get_token());
  EXPECT_EQ(transport_.requests()[0].url,
            "https://api.bird.test/workspaces/ws-1/channels/ch-1/calls?limit=100&status=ongoing"
            "&pageToken=tok");
}

TEST_F(BirdClientTest, ListsCallsCreatedWithinBounds) {
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  Client();
  ListQuery query;
  query.created_from = ParseRfc3339("2026-11-21T12:00:00.250Z");
  query.created_to = ParseRfc3339("2026-11-21T12:05:00Z");
  client_->ListCalls(kChannel, query, stop_.get_token());
  EXPECT_EQ(transport_.requests()[0].url,
            "https://api.bird.test/workspaces/ws-1/channels/ch-1/calls?limit=100"
            "&startAt=2026-11-21T12%3A00%3A00.250Z&endAt=2026-11-21T12%3A05%3A00.000Z");
}

TEST_F(BirdClientTest, ARateLimitHalvesTheWorkspaceBudget) {
  WorkspaceRateLimiter limiter(40);
  BirdClient client(FastSettings(), transport_, limiter, observer_);
  transport_.Push(Response(429, ""));
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  EXPECT_EQ(client.ListCalls(kChannel, {}, stop_.get_token()).outcome, ApiOutcome::kOk);
  EXPECT_THAT(observer_.rate_limited(), ElementsAre("main"));
  EXPECT_GE(limiter.CurrentRate("ws-1"), 20);
  EXPECT_LT(limiter.CurrentRate("ws-1"), 25);  // recovering, but not yet back at 40
  EXPECT_GT(observer_.budget(), 19);
  EXPECT_LT(observer_.budget(), 25);
}

TEST_F(BirdClientTest, ARefusedCreationBoundIsNoRefusedLimit) {
  ClientSettings settings = FastSettings();
  settings.page_size = 1000;
  Client(settings);
  transport_.Push(Response(422, R"({"code":"InvalidParameters","message":"startAt"})"));
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  ListQuery bounded;
  bounded.created_from = ParseRfc3339("2026-11-21T12:00:00Z");
  EXPECT_EQ(client_->ListCalls(kChannel, bounded, stop_.get_token()).http_status, 422);
  EXPECT_EQ(client_->CallsPerPage(), 1000);
  EXPECT_EQ(List().outcome, ApiOutcome::kOk);
  const auto requests = transport_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_THAT(requests[1].url, HasSubstr("limit=1000"));
}

TEST_F(BirdClientTest, FallsBackToPagesOf100WhenALargerLimitIsRefused) {
  ClientSettings settings = FastSettings();
  settings.page_size = 1000;
  Client(settings);
  transport_.Push(Response(422, R"({"code":"InvalidParameters","message":"limit"})"));
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  EXPECT_EQ(List().outcome, ApiOutcome::kOk);
  EXPECT_EQ(List().outcome, ApiOutcome::kOk);
  const auto requests = transport_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_THAT(requests[0].url, HasSubstr("limit=1000"));
  EXPECT_THAT(requests[1].url, HasSubstr("limit=100"));
  EXPECT_THAT(requests[1].url, Not(HasSubstr("limit=1000")));
  EXPECT_THAT(requests[2].url, Not(HasSubstr("limit=1000")));
}

TEST_F(BirdClientTest, SendsAccessKeyAcceptAndUserAgent) {
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  ASSERT_EQ(List().outcome, ApiOutcome::kOk);
  const auto requests = transport_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& headers = requests[0].headers;
  EXPECT_THAT(headers, Contains(Pair("Authorization", std::string("AccessKey ") + kAccessKey)));
  EXPECT_THAT(headers, Contains(Pair("Accept", "application/json")));
  EXPECT_THAT(headers, Contains(Pair("User-Agent", std::string("bird_call_exporter/") + kVersion)));
  EXPECT_THAT(headers, Contains(Pair("User-Agent", StartsWith("bird_call_exporter/"))));
  EXPECT_EQ(requests[0].timeout, milliseconds(2500));
}

TEST_F(BirdClientTest, ListsFirstPageWithLimit) {
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  List();
  ASSERT_EQ(transport_.requests().size(), 1u);
  EXPECT_EQ(transport_.requests()[0].url,
            "https://api.bird.test/workspaces/ws-1/channels/ch-1/calls?limit=100");
}

TEST_F(BirdClientTest, ASmallerLimitOfTheQueryWinsAndALargerOneIsCapped) {
  Client();
  for (int limit : {35, 5000}) {
    transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
    ListQuery query;
    query.limit = limit;
    client_->ListCalls(kChannel, query, stop_.get_token());
  }
  ASSERT_EQ(transport_.requests().size(), 2u);
  EXPECT_EQ(transport_.requests()[0].url,
            "https://api.bird.test/workspaces/ws-1/channels/ch-1/calls?limit=35");
  EXPECT_EQ(transport_.requests()[1].url,
            "https://api.bird.test/workspaces/ws-1/channels/ch-1/calls?limit=100");
}

TEST_F(BirdClientTest, ListsNextPageWithUrlEncodedPageToken) {
  ClientSettings settings = FastSettings();
  settings.page_size = 25;
  Client(settings);
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  List("WzE3MzIy+MTIx/NTU1NTA=");
  ASSERT_EQ(transport_.requests().size(), 1u);
  EXPECT_EQ(transport_.requests()[0].url,
            "https://api.bird.test/workspaces/ws-1/channels/ch-1/calls?limit=25"
            "&pageToken=WzE3MzIy%2BMTIx%2FNTU1NTA%3D");
}

TEST_F(BirdClientTest, RequestsCallInsights) {
  transport_.Push(Response(200, ReadFixture("insights_outbound_completed.json")));
  const InsightsResult result = Insights();
  ASSERT_EQ(transport_.requests().size(), 1u);
  EXPECT_EQ(transport_.requests()[0].url,
            "https://api.bird.test/workspaces/ws-1/channels/ch-1/calls/"
            "382ef429-78ba-416d-899e-657d39d194ea/insights");
  EXPECT_EQ(result.outcome, ApiOutcome::kOk);
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.insights.call.id, kCallId);
  EXPECT_TRUE(result.insights.has_media_metrics);
  EXPECT_EQ(observer_.requests().size(), 1u);
  EXPECT_EQ(observer_.requests()[0].workspace, "main");
  EXPECT_EQ(observer_.requests()[0].endpoint, "call_insights");
  EXPECT_EQ(observer_.requests()[0].code, "200");
}

TEST_F(BirdClientTest, ReturnsParsedPage) {
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  const ListCallsResult result = List();
  EXPECT_EQ(result.outcome, ApiOutcome::kOk);
  EXPECT_EQ(result.http_status, 200);
  ASSERT_EQ(result.page.calls.size(), 3u);
  EXPECT_EQ(result.page.calls[0].id, "1b6d9e42-8c3f-4a07-b5e1-6f2a9d0c7e38");
  EXPECT_EQ(result.page.next_page_token, "");
  ASSERT_EQ(observer_.requests().size(), 1u);
  EXPECT_EQ(observer_.requests()[0].workspace, "main");
  EXPECT_EQ(observer_.requests()[0].endpoint, "list_calls");
}

// --- Retries --------------------------------------------------------------------------------

TEST_F(BirdClientTest, RetriesRateLimitedRequest) {
  transport_.Push(Response(429, ""));
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  const ListCallsResult result = List();
  EXPECT_EQ(result.outcome, ApiOutcome::kOk);
  EXPECT_EQ(result.page.calls.size(), 3u);
  EXPECT_EQ(transport_.request_count(), 2);
  EXPECT_THAT(observer_.Codes(), ElementsAre("429", "200"));
}

TEST_F(BirdClientTest, RetriesServerErrorPage) {
  transport_.Push(Response(502, ReadFixture("error_502.html")));
  transport_.Push(Response(200, ReadFixture("insights_outbound_completed.json")));
  const InsightsResult result = Insights();
  EXPECT_EQ(result.outcome, ApiOutcome::kOk);
  EXPECT_EQ(transport_.request_count(), 2);
  EXPECT_THAT(observer_.Codes(), ElementsAre("502", "200"));
  EXPECT_THAT(observer_.parse_errors(), IsEmpty());
}

TEST_F(BirdClientTest, CountsAndRetriesUnparsableBody) {
  transport_.Push(Response(200, ReadFixture("error_502.html")));
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  const ListCallsResult result = List();
  EXPECT_EQ(result.outcome, ApiOutcome::kOk);
  EXPECT_EQ(result.page.calls.size(), 3u);
  EXPECT_THAT(observer_.Codes(), ElementsAre("200", "200"));
  EXPECT_THAT(observer_.parse_errors(), ElementsAre("list_calls"));
}

TEST_F(BirdClientTest, FailsWithLastReasonWhenUnparsableBodyPersists) {
  for (int i = 0; i < 4; ++i) transport_.Push(Response(200, "{\"results\": "));
  const ListCallsResult result = List();
  EXPECT_EQ(result.outcome, ApiOutcome::kFailed);
  EXPECT_EQ(result.http_status, 200);
  EXPECT_THAT(result.error, StartsWith("unexpected response body: "));
  EXPECT_EQ(observer_.parse_errors().size(), 4u);
}

TEST_F(BirdClientTest, GivesUpAfterMaxRetries) {
  for (int i = 0; i < 10; ++i) transport_.Push(Response(503, ""));
  const ListCallsResult result = List();
  EXPECT_EQ(result.outcome, ApiOutcome::kFailed);
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.error, "HTTP 503");
  EXPECT_EQ(transport_.request_count(), 4);  // max_retries 3 + the first attempt
  EXPECT_THAT(observer_.Codes(), ElementsAre("503", "503", "503", "503"));
}

TEST_F(BirdClientTest, TriesOnceWithoutRetries) {
  ClientSettings settings = FastSettings();
  settings.max_retries = 0;
  Client(settings);
  for (int i = 0; i < 3; ++i) transport_.Push(Response(500, ""));
  EXPECT_EQ(Insights().outcome, ApiOutcome::kFailed);
  EXPECT_EQ(transport_.request_count(), 1);
}

struct NonRetriedCase {
  const char* behaviour;
  bool insights;
  int status;
  ApiOutcome outcome;
};

class BirdClientNonRetriedTest : public BirdClientTest,
                                 public ::testing::WithParamInterface<NonRetriedCase> {};

TEST_P(BirdClientNonRetriedTest, AnswersAfterOneAttempt) {
  const auto& c = GetParam();
  transport_.Push(Response(c.status, ReadFixture("error_404.json")));
  transport_.Push(Response(200, ReadFixture("insights_outbound_completed.json")));
  ApiOutcome outcome;
  int http_status;
  if (c.insights) {
    const InsightsResult result = Insights();
    outcome = result.outcome;
    http_status = result.http_status;
  } else {
    const ListCallsResult result = List();
    outcome = result.outcome;
    http_status = result.http_status;
  }
  EXPECT_EQ(outcome, c.outcome);
  EXPECT_EQ(http_status, c.status);
  EXPECT_EQ(transport_.request_count(), 1);
  EXPECT_THAT(observer_.Codes(), ElementsAre(std::to_string(c.status)));
}

std::string NonRetriedName(const ::testing::TestParamInfo<NonRetriedCase>& info) {
  return info.param.behaviour;
}

INSTANTIATE_TEST_SUITE_P(
    Statuses, BirdClientNonRetriedTest,
    ::testing::Values(NonRetriedCase{"ListUnauthorized", false, 401, ApiOutcome::kUnauthorized},
                      NonRetriedCase{"ListForbidden", false, 403, ApiOutcome::kUnauthorized},
                      NonRetriedCase{"InsightsUnauthorized", true, 401, ApiOutcome::kUnauthorized},
                      NonRetriedCase{"InsightsForbidden", true, 403, ApiOutcome::kUnauthorized},
                      NonRetriedCase{"InsightsNotReady", true, 404, ApiOutcome::kNotFound},
                      NonRetriedCase{"ListNotFound", false, 404, ApiOutcome::kFailed},
                      NonRetriedCase{"ListValidationError", false, 422, ApiOutcome::kFailed},
                      NonRetriedCase{"InsightsBadRequest", true, 400, ApiOutcome::kFailed}),
    NonRetriedName);

TEST_F(BirdClientTest, ReportsTransportErrorAsErrorCode) {
  transport_.Push(TransportFailure("Connection refused"));
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  EXPECT_EQ(List().outcome, ApiOutcome::kOk);
  EXPECT_THAT(observer_.Codes(), ElementsAre("error", "200"));
}

TEST_F(BirdClientTest, FailsWithTransportReasonWhenTransportKeepsFailing) {
  for (int i = 0; i < 4; ++i) transport_.Push(TransportFailure("Timeout was reached"));
  const ListCallsResult result = List();
  EXPECT_EQ(result.outcome, ApiOutcome::kFailed);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_EQ(result.error, "transport error: Timeout was reached");
  EXPECT_THAT(observer_.Codes(), ElementsAre("error", "error", "error", "error"));
}

// --- Retry-After ------------------------------------------------------------------------------

// Backoff so long that only an honoured Retry-After lets the test finish quickly.
ClientSettings SlowBackoffSettings() {
  ClientSettings settings = FastSettings();
  settings.initial_backoff = milliseconds(60000);
  settings.max_backoff = milliseconds(60000);
  return settings;
}

TEST_F(BirdClientTest, RetriesAtOnceWhenRetryAfterIsZero) {
  Client(SlowBackoffSettings());
  transport_.Push(Response(429, "", {{"retry-after", "0"}}));
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  auto result = std::async(std::launch::async, [this] { return List(); });
  ASSERT_EQ(result.wait_for(seconds(10)), std::future_status::ready)
      << "Retry-After: 0 was not honoured";
  EXPECT_EQ(result.get().outcome, ApiOutcome::kOk);
  EXPECT_EQ(transport_.request_count(), 2);
}

TEST_F(BirdClientTest, CapsRetryAfterAtMaxRetryAfter) {
  ClientSettings settings = SlowBackoffSettings();
  settings.max_retry_after = milliseconds(5);
  Client(settings);
  transport_.Push(Response(503, "", {{"retry-after", "120"}}));
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  auto result = std::async(std::launch::async, [this] { return List(); });
  ASSERT_EQ(result.wait_for(seconds(10)), std::future_status::ready)
      << "Retry-After: 120 was not capped";
  EXPECT_EQ(result.get().outcome, ApiOutcome::kOk);
}

TEST_F(BirdClientTest, WaitsRetryAfterLongerThanBackoff) {
  ClientSettings settings = FastSettings();  // backoff at most 5 ms
  settings.max_retry_after = milliseconds(200);
  Client(settings);
  transport_.Push(Response(429, "", {{"retry-after", "1"}}));
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(List().outcome, ApiOutcome::kOk);
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(200));
}

TEST_F(BirdClientTest, FallsBackToBackoffWhenRetryAfterIsGarbage) {
  transport_.Push(Response(429, "", {{"retry-after", "soon"}}));
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  EXPECT_EQ(List().outcome, ApiOutcome::kOk);
  EXPECT_EQ(transport_.request_count(), 2);
}

// --- Shutdown -------------------------------------------------------------------------------

TEST_F(BirdClientTest, StopsBeforeSendingWhenStopRequested) {
  transport_.Push(Response(200, ReadFixture("list_calls_last_page.json")));
  stop_.request_stop();
  EXPECT_EQ(List().outcome, ApiOutcome::kStopped);
  EXPECT_EQ(transport_.request_count(), 0);
}

TEST_F(BirdClientTest, StopsDuringBackoff) {
  Client(SlowBackoffSettings());
  transport_.Push(Response(503, ""));
  auto result = std::async(std::launch::async, [this] { return List(); });
  while (transport_.request_count() < 1) std::this_thread::yield();
  stop_.request_stop();
  ASSERT_EQ(result.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_EQ(result.get().outcome, ApiOutcome::kStopped);
  EXPECT_EQ(transport_.request_count(), 1);
}

// --- Secrets ----------------------------------------------------------------------------------

TEST_F(BirdClientTest, NeverPutsAccessKeyInErrors) {
  std::vector<std::string> errors;
  transport_.Push(Response(401, ReadFixture("error_404.json")));
  errors.push_back(List().error);
  transport_.Push(Response(403, ""));
  errors.push_back(Insights().error);
  transport_.Push(Response(404, ReadFixture("error_404.json")));
  errors.push_back(Insights().error);
  for (int i = 0; i < 4; ++i) transport_.Push(Response(503, ReadFixture("error_502.html")));
  errors.push_back(List().error);
  for (int i = 0; i < 4; ++i) transport_.Push(TransportFailure("SSL connect error"));
  errors.push_back(List().error);
  for (int i = 0; i < 4; ++i) transport_.Push(Response(200, "<html>login</html>"));
  errors.push_back(Insights().error);
  ASSERT_EQ(errors.size(), 6u);
  for (const auto& error : errors) {
    EXPECT_THAT(error, Not(IsEmpty()));
    EXPECT_THAT(error, Not(HasSubstr(kAccessKey)));
    EXPECT_THAT(error, Not(HasSubstr("AccessKey")));
  }
  EXPECT_THAT(errors[0], HasSubstr("HTTP 401"));
  EXPECT_THAT(errors[1], HasSubstr("HTTP 403"));
}

// --- Backoff ----------------------------------------------------------------------------------

struct BackoffCase {
  int attempt;
  long long low_ms;   // unit_random 0
  long long high_ms;  // unit_random 1
};

class BackoffDelayTest : public ::testing::TestWithParam<BackoffCase> {};

TEST_P(BackoffDelayTest, DrawsBetweenHalfAndFullCappedDelay) {
  const auto& c = GetParam();
  EXPECT_EQ(BackoffDelay(c.attempt, milliseconds(100), milliseconds(1000), 0.0),
            milliseconds(c.low_ms));
  EXPECT_EQ(BackoffDelay(c.attempt, milliseconds(100), milliseconds(1000), 1.0),
            milliseconds(c.high_ms));
  EXPECT_EQ(BackoffDelay(c.attempt, milliseconds(100), milliseconds(1000), 0.5),
            milliseconds((c.low_ms + c.high_ms) / 2));
}

INSTANTIATE_TEST_SUITE_P(Attempts, BackoffDelayTest,
                         ::testing::Values(BackoffCase{0, 50, 100}, BackoffCase{1, 100, 200},
                                           BackoffCase{2, 200, 400}, BackoffCase{3, 400, 800},
                                           BackoffCase{4, 500, 1000}, BackoffCase{5, 500, 1000},
                                           BackoffCase{40, 500, 1000}));

TEST(BackoffDelayClampTest, ClampsRandomDrawToUnitInterval) {
  EXPECT_EQ(BackoffDelay(1, milliseconds(100), milliseconds(1000), -3.0), milliseconds(100));
  EXPECT_EQ(BackoffDelay(1, milliseconds(100), milliseconds(1000), 7.0), milliseconds(200));
}

// --- Retry-After parsing --------------------------------------------------------------------

// Sun, 06 Nov 1994 08:49:07 GMT
const SystemTime kHttpNow = SystemTime(std::chrono::seconds(784111747));

TEST(ParseRetryAfterTest, ParsesDelaySeconds) {
  EXPECT_EQ(ParseRetryAfter("120", kHttpNow), milliseconds(120000));
  EXPECT_EQ(ParseRetryAfter("0", kHttpNow), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter(" 5 ", kHttpNow), milliseconds(5000));
}

TEST(ParseRetryAfterTest, ClampsHugeDelaySecondsInsteadOfOverflowing) {
  const auto longest = milliseconds(milliseconds::max().count() / 1000 * 1000);
  EXPECT_EQ(ParseRetryAfter("9223372036854775807", kHttpNow), longest);
  EXPECT_EQ(ParseRetryAfter("9223372036854776", kHttpNow), longest);
  EXPECT_EQ(ParseRetryAfter("9223372036854775", kHttpNow), milliseconds(9223372036854775000));
}

TEST(ParseRetryAfterTest, ParsesHttpDateInTheFuture) {
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", kHttpNow), milliseconds(30000));
}

TEST(ParseRetryAfterTest, ParsesHttpDateInThePastAsNoWait) {
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:48:37 GMT", kHttpNow), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:07 GMT", kHttpNow), milliseconds(0));
}

TEST(ParseRetryAfterTest, RejectsGarbage) {
  for (const char* value : {"", "   ", "-1", "1.5", "soon", "120s", "0x10",
                            "Sunday, 06-Nov-94 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 UTC",
                            "Sun, 06 Nov 1994 08:49:37 GMT trailing", "Sun Nov  6 08:49:37 1994"}) {
    EXPECT_EQ(ParseRetryAfter(value, kHttpNow), std::nullopt) << '"' << value << '"';
  }
}

// --- URL encoding ---------------------------------------------------------------------------

TEST(UrlEncodeTest, KeepsUnreservedCharacters) {
  EXPECT_EQ(UrlEncode(""), "");
  EXPECT_EQ(UrlEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(UrlEncode("382ef429-78ba-416d-899e-657d39d194ea"),
            "382ef429-78ba-416d-899e-657d39d194ea");
}

TEST(UrlEncodeTest, PercentEncodesEverythingElse) {
  EXPECT_EQ(UrlEncode("a b"), "a%20b");
  EXPECT_EQ(UrlEncode("a+b/c=d"), "a%2Bb%2Fc%3Dd");
  EXPECT_EQ(UrlEncode("100%"), "100%25");
  EXPECT_EQ(UrlEncode("?&#"), "%3F%26%23");
  EXPECT_EQ(UrlEncode("[1732212155550,\"x\"]"), "%5B1732212155550%2C%22x%22%5D");
  EXPECT_EQ(UrlEncode("\xc3\xbc"), "%C3%BC");
  EXPECT_EQ(UrlEncode(std::string_view("\0\n\x7f", 3)), "%00%0A%7F");
}

}  // namespace
}  // namespace bird_exporter
