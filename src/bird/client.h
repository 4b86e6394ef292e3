// BirdClient: the two Bird calls API endpoints the exporter uses, with auth, pacing, retries
// with backoff and parsing. It reports every request to an ApiObserver; it never counts calls.
#pragma once

#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <string_view>

#include "bird/model.h"
#include "bird/rate_limiter.h"
#include "http/transport.h"

namespace bird_exporter {

struct ChannelRef {
  std::string workspace_id;
  std::string workspace_name;  // label value
  std::string channel_id;
  std::string channel_name;  // label value
};

enum class ApiOutcome {
  kOk,
  kNotFound,      // 404: for insights, "not ready yet"
  kUnauthorized,  // 401/403: not retried; the access key is wrong or lacks permissions
  kFailed,        // retries exhausted, or a non-retryable answer
  kStopped,       // shutdown requested
};

struct ListCallsResult {
  ApiOutcome outcome = ApiOutcome::kFailed;
  CallPage page;
  int http_status = 0;
  std::string error;  // human-readable reason when not kOk; never contains the access key
};

struct CallResult {
  ApiOutcome outcome = ApiOutcome::kFailed;
  Call call;
  int http_status = 0;
  std::string error;
};

// What one list request asks for. `status` empty: every call; else only calls in that status
// (Bird's `status` query parameter).
struct ListQuery {
  std::string page_token;
  std::string status;
  int limit = 0;                   // calls per page; 0 or more than bird.page_size: bird.page_size
  CountryWanted country_wanted{};  // see ParseCallPage; empty: every ended call's
  // Only calls created in [created_from, created_to] (Bird's startAt and endAt).
  std::optional<SystemTime> created_from{};
  std::optional<SystemTime> created_to{};
};

struct InsightsResult {
  ApiOutcome outcome = ApiOutcome::kFailed;
  CallInsights insights;
  int http_status = 0;
  std::string error;
};

// What the poller needs from Bird; a seam for tests.
class BirdApi {
 public:
  virtual ~BirdApi() = default;
  virtual ListCallsResult ListCalls(const ChannelRef& channel, const ListQuery& query,
                                    std::stop_token stop) = 0;
  // GET .../calls/{callId}; kNotFound when Bird does not know the call.
  virtual CallResult GetCall(const ChannelRef& channel, const std::string& call_id,
                             std::stop_token stop) = 0;
  virtual InsightsResult GetInsights(const ChannelRef& channel, const std::string& call_id,
                                     std::stop_token stop) = 0;
  // Requests per second the workspace may send now; infinity when not limited.
  virtual double RequestBudget(const ChannelRef& /*channel*/) {
    return std::numeric_limits<double>::infinity();
  }
  // Calls per list page as they are asked for now (bird.page_size, or 100 after Bird refused
  // more); 0 when not known.
  virtual int CallsPerPage() { return 0; }
};

// Receives one event per HTTP attempt; implemented by the exporter's self-metrics.
class ApiObserver {
 public:
  virtual ~ApiObserver() = default;
  // `code` is the HTTP status ("200", "429") or "error" for a transport failure.
  virtual void OnApiRequest(const std::string& workspace, std::string_view endpoint,
                            const std::string& code, double seconds) = 0;
  virtual void OnParseError(std::string_view endpoint) = 0;
  // The workspace's request budget after a change or a request (requests per second).
  virtual void OnBudget(const std::string& /*workspace*/, double /*rate*/) {}
  // Bird answered 429 for the workspace.
  virtual void OnRateLimited(const std::string& /*workspace*/) {}
};

struct ClientSettings {
  std::string base_url;
  std::string access_key;
  std::chrono::milliseconds request_timeout{10000};
  int max_retries = 3;
  int page_size = 100;
  // Caps on a response body: a list page of 1,000 calls is about 1.5 MB, a call or its
  // insights a few KB. A larger body fails the request (retried, then the call or page waits).
  std::size_t max_list_body_bytes = 4u << 20;
  std::size_t max_call_body_bytes = 256u << 10;
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  std::chrono::milliseconds max_retry_after{60000};
};

// Exponential backoff with full jitter: a uniform draw in [d/2, d], d = initial * 2^attempt
// capped at `max`. `unit_random` is in [0, 1).
std::chrono::milliseconds BackoffDelay(int attempt, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max, double unit_random);

// Retry-After as delta-seconds or an HTTP-date; nullopt when absent or unparsable.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value, SystemTime now);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEncode(std::string_view text);

class BirdClient : public BirdApi {
 public:
  BirdClient(ClientSettings settings, HttpTransport& transport, WorkspaceRateLimiter& limiter,
             ApiObserver& observer);

  ListCallsResult ListCalls(const ChannelRef& channel, const ListQuery& query,
                            std::stop_token stop) override;
  CallResult GetCall(const ChannelRef& channel, const std::string& call_id,
                     std::stop_token stop) override;
  InsightsResult GetInsights(const ChannelRef& channel, const std::string& call_id,
                             std::stop_token stop) override;
  double RequestBudget(const ChannelRef& channel) override;
  int CallsPerPage() override;

  // Applies to requests started afterwards (configuration reload, key rotation).
  void UpdateSettings(ClientSettings settings);

 private:
  struct Attempted {
    ApiOutcome outcome;
    int http_status;
    std::string error;
  };
  // Sends with retries; `parse` throws ParseError for bodies that must be retried.
  template <typename Parse>
  Attempted Send(const ChannelRef& channel, std::string_view endpoint, const std::string& url,
                 const ClientSettings& settings, std::stop_token stop, Parse&& parse);
  ClientSettings Settings() const;
  double UnitRandom();
  int PageSize(const ClientSettings& settings) const;

  mutable std::mutex settings_mutex_;
  ClientSettings settings_;
  // Lowered to 100 when Bird refuses a larger `limit` (some API generations cap pages at 100).
  std::atomic<int> page_size_cap_{1000};
  HttpTransport& transport_;
  WorkspaceRateLimiter& limiter_;
  ApiObserver& observer_;
  std::mutex random_mutex_;
  std::mt19937_64 random_;
};

}  // namespace bird_exporter
