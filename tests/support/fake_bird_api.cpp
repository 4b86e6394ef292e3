#include "support/fake_bird_api.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "server/http_listener.h"

namespace bird_exporter::testing {
namespace {

constexpr int kDefaultPageLimit = 10;
constexpr int kMaxLimit = 1000;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

Response JsonResponse(int status, const nlohmann::json& body) {
  Response response;
  response.status = status;
  response.body = body.dump();
  return response;
}

// `response` with the raw replacements of `call` applied.
Response WithRaw(Response response, const FakeCall& call) {
  for (const auto& [from, to] : call.raw) {
    for (auto at = response.body.find(from); at != std::string::npos;
         at = response.body.find(from, at + to.size())) {
      response.body.replace(at, from.size(), to);
    }
  }
  return response;
}

// Bird's RequestError: {"code": ..., "message": ...}.
Response ErrorResponse(int status, std::string_view code, std::string_view message) {
  return JsonResponse(status, {{"code", code}, {"message", message}});
}

Response HtmlResponse(int status, std::string_view title) {
  Response response;
  response.status = status;
  response.content_type = "text/html; charset=utf-8";
  response.body = "<!DOCTYPE html>\n<html><head><title>" + std::string(title) +
                  "</title></head><body><h1>" + std::string(title) +
                  "</h1><p>Please try again later.</p></body></html>\n";
  return response;
}

std::int64_t ToUnixMillis(Clock::time_point t) {
  return std::chrono::floor<std::chrono::milliseconds>(t).time_since_epoch().count();
}

// UTC, millisecond precision, `Z` suffix: 2024-11-21T08:56:49.748Z.
std::string FormatTimestamp(Clock::time_point t) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(t);
  const auto days = std::chrono::floor<std::chrono::days>(ms);
  const std::chrono::year_month_day ymd{days};
  const std::chrono::hh_mm_ss<std::chrono::milliseconds> tod{ms - days};
  std::array<char, 40> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(tod.hours().count()),
                static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()),
                static_cast<int>(tod.subseconds().count()));
  return buffer.data();
}

// Shortest text that reads back as the same double: 4.47 -> "4.47".
std::string FormatDecimal(double value) {
  std::array<char, 64> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  if (ec != std::errc()) return "0";
  return std::string(buffer.data(), end);
}

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(std::string_view input) {
  std::string out;
  out.reserve((input.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < input.size(); i += 3) {
    const std::uint32_t n = (static_cast<std::uint8_t>(input[i]) << 16) |
                            (static_cast<std::uint8_t>(input[i + 1]) << 8) |
                            static_cast<std::uint8_t>(input[i + 2]);
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += kBase64Alphabet[(n >> 6) & 63];
    out += kBase64Alphabet[n & 63];
  }
  const std::size_t rest = input.size() - i;
  if (rest == 1) {
    const std::uint32_t n = static_cast<std::uint8_t>(input[i]) << 16;
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const std::uint32_t n = (static_cast<std::uint8_t>(input[i]) << 16) |
                            (static_cast<std::uint8_t>(input[i + 1]) << 8);
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += kBase64Alphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// Accepts the standard and URL-safe alphabets, optional padding, and ' ' for '+' (a token
// sent without percent-encoding arrives form-decoded).
std::optional<std::string> Base64Decode(std::string_view input) {
  while (!input.empty() && input.back() == '=') input.remove_suffix(1);
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : input) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+' || c == '-' || c == ' ') {
      v = 62;
    } else if (c == '/' || c == '_') {
      v = 63;
    } else {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (bits >= 6) return std::nullopt;  // a single dangling character
  return out;
}

struct PageCursor {
  std::int64_t created_ms = 0;
  std::string id;
};

std::string EncodeCursor(const PageCursor& cursor) {
  return Base64Encode(nlohmann::json::array({cursor.created_ms, cursor.id}).dump());
}

std::optional<PageCursor> DecodeCursor(std::string_view token) {
  const auto raw = Base64Decode(token);
  if (!raw) return std::nullopt;
  const auto parsed = nlohmann::json::parse(*raw, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array() || parsed.size() != 2 || !parsed[0].is_number_integer() ||
      !parsed[1].is_string()) {
    return std::nullopt;
  }
  return PageCursor{parsed[0].get<std::int64_t>(), parsed[1].get<std::string>()};
}

// Newest first by created_at (millisecond precision, as in the token), ties by id descending.
bool ComesBefore(std::int64_t a_ms, const std::string& a_id, std::int64_t b_ms,
                 const std::string& b_id) {
  if (a_ms != b_ms) return a_ms > b_ms;
  return a_id > b_id;
}

// A stable fake E.164 number derived from `seed`.
std::string FakeNumber(std::string_view prefix, std::string_view seed) {
  std::uint32_t hash = 2166136261u;
  for (char c : seed) {
    hash = (hash ^ static_cast<std::uint8_t>(c)) * 16777619u;
  }
  std::array<char, 16> digits{};
  std::snprintf(digits.data(), digits.size(), "%08u", hash % 100000000u);
  return std::string(prefix) + digits.data();
}

// The fields shared by a ChannelCall list record and a CallInsights body.
nlohmann::json CallFields(const FakeCall& call) {
  const std::string channel_number = FakeNumber("+3120", call.channel_id).substr(0, 12);
  const std::string remote_number = FakeNumber("+316", call.id);
  const bool outgoing = call.direction == "outgoing";
  nlohmann::json out = nlohmann::json::object();
  out["id"] = call.id;
  out["channelId"] = call.channel_id;
  out["from"] = outgoing ? channel_number : remote_number;
  out["to"] = outgoing ? remote_number : channel_number;
  out["direction"] = call.direction;
  out["status"] = call.status;
  out["type"] = call.type;
  if (call.duration) out["duration"] = *call.duration;
  if (call.hangup_cause_code) out["hangupCauseCode"] = *call.hangup_cause_code;
  if (!call.hangup_source.empty()) out["hangupSource"] = call.hangup_source;
  if (!call.hangup_sip_code.empty()) out["hangupSipCode"] = call.hangup_sip_code;
  out["createdAt"] = FormatTimestamp(call.created_at);
  out["updatedAt"] = FormatTimestamp(call.ended_at.value_or(call.created_at));
  if (call.answered_at) out["answeredAt"] = FormatTimestamp(*call.answered_at);
  if (call.ended_at) out["endedAt"] = FormatTimestamp(*call.ended_at);
  return out;
}

nlohmann::json ListRecord(const FakeCall& call) {
  nlohmann::json out = CallFields(call);
  nlohmann::json quality = nlohmann::json::object();
  if (call.list_mos) quality["mos"] = FormatDecimal(*call.list_mos);
  if (call.list_pdd) quality["pdd"] = FormatDecimal(*call.list_pdd);
  if (!quality.empty()) out["qualityInsights"] = std::move(quality);
  return out;
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  if (!path.empty() && path.front() == '/') start = 1;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    segments.emplace_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

struct Route {
  std::string endpoint = "other";
  std::string workspace_id;
  std::string channel_id;
  std::string call_id;
};

Route Classify(std::string_view path) {
  Route route;
  const auto s = SplitPath(path);
  const bool channel_prefix = s.size() >= 5 && s[0] == "workspaces" && !s[1].empty() &&
                              s[2] == "channels" && !s[3].empty() && s[4] == "calls";
  if (!channel_prefix) return route;
  if (s.size() == 5) {
    route.endpoint = "list_calls";
  } else if (s.size() == 6 && !s[5].empty()) {
    route.endpoint = "get_call";
    route.call_id = s[5];
  } else if (s.size() == 7 && !s[5].empty() && s[6] == "insights") {
    route.endpoint = "call_insights";
    route.call_id = s[5];
  } else {
    return route;
  }
  route.workspace_id = s[1];
  route.channel_id = s[3];
  return route;
}

// Occurrence `index` of query parameter `name`, form-decoded; nullopt when absent.
std::optional<std::string> QueryParam(const std::string& query, const char* name,
                                      std::size_t index = 0) {
  return QueryParameter(query, name, index);
}

std::optional<int> ParseLimit(const std::string& text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

class FakeBirdApi::Impl {
 public:
  explicit Impl(std::string access_key) : access_key_(std::move(access_key)) {
    // A thread per connection: concurrency is limited by the client under test, not the fake.
    server_ = std::make_unique<HttpListener>(
        "127.0.0.1:0", [this](const ServedRequest& request) { return Handle(request); });
    port_ = server_->port();
  }

  // Stops serving before any state goes away.
  ~Impl() { server_.reset(); }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  int Port() const { return port_; }

  void UpsertCall(const FakeCall& call) {
    std::lock_guard lock(mutex_);
    calls_[call.id] = call;
  }

  std::optional<FakeCall> GetCall(const std::string& id) const {
    std::lock_guard lock(mutex_);
    const auto it = calls_.find(id);
    if (it == calls_.end()) return std::nullopt;
    return it->second;
  }

  std::vector<FakeCall> Calls() const {
    std::lock_guard lock(mutex_);
    std::vector<FakeCall> out;
    out.reserve(calls_.size());
    for (const auto& [id, call] : calls_) out.push_back(call);
    return out;
  }

  void InjectFaults(const std::string& endpoint, Fault fault, int count) {
    std::lock_guard lock(mutex_);
    auto& queue = faults_[endpoint];
    for (int i = 0; i < count; ++i) queue.push_back(fault);
  }

  int PendingFaults() const {
    std::lock_guard lock(mutex_);
    std::size_t total = 0;
    for (const auto& [endpoint, queue] : faults_) total += queue.size();
    return static_cast<int>(total);
  }

  void SetSlowDelay(std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    slow_delay_ = delay;
  }

  void SetAccessKey(std::string access_key) {
    std::lock_guard lock(mutex_);
    access_key_ = std::move(access_key);
  }

  void SetMaxPageSize(int max_page_size) {
    std::lock_guard lock(mutex_);
    max_page_size_ = std::max(1, max_page_size);
  }

  std::vector<RecordedRequest> Requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  void ClearRequests() {
    std::lock_guard lock(mutex_);
    requests_.clear();
  }

  int MaxConcurrentRequests() const {
    std::lock_guard lock(mutex_);
    return max_in_flight_;
  }

 private:
  ServedResponse Handle(const ServedRequest& request) {
    RecordedRequest record;
    record.received_at = std::chrono::steady_clock::now();
    record.method = request.method;
    record.path = request.path;
    record.query = request.query;
    record.authorization = request.Header("authorization");
    record.accept = request.Header("accept");
    record.user_agent = request.Header("user-agent");
    const Route route = Classify(record.path);
    record.endpoint = route.endpoint;

    std::optional<Response> response;
    std::optional<Fault> fault;
    std::chrono::milliseconds delay{0};
    {
      std::lock_guard lock(mutex_);
      ++in_flight_;
      max_in_flight_ = std::max(max_in_flight_, in_flight_);
      if (record.authorization != "AccessKey " + access_key_) {
        response = ErrorResponse(401, "Unauthorized", "missing or invalid access key");
      } else if (record.method != "GET") {
        response = ErrorResponse(405, "MethodNotAllowed", "only GET is supported");
        response->headers.emplace_back("Allow", "GET");
      } else {
        fault = TakeFaultLocked(route.endpoint);
        if (fault == Fault::kSlow) delay = slow_delay_;
      }
    }

    if (!response) {
      if (delay.count() > 0) std::this_thread::sleep_for(delay);
      response = fault ? FaultResponse(*fault, route, record.query) : Answer(route, record.query);
    }

    {
      std::lock_guard lock(mutex_);
      record.status = response->status;
      record.answered_at = std::chrono::steady_clock::now();
      requests_.push_back(record);
      --in_flight_;
    }
    return ServedResponse{response->status, response->content_type, response->headers,
                          std::move(response->body)};
  }

  std::optional<Fault> TakeFaultLocked(const std::string& endpoint) {
    for (const std::string& key : {endpoint, std::string()}) {
      const auto it = faults_.find(key);
      if (it == faults_.end() || it->second.empty()) continue;
      const Fault fault = it->second.front();
      it->second.pop_front();
      return fault;
    }
    return std::nullopt;
  }

  Response FaultResponse(Fault fault, const Route& route, const std::string& query) {
    switch (fault) {
      case Fault::kTooManyRequests:
        return ErrorResponse(429, "TooManyRequests", "rate limit exceeded");
      case Fault::kTooManyRequestsRetryAfter: {
        Response response = ErrorResponse(429, "TooManyRequests", "rate limit exceeded");
        response.headers.emplace_back("Retry-After", "1");
        return response;
      }
      case Fault::kServerErrorHtml:
        return HtmlResponse(502, "502 Bad Gateway");
      case Fault::kServiceUnavailable:
        return ErrorResponse(503, "ServiceUnavailable", "service temporarily unavailable");
      case Fault::kTruncatedBody: {
        Response response = Answer(route, query);
        response.body.resize(response.body.size() / 2);
        return response;
      }
      case Fault::kMalformedBody:
        if (route.endpoint == "call_insights") return JsonResponse(200, {1, 2, 3});
        return JsonResponse(200, {{"results", "oops"}});
      case Fault::kHtmlOk:
        return HtmlResponse(200, "Sign in to continue");
      case Fault::kSlow:
        break;
      case Fault::kHugeNestedBody: {
        constexpr std::size_t kDepth = 30'000'000;
        Response huge;
        huge.body.reserve(2 * kDepth + 64);
        huge.body = "{\"results\":[{\"id\":\"x\",\"callFlow\":";
        huge.body.append(kDepth, '[');
        huge.body.append(kDepth, ']');
        huge.body += "}]}";
        return huge;
      }
    }
    return Answer(route, query);
  }

  Response Answer(const Route& route, const std::string& query) {
    if (route.endpoint == "list_calls") return ListCalls(route, query);
    if (route.endpoint == "call_insights") return CallInsights(route);
    if (route.endpoint == "get_call") return GetCallRecord(route);
    return ErrorResponse(404, "NotFound", "no such resource");
  }

  Response ListCalls(const Route& route, const std::string& query) {
    int limit = kDefaultPageLimit;
    if (const auto text = QueryParam(query, "limit")) {
      const auto parsed = ParseLimit(*text);
      if (!parsed || *parsed < 1 || *parsed > kMaxLimit) {
        return ErrorResponse(422, "InvalidParameters", "limit must be between 1 and 1000");
      }
      limit = *parsed;
    }
    std::optional<PageCursor> after;
    if (const auto token = QueryParam(query, "pageToken"); token && !token->empty()) {
      after = DecodeCursor(*token);
      if (!after) return ErrorResponse(422, "InvalidParameters", "invalid pageToken");
    }

    std::set<std::string> statuses;
    for (std::size_t i = 0;; ++i) {
      const auto status = QueryParam(query, "status", i);
      if (!status) break;
      statuses.insert(*status);
    }

    std::lock_guard lock(mutex_);
    const int page_size = std::min(limit, max_page_size_);
    std::vector<const FakeCall*> matching;
    for (const auto& [id, call] : calls_) {
      if (call.workspace_id != route.workspace_id || call.channel_id != route.channel_id) continue;
      if (!statuses.empty() && statuses.count(call.status) == 0) continue;
      if (after &&
          !ComesBefore(after->created_ms, after->id, ToUnixMillis(call.created_at), call.id)) {
        continue;
      }
      matching.push_back(&call);
    }
    std::sort(matching.begin(), matching.end(), [](const FakeCall* a, const FakeCall* b) {
      return ComesBefore(ToUnixMillis(a->created_at), a->id, ToUnixMillis(b->created_at), b->id);
    });

    nlohmann::json results = nlohmann::json::array();
    const std::size_t count = std::min(matching.size(), static_cast<std::size_t>(page_size));
    for (std::size_t i = 0; i < count; ++i) results.push_back(ListRecord(*matching[i]));
    nlohmann::json body = {{"results", std::move(results)}};
    if (matching.size() > count) {
      const FakeCall& last = *matching[count - 1];
      body["nextPageToken"] = EncodeCursor({ToUnixMillis(last.created_at), last.id});
    }
    Response response = JsonResponse(200, body);
    for (std::size_t i = 0; i < count; ++i) response = WithRaw(std::move(response), *matching[i]);
    return response;
  }

  Response GetCallRecord(const Route& route) {
    std::lock_guard lock(mutex_);
    const auto it = calls_.find(route.call_id);
    if (it == calls_.end() || it->second.workspace_id != route.workspace_id ||
        it->second.channel_id != route.channel_id) {
      return ErrorResponse(404, "NotFound", "call not found");
    }
    return WithRaw(JsonResponse(200, ListRecord(it->second)), it->second);
  }

  Response CallInsights(const Route& route) {
    std::lock_guard lock(mutex_);
    const auto it = calls_.find(route.call_id);
    if (it == calls_.end() || it->second.workspace_id != route.workspace_id ||
        it->second.channel_id != route.channel_id || !it->second.insights_ready) {
      return ErrorResponse(404, "NotFound", "call insights not found");
    }
    const FakeCall& call = it->second;
    if (!call.insights.is_null()) return WithRaw(JsonResponse(200, call.insights), call);
    return WithRaw(JsonResponse(200, CallFields(call)), call);
  }

  mutable std::mutex mutex_;
  std::string access_key_;
  std::map<std::string, FakeCall> calls_;  // by id
  std::map<std::string, std::deque<Fault>> faults_;
  std::chrono::milliseconds slow_delay_{2000};
  int max_page_size_ = kMaxLimit;
  std::vector<RecordedRequest> requests_;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
  int port_ = 0;
  std::unique_ptr<HttpListener> server_;  // last: destroyed first
};

FakeBirdApi::FakeBirdApi(std::string access_key)
    : impl_(std::make_unique<Impl>(std::move(access_key))) {}

FakeBirdApi::~FakeBirdApi() = default;

std::string FakeBirdApi::BaseUrl() const {
  return "http://127.0.0.1:" + std::to_string(impl_->Port());
}

int FakeBirdApi::Port() const { return impl_->Port(); }

void FakeBirdApi::UpsertCall(const FakeCall& call) { impl_->UpsertCall(call); }

std::optional<FakeCall> FakeBirdApi::GetCall(const std::string& id) const {
  return impl_->GetCall(id);
}

std::vector<FakeCall> FakeBirdApi::Calls() const { return impl_->Calls(); }

void FakeBirdApi::InjectFaults(const std::string& endpoint, Fault fault, int count) {
  impl_->InjectFaults(endpoint, fault, count);
}

int FakeBirdApi::PendingFaults() const { return impl_->PendingFaults(); }

void FakeBirdApi::SetSlowDelay(std::chrono::milliseconds delay) { impl_->SetSlowDelay(delay); }

void FakeBirdApi::SetAccessKey(std::string access_key) {
  impl_->SetAccessKey(std::move(access_key));
}

void FakeBirdApi::SetMaxPageSize(int max_page_size) { impl_->SetMaxPageSize(max_page_size); }

std::vector<RecordedRequest> FakeBirdApi::Requests() const { return impl_->Requests(); }

void FakeBirdApi::ClearRequests() { impl_->ClearRequests(); }

int FakeBirdApi::MaxConcurrentRequests() const { return impl_->MaxConcurrentRequests(); }

void AddEndedCalls(FakeBirdApi& fake, const std::string& channel, int count) {
  using std::chrono::minutes;
  using std::chrono::seconds;
  for (int i = 0; i < count; ++i) {
    FakeCall call;
    call.workspace_id = "ws-a";
    call.channel_id = channel;
    call.id = channel + "-call-" + std::to_string(i);
    call.status = "busy";
    call.created_at = Clock::now() - minutes(2) + seconds(i);
    call.ended_at = call.created_at + seconds(5);
    call.hangup_cause_code = 17;
    call.hangup_sip_code = "486";
    call.insights_ready = true;
    fake.UpsertCall(call);
  }
}

void WriteChannelsConfig(const std::string& path, const std::string& base_url,
                         const std::string& key_line,
                         const std::vector<std::pair<std::string, std::string>>& channels,
                         const std::string& extra) {
  std::ofstream out(path);
  out << "bird:\n  base_url: " << base_url << "\n  " << key_line
      << "\n  request_timeout: 1s\npoll:\n  interval: 200ms\n"
      << extra << "workspaces:\n  - id: ws-a\n    name: production\n    channels:\n";
  for (const auto& [id, name] : channels) {
    out << "      - id: " << id << "\n        name: " << name << "\n";
  }
}

}  // namespace bird_exporter::testing
