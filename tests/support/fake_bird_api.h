// A fake of the Bird calls API over real HTTP on 127.0.0.1 (port 0), for integration tests.
// It serves exactly what the test put in it, injects faults on demand and records every request.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace bird_exporter::testing {

using Clock = std::chrono::system_clock;

struct FakeCall {
  std::string workspace_id;
  std::string channel_id;
  std::string id;                    // uuid-like
  std::string status = "completed";  // Bird status string, served verbatim
  std::string direction = "outgoing";
  std::string type = "pstn";
  Clock::time_point created_at;
  std::optional<Clock::time_point> answered_at;
  std::optional<Clock::time_point> ended_at;
  std::optional<int> duration;  // seconds
  std::optional<int> hangup_cause_code;
  std::string hangup_source;    // empty: omitted
  std::string hangup_sip_code;  // empty: omitted
  // qualityInsights on the list record, served as JSON strings like Bird does ("4.47").
  std::optional<double> list_mos;
  std::optional<double> list_pdd;
  // Insights: 404 (RequestError body) until ready. `insights` is the full body served when
  // ready; when it is null the fake builds one from the call fields (no media metrics).
  bool insights_ready = false;
  nlohmann::json insights;
  // Text replacements applied to every body that carries this call (list pages, the call, its
  // insights), for values JSON cannot hold: {"\"@mos@\"", "1e400"} serves a literal 1e400
  // where the test put the string "@mos@".
  std::vector<std::pair<std::string, std::string>> raw;
};

enum class Fault {
  kTooManyRequests,            // 429, JSON body, no Retry-After
  kTooManyRequestsRetryAfter,  // 429 with "Retry-After: 1"
  kServerErrorHtml,            // 502 with an HTML page
  kServiceUnavailable,         // 503 JSON body
  kTruncatedBody,              // 200 with the real body cut in half
  kMalformedBody,              // 200 with JSON of the wrong shape (results is a string)
  kHtmlOk,                     // 200 with an HTML page (a captive portal or proxy)
  kSlow,                       // the real answer, after `slow_delay`
  kHugeNestedBody,             // 200 with 60 MB of JSON nested 30 million levels deep
};

struct RecordedRequest {
  std::string method;
  std::string path;   // without query string
  std::string query;  // raw query string
  std::string authorization;
  std::string accept;
  std::string user_agent;
  std::string endpoint;  // "list_calls", "get_call", "call_insights" or "other"
  int status = 0;
  std::chrono::steady_clock::time_point received_at;
  std::chrono::steady_clock::time_point answered_at;
};

class FakeBirdApi {
 public:
  // Listens on 127.0.0.1 with an OS-chosen port. Requests must carry
  // "Authorization: AccessKey <access_key>", else 401 with a RequestError body.
  explicit FakeBirdApi(std::string access_key);
  ~FakeBirdApi();
  FakeBirdApi(const FakeBirdApi&) = delete;
  FakeBirdApi& operator=(const FakeBirdApi&) = delete;

  std::string BaseUrl() const;  // "http://127.0.0.1:<port>"
  int Port() const;

  // Adds the call, or replaces the call with the same id.
  void UpsertCall(const FakeCall& call);
  std::optional<FakeCall> GetCall(const std::string& id) const;
  std::vector<FakeCall> Calls() const;

  // The next `count` requests to `endpoint` ("list_calls", "get_call", "call_insights", or ""
  // for any)
  // get `fault` instead of (or, for kSlow, before) the real answer.
  void InjectFaults(const std::string& endpoint, Fault fault, int count);
  int PendingFaults() const;
  void SetSlowDelay(std::chrono::milliseconds delay);

  // Changes the accepted key (wrong-key and rotation tests).
  void SetAccessKey(std::string access_key);

  // Largest `limit` honoured per list page (default 1000). Smaller values force paging.
  void SetMaxPageSize(int max_page_size);

  std::vector<RecordedRequest> Requests() const;
  void ClearRequests();
  int MaxConcurrentRequests() const;  // highest number of requests in flight at once

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// `count` busy calls of `channel` in workspace ws-a, ids "<channel>-call-<i>", ended about two
// minutes ago with their insights ready.
void AddEndedCalls(FakeBirdApi& fake, const std::string& channel, int count);

// Writes a configuration that polls `base_url` every 200 ms: workspace ws-a ("production") with
// `channels` (id, name). `key_line` sets the key ("access_key: ..." or "access_key_file: ...");
// `extra` goes at the end of the poll section (it may open further top-level sections).
void WriteChannelsConfig(const std::string& path, const std::string& base_url,
                         const std::string& key_line,
                         const std::vector<std::pair<std::string, std::string>>& channels,
                         const std::string& extra = "");

}  // namespace bird_exporter::testing
