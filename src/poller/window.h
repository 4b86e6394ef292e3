// How far back each poll lists a channel's calls, and how often an open call is looked at
// again. Pure: the clock is passed in.
#pragma once

#include <chrono>
#include <optional>

#include "bird/rfc3339.h"

namespace bird_exporter {

struct WindowSettings {
  std::chrono::milliseconds initial_lookback{std::chrono::minutes(10)};
  std::chrono::milliseconds max_call_age{std::chrono::hours(6)};
  // Each list re-reads calls created shortly before the newest call the previous poll saw, to
  // absorb calls that reach the list late. Duplicates are dropped by call id.
  std::chrono::milliseconds overlap{std::chrono::seconds(10)};
};

// How far in the future a Bird timestamp may lie (clock skew between Bird's components and
// this host) before it is clamped to now + this and counted as an anomaly.
inline constexpr std::chrono::milliseconds kFutureTolerance = std::chrono::minutes(5);

// The longest wait between two looks at an open call's status.
inline constexpr std::chrono::milliseconds kMaxRecheckDelay = std::chrono::minutes(10);

// Where this poll's listing stops: the saved position (never older than max_call_age), or
// now - initial_lookback for a channel polled for the first time.
SystemTime ListWindowStart(std::optional<SystemTime> saved, SystemTime now,
                           const WindowSettings& settings);

// Where the next poll's listing stops: `overlap` before the newest call this poll listed (a
// call dated in the future counts as now), and never before this poll's own stop.
SystemTime NextWindowStart(SystemTime this_start, std::optional<SystemTime> newest_created,
                           SystemTime now, const WindowSettings& settings);

// The page size of a head listing's first page (0: a full page). `previous_calls` is how many
// calls the previous head listing read down to its stop (0: unknown) and `calls_per_second`
// how densely they were created. The page holds that many, half as many again and 20 more, so
// that a steady channel is listed with one request that reads little beyond its stop; a busier
// poll costs one more page. It reaches further, up to a full page, to the oldest open call due
// for a look (`oldest_due_age`, if any): a call seen on the page costs no request of its own.
int FirstPageLimit(int previous_calls, double calls_per_second,
                   std::optional<std::chrono::milliseconds> oldest_due_age);

// How long until an open call of age `age` is looked at again: max(interval, age / 10), at
// most kMaxRecheckDelay. Its end is then found within that delay, so a call of several hours
// costs tens of looks, not one per poll.
std::chrono::milliseconds RecheckDelay(std::chrono::milliseconds age,
                                       std::chrono::milliseconds interval);

// When an open call due for a look `delay` from now is looked at: on a grid shared by the calls
// of like delay, the latest multiple (since the epoch) of `interval` x 2^k that is no later than
// now + delay, for the largest such step that is no longer than `delay` (never later than
// now + delay, and later than now). Calls seen at different times become due together, the old
// ones only every few polls and all at once: a poll's first page then reaches down to them only
// on those polls, and one status list answers for all of them instead of a few at each poll.
SystemTime RecheckAt(SystemTime now, std::chrono::milliseconds delay,
                     std::chrono::milliseconds interval);

}  // namespace bird_exporter
