#include "sim/simulator.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <queue>
#include <random>
#include <set>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "server/http_listener.h"
#include "sim/scripted.h"

namespace bird_exporter::sim {
namespace {

using Clock = std::chrono::system_clock;

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(const std::string& in) {
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(kBase64[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(kBase64[((val << 8) >> (bits + 8)) & 0x3F]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

std::optional<std::string> Unbase64(const std::string& in) {
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == '=') break;
    const char* p = std::strchr(kBase64, c == ' ' ? '+' : c);
    if (p == nullptr || c == '\0') return std::nullopt;
    val = (val << 6) + static_cast<int>(p - kBase64);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

long long Millis(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string Number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.2f", v);
  return buffer;
}

std::multimap<std::string, std::string> QueryMap(std::string_view query) {
  std::multimap<std::string, std::string> params;
  const auto parsed = ParseQuery(query);
  if (!parsed) return params;
  for (const auto& [key, value] : *parsed) params.emplace(key, value);
  return params;
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 1;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

Response Error(int status, const std::string& code, const std::string& message) {
  return {
      status, "application/json", nlohmann::json{{"code", code}, {"message", message}}.dump(), {}};
}

// The keyset order of the lists: createdAt in ms, then id.
using Key = std::pair<long long, std::string_view>;

Key KeyOf(const SimCall& call) { return {Millis(call.created_at), call.id}; }

std::uint64_t SplitMix(std::uint64_t x) {
  std::uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A version-4-shaped uuid: random-looking groups from the indices, the indices in the last.
std::string IndexUuid(std::uint64_t workspace, std::uint64_t channel) {
  const std::uint64_t tail = (workspace << 24) | channel;
  const std::uint64_t h = SplitMix(SplitMix(0xb1d5e7ull ^ workspace) ^ channel);
  char id[40];
  std::snprintf(id, sizeof(id), "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(h >> 32),
                static_cast<unsigned>(h >> 16) & 0xFFFF, static_cast<unsigned>(h) & 0xFFF,
                static_cast<unsigned>(0x8000 | ((h >> 50) & 0x3FFF)),
                static_cast<unsigned long long>(tail & 0xFFFFFFFFFFFFull));
  return id;
}

enum class Endpoint { kListCalls, kGetCall, kCallInsights, kOther };

// parts: the path's segments after "workspaces".
Endpoint EndpointOf(const std::vector<std::string>& parts) {
  if (parts.size() < 4 || parts[2] != "channels") return Endpoint::kOther;
  if (parts.size() == 4) return parts[3] == "calls" ? Endpoint::kListCalls : Endpoint::kOther;
  if (parts[4] != "calls") return Endpoint::kOther;
  if (parts.size() == 5) return Endpoint::kListCalls;
  if (parts.size() == 6) return Endpoint::kGetCall;
  if (parts.size() == 7 && parts[6] == "insights") return Endpoint::kCallInsights;
  return Endpoint::kOther;
}

const char* EndpointName(const std::vector<std::string>& parts) {
  if (parts.empty() || parts[0] != "workspaces") return "other";
  switch (EndpointOf(parts)) {
    case Endpoint::kListCalls:
      return "list_calls";
    case Endpoint::kGetCall:
      return "get_call";
    case Endpoint::kCallInsights:
      return "call_insights";
    case Endpoint::kOther:
      break;
  }
  return "other";
}

// Digits only, at most 9 of them ("5x", " 5" and "+5" are no number); nullopt otherwise.
std::optional<int> ParseLimit(const std::string& text) {
  int value = 0;
  if (text.empty() || text.size() > 9) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

SimulatorSettings ScriptedSettings(std::string access_key, std::vector<SimWorkspace> workspaces) {
  SimulatorSettings settings;
  settings.access_key = std::move(access_key);
  settings.scenario = ScenarioByName("healthy");
  settings.workspaces = std::move(workspaces);
  settings.history = std::chrono::milliseconds(0);
  settings.generate_for = std::chrono::milliseconds(0);
  settings.max_gets_per_second = 0;
  settings.record_requests = true;
  return settings;
}

std::vector<SimWorkspace> DemoWorkspaces() {
  return {{"2d7c3f1e-5a4b-4c8d-9e0f-1a2b3c4d5e6f",
           {"9f1e2d3c-4b5a-4697-8870-a1b2c3d4e5f6", "4c5d6e7f-8091-4a2b-bc3d-e4f5a6b7c8d9"}},
          {"7e8f9a0b-1c2d-4e3f-a4b5-c6d7e8f9a0b1",
           {"b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e", "c3d4e5f6-a7b8-4c9d-8e0f-2a3b4c5d6e7f"}}};
}

std::vector<SimWorkspace> GeneratedWorkspaces(int workspaces, int channels) {
  std::vector<SimWorkspace> result;
  for (int w = 0; w < workspaces; ++w) {
    SimWorkspace workspace{IndexUuid(static_cast<std::uint64_t>(w), 0), {}};
    for (int c = 0; c < channels; ++c) {
      workspace.channel_ids.push_back(
          IndexUuid(static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(c) + 1));
    }
    result.push_back(std::move(workspace));
  }
  return result;
}

class Simulator::Impl {
 public:
  explicit Impl(SimulatorSettings settings)
      : settings_(std::move(settings)),
        generator_(settings_.seed, settings_.scenario),
        started_(settings_.clock()),
        faults_(settings_.seed ^ 0x5eedull) {
    for (const auto& ws : settings_.workspaces) {
      requests_[ws.id];
      for (const auto& ch : ws.channel_ids) {
        Channel& channel = channels_[ch];
        channel = Channel{};
        channel.id = ch;
        channel.workspace_id = ws.id;
        channel.next_created = started_ - settings_.history;
        channel.next_due = channel.next_created + generator_.InterArrival(ch, 0);
      }
    }
    for (auto& [id, channel] : channels_) {
      workspace_channels_[channel.workspace_id].push_back(&channel);
    }
    UpdateEarliestDue();
    access_key_ = settings_.access_key;
    max_page_size_ = std::max(1, settings_.max_page_size);
    server_ = std::make_unique<HttpListener>(settings_.listen_address,
                                             [this](const ServedRequest& r) { return Serve(r); });
  }

  // Stops serving before the rest of the simulator goes.
  ~Impl() { server_.reset(); }

  int Port() const { return server_->port(); }

  nlohmann::json Truth() {
    std::lock_guard lock(mutex_);
    const SystemTime now = settings_.clock();
    Advance(now);
    nlohmann::json by_status = nlohmann::json::object(), by_cause = nlohmann::json::object(),
                   by_channel = nlohmann::json::object(),
                   generated_by_channel = nlohmann::json::object(),
                   by_country = nlohmann::json::object(), by_provider = nlohmann::json::object(),
                   one_way = {{"in", 0}, {"out", 0}};
    int calls = 0, mos = 0, no_media = 0, pdd = 0, durations = 0, abandoned = 0;
    long long generated = 0, ended = 0;
    for (const auto& [channel_id, channel] : channels_) {
      const auto count = std::count_if(channel.calls.begin(), channel.calls.end(),
                                       [](const SimCall& call) { return !call.scripted; });
      generated += static_cast<long long>(count);
      generated_by_channel[channel_id] = count;
      ended += std::count_if(channel.calls.begin(), channel.calls.end(), [now](const SimCall& c) {
        return !c.scripted && c.created_at <= now && c.EndedAt(now);
      });
    }
    const bool quiet = settings_.generate_for.has_value() &&
                       now >= started_ + *settings_.generate_for &&
                       (!latest_insights_ready_ || now >= *latest_insights_ready_);
    for (const std::string& id : served_terminal_) {
      const SimCall* call = FindCall(id);
      if (call == nullptr || call->scripted || !call->InsightsReadyAt(now)) continue;
      ++calls;
      by_status[call->final_status] = by_status.value(call->final_status, 0) + 1;
      by_channel[call->channel_id] = by_channel.value(call->channel_id, 0) + 1;
      const std::string cause = std::to_string(call->hangup_cause_code);
      by_cause[cause] = by_cause.value(cause, 0) + 1;
      by_country[call->expected_country] = by_country.value(call->expected_country, 0) + 1;
      by_provider[call->provider] = by_provider.value(call->provider, 0) + 1;
      if (call->final_status == "cancelled" && call->hangup_source == "caller") ++abandoned;
      ++pdd;
      if (call->media) {
        ++durations;
        if (call->one_way_audio) {
          const char* missing = call->inbound_missing ? "in" : "out";
          one_way[missing] = one_way[missing].get<int>() + 1;
        }
        if (call->one_way_audio && call->inbound_missing) {
          ++no_media;
        } else {
          ++mos;
        }
      }
    }
    nlohmann::json requests = nlohmann::json::object();
    for (const auto& [workspace_id, stats] : requests_) {
      requests[workspace_id] = {{"total", stats.total},
                                {"list_calls", stats.list_calls},
                                {"get_call", stats.get_call},
                                {"call_insights", stats.call_insights},
                                {"rate_limited", stats.rate_limited},
                                {"max_in_any_second", stats.max_in_any_second}};
    }
    return {{"calls", calls},
            {"generated", generated},
            {"ended", ended},  // generated calls over by now, served or not
            {"calls_by_channel_generated", generated_by_channel},
            {"by_status", by_status},
            {"by_channel", by_channel},
            {"by_hangup_cause_code", by_cause},
            {"by_country", by_country},
            {"by_provider", by_provider},
            {"abandoned", abandoned},
            {"one_way_audio", one_way},
            {"mos_observations", mos},
            {"no_inbound_media", no_media},
            {"pdd_observations", pdd},
            {"duration_observations", durations},
            {"quiet", quiet},
            {"requests", requests},
            {"scenario", settings_.scenario.name}};
  }

  void UpsertCall(const ScriptedCall& scripted) {
    std::lock_guard lock(mutex_);
    Channel& channel = EnsureChannel(scripted.workspace_id, scripted.channel_id);
    if (auto it = call_index_.find(scripted.id); it != call_index_.end()) {
      Remove(it->second);
    }
    SimCall call;
    call.workspace_id = scripted.workspace_id;
    call.channel_id = scripted.channel_id;
    call.id = scripted.id;
    call.final_status = scripted.status;
    call.created_at = scripted.created_at;
    call.scripted = std::make_shared<const ScriptedCall>(scripted);
    Append(channel, std::move(call));
  }

  std::optional<ScriptedCall> GetCall(const std::string& id) const {
    std::lock_guard lock(mutex_);
    const SimCall* call = FindCall(id);
    if (call == nullptr || !call->scripted) return std::nullopt;
    return *call->scripted;
  }

  std::vector<ScriptedCall> Calls() const {
    std::lock_guard lock(mutex_);
    std::vector<ScriptedCall> out;
    for (const auto& [id, channel] : channels_) {
      for (const SimCall& call : channel.calls) {
        if (call.scripted) out.push_back(*call.scripted);
      }
    }
    return out;
  }

  void InjectFaults(const std::string& endpoint, Fault fault, int count) {
    std::lock_guard lock(mutex_);
    auto& queue = injected_[endpoint];
    for (int i = 0; i < count; ++i) queue.push_back(fault);
  }

  int PendingFaults() const {
    std::lock_guard lock(mutex_);
    std::size_t total = 0;
    for (const auto& [endpoint, queue] : injected_) total += queue.size();
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
    return recorded_;
  }

  void ClearRequests() {
    std::lock_guard lock(mutex_);
    recorded_.clear();
  }

  int MaxConcurrentRequests() const {
    std::lock_guard lock(mutex_);
    return max_in_flight_;
  }

 private:
  struct Channel {
    std::string id;
    std::string workspace_id;
    // Ascending keyset order (createdAt ms, id), which is the creation order: a channel's calls
    // are at least 1 ms apart, and calls of the same millisecond would be ordered by id.
    std::vector<SimCall> calls;
    std::uint64_t next_sequence = 0;
    SystemTime next_created;  // creation time of the last call (the history start before it)
    SystemTime next_due;      // creation time of call number next_sequence
  };

  struct CallRef {
    Channel* channel;
    std::size_t index;
  };

  struct RequestStats {
    long long total = 0, list_calls = 0, get_call = 0, call_insights = 0, rate_limited = 0;
    long long max_in_any_second = 0;
    std::deque<std::chrono::steady_clock::time_point> arrivals;  // sorted, 5 s deep
  };

  void UpdateEarliestDue() {
    earliest_due_.reset();
    for (const auto& [id, channel] : channels_) {
      if (!earliest_due_ || channel.next_due < *earliest_due_) earliest_due_ = channel.next_due;
    }
  }

  // Creates every call whose creation time has come (and, for the wind-down, no later ones).
  void Advance(SystemTime now) {
    SystemTime until = now;
    if (settings_.generate_for) until = std::min(until, started_ + *settings_.generate_for);
    if (!earliest_due_ || *earliest_due_ > until) return;
    for (auto& [channel_id, channel] : channels_) {
      while (channel.next_due <= until) {
        Append(channel, generator_.Generate(channel.workspace_id, channel_id, channel.next_sequence,
                                            channel.next_due));
        channel.next_created = channel.next_due;
        ++channel.next_sequence;
        channel.next_due =
            channel.next_created + generator_.InterArrival(channel_id, channel.next_sequence);
      }
    }
    UpdateEarliestDue();
  }

  // Adds a call in keyset order (at the end, unless it shares its millisecond with calls of a
  // greater id) and indexes it by id.
  void Append(Channel& channel, SimCall call) {
    if (call.scripted) {
      // No part of the generated traffic's wind-down.
    } else if (!latest_insights_ready_ || call.insights_ready_at > *latest_insights_ready_) {
      latest_insights_ready_ = call.insights_ready_at;
    }
    std::vector<SimCall>& calls = channel.calls;
    std::size_t position = calls.size();
    while (position > 0 && KeyOf(call) < KeyOf(calls[position - 1])) --position;
    calls.insert(calls.begin() + static_cast<std::ptrdiff_t>(position), std::move(call));
    for (std::size_t i = position; i < calls.size(); ++i) {
      call_index_.insert_or_assign(calls[i].id, CallRef{&channel, i});
    }
  }

  // Takes a call out of its channel, keeping the index of the calls after it.
  void Remove(CallRef ref) {
    std::vector<SimCall>& calls = ref.channel->calls;
    call_index_.erase(calls[ref.index].id);
    calls.erase(calls.begin() + static_cast<std::ptrdiff_t>(ref.index));
    for (std::size_t i = ref.index; i < calls.size(); ++i) call_index_[calls[i].id].index = i;
  }

  // The channel, created without traffic of its own when it does not exist yet.
  Channel& EnsureChannel(const std::string& workspace_id, const std::string& channel_id) {
    auto [it, created] = channels_.try_emplace(channel_id);
    Channel& channel = it->second;
    if (!created && channel.workspace_id != workspace_id) {
      throw std::invalid_argument("channel " + channel_id + " is in workspace " +
                                  channel.workspace_id + ", not " + workspace_id);
    }
    if (created) {
      channel.id = channel_id;
      channel.workspace_id = workspace_id;
      channel.next_created = started_;
      channel.next_due = SystemTime::max();
      workspace_channels_[workspace_id].push_back(&channel);
      requests_[workspace_id];
    }
    return channel;
  }

  nlohmann::json Party(const std::string& number, const std::string& country) const {
    nlohmann::json party = {{"type", "pstn"}, {"number", number}};
    if (country != "unknown") {
      party["countryIsoCode"] = country;
      party["pstnNumberType"] = "mobile";
    }
    return {{"number", party}};
  }

  static std::string StatusOf(const SimCall& call, SystemTime now) {
    return call.scripted ? call.scripted->status : call.StatusAt(now);
  }

  nlohmann::json Render(const SimCall& call, SystemTime now, bool insights) const {
    const std::string status = call.StatusAt(now);
    const bool ended = call.EndedAt(now);
    const std::string ours = "+3197010" + call.channel_id.substr(0, 6);
    const std::string& theirs = call.remote_party;
    const bool outgoing = call.direction == "outgoing";
    nlohmann::json j = {{"id", call.id},
                        {"channelId", call.channel_id},
                        {"from", outgoing ? ours : theirs},
                        {"to", outgoing ? theirs : ours},
                        {"direction", call.direction},
                        {"status", status},
                        {"type", call.type},
                        {"createdAt", FormatRfc3339(call.created_at)},
                        {"updatedAt", FormatRfc3339(ended ? call.ended_at : now)}};
    if (!insights) {
      const std::string& country = call.expected_country;
      j["originator"] = Party(outgoing ? ours : theirs, outgoing ? "NL" : country);
      j["receiver"] = Party(outgoing ? theirs : ours, outgoing ? country : "NL");
    }
    if (now >= call.ringing_at) j["ringingAt"] = FormatRfc3339(call.ringing_at);
    if (call.answered_at && now >= *call.answered_at) {
      j["answeredAt"] = FormatRfc3339(*call.answered_at);
    }
    if (!ended) return j;
    j["endedAt"] = FormatRfc3339(call.ended_at);
    j["duration"] = call.DurationSeconds();
    j["hangupCauseCode"] = call.hangup_cause_code;
    j["hangupSource"] = call.hangup_source;
    j["hangupSipCode"] = call.hangup_sip_code;
    if (!insights) {
      // The list's quality block carries numbers as strings, as in Bird's own example.
      nlohmann::json quality = {{"pdd", Number(call.pdd_seconds)}};
      if (call.media) quality["mos"] = Number(call.media->mos);
      j["qualityInsights"] = quality;
      j["sipInsights"] = {{"hangupSipCode", call.hangup_sip_code}};
      return j;
    }
    j["signallingMetrics"] = {{"pdd", call.pdd_seconds},
                              {"edgeRegion", call.edge_region},
                              {"providerName", call.provider}};
    if (call.media) {
      const SimMedia& m = *call.media;
      j["mediaMetrics"] = {{"mos", m.mos},
                           {"qualityScore", m.quality_score},
                           {"inBytes", m.in_bytes},
                           {"outBytes", m.out_bytes},
                           {"inPacketCount", m.in_packets},
                           {"outPacketCount", m.out_packets},
                           {"inMediaPacketCount", m.in_media_packets},
                           {"outMediaPacketCount", m.out_media_packets},
                           {"inDtmfPacketCount", m.in_dtmf_packets},
                           {"outDtmfPacketCount", m.out_dtmf_packets},
                           {"jitterMinVar", m.jitter_min_var},
                           {"jitterMaxVar", m.jitter_max_var},
                           {"jitterLossRate", m.loss_rate},
                           {"jitterBurstRate", m.burst_rate},
                           {"meanInterval", m.mean_interval_ms},
                           {"flawTotal", m.flaws},
                           {"readCodecName", m.codec},
                           {"readCodecRate", m.rate},
                           {"writeCodecName", m.codec},
                           {"writeCodecRate", m.rate},
                           {"dtmfType", m.in_dtmf_packets > 0 ? "rfc2833" : "none"}};
    }
    return j;
  }

  // Lists calls newest first with Bird's keyset cursor: base64 of [createdAt ms, "id"]. Each
  // channel's candidates are a range of its calls found by binary search (createdAt bounds and
  // the cursor); the ranges are merged newest first and the walk stops once the page is full
  // and one more match tells whether a next page exists.
  // What a list request asks for; the list endpoints' query parameters.
  struct ListRequest {
    int limit = 10;
    std::set<std::string, std::less<>> statuses;
    std::optional<SystemTime> start_at, end_at;
    std::optional<std::pair<long long, std::string>> after;  // the cursor: createdAt ms, id
  };
  // [begin, end) of a channel's calls; the walk takes calls from the end.
  struct Range {
    const std::vector<SimCall>* calls;
    std::size_t begin, end;
  };

  // Bird's 422 for a bad limit or page token, else nullopt.
  static std::optional<Response> ParseListRequest(
      const std::multimap<std::string, std::string>& query, ListRequest& request) {
    if (auto it = query.find("limit"); it != query.end()) {
      request.limit = ParseLimit(it->second).value_or(0);
      if (request.limit < 1 || request.limit > 1000) {
        return Error(422, "InvalidParameters", "limit must be between 1 and 1000");
      }
    }
    for (auto [it, end] = query.equal_range("status"); it != end; ++it) {
      request.statuses.insert(it->second);
    }
    if (auto it = query.find("startAt"); it != query.end()) {
      request.start_at = ParseRfc3339(it->second);
    }
    if (auto it = query.find("endAt"); it != query.end()) request.end_at = ParseRfc3339(it->second);
    if (auto it = query.find("pageToken"); it != query.end() && !it->second.empty()) {
      const auto decoded = Unbase64(it->second);
      const auto token =
          decoded ? nlohmann::json::parse(*decoded, nullptr, false) : nlohmann::json();
      if (!token.is_array() || token.size() != 2 || !token[0].is_number_integer() ||
          !token[1].is_string()) {
        return Error(422, "InvalidParameters", "invalid pageToken");
      }
      request.after = std::make_pair(token[0].get<long long>(), token[1].get<std::string>());
    }
    return std::nullopt;
  }

  // The calls of `calls` (sorted oldest first) within the request's createdAt bounds and before
  // its cursor, by binary search. Generated calls exist up to the present only (the walk skips
  // any later one, should the clock go back); a scripted call is served whatever its date.
  static Range CandidateRange(const std::vector<SimCall>& calls, const ListRequest& request) {
    auto index = [&calls](std::vector<SimCall>::const_iterator it) {
      return static_cast<std::size_t>(it - calls.begin());
    };
    const long long newest_ms =
        request.end_at ? Millis(*request.end_at) : std::numeric_limits<long long>::max();
    std::size_t begin = 0;
    if (request.start_at) {
      const long long oldest_ms = Millis(*request.start_at);
      begin = index(std::partition_point(calls.begin(), calls.end(), [oldest_ms](const SimCall& c) {
        return Millis(c.created_at) < oldest_ms;
      }));
    }
    std::size_t end =
        index(std::partition_point(calls.begin(), calls.end(), [newest_ms](const SimCall& c) {
          return Millis(c.created_at) <= newest_ms;
        }));
    if (request.after) {
      const Key cursor(request.after->first, request.after->second);
      end = std::min(
          end, index(std::partition_point(calls.begin(), calls.end(), [&cursor](const SimCall& c) {
            return KeyOf(c) < cursor;
          })));
    }
    return {&calls, begin, end};
  }

  Response List(const std::vector<const Channel*>& channels,
                const std::multimap<std::string, std::string>& query, SystemTime now) {
    ListRequest request;
    if (auto error = ParseListRequest(query, request)) return *error;
    const int limit = std::min(request.limit, max_page_size_);
    const auto& statuses = request.statuses;
    const auto& start_at = request.start_at;
    const auto& end_at = request.end_at;
    std::vector<Range> ranges;
    for (const Channel* channel : channels) {
      const Range range = CandidateRange(channel->calls, request);
      if (range.begin < range.end) ranges.push_back(range);
    }
    // The millisecond bounds above take in a little more than the exact instants allow.
    auto matches = [&](const SimCall& call) {
      if (!call.scripted && call.created_at > now) return false;
      if (start_at && call.created_at < *start_at) return false;
      if (end_at && call.created_at > *end_at) return false;
      return statuses.empty() || statuses.count(StatusOf(call, now)) > 0;
    };
    auto newest_of = [&ranges](std::size_t r) -> const SimCall& {
      return (*ranges[r].calls)[ranges[r].end - 1];
    };
    auto older = [&newest_of](std::size_t a, std::size_t b) {
      return KeyOf(newest_of(a)) < KeyOf(newest_of(b));
    };
    std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(older)> heads(older);
    for (std::size_t r = 0; r < ranges.size(); ++r) heads.push(r);
    std::vector<const SimCall*> page;
    bool more = false;
    while (!heads.empty()) {
      const std::size_t r = heads.top();
      heads.pop();
      const SimCall& call = newest_of(r);
      if (--ranges[r].end > ranges[r].begin) heads.push(r);
      if (!matches(call)) continue;
      if (static_cast<int>(page.size()) == limit) {
        more = true;
        break;
      }
      page.push_back(&call);
    }

    nlohmann::json results = nlohmann::json::array();
    for (const SimCall* call : page) {
      if (call->scripted) {
        results.push_back(ScriptedRecord(*call->scripted));
        continue;
      }
      results.push_back(Render(*call, now, false));
      if (call->EndedAt(now)) served_terminal_.insert(call->id);
    }
    nlohmann::json body = {{"results", results}};
    if (more) {
      const SimCall* last = page.back();
      body["nextPageToken"] =
          Base64(nlohmann::json::array({Millis(last->created_at), last->id}).dump());
    }
    std::string text = body.dump();
    for (const SimCall* call : page) {
      if (call->scripted) text = WithRaw(std::move(text), *call->scripted);
    }
    return {200, "application/json", std::move(text), {}};
  }

  const SimCall* FindCall(const std::string& call_id) const {
    auto it = call_index_.find(call_id);
    if (it == call_index_.end()) return nullptr;
    return &it->second.channel->calls[it->second.index];
  }

  const SimCall* FindCall(const std::string& channel_id, const std::string& call_id) const {
    auto it = call_index_.find(call_id);
    if (it == call_index_.end() || it->second.channel->id != channel_id) return nullptr;
    return &it->second.channel->calls[it->second.index];
  }

  using SteadyTime = std::chrono::steady_clock::time_point;

  // Requests are timed when they arrive, before they wait for the simulator's lock (a long page
  // being built holds it), so a few can be taken out of arrival order: `times` is kept sorted
  // and five seconds deep. Returns where `arrived` went.
  static std::deque<SteadyTime>::iterator InsertArrival(std::deque<SteadyTime>& times,
                                                        SteadyTime arrived) {
    while (!times.empty() && arrived - times.front() >= std::chrono::seconds(5)) times.pop_front();
    return times.insert(std::upper_bound(times.begin(), times.end(), arrived), arrived);
  }

  // The most requests of `times` in any second that ends at `arrived` or at a later request.
  static long long BusiestSecondFrom(const std::deque<SteadyTime>& times, SteadyTime arrived) {
    long long most = 0;
    for (auto it = std::lower_bound(times.begin(), times.end(), arrived); it != times.end(); ++it) {
      most = std::max(most, InSecondEndingAt(times, *it));
    }
    return most;
  }

  // How many of `times` lie in the second that ends at `end`, (end - 1 s, end].
  static long long InSecondEndingAt(const std::deque<SteadyTime>& times, SteadyTime end) {
    const auto first = std::upper_bound(times.begin(), times.end(), end - std::chrono::seconds(1));
    const auto last = std::upper_bound(times.begin(), times.end(), end);
    return last > first ? last - first : 0;
  }

  // Bird limits GETs per workspace; a 429 is "not processed" and does not use the budget.
  bool OverRateLimit(const std::string& workspace_id, SteadyTime arrived) {
    auto& times = request_times_[workspace_id];
    const auto taken = InsertArrival(times, arrived);
    if (BusiestSecondFrom(times, arrived) <= settings_.max_gets_per_second) return false;
    times.erase(taken);
    return true;
  }

  // Counts an answered request to a workspace (by endpoint) in the truth, at its arrival.
  RequestStats& CountRequest(const std::string& workspace_id, Endpoint endpoint,
                             SteadyTime arrived) {
    RequestStats& stats = requests_[workspace_id];
    ++stats.total;
    if (endpoint == Endpoint::kListCalls) ++stats.list_calls;
    if (endpoint == Endpoint::kGetCall) ++stats.get_call;
    if (endpoint == Endpoint::kCallInsights) ++stats.call_insights;
    auto& times = stats.arrivals;
    InsertArrival(times, arrived);
    // Every second ending at this arrival or a later one now holds it.
    stats.max_in_any_second = std::max(stats.max_in_any_second, BusiestSecondFrom(times, arrived));
    return stats;
  }

  // Records the request (when asked to) around the answer.
  ServedResponse Serve(const ServedRequest& request) {
    const bool recorded = settings_.record_requests && request.path.rfind("/_sim/", 0) != 0;
    RecordedRequest record;
    record.received_at = settings_.steady_clock();
    {
      std::lock_guard lock(mutex_);
      max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
    }
    Response response = request.method == "GET"
                            ? Handle(request, record.received_at)
                            : Error(405, "MethodNotAllowed", "only GET is supported");
    if (request.method != "GET") response.headers.emplace_back("Allow", "GET");
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
      if (recorded) {
        record.method = request.method;
        record.path = request.path;
        record.query = request.query;
        record.authorization = request.Header("authorization");
        record.accept = request.Header("accept");
        record.user_agent = request.Header("user-agent");
        record.endpoint = EndpointName(SplitPath(request.path.empty() ? "/" : request.path));
        record.status = response.status;
        record.answered_at = settings_.steady_clock();
        recorded_.push_back(std::move(record));
      }
    }
    return ServedResponse{response.status, response.content_type, response.headers,
                          std::move(response.body)};
  }

  // What admission decided besides a refusal: wait first, or cut the real answer in half.
  struct Admission {
    std::optional<Response> answer;  // instead of the real one
    std::chrono::milliseconds delay{0};
    bool truncate = false;
    // An injected fault's answer, built once the lock is released (one is 60 MB).
    std::optional<Fault> fault{};
    std::string endpoint{};
  };

  Response Handle(const ServedRequest& request, SteadyTime arrived) {
    const std::string& path = request.path.empty() ? std::string("/") : request.path;
    const auto query = QueryMap(request.query);
    if (path == "/_sim/truth") return {200, "application/json", Truth().dump(), {}};
    if (!Authorized(request.Header("authorization"))) {
      return Error(401, "Unauthorized", "the access key is missing or invalid");
    }
    const auto parts = SplitPath(path);
    Admission admission = Admit(parts, arrived);
    if (admission.answer) return std::move(*admission.answer);
    if (admission.fault) {
      FaultAnswer answer = AnswerOf(*admission.fault, admission.endpoint);
      return {answer.status, std::move(answer.content_type), std::move(answer.body),
              std::move(answer.headers)};
    }
    if (admission.delay.count() > 0) std::this_thread::sleep_for(admission.delay);
    Response response = Route(parts, query);
    if (admission.truncate) response.body.resize(response.body.size() / 2);
    return response;
  }

  bool Authorized(const std::string& authorization) const {
    std::lock_guard lock(mutex_);
    return authorization == "AccessKey " + access_key_;
  }

  // Counts the request and plays the faults: one a test injected, else the scenario's (an
  // answer instead of the real one: 404 for no API path, 429, an HTML 502, a truncated body;
  // or a delay).
  Admission Admit(const std::vector<std::string>& parts, SteadyTime arrived) {
    const bool workspace_path = parts.size() >= 2 && parts[0] == "workspaces" && !parts[1].empty();
    std::lock_guard lock(mutex_);
    RequestStats* stats =
        workspace_path ? &CountRequest(parts[1], EndpointOf(parts), arrived) : nullptr;
    // workspaces/{ws}/channels/{ch}/calls[/{id}[/insights]] or workspaces/{ws}/channels/calls
    if (stats == nullptr || parts.size() < 4 || parts[2] != "channels") {
      return {Error(404, "NotFound", "the requested resource does not exist")};
    }
    if (settings_.max_gets_per_second > 0 && OverRateLimit(parts[1], arrived)) {
      ++stats->rate_limited;
      return {Response{
          429,
          "application/json",
          nlohmann::json{{"code", "TooManyRequests"}, {"message", "rate limit exceeded"}}.dump(),
          {{"Retry-After", "1"}}}};
    }
    const std::string endpoint = EndpointName(parts);
    if (auto fault = TakeInjectedFault(endpoint)) return Injected(*fault, endpoint, *stats);
    return ScenarioFault(*stats);
  }

  std::optional<Fault> TakeInjectedFault(const std::string& endpoint) {
    for (const std::string& key : {endpoint, std::string()}) {
      const auto it = injected_.find(key);
      if (it == injected_.end() || it->second.empty()) continue;
      const Fault fault = it->second.front();
      it->second.pop_front();
      return fault;
    }
    return std::nullopt;
  }

  Admission Injected(Fault fault, const std::string& endpoint, RequestStats& stats) {
    if (fault == Fault::kSlow) return {std::nullopt, slow_delay_};
    if (fault == Fault::kTruncatedBody) return {std::nullopt, {}, true};
    if (fault == Fault::kTooManyRequests || fault == Fault::kTooManyRequestsRetryAfter) {
      ++stats.rate_limited;
    }
    return {std::nullopt, {}, false, fault, endpoint};
  }

  Admission ScenarioFault(RequestStats& stats) {
    const Scenario& s = settings_.scenario;
    const double draw = std::uniform_real_distribution<double>(0, 1)(faults_);
    if (draw < s.rate_429) {
      ++stats.rate_limited;
      return {Response{429,
                       "application/json",
                       nlohmann::json{{"code", "TooManyRequests"}, {"message", "slow down"}}.dump(),
                       {}}};
    }
    if (draw < s.rate_429 + s.rate_5xx_html) {
      return {Response{
          502,
          "text/html",
          "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad "
          "Gateway</h1></body></html>",
          {}}};
    }
    if (draw < s.rate_429 + s.rate_5xx_html + s.rate_slow) {
      return {std::nullopt,
              std::chrono::milliseconds(static_cast<long long>(s.slow_seconds * 1000))};
    }
    if (draw < s.rate_429 + s.rate_5xx_html + s.rate_slow + s.rate_malformed) {
      return {Response{200, "application/json", "{\"results\": [{\"id\": \"trunc", {}}};
    }
    return {};
  }

  // The real answer.
  Response Route(const std::vector<std::string>& parts,
                 const std::multimap<std::string, std::string>& query) {
    const std::string& ws = parts[1];
    std::lock_guard lock(mutex_);
    const SystemTime now = settings_.clock();
    Advance(now);
    if (parts.size() == 4 && parts[3] == "calls") {  // workspace call log
      std::vector<const Channel*> selected;
      std::set<std::string> wanted;
      for (auto [it, end] = query.equal_range("channelId"); it != end; ++it)
        wanted.insert(it->second);
      if (auto it = workspace_channels_.find(ws); it != workspace_channels_.end()) {
        for (const Channel* channel : it->second) {
          if (wanted.empty() || wanted.count(channel->id)) selected.push_back(channel);
        }
      }
      return List(selected, query, now);
    }
    const std::string& ch = parts[3];
    auto channel = channels_.find(ch);
    if (channel == channels_.end() || channel->second.workspace_id != ws || parts.size() < 5 ||
        parts[4] != "calls") {
      return Error(404, "NotFound", "the requested resource does not exist: channel not found");
    }
    if (parts.size() == 5) return List({&channel->second}, query, now);
    const SimCall* call = FindCall(ch, parts[5]);
    if (call == nullptr || (!call->scripted && call->created_at > now)) {
      return Error(404, "NotFound", "the requested resource does not exist: call not found");
    }
    if (parts.size() == 6) return CallRecord(*call, now);
    if (parts.size() == 7 && parts[6] == "insights") return Insights(*call, now);
    return Error(404, "NotFound", "the requested resource does not exist");
  }

  Response CallRecord(const SimCall& call, SystemTime now) {
    if (call.scripted) {
      return {200,
              "application/json",
              WithRaw(ScriptedRecord(*call.scripted).dump(), *call.scripted),
              {}};
    }
    if (call.EndedAt(now)) served_terminal_.insert(call.id);
    return {200, "application/json", Render(call, now, false).dump(), {}};
  }

  Response Insights(const SimCall& call, SystemTime now) {
    const bool ready = call.scripted ? call.scripted->insights_ready
                                     : call.EndedAt(now) && call.InsightsReadyAt(now);
    if (!ready) {
      return Error(404, "NotFound", "the requested resource does not exist: insights not found");
    }
    if (call.scripted) {
      return {200,
              "application/json",
              WithRaw(ScriptedInsights(*call.scripted).dump(), *call.scripted),
              {}};
    }
    served_terminal_.insert(call.id);
    return {200, "application/json", Render(call, now, true).dump(), {}};
  }

  SimulatorSettings settings_;
  CallGenerator generator_;
  SystemTime started_;
  mutable std::mutex mutex_;
  std::map<std::string, Channel> channels_;
  std::map<std::string, std::vector<const Channel*>> workspace_channels_;
  std::unordered_map<std::string, CallRef> call_index_;
  std::optional<SystemTime> earliest_due_;           // the soonest next_due of any channel
  std::optional<SystemTime> latest_insights_ready_;  // of every call created so far
  std::unordered_set<std::string> served_terminal_;
  std::map<std::string, RequestStats> requests_;
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> request_times_;
  std::mt19937_64 faults_;
  std::string access_key_;  // settings_.access_key until rotated
  int max_page_size_ = 1000;
  std::map<std::string, std::deque<Fault>> injected_;  // by endpoint; "" for any
  std::chrono::milliseconds slow_delay_{2000};
  std::vector<RecordedRequest> recorded_;
  int in_flight_ = 0, max_in_flight_ = 0;
  std::unique_ptr<HttpListener> server_;  // last: destroyed first
};

Simulator::Simulator(SimulatorSettings settings)
    : impl_(std::make_unique<Impl>(std::move(settings))) {}

Simulator::~Simulator() = default;

std::string Simulator::BaseUrl() const { return "http://127.0.0.1:" + std::to_string(Port()); }

int Simulator::Port() const { return impl_->Port(); }

nlohmann::json Simulator::Truth() const { return impl_->Truth(); }

void Simulator::UpsertCall(const ScriptedCall& call) { impl_->UpsertCall(call); }

std::optional<ScriptedCall> Simulator::GetCall(const std::string& id) const {
  return impl_->GetCall(id);
}

std::vector<ScriptedCall> Simulator::Calls() const { return impl_->Calls(); }

void Simulator::InjectFaults(const std::string& endpoint, Fault fault, int count) {
  impl_->InjectFaults(endpoint, fault, count);
}

int Simulator::PendingFaults() const { return impl_->PendingFaults(); }

void Simulator::SetSlowDelay(std::chrono::milliseconds delay) { impl_->SetSlowDelay(delay); }

void Simulator::SetAccessKey(std::string access_key) { impl_->SetAccessKey(std::move(access_key)); }

void Simulator::SetMaxPageSize(int max_page_size) { impl_->SetMaxPageSize(max_page_size); }

std::vector<RecordedRequest> Simulator::Requests() const { return impl_->Requests(); }

void Simulator::ClearRequests() { impl_->ClearRequests(); }

int Simulator::MaxConcurrentRequests() const { return impl_->MaxConcurrentRequests(); }

}  // namespace bird_exporter::sim
