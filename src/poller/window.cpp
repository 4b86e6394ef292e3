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

int FirstPageLimit(int previous_calls, double calls_per_second,
                   std::optional<std::chrono::milliseconds> oldest_due_age) {
  constexpr double kFullPage = 1000;
  if (previous_calls <= 0) return 0;
  double calls = previous_calls * 1.5 + 20;
  if (oldest_due_age) {
    const double age = std::chrono::duration<double>(*oldest_due_age).count();
    calls = std::max(calls, std::max(age, 0.0) * std::max(calls_per_second, 0.0) * 1.5 + 20);
  }
  return static_cast<int>(std::min(calls, kFullPage));
}

std::chrono::milliseconds RecheckDelay(std::chrono::milliseconds age,
                                       std::chrono::milliseconds interval) {
  const auto tenth = std::max(age, std::chrono::milliseconds(0)) / 10;
  return std::min(std::max(interval, tenth), std::max(interval, kMaxRecheckDelay));
}

SystemTime RecheckAt(SystemTime now, std::chrono::milliseconds delay,
                     std::chrono::milliseconds interval) {
  using std::chrono::milliseconds;
  delay = std::max(delay, milliseconds(1));
  milliseconds step = std::clamp(interval, milliseconds(1), delay);
  while (step * 2 <= delay) step *= 2;
  const auto target = std::chrono::duration_cast<milliseconds>((now + delay).time_since_epoch());
  const SystemTime aligned{(target / step) * step};
  return std::max(aligned, now + milliseconds(1));
}

}  // namespace bird_exporter
