// spdlog set-up for --log.level and --log.format (logfmt or json lines on stderr).
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace bird_exporter {

enum class LogFormat { kLogfmt, kJson };

// Parse flag values; nullopt-like false on unknown values.
bool ParseLogLevel(const std::string& text, spdlog::level::level_enum& level);
bool ParseLogFormat(const std::string& text, LogFormat& format);

// A log field value: quoted, with quotes, backslashes and control characters escaped, so an
// error text stays one logfmt value.
std::string LogQuote(std::string_view value);

// The formatter of every log record: `ts=... level=... msg="..." key=value...` or one JSON
// object per line. Whatever a message holds, a record is one line of UTF-8.
std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format);

// Installs a stderr logger as the default: `ts=... level=info msg="..."` or one JSON object per
// line. The message itself is escaped for the chosen format.
void SetupLogging(spdlog::level::level_enum level, LogFormat format);

}  // namespace bird_exporter
