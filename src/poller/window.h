// How far back each poll lists a channel's calls. Pure: the clock is passed in.
#pragma once

#include <chrono>
#include <optional>

#include "bird/rfc3339.h"

namespace bird_exporter {

struct WindowSettings {
  std::chrono::milliseconds initial_lookback{std::chrono::minutes(10)};
  std::chrono::milliseconds max_call_age{std::chrono::hours(6)};
  // Each list re-reads calls created shortly before the previous poll started, to absorb clock
  // skew with Bird and calls that reach the list late. Duplicates are dropped by call id.
  std::chrono::milliseconds overlap{std::chrono::minutes(2)};
};

// Start of this poll's window: the saved position (never older than max_call_age), or
// now - initial_lookback for a channel polled for the first time.
SystemTime ListWindowStart(std::optional<SystemTime> saved, SystemTime now,
                           const WindowSettings& settings);

// Start of the next poll's window: it must reach back to the oldest call still open (active, or
// ended and waiting for insights) and to shortly before this poll started.
SystemTime NextWindowStart(SystemTime poll_started, std::optional<SystemTime> oldest_open_created,
                           SystemTime now, const WindowSettings& settings);

}  // namespace bird_exporter
