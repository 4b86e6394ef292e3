#include "poller/shard.h"

#include <charconv>

namespace bird_exporter {
namespace {

std::optional<int> ParseNonNegative(std::string_view text) {
  int value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < 0) return std::nullopt;
  return value;
}

}  // namespace

std::uint64_t ChannelHash(std::string_view workspace_id, std::string_view channel_id) {
  std::uint64_t hash = 14695981039346656037ull;
  auto mix = [&hash](std::string_view text) {
    for (unsigned char c : text) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
  };
  mix(workspace_id);
  mix("/");
  mix(channel_id);
  return hash;
}

bool InShard(std::string_view workspace_id, std::string_view channel_id,
             const ShardSettings& shard) {
  if (shard.count <= 1) return true;
  return ChannelHash(workspace_id, channel_id) % static_cast<std::uint64_t>(shard.count) ==
         static_cast<std::uint64_t>(shard.index);
}

std::optional<int> OrdinalFromHostname(std::string_view hostname) {
  const auto dash = hostname.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  return ParseNonNegative(hostname.substr(dash + 1));
}

std::optional<ShardSettings> ParseShard(const std::string& index, const std::string& count,
                                        std::string_view hostname, std::string& error) {
  ShardSettings shard;
  const auto parsed_count = ParseNonNegative(count);
  if (!parsed_count || *parsed_count < 1) {
    error = "--shard.count: expected a whole number of at least 1, got \"" + count + "\"";
    return std::nullopt;
  }
  shard.count = *parsed_count;
  std::optional<int> parsed_index;
  if (index == "auto") {
    parsed_index = OrdinalFromHostname(hostname);
    if (!parsed_index) {
      error = "--shard.index=auto: hostname \"" + std::string(hostname) +
              "\" does not end in -<ordinal> (as StatefulSet pods do)";
      return std::nullopt;
    }
  } else {
    parsed_index = ParseNonNegative(index);
    if (!parsed_index) {
      error = "--shard.index: expected a whole number or auto, got \"" + index + "\"";
      return std::nullopt;
    }
  }
  if (*parsed_index >= shard.count) {
    error = "--shard.index: " + std::to_string(*parsed_index) + " is not below --shard.count " +
            std::to_string(shard.count);
    return std::nullopt;
  }
  shard.index = *parsed_index;
  return shard;
}

}  // namespace bird_exporter
