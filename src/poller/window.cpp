#include "poller/window.h"

#include <algorithm>

namespace bird_exporter {

SystemTime ListWindowStart(std::optional<SystemTime> saved, SystemTime now,
                           const WindowSettings& settings) {
  const SystemTime oldest_allowed = now - settings.max_call_age;
  if (!saved) return std::max(now - settings.initial_lookback, oldest_allowed);
  return std::max(*saved, oldest_allowed);
}

SystemTime NextWindowStart(SystemTime this_start, std::optional<SystemTime> newest_created,
                           SystemTime now, const WindowSettings& settings) {
  if (!newest_created) return this_start;
  const SystemTime newest = std::min(*newest_created, now);
  return std::max(this_start, newest - settings.overlap);
}

std::chrono::milliseconds RecheckDelay(std::chrono::milliseconds age,
                                       std::chrono::milliseconds interval) {
  const auto tenth = std::max(age, std::chrono::milliseconds(0)) / 10;
  return std::min(std::max(interval, tenth), std::max(interval, kMaxRecheckDelay));
}

}  // namespace bird_exporter
