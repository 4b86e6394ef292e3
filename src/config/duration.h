// Prometheus-style durations ("500ms", "30s", "10m", "1h30m", "1d"). Pure.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace bird_exporter {

using Duration = std::chrono::milliseconds;

// Units: ms, s, m, h, d, w, y (y = 365d), combined largest first like Prometheus ("1h30m").
// Returns nullopt on anything else (empty, no unit, negative, overflow).
std::optional<Duration> ParseDuration(std::string_view text);

// Shortest Prometheus form: 90000ms -> "1m30s", 0 -> "0s".
std::string FormatDuration(Duration d);

}  // namespace bird_exporter
