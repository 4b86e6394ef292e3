#include "poller/window.h"

#include <algorithm>

namespace bird_exporter {

SystemTime ListWindowStart(std::optional<SystemTime> saved, SystemTime now,
                           const WindowSettings& settings) {
  const SystemTime oldest_allowed = now - settings.max_call_age;
  if (!saved) return std::max(now - settings.initial_lookback, oldest_allowed);
  return std::max(*saved, oldest_allowed);
}

SystemTime NextWindowStart(SystemTime poll_started, std::optional<SystemTime> oldest_open_created,
                           SystemTime now, const WindowSettings& settings) {
  SystemTime start = poll_started - settings.overlap;
  if (oldest_open_created) start = std::min(start, *oldest_open_created);
  return std::max(start, now - settings.max_call_age);
}

}  // namespace bird_exporter
