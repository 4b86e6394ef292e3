#include "state/state.h"

#include <nlohmann/json.hpp>

namespace bird_exporter {
namespace {

constexpr int kStateVersion = 1;

long long ToUnixMillis(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

SystemTime FromUnixMillis(long long ms) {
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds(ms)));
}

}  // namespace

std::string SerializeState(const State& state) {
  nlohmann::json doc;
  doc["version"] = kStateVersion;
  nlohmann::json channels = nlohmann::json::array();
  for (const auto& [key, start] : state.window_start) {
    channels.push_back(
        {{"workspace_id", key.first}, {"channel_id", key.second}, {"window_start_ms", ToUnixMillis(start)}});
  }
  doc["channels"] = std::move(channels);
  nlohmann::json counted = nlohmann::json::object();
  for (const auto& [id, created] : state.counted) counted[id] = ToUnixMillis(created);
  doc["counted"] = std::move(counted);
  return doc.dump();
}

State ParseState(std::string_view text) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) throw StateError("state file is not valid JSON");
  if (!doc.is_object()) throw StateError("state file is not a JSON object");
  const auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() || *version != kStateVersion) {
    throw StateError("state file has an unsupported version");
  }
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
    state.window_start[{channel["workspace_id"].get<std::string>(),
                        channel["channel_id"].get<std::string>()}] =
        FromUnixMillis(channel["window_start_ms"].get<long long>());
  }
  const auto counted = doc.find("counted");
  if (counted == doc.end() || !counted->is_object()) {
    throw StateError("state file: counted is not an object");
  }
  state.counted.reserve(counted->size());
  for (const auto& [id, created] : counted->items()) {
    if (!created.is_number_integer()) throw StateError("state file: malformed counted entry");
    state.counted.emplace(id, FromUnixMillis(created.get<long long>()));
  }
  return state;
}

std::size_t PruneState(State& state, SystemTime oldest_kept) {
  return std::erase_if(state.counted, [oldest_kept](const auto& entry) {
    return entry.second < oldest_kept;
  });
}

}  // namespace bird_exporter
