#include "sim/simulator.h"

#include <CivetServer.h>
#include <civetweb.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

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

std::string UrlDecode(const std::string& s) {
  std::string out(s.size() + 1, '\0');
  const int n = mg_url_decode(s.c_str(), static_cast<int>(s.size()), out.data(),
                              static_cast<int>(out.size()), 1);
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

std::multimap<std::string, std::string> ParseQuery(const char* query) {
  std::multimap<std::string, std::string> params;
  if (query == nullptr) return params;
  std::string q(query);
  std::size_t start = 0;
  while (start <= q.size()) {
    const std::size_t end = std::min(q.find('&', start), q.size());
    const std::string pair = q.substr(start, end - start);
    const std::size_t eq = pair.find('=');
    if (!pair.empty()) {
      params.emplace(UrlDecode(pair.substr(0, eq)),
                     eq == std::string::npos ? "" : UrlDecode(pair.substr(eq + 1)));
    }
    start = end + 1;
  }
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
  return {status, "application/json", nlohmann::json{{"code", code}, {"message", message}}.dump(), {}};
}

}  // namespace

std::vector<SimWorkspace> DemoWorkspaces() {
  return {{"2d7c3f1e-5a4b-4c8d-9e0f-1a2b3c4d5e6f",
           {"9f1e2d3c-4b5a-4697-8870-a1b2c3d4e5f6", "4c5d6e7f-8091-4a2b-bc3d-e4f5a6b7c8d9"}},
          {"7e8f9a0b-1c2d-4e3f-a4b5-c6d7e8f9a0b1",
           {"b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e", "c3d4e5f6-a7b8-4c9d-8e0f-2a3b4c5d6e7f"}}};
}

class Simulator::Impl : public CivetHandler {
 public:
  explicit Impl(SimulatorSettings settings)
      : settings_(std::move(settings)),
        generator_(settings_.seed, settings_.scenario),
        started_(Clock::now()),
        faults_(settings_.seed ^ 0x5eedull) {
    for (const auto& ws : settings_.workspaces) {
      for (const auto& ch : ws.channel_ids) {
        channels_[ch] = Channel{ws.id, {}, 0, started_ - settings_.history};
      }
    }
    const std::vector<std::string> options = {"listening_ports", settings_.listen_address,
                                              "num_threads", "16", "enable_keep_alive", "yes"};
    server_ = std::make_unique<CivetServer>(options);
    server_->addHandler("/", this);
  }

  ~Impl() override { server_->close(); }

  int Port() const {
    mg_server_port ports[4];
    const int n = mg_get_server_ports(server_->getContext(), 4, ports);
    return n > 0 ? ports[0].port : 0;
  }

  bool handleGet(CivetServer*, mg_connection* conn) override {
    const mg_request_info* info = mg_get_request_info(conn);
    Response response = Handle(conn, info);
    std::string headers;
    for (const auto& [name, value] : response.headers) headers += name + ": " + value + "\r\n";
    mg_printf(conn, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
              response.status, mg_get_response_code_text(conn, response.status),
              response.content_type.c_str(), response.body.size(), headers.c_str());
    mg_write(conn, response.body.data(), response.body.size());
    return true;
  }

  nlohmann::json Truth() {
    std::lock_guard lock(mutex_);
    const SystemTime now = Clock::now();
    Advance(now);
    nlohmann::json by_status = nlohmann::json::object(), by_cause = nlohmann::json::object(),
                   by_channel = nlohmann::json::object();
    int calls = 0, mos = 0, no_media = 0, pdd = 0, durations = 0, generated = 0;
    bool quiet = settings_.generate_for.has_value() &&
                 now >= started_ + *settings_.generate_for;
    for (const auto& [channel_id, channel] : channels_) {
      for (const SimCall& call : channel.calls) {
        ++generated;
        if (!call.InsightsReadyAt(now)) quiet = false;
        if (!call.InsightsReadyAt(now) || served_terminal_.count(call.id) == 0) continue;
        ++calls;
        by_status[call.final_status] = by_status.value(call.final_status, 0) + 1;
        by_channel[channel_id] = by_channel.value(channel_id, 0) + 1;
        const std::string cause = std::to_string(call.hangup_cause_code);
        by_cause[cause] = by_cause.value(cause, 0) + 1;
        ++pdd;
        if (call.media) {
          ++durations;
          if (call.one_way_audio) {
            ++no_media;
          } else {
            ++mos;
          }
        }
      }
    }
    return {{"calls", calls},
            {"generated", generated},
            {"by_status", by_status},
            {"by_channel", by_channel},
            {"by_hangup_cause_code", by_cause},
            {"mos_observations", mos},
            {"no_inbound_media", no_media},
            {"pdd_observations", pdd},
            {"duration_observations", durations},
            {"quiet", quiet},
            {"scenario", settings_.scenario.name}};
  }

 private:
  struct Channel {
    std::string workspace_id;
    std::vector<SimCall> calls;  // ascending creation
    std::uint64_t next_sequence = 0;
    SystemTime next_created;
  };

  // Creates every call whose creation time has come (and, for the wind-down, no later ones).
  void Advance(SystemTime now) {
    SystemTime until = now;
    if (settings_.generate_for) until = std::min(until, started_ + *settings_.generate_for);
    for (auto& [channel_id, channel] : channels_) {
      while (true) {
        const SystemTime created =
            channel.next_created + generator_.InterArrival(channel_id, channel.next_sequence);
        if (created > until) break;
        channel.calls.push_back(
            generator_.Generate(channel.workspace_id, channel_id, channel.next_sequence, created));
        channel.next_created = created;
        ++channel.next_sequence;
      }
    }
  }

  nlohmann::json Party(const std::string& number, const std::string& country) const {
    return {{"number", {{"type", "pstn"}, {"number", number}, {"countryIsoCode", country},
                        {"pstnNumberType", "mobile"}}}};
  }

  nlohmann::json Render(const SimCall& call, SystemTime now, bool insights) const {
    const std::string status = call.StatusAt(now);
    const bool ended = call.EndedAt(now);
    const std::string ours = "+3197010" + call.channel_id.substr(0, 6);
    const std::string theirs = "+31612" + call.id.substr(0, 6);
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
      j["originator"] = Party(outgoing ? ours : theirs, outgoing ? "NL" : call.country);
      j["receiver"] = Party(outgoing ? theirs : ours, outgoing ? call.country : "NL");
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
    j["signallingMetrics"] = {{"pdd", call.pdd_seconds}, {"edgeRegion", "eu-west-1"},
                              {"providerName", "sim-carrier"}};
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

  // Lists calls newest first with Bird's keyset cursor: base64 of [createdAt ms, "id"].
  Response List(const std::vector<const Channel*>& channels,
                const std::multimap<std::string, std::string>& query, SystemTime now) {
    int limit = 10;
    if (auto it = query.find("limit"); it != query.end()) {
      try {
        limit = std::stoi(it->second);
      } catch (const std::exception&) {
        limit = 0;
      }
      if (limit < 1 || limit > 1000) return Error(422, "InvalidParameters", "limit must be 1-1000");
    }
    std::set<std::string> statuses;
    for (auto [it, end] = query.equal_range("status"); it != end; ++it) statuses.insert(it->second);
    std::optional<SystemTime> start_at, end_at;
    if (auto it = query.find("startAt"); it != query.end()) start_at = ParseRfc3339(it->second);
    if (auto it = query.find("endAt"); it != query.end()) end_at = ParseRfc3339(it->second);
    std::optional<std::pair<long long, std::string>> after;
    if (auto it = query.find("pageToken"); it != query.end() && !it->second.empty()) {
      const auto decoded = Unbase64(it->second);
      const auto token = decoded ? nlohmann::json::parse(*decoded, nullptr, false) : nlohmann::json();
      if (!token.is_array() || token.size() != 2 || !token[0].is_number_integer() ||
          !token[1].is_string()) {
        return Error(422, "InvalidParameters", "invalid pageToken");
      }
      after = std::make_pair(token[0].get<long long>(), token[1].get<std::string>());
    }
    std::vector<const SimCall*> visible;
    for (const Channel* channel : channels) {
      for (const SimCall& call : channel->calls) {
        if (call.created_at > now) continue;
        if (start_at && call.created_at < *start_at) continue;
        if (end_at && call.created_at > *end_at) continue;
        if (!statuses.empty() && statuses.count(call.StatusAt(now)) == 0) continue;
        visible.push_back(&call);
      }
    }
    auto key = [](const SimCall* c) { return std::make_pair(Millis(c->created_at), c->id); };
    std::sort(visible.begin(), visible.end(),
              [&key](const SimCall* a, const SimCall* b) { return key(a) > key(b); });
    nlohmann::json results = nlohmann::json::array();
    std::size_t i = 0;
    if (after) {
      while (i < visible.size() && key(visible[i]) >= *after) ++i;
    }
    const SimCall* last = nullptr;
    for (; i < visible.size() && static_cast<int>(results.size()) < limit; ++i) {
      results.push_back(Render(*visible[i], now, false));
      if (visible[i]->EndedAt(now)) served_terminal_.insert(visible[i]->id);
      last = visible[i];
    }
    nlohmann::json body = {{"results", results}};
    if (last != nullptr && i < visible.size()) {
      body["nextPageToken"] = Base64(nlohmann::json::array({Millis(last->created_at), last->id}).dump());
    }
    return {200, "application/json", body.dump(), {}};
  }

  const SimCall* FindCall(const std::string& channel_id, const std::string& call_id) const {
    auto it = channels_.find(channel_id);
    if (it == channels_.end()) return nullptr;
    for (const SimCall& call : it->second.calls) {
      if (call.id == call_id) return &call;
    }
    return nullptr;
  }

  // Bird limits GETs per workspace; a 429 is "not processed" and does not use the budget.
  bool OverRateLimit(const std::string& workspace_id) {
    auto& times = request_times_[workspace_id];
    const auto now = std::chrono::steady_clock::now();
    while (!times.empty() && now - times.front() >= std::chrono::seconds(1)) times.pop_front();
    if (static_cast<int>(times.size()) >= settings_.max_gets_per_second) return true;
    times.push_back(now);
    return false;
  }

  Response Handle(mg_connection* conn, const mg_request_info* info) {
    const std::string path = info->local_uri != nullptr ? info->local_uri : "/";
    const auto query = ParseQuery(info->query_string);
    if (path == "/_sim/truth") return {200, "application/json", Truth().dump(), {}};
    const char* auth = mg_get_header(conn, "Authorization");
    if (auth == nullptr || std::string(auth) != "AccessKey " + settings_.access_key) {
      return Error(401, "Unauthorized", "the access key is missing or invalid");
    }
    const auto parts = SplitPath(path);
    // workspaces/{ws}/channels/{ch}/calls[/{id}[/insights]] or workspaces/{ws}/channels/calls
    if (parts.size() < 4 || parts[0] != "workspaces" || parts[2] != "channels") {
      return Error(404, "NotFound", "the requested resource does not exist");
    }
    const std::string& ws = parts[1];

    double slow_seconds = 0;
    {
      std::lock_guard lock(mutex_);
      if (OverRateLimit(ws)) {
        return {429, "application/json",
                nlohmann::json{{"code", "TooManyRequests"}, {"message", "rate limit exceeded"}}.dump(),
                {{"Retry-After", "1"}}};
      }
      const Scenario& s = settings_.scenario;
      const double draw = std::uniform_real_distribution<double>(0, 1)(faults_);
      if (draw < s.rate_429) {
        return {429, "application/json",
                nlohmann::json{{"code", "TooManyRequests"}, {"message", "slow down"}}.dump(),
                {}};
      }
      if (draw < s.rate_429 + s.rate_5xx_html) {
        return {502, "text/html",
                "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad "
                "Gateway</h1></body></html>",
                {}};
      }
      if (draw < s.rate_429 + s.rate_5xx_html + s.rate_slow) slow_seconds = s.slow_seconds;
      if (draw >= s.rate_429 + s.rate_5xx_html + s.rate_slow &&
          draw < s.rate_429 + s.rate_5xx_html + s.rate_slow + s.rate_malformed) {
        return {200, "application/json", "{\"results\": [{\"id\": \"trunc", {}};
      }
    }
    if (slow_seconds > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long long>(slow_seconds * 1000)));
    }

    std::lock_guard lock(mutex_);
    const SystemTime now = Clock::now();
    Advance(now);
    if (parts.size() == 4 && parts[3] == "calls") {  // workspace call log
      std::vector<const Channel*> selected;
      std::set<std::string> wanted;
      for (auto [it, end] = query.equal_range("channelId"); it != end; ++it) wanted.insert(it->second);
      for (const auto& [id, channel] : channels_) {
        if (channel.workspace_id == ws && (wanted.empty() || wanted.count(id))) {
          selected.push_back(&channel);
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
    if (call == nullptr || call->created_at > now) {
      return Error(404, "NotFound", "the requested resource does not exist: call not found");
    }
    if (parts.size() == 6) return {200, "application/json", Render(*call, now, false).dump(), {}};
    if (parts.size() == 7 && parts[6] == "insights") {
      if (!call->EndedAt(now) || !call->InsightsReadyAt(now)) {
        return Error(404, "NotFound", "the requested resource does not exist: insights not found");
      }
      return {200, "application/json", Render(*call, now, true).dump(), {}};
    }
    return Error(404, "NotFound", "the requested resource does not exist");
  }

  SimulatorSettings settings_;
  CallGenerator generator_;
  SystemTime started_;
  std::mutex mutex_;
  std::map<std::string, Channel> channels_;
  std::set<std::string> served_terminal_;
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> request_times_;
  std::mt19937_64 faults_;
  std::unique_ptr<CivetServer> server_;
};

Simulator::Simulator(SimulatorSettings settings)
    : impl_(std::make_unique<Impl>(std::move(settings))) {}

Simulator::~Simulator() = default;

std::string Simulator::BaseUrl() const { return "http://127.0.0.1:" + std::to_string(Port()); }

int Simulator::Port() const { return impl_->Port(); }

nlohmann::json Simulator::Truth() const { return impl_->Truth(); }

}  // namespace bird_exporter::sim
