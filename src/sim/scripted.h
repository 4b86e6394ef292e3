// What a test scripts into the simulator: calls served exactly as written (any status, raw
// values JSON cannot hold, a chosen insights body), faults injected into the next answers, and
// the record of every request. The simulator serves scripted calls through the same routes,
// auth, keyset paging and status filter as the calls it generates.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bird/rfc3339.h"

namespace bird_exporter::sim {

struct ScriptedCall {
  std::string workspace_id;
  std::string channel_id;
  std::string id;                    // uuid-like
  std::string status = "completed";  // Bird status string, served verbatim
  std::string direction = "outgoing";
  std::string type = "pstn";
  SystemTime created_at;
  std::optional<SystemTime> answered_at;
  std::optional<SystemTime> ended_at;
  std::optional<int> duration;  // seconds
  std::optional<int> hangup_cause_code;
  std::string hangup_source;    // empty: omitted
  std::string hangup_sip_code;  // empty: omitted
  // qualityInsights on the list record, served as JSON strings like Bird does ("4.47").
  std::optional<double> list_mos;
  std::optional<double> list_pdd;
  // Insights: 404 (RequestError body) until ready. `insights` is the full body served when
  // ready; when it is null the body is built from the call fields (no media metrics).
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
  kSlow,                       // the real answer, after the slow delay
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

// The ChannelCall record of a scripted call (a list page's entry, the get-call answer).
nlohmann::json ScriptedRecord(const ScriptedCall& call);
// Its insights body once ready: `insights`, or the call fields when the test gave none.
nlohmann::json ScriptedInsights(const ScriptedCall& call);
// `body` with the call's raw replacements applied.
std::string WithRaw(std::string body, const ScriptedCall& call);

// The body (and content type) a fault answers with instead of the real answer; `endpoint` as
// in RecordedRequest. kTruncatedBody and kSlow need the real answer and are the caller's.
struct FaultAnswer {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};
FaultAnswer AnswerOf(Fault fault, std::string_view endpoint);

}  // namespace bird_exporter::sim
