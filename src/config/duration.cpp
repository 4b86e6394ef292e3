#include "config/duration.h"

#include <array>
#include <cstdint>

namespace bird_exporter {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t millis;
  // Years and weeks are only printed when they divide the rest exactly: "90d" reads better than
  // "12w6d" (the same choice Prometheus makes).
  bool exact_only;
};

constexpr int64_t kDay = 24 * 60 * 60 * 1000LL;

// Largest first: the order a combined duration must follow.
constexpr std::array<Unit, 7> kUnits = {{
    {"y", 365 * kDay, true},
    {"w", 7 * kDay, true},
    {"d", kDay, false},
    {"h", 60 * 60 * 1000LL, false},
    {"m", 60 * 1000LL, false},
    {"s", 1000LL, false},
    {"ms", 1LL, false},
}};

// Index in kUnits of the unit `rest` starts with, kUnits.size() when none does. Scans from the
// smallest unit so that "ms" wins over "m".
size_t UnitAt(std::string_view rest) {
  for (size_t i = kUnits.size(); i-- > 0;) {
    if (rest.starts_with(kUnits[i].suffix)) return i;
  }
  return kUnits.size();
}

}  // namespace

std::optional<Duration> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t next_unit = 0;  // index of the smallest unit still allowed; enforces order, no repeats
  size_t pos = 0;
  while (pos < text.size()) {
    int64_t count = 0;
    const size_t digits_start = pos;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
      if (__builtin_mul_overflow(count, 10, &count) ||
          __builtin_add_overflow(count, text[pos] - '0', &count)) {
        return std::nullopt;
      }
    }
    if (pos == digits_start) return std::nullopt;  // unit without a number, sign, or fraction
    const size_t unit = UnitAt(text.substr(pos));
    // A missing or unknown unit, or one repeated or out of order.
    if (unit == kUnits.size() || unit < next_unit) return std::nullopt;
    int64_t part = 0;
    if (__builtin_mul_overflow(count, kUnits[unit].millis, &part) ||
        __builtin_add_overflow(total, part, &total)) {
      return std::nullopt;
    }
    pos += kUnits[unit].suffix.size();
    next_unit = unit + 1;
  }
  return Duration(total);
}

std::string FormatDuration(Duration d) {
  if (d.count() == 0) return "0s";
  std::string out = d.count() < 0 ? "-" : "";
  // Unsigned so that negating the most negative value cannot overflow.
  uint64_t ms = d.count() < 0 ? -static_cast<uint64_t>(d.count()) : d.count();
  for (const Unit& u : kUnits) {
    const auto unit_ms = static_cast<uint64_t>(u.millis);
    if (u.exact_only && ms % unit_ms != 0) continue;
    if (const uint64_t count = ms / unit_ms; count > 0) {
      out += std::to_string(count);
      out += u.suffix;
      ms -= count * unit_ms;
    }
  }
  return out;
}

}  // namespace bird_exporter
