#include "bird/rfc3339.h"

#include <cstdint>
#include <cstdio>
#include <limits>

namespace bird_exporter {
namespace {

// Howard Hinnant's days_from_civil: days since 1970-01-01 of a proleptic Gregorian date.
// Chosen over timegm() because timegm depends on the C library and the TZ environment.
constexpr std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);                 // [0, 399]
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct CivilDate {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

// Inverse of DaysFromCivil (Hinnant's civil_from_days).
constexpr CivilDate CivilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);                    // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                       // [0, 11]
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;               // [1, 31]
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;                  // [1, 12]
  return {m <= 2 ? y + 1 : y, m, d};
}

constexpr bool IsLeapYear(std::int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

constexpr unsigned DaysInMonth(std::int64_t y, unsigned m) {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `width` decimal digits at `pos`; advances `pos` on success.
bool ReadFixed(std::string_view text, std::size_t& pos, std::size_t width, unsigned& out) {
  if (text.size() - pos < width) return false;
  unsigned value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const char c = text[pos + i];
    if (!IsDigit(c)) return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  pos += width;
  out = value;
  return true;
}

bool Expect(std::string_view text, std::size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

std::optional<SystemTime> ParseRfc3339(std::string_view text) {
  std::size_t pos = 0;
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadFixed(text, pos, 4, year) || !Expect(text, pos, '-') ||
      !ReadFixed(text, pos, 2, month) || !Expect(text, pos, '-') || !ReadFixed(text, pos, 2, day)) {
    return std::nullopt;
  }
  // RFC 3339 §5.6 allows a lowercase `t` and, by its note, a space in place of `T`.
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) {
    return std::nullopt;
  }
  ++pos;
  if (!ReadFixed(text, pos, 2, hour) || !Expect(text, pos, ':') ||
      !ReadFixed(text, pos, 2, minute) || !Expect(text, pos, ':') ||
      !ReadFixed(text, pos, 2, second)) {
    return std::nullopt;
  }
  // A leap second (:60) is rejected: Unix time has no slot for it and Bird's examples never
  // carry one, so accepting it would only hide malformed input.
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    return std::nullopt;
  }

  // Bird's fraction length varies (".77Z", ".543Z"), so any 1-9 digits are accepted and
  // scaled to nanoseconds; more than 9 would be finer than anything we can keep.
  std::int64_t fraction_ns = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (++digits > 9) return std::nullopt;
      fraction_ns = fraction_ns * 10 + (text[pos] - '0');
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (std::size_t i = digits; i < 9; ++i) fraction_ns *= 10;
  }

  // The zone is mandatory: a timestamp without one is ambiguous, not UTC.
  if (pos >= text.size()) return std::nullopt;
  std::int64_t offset_seconds = 0;
  const char zone = text[pos];
  if (zone == 'Z' || zone == 'z') {
    ++pos;
  } else if (zone == '+' || zone == '-') {
    ++pos;
    unsigned offset_hours = 0, offset_minutes = 0;
    if (!ReadFixed(text, pos, 2, offset_hours) || !Expect(text, pos, ':') ||
        !ReadFixed(text, pos, 2, offset_minutes) || offset_hours > 23 || offset_minutes > 59) {
      return std::nullopt;
    }
    offset_seconds = static_cast<std::int64_t>(offset_hours) * 3600 + offset_minutes * 60;
    if (zone == '-') offset_seconds = -offset_seconds;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;

  // Local time = UTC + offset, so subtract the offset to get UTC.
  const std::int64_t epoch_seconds =
      DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;

  // system_clock counts nanoseconds in 64 bits on libstdc++ (years 1677-2262); a date outside
  // its range is rejected instead of wrapping around.
  using Rep = SystemTime::duration::rep;
  using Period = SystemTime::duration::period;
  static_assert(Period::num == 1, "system_clock ticks are expected to be sub-second");
  constexpr std::int64_t kTicksPerSecond = Period::den;
  constexpr std::int64_t kMaxSeconds = std::numeric_limits<Rep>::max() / kTicksPerSecond - 1;
  constexpr std::int64_t kMinSeconds = std::numeric_limits<Rep>::min() / kTicksPerSecond + 1;
  if (epoch_seconds > kMaxSeconds || epoch_seconds < kMinSeconds) return std::nullopt;

  const auto since_epoch =
      std::chrono::seconds(epoch_seconds) +
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::nanoseconds(fraction_ns));
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(since_epoch));
}

std::string FormatRfc3339(SystemTime t) {
  // floor, not duration_cast: for instants before 1970 truncation would round towards the epoch.
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::int64_t ms_of_day = ((ms % 86'400'000) + 86'400'000) % 86'400'000;
  const std::int64_t days = (ms - ms_of_day) / 86'400'000;
  const CivilDate date = CivilFromDays(days);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(date.year), date.month, date.day,
                static_cast<long long>(ms_of_day / 3'600'000),
                static_cast<long long>(ms_of_day / 60'000 % 60),
                static_cast<long long>(ms_of_day / 1000 % 60),
                static_cast<long long>(ms_of_day % 1000));
  return buffer;
}

double ToUnixSeconds(SystemTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace bird_exporter
