// The durable record of what has been counted and what is being followed: the ids of counted
// calls, the calls still open (or ended and waiting for insights), and per channel where the
// next poll stops listing. Pure (de)serialisation; the database lives in store.h.
#pragma once

#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bird/model.h"
#include "bird/rfc3339.h"

namespace bird_exporter {

using ChannelKey = std::pair<std::string, std::string>;  // (workspace id, channel id)

// A call the exporter follows by id until it is counted.
struct TrackedCall {
  bool operator==(const TrackedCall&) const = default;

  Call call;                // the latest record Bird returned for it
  SystemTime next_check{};  // when its status is due to be looked at again (open calls)
  // Known or believed to have ended: seen in a terminal status (`confirmed`), or gone from the
  // list of calls in its status. Waiting for insights, or for its final record.
  bool ended = false;
  bool confirmed = false;
  SystemTime ended_noticed{};  // when the exporter learnt it had ended
  SystemTime insights_due{};
  int insights_attempts = 0;
};

// Calls not listed yet because a poll hit its page cap: resume from `page_token` (Bird's
// cursor) and list down to calls created before `lower`.
struct ListGap {
  bool operator==(const ListGap&) const = default;

  std::string page_token;
  SystemTime lower{};
};

struct ChannelState {
  SystemTime window_start{};  // the next poll lists down to calls created before this
  SystemTime since{};         // calls created earlier and never followed are not counted
  std::vector<ListGap> gaps;
  std::map<std::string, TrackedCall> tracked;  // by call id
  // Not saved: how many calls the last head listing read down to its stop (0: unknown) and
  // how many were created per second among them, which size the next poll's first page.
  int head_calls = 0;
  double head_calls_per_second = 0;
};

struct State {
  // Call id -> createdAt of counted calls (createdAt decides when an entry can be pruned).
  std::unordered_map<std::string, SystemTime> counted;
  std::map<ChannelKey, ChannelState> channels;

  bool IsCounted(const std::string& call_id) const { return counted.count(call_id) > 0; }
};

class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string SerializeState(const State& state);
// Throws StateError on anything that is not a state document this version can read. Reads
// version 2 and the version 1 files of earlier releases (no followed calls).
State ParseState(std::string_view text);

// One followed call and a channel's gaps as JSON documents: how the SQLite store keeps them.
std::string SerializeTracked(const TrackedCall& tracked);
TrackedCall ParseTracked(std::string_view text);  // throws StateError
std::string SerializeGaps(const std::vector<ListGap>& gaps);
std::vector<ListGap> ParseGaps(std::string_view text);  // throws StateError

// Drops counted calls created before `oldest_kept`: no list window reaches them any more, so
// they can never be seen again. Returns how many were dropped.
std::size_t PruneState(State& state, SystemTime oldest_kept);

}  // namespace bird_exporter
