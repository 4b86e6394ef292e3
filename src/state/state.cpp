#include "state/state.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "bird/country.h"

namespace bird_exporter {
namespace {

constexpr int kStateVersion = 2;

using nlohmann::json;

long long ToUnixMillis(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

SystemTime FromUnixMillis(long long ms) {
  return SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds(ms)));
}

[[noreturn]] void Malformed(const std::string& what) {
  throw StateError("state file: malformed " + what);
}

void PutTime(json& j, const char* key, const std::optional<SystemTime>& t) {
  if (t) j[key] = ToUnixMillis(*t);
}

// The clock counts nanoseconds in 64 bits: about ±292 years around 1970. A time beyond that
// cannot be a time the exporter wrote.
constexpr long long kMaxAbsMillis = 9'000'000'000'000LL;  // the year 2255

SystemTime TimeOf(const json& v, const std::string& what) {
  if (!v.is_number_integer()) Malformed("time " + what);
  const long long ms = v.is_number_unsigned() && v.get<unsigned long long>() > kMaxAbsMillis
                           ? kMaxAbsMillis + 1
                           : v.get<long long>();
  if (ms > kMaxAbsMillis || ms < -kMaxAbsMillis) Malformed("time " + what);
  return FromUnixMillis(ms);
}

std::optional<SystemTime> GetTime(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  return TimeOf(*it, key);
}

SystemTime RequiredTime(const json& j, const char* key) {
  auto t = GetTime(j, key);
  if (!t) Malformed(std::string("entry without ") + key);
  return *t;
}

std::string GetString(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_string()) Malformed(std::string("string ") + key);
  return it->get<std::string>();
}

json CallToJson(const Call& c) {
  json j = {{"id", c.id},
            {"status", ToString(c.status)},
            {"direction", ToString(c.direction)},
            {"type", ToString(c.type)},
            {"hangup_source", ToString(c.hangup_source)}};
  if (!c.channel_id.empty()) j["channel_id"] = c.channel_id;
  if (!c.parent_id.empty()) j["parent_id"] = c.parent_id;
  if (c.duration_seconds) j["duration"] = *c.duration_seconds;
  if (c.hangup_cause_code) j["hangup_cause_code"] = *c.hangup_cause_code;
  if (!c.hangup_sip_code.empty()) j["hangup_sip_code"] = c.hangup_sip_code;
  PutTime(j, "created_ms", c.created_at);
  PutTime(j, "updated_ms", c.updated_at);
  PutTime(j, "ringing_ms", c.ringing_at);
  PutTime(j, "answered_ms", c.answered_at);
  PutTime(j, "ended_ms", c.ended_at);
  if (!c.remote_country.empty()) j["remote_country"] = c.remote_country;
  if (c.mos) j["mos"] = *c.mos;
  if (c.pdd_seconds) j["pdd"] = *c.pdd_seconds;
  if (!c.anomalies.empty()) j["anomalies"] = c.anomalies;
  return j;
}

Call CallFromJson(const json& j) {
  if (!j.is_object()) Malformed("call");
  Call c;
  c.id = GetString(j, "id");
  if (c.id.empty()) Malformed("call without id");
  c.channel_id = GetString(j, "channel_id");
  c.parent_id = GetString(j, "parent_id");
  c.status = ParseCallStatus(GetString(j, "status"));
  c.direction = ParseDirection(GetString(j, "direction"));
  c.type = ParseCallType(GetString(j, "type"));
  c.hangup_source = ParseHangupSource(GetString(j, "hangup_source"));
  c.hangup_sip_code = GetString(j, "hangup_sip_code");
  if (auto it = j.find("duration"); it != j.end()) {
    if (!it->is_number_integer()) Malformed("call duration");
    c.duration_seconds = it->get<std::int64_t>();
  }
  if (auto it = j.find("hangup_cause_code"); it != j.end()) {
    if (!it->is_number_integer()) Malformed("call hangup_cause_code");
    c.hangup_cause_code = it->get<int>();
  }
  c.created_at = GetTime(j, "created_ms");
  c.updated_at = GetTime(j, "updated_ms");
  c.ringing_at = GetTime(j, "ringing_ms");
  c.answered_at = GetTime(j, "answered_ms");
  c.ended_at = GetTime(j, "ended_ms");
  c.remote_country = GetString(j, "remote_country");
  // A label value once the call is counted: only what CountryOfNumber can return.
  const std::string& country = c.remote_country;
  if (!country.empty() && country != kUnknownCountry &&
      !(country.size() == 2 && std::isupper(static_cast<unsigned char>(country[0])) &&
        std::isupper(static_cast<unsigned char>(country[1])))) {
    Malformed("call remote_country");
  }
  for (const char* key : {"mos", "pdd"}) {
    if (auto it = j.find(key); it != j.end()) {
      if (!it->is_number()) Malformed(std::string("call ") + key);
      (std::string_view(key) == "mos" ? c.mos : c.pdd_seconds) = it->get<double>();
    }
  }
  if (auto it = j.find("anomalies"); it != j.end()) {
    if (!it->is_array()) Malformed("call anomalies");
    for (const auto& field : *it) {
      if (!field.is_string()) Malformed("call anomalies");
      NoteAnomaly(c.anomalies, field.get<std::string>());
    }
  }
  return c;
}

json GapsToJson(const std::vector<ListGap>& gaps) {
  json out = json::array();
  for (const ListGap& gap : gaps) {
    out.push_back({{"page_token", gap.page_token}, {"lower_ms", ToUnixMillis(gap.lower)}});
  }
  return out;
}

std::vector<ListGap> GapsFromJson(const json& doc) {
  std::vector<ListGap> gaps;
  for (const auto& gap : doc) {
    if (!gap.is_object() || !gap.contains("page_token") || !gap["page_token"].is_string()) {
      Malformed("gap");
    }
    gaps.push_back({gap["page_token"].get<std::string>(), RequiredTime(gap, "lower_ms")});
  }
  return gaps;
}

json TrackedToJson(const TrackedCall& t) {
  json j = {{"call", CallToJson(t.call)}, {"next_check_ms", ToUnixMillis(t.next_check)}};
  if (t.ended) {
    j["ended"] = true;
    j["confirmed"] = t.confirmed;
    j["ended_noticed_ms"] = ToUnixMillis(t.ended_noticed);
    j["insights_due_ms"] = ToUnixMillis(t.insights_due);
    j["insights_attempts"] = t.insights_attempts;
  }
  return j;
}

TrackedCall TrackedFromJson(const json& j) {
  if (!j.is_object() || !j.contains("call")) Malformed("tracked call");
  TrackedCall t;
  t.call = CallFromJson(j["call"]);
  t.next_check = RequiredTime(j, "next_check_ms");
  if (auto it = j.find("ended"); it != j.end()) {
    if (!it->is_boolean()) Malformed("tracked call ended");
    t.ended = it->get<bool>();
  }
  if (t.ended) {
    const auto confirmed = j.find("confirmed");
    const auto attempts = j.find("insights_attempts");
    if (confirmed == j.end() || !confirmed->is_boolean() || attempts == j.end() ||
        !attempts->is_number_integer()) {
      Malformed("ended tracked call");
    }
    t.confirmed = confirmed->get<bool>();
    t.insights_attempts = attempts->get<int>();
    t.ended_noticed = RequiredTime(j, "ended_noticed_ms");
    t.insights_due = RequiredTime(j, "insights_due_ms");
  }
  return t;
}

}  // namespace

std::string SerializeState(const State& state) {
  json doc;
  doc["version"] = kStateVersion;
  json channels = json::array();
  for (const auto& [key, channel] : state.channels) {
    json tracked = json::array();
    for (const auto& [id, t] : channel.tracked) tracked.push_back(TrackedToJson(t));
    channels.push_back({{"workspace_id", key.first},
                        {"channel_id", key.second},
                        {"window_start_ms", ToUnixMillis(channel.window_start)},
                        {"since_ms", ToUnixMillis(channel.since)},
                        {"gaps", GapsToJson(channel.gaps)},
                        {"tracked", std::move(tracked)}});
  }
  doc["channels"] = std::move(channels);
  json counted = json::object();
  for (const auto& [id, created] : state.counted) counted[id] = ToUnixMillis(created);
  doc["counted"] = std::move(counted);
  return doc.dump();
}

State ParseState(std::string_view text) {
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) throw StateError("state file is not valid JSON");
  if (!doc.is_object()) throw StateError("state file is not a JSON object");
  const auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() ||
      (*version != 1 && *version != kStateVersion)) {
    throw StateError("state file has an unsupported version");
  }
  const bool v1 = *version == 1;
  State state;
  const auto channels = doc.find("channels");
  if (channels == doc.end() || !channels->is_array()) {
    throw StateError("state file: channels is not an array");
  }
  for (const auto& channel : *channels) {
    if (!channel.is_object() || !channel.contains("workspace_id") ||
        !channel["workspace_id"].is_string() || !channel.contains("channel_id") ||
        !channel["channel_id"].is_string() || !channel.contains("window_start_ms") ||
        !channel["window_start_ms"].is_number_integer()) {
      throw StateError("state file: malformed channel entry");
    }
    ChannelState& cs = state.channels[{channel["workspace_id"].get<std::string>(),
                                       channel["channel_id"].get<std::string>()}];
    cs.window_start = TimeOf(channel["window_start_ms"], "window_start_ms");
    // Version 1 kept the window open back to the oldest open call, so listing down to it once
    // finds every call it was following.
    cs.since = v1 ? cs.window_start : RequiredTime(channel, "since_ms");
    if (v1) continue;
    const auto gaps = channel.find("gaps");
    const auto tracked = channel.find("tracked");
    if (gaps == channel.end() || !gaps->is_array() || tracked == channel.end() ||
        !tracked->is_array()) {
      throw StateError("state file: malformed channel entry");
    }
    cs.gaps = GapsFromJson(*gaps);
    for (const auto& entry : *tracked) {
      TrackedCall t = TrackedFromJson(entry);
      const std::string id = t.call.id;
      cs.tracked.emplace(id, std::move(t));
    }
  }
  const auto counted = doc.find("counted");
  if (counted == doc.end() || !counted->is_object()) {
    throw StateError("state file: counted is not an object");
  }
  state.counted.reserve(counted->size());
  for (const auto& [id, created] : counted->items()) {
    if (!created.is_number_integer()) throw StateError("state file: malformed counted entry");
    state.counted.emplace(id, TimeOf(created, "of counted call"));
  }
  return state;
}

std::string SerializeTracked(const TrackedCall& tracked) { return TrackedToJson(tracked).dump(); }

TrackedCall ParseTracked(std::string_view text) {
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) Malformed("tracked call");
  return TrackedFromJson(doc);
}

std::string SerializeGaps(const std::vector<ListGap>& gaps) { return GapsToJson(gaps).dump(); }

std::vector<ListGap> ParseGaps(std::string_view text) {
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) Malformed("gaps");
  return GapsFromJson(doc);
}

std::size_t PruneState(State& state, SystemTime oldest_kept) {
  return std::erase_if(state.counted,
                       [oldest_kept](const auto& entry) { return entry.second < oldest_kept; });
}

}  // namespace bird_exporter
