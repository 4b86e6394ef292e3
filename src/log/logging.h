// spdlog set-up for --log.level and --log.format (logfmt or json lines on stderr).
#pragma once

#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace bird_exporter {

enum class LogFormat { kLogfmt, kJson };

// Parse flag values; nullopt-like false on unknown values.
bool ParseLogLevel(const std::string& text, spdlog::level::level_enum& level);
bool ParseLogFormat(const std::string& text, LogFormat& format);

// A log field value: quoted, with quotes, backslashes and control characters escaped, so an
// error text stays one logfmt value.
std::string LogQuote(std::string_view value);

// Installs a stderr logger as the default: `ts=... level=info msg="..."` or one JSON object per
// line. The message itself is escaped for the chosen format.
void SetupLogging(spdlog::level::level_enum level, LogFormat format);

}  // namespace bird_exporter
