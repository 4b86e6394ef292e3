// RFC 3339 timestamps as Bird sends them (0-9 fraction digits, `Z` or an offset).
// Pure: no clock, no locale; GCC 12 has no std::chrono::parse.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace bird_exporter {

using SystemTime = std::chrono::system_clock::time_point;

// Returns nullopt for anything that is not a valid RFC 3339 date-time.
std::optional<SystemTime> ParseRfc3339(std::string_view text);

// UTC, millisecond precision, `Z` suffix: 2023-10-25T17:01:14.645Z.
std::string FormatRfc3339(SystemTime t);

// Seconds since the Unix epoch as a double (for gauges).
double ToUnixSeconds(SystemTime t);

}  // namespace bird_exporter
