// The durable record of what has been counted: the ids of counted calls and, per channel, where
// the next poll starts listing. Pure (de)serialisation; the file I/O lives in state_file.h.
#pragma once

#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "bird/rfc3339.h"

namespace bird_exporter {

using ChannelKey = std::pair<std::string, std::string>;  // (workspace id, channel id)

struct State {
  // Call id -> createdAt of counted calls (createdAt decides when an entry can be pruned).
  std::unordered_map<std::string, SystemTime> counted;
  // Oldest createdAt the next list of the channel must reach.
  std::map<ChannelKey, SystemTime> window_start;

  bool IsCounted(const std::string& call_id) const { return counted.count(call_id) > 0; }
};

class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string SerializeState(const State& state);
// Throws StateError on anything that is not a state document this version can read.
State ParseState(std::string_view text);

// Drops counted calls created before `oldest_kept`: no list window reaches them any more, so
// they can never be seen again. Returns how many were dropped.
std::size_t PruneState(State& state, SystemTime oldest_kept);

}  // namespace bird_exporter
