// Splitting the configured channels across replicas: each process polls only the channels whose
// stable hash falls in its shard, so N processes together poll every channel exactly once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bird_exporter {

struct ShardSettings {
  int index = 0;
  int count = 1;
};

// FNV-1a 64 of "workspace_id/channel_id": the same on every platform and release, so a channel
// stays on its shard as long as the shard count does not change.
std::uint64_t ChannelHash(std::string_view workspace_id, std::string_view channel_id);

bool InShard(std::string_view workspace_id, std::string_view channel_id,
             const ShardSettings& shard);

// The ordinal of a StatefulSet pod from its hostname ("bird-call-exporter-2" -> 2).
std::optional<int> OrdinalFromHostname(std::string_view hostname);

// Parses --shard.index (a number, or "auto" for the hostname's ordinal) and --shard.count.
// Returns nullopt and sets `error` on invalid values.
std::optional<ShardSettings> ParseShard(const std::string& index, const std::string& count,
                                        std::string_view hostname, std::string& error);

}  // namespace bird_exporter
