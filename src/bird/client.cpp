#include "bird/client.h"

#include <spdlog/spdlog.h>
#include <string.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

#include "log/logging.h"
#include "version.h"

namespace bird_exporter {
namespace {

constexpr std::string_view kListEndpoint = "list_calls";
constexpr std::string_view kInsightsEndpoint = "call_insights";
constexpr std::string_view kGetCallEndpoint = "get_call";
constexpr int kFallbackPageSize = 100;

bool IsRetryableStatus(int status) { return status == 0 || status == 429 || status >= 500; }

// Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the only form RFC 9110 requires.
std::optional<SystemTime> ParseHttpDate(std::string_view value) {
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const time_t seconds = timegm(&tm);
  if (seconds == static_cast<time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds);
}

}  // namespace

std::chrono::milliseconds BackoffDelay(int attempt, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max, double unit_random) {
  const double base = static_cast<double>(initial.count()) * std::pow(2.0, std::min(attempt, 30));
  const double capped = std::min(base, static_cast<double>(max.count()));
  const double jittered = capped / 2 + capped / 2 * std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(jittered));
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value, SystemTime now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  long long seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && ptr == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    // Clamped so that an absurd value cannot overflow into a negative (immediate) delay.
    constexpr long long kMaxSeconds = std::chrono::milliseconds::max().count() / 1000;
    return std::chrono::milliseconds(std::min(seconds, kMaxSeconds) * 1000);
  }
  const auto date = ParseHttpDate(value);
  if (!date) return std::nullopt;
  if (*date <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(*date - now);
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

BirdClient::BirdClient(ClientSettings settings, HttpTransport& transport,
                       WorkspaceRateLimiter& limiter, ApiObserver& observer)
    : settings_(std::move(settings)),
      transport_(transport),
      limiter_(limiter),
      observer_(observer),
      random_(std::random_device{}()) {}

void BirdClient::UpdateSettings(ClientSettings settings) {
  std::lock_guard lock(settings_mutex_);
  // The replaced key does not linger in freed memory.
  explicit_bzero(settings_.access_key.data(), settings_.access_key.size());
  settings_ = std::move(settings);
}

ClientSettings BirdClient::Settings() const {
  std::lock_guard lock(settings_mutex_);
  return settings_;
}

double BirdClient::UnitRandom() {
  std::lock_guard lock(random_mutex_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

template <typename Parse>
BirdClient::Attempted BirdClient::Send(const ChannelRef& channel, std::string_view endpoint,
                                       const std::string& url, const ClientSettings& settings,
                                       std::stop_token stop, Parse&& parse) {
  HttpRequest request;
  request.url = url;
  request.timeout = settings.request_timeout;
  request.headers = {
      {"Authorization", "AccessKey " + settings.access_key},
      {"Accept", "application/json"},
      {"User-Agent", std::string("bird_call_exporter/") + kVersion},
  };
  std::atomic<bool> abort{false};
  std::stop_callback on_stop(stop, [&abort] { abort = true; });
  request.abort = &abort;
  request.max_body_bytes =
      endpoint == kListEndpoint ? settings.max_list_body_bytes : settings.max_call_body_bytes;

  Attempted last{ApiOutcome::kFailed, 0, {}};
  for (int attempt = 0; attempt <= settings.max_retries; ++attempt) {
    if (!limiter_.Acquire(channel.workspace_id, stop)) return {ApiOutcome::kStopped, 0, {}};
    observer_.OnBudget(channel.workspace_name, limiter_.CurrentRate(channel.workspace_id));
    const auto started = std::chrono::steady_clock::now();
    HttpResponse response = transport_.Get(request);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::string code = response.status == 0 ? "error" : std::to_string(response.status);
    observer_.OnApiRequest(channel.workspace_name, endpoint, code, seconds);
    if (stop.stop_requested()) return {ApiOutcome::kStopped, response.status, {}};

    last = {ApiOutcome::kFailed, response.status, {}};
    if (response.status == 200) {
      try {
        parse(response.body);
        return {ApiOutcome::kOk, 200, {}};
      } catch (const ParseError& e) {
        observer_.OnParseError(endpoint);
        last.error = std::string("unexpected response body: ") + e.what();
      }
    } else if (response.status == 404 && endpoint == kInsightsEndpoint) {
      return {ApiOutcome::kNotFound, 404, "insights not available yet"};
    } else if (response.status == 404 && endpoint == kGetCallEndpoint) {
      return {ApiOutcome::kNotFound, 404, "call not found"};
    } else if (response.status == 401 || response.status == 403) {
      return {ApiOutcome::kUnauthorized, response.status,
              "HTTP " + code + ": the access key was refused"};
    } else if (response.status == 0) {
      last.error = "transport error: " + response.error;
    } else {
      last.error = "HTTP " + code;
    }
    if (!IsRetryableStatus(response.status) && response.status != 200) return last;
    std::optional<std::chrono::milliseconds> retry_after;
    if (auto it = response.headers.find("retry-after"); it != response.headers.end()) {
      if (auto parsed = ParseRetryAfter(it->second, std::chrono::system_clock::now())) {
        retry_after = std::min(*parsed, settings.max_retry_after);
      }
    }
    if (response.status == 429) {
      const double rate = limiter_.OnRateLimited(channel.workspace_id, retry_after);
      observer_.OnRateLimited(channel.workspace_name);
      observer_.OnBudget(channel.workspace_name, rate);
    }
    if (attempt == settings.max_retries) break;

    std::chrono::milliseconds delay =
        BackoffDelay(attempt, settings.initial_backoff, settings.max_backoff, UnitRandom());
    if (retry_after) delay = *retry_after;

    spdlog::warn(
        "bird request failed, retrying endpoint={} workspace={} channel={} error={} "
        "attempt={} retry_in={}ms",
        endpoint, channel.workspace_name, channel.channel_name, LogQuote(last.error), attempt + 1,
        delay.count());
    if (!SleepFor(stop, delay)) return {ApiOutcome::kStopped, 0, {}};
  }
  spdlog::warn(
      "bird request failed, giving up for this poll endpoint={} workspace={} channel={} "
      "error={} attempts={}",
      endpoint, channel.workspace_name, channel.channel_name, LogQuote(last.error),
      settings.max_retries + 1);
  return last;
}

double BirdClient::RequestBudget(const ChannelRef& channel) {
  return limiter_.CurrentRate(channel.workspace_id);
}

int BirdClient::CallsPerPage() { return PageSize(Settings()); }

int BirdClient::PageSize(const ClientSettings& settings) const {
  return std::min(settings.page_size, page_size_cap_.load());
}

ListCallsResult BirdClient::ListCalls(const ChannelRef& channel, const ListQuery& query,
                                      std::stop_token stop) {
  const ClientSettings settings = Settings();
  ListCallsResult result;
  for (;;) {
    int page_size = PageSize(settings);
    if (query.limit > 0) page_size = std::min(page_size, query.limit);
    std::string url = settings.base_url + "/workspaces/" + UrlEncode(channel.workspace_id) +
                      "/channels/" + UrlEncode(channel.channel_id) +
                      "/calls?limit=" + std::to_string(page_size);
    if (!query.status.empty()) url += "&status=" + UrlEncode(query.status);
    if (query.created_from) url += "&startAt=" + UrlEncode(FormatRfc3339(*query.created_from));
    if (query.created_to) url += "&endAt=" + UrlEncode(FormatRfc3339(*query.created_to));
    if (!query.page_token.empty()) url += "&pageToken=" + UrlEncode(query.page_token);
    result = ListCallsResult{};
    const Attempted sent = Send(
        channel, kListEndpoint, url, settings, stop,
        [&](const std::string& body) { result.page = ParseCallPage(body, query.country_wanted); });
    result.outcome = sent.outcome;
    result.http_status = sent.http_status;
    result.error = sent.error;
    // A validation error on a first page larger than 100 most likely refuses the `limit`.
    const bool limit_refused = (sent.http_status == 422 || sent.http_status == 400) &&
                               page_size > kFallbackPageSize && query.page_token.empty() &&
                               query.status.empty() && !query.created_from && !query.created_to;
    if (!limit_refused) return result;
    page_size_cap_ = kFallbackPageSize;
    spdlog::warn(
        "bird refused a list page of {} calls, using pages of {} from now on "
        "workspace={} channel={} code={}",
        page_size, kFallbackPageSize, channel.workspace_name, channel.channel_name,
        sent.http_status);
  }
}

CallResult BirdClient::GetCall(const ChannelRef& channel, const std::string& call_id,
                               std::stop_token stop) {
  const ClientSettings settings = Settings();
  const std::string url = settings.base_url + "/workspaces/" + UrlEncode(channel.workspace_id) +
                          "/channels/" + UrlEncode(channel.channel_id) + "/calls/" +
                          UrlEncode(call_id);
  CallResult result;
  const Attempted sent =
      Send(channel, kGetCallEndpoint, url, settings, stop,
           [&result](const std::string& body) { result.call = ParseSingleCall(body); });
  result.outcome = sent.outcome;
  result.http_status = sent.http_status;
  result.error = sent.error;
  return result;
}

InsightsResult BirdClient::GetInsights(const ChannelRef& channel, const std::string& call_id,
                                       std::stop_token stop) {
  const ClientSettings settings = Settings();
  const std::string url = settings.base_url + "/workspaces/" + UrlEncode(channel.workspace_id) +
                          "/channels/" + UrlEncode(channel.channel_id) + "/calls/" +
                          UrlEncode(call_id) + "/insights";
  InsightsResult result;
  const Attempted sent =
      Send(channel, kInsightsEndpoint, url, settings, stop,
           [&result](const std::string& body) { result.insights = ParseCallInsights(body); });
  result.outcome = sent.outcome;
  result.http_status = sent.http_status;
  result.error = sent.error;
  return result;
}

}  // namespace bird_exporter
