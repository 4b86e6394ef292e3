#include "log/logging.h"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <ctime>

namespace bird_exporter {
namespace {

void AppendTimestamp(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const auto since_epoch = msg.time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t t = seconds.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[40];
  const size_t n = std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                 tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  dest.append(buffer, buffer + n);
}

std::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
    case spdlog::level::critical:
      return "error";
    default:
      return "info";
  }
}

// The length of the valid UTF-8 sequence at the start of `text`, or 0 when it is not one
// (a stray continuation byte, a cut or overlong sequence, a surrogate, beyond U+10FFFF).
std::size_t Utf8SequenceLength(std::string_view text) {
  const auto byte = [&text](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  unsigned int min = 0;
  unsigned int code = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, min = 0x80, code = lead & 0x1fu;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, min = 0x800, code = lead & 0x0fu;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, min = 0x10000, code = lead & 0x07u;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0u) != 0x80u) return 0;
    code = (code << 6) | (byte(i) & 0x3fu);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return length;
}

// Appends `text` so that it cannot end or split the record, whatever it holds: control
// characters (newlines above all) and DEL as escapes, bytes that are not UTF-8 as U+FFFD.
// With `quotes`, quotes and backslashes are escaped too, for a quoted value.
void AppendSafe(std::string_view text, spdlog::memory_buf_t& dest, bool quotes) {
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      const std::size_t length = Utf8SequenceLength(text.substr(i));
      if (length == 0) {
        dest.append(std::string_view("\\ufffd"));
        ++i;
      } else {
        dest.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    ++i;
    if (quotes && (c == '"' || c == '\\')) {
      dest.push_back('\\');
      dest.push_back(c);
    } else if (c == '\n') {
      dest.append(std::string_view("\\n"));
    } else if (c == '\t') {
      dest.append(std::string_view("\\t"));
    } else if (c == '\r') {
      dest.append(std::string_view("\\r"));
    } else if (u < 0x20 || u == 0x7f) {
      char buffer[8];
      const int n = std::snprintf(buffer, sizeof(buffer), "\\u%04x", u);
      dest.append(buffer, buffer + n);
    } else {
      dest.push_back(c);
    }
  }
}

void AppendEscaped(std::string_view text, spdlog::memory_buf_t& dest) {
  AppendSafe(text, dest, /*quotes=*/true);
}

// Messages are written as "text key=value ..."; logfmt keeps that shape after msg="text",
// JSON keeps the whole message in "msg".
class LineFormatter : public spdlog::formatter {
 public:
  explicit LineFormatter(LogFormat format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (format_ == LogFormat::kJson) {
      dest.append(std::string_view("{\"ts\":\""));
      AppendTimestamp(msg, dest);
      dest.append(std::string_view("\",\"level\":\""));
      dest.append(LevelName(msg.level));
      dest.append(std::string_view("\",\"msg\":\""));
      AppendEscaped(payload, dest);
      dest.append(std::string_view("\"}\n"));
      return;
    }
    dest.append(std::string_view("ts="));
    AppendTimestamp(msg, dest);
    dest.append(std::string_view(" level="));
    dest.append(LevelName(msg.level));
    // The human text runs up to the first " key=" pair; it is quoted, the pairs follow as-is.
    std::size_t split = payload.size();
    for (std::size_t i = payload.find(' '); i != std::string_view::npos;
         i = payload.find(' ', i + 1)) {
      const std::size_t eq = payload.find('=', i + 1);
      const std::size_t next_space = payload.find(' ', i + 1);
      if (eq != std::string_view::npos &&
          (next_space == std::string_view::npos || eq < next_space)) {
        split = i;
        break;
      }
    }
    dest.append(std::string_view(" msg=\""));
    AppendEscaped(payload.substr(0, split), dest);
    dest.push_back('"');
    // The pairs are written by the call sites, values of outside origin through LogQuote; a
    // control character that still reaches them is escaped so the record stays one line.
    AppendSafe(payload.substr(split), dest, /*quotes=*/false);
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(format_);
  }

 private:
  LogFormat format_;
};

}  // namespace

bool ParseLogLevel(const std::string& text, spdlog::level::level_enum& level) {
  if (text == "debug") {
    level = spdlog::level::debug;
  } else if (text == "info") {
    level = spdlog::level::info;
  } else if (text == "warn") {
    level = spdlog::level::warn;
  } else if (text == "error") {
    level = spdlog::level::err;
  } else {
    return false;
  }
  return true;
}

bool ParseLogFormat(const std::string& text, LogFormat& format) {
  if (text == "logfmt") {
    format = LogFormat::kLogfmt;
  } else if (text == "json") {
    format = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

std::string LogQuote(std::string_view value) {
  spdlog::memory_buf_t buffer;
  buffer.push_back('"');
  AppendEscaped(value, buffer);
  buffer.push_back('"');
  return std::string(buffer.data(), buffer.size());
}

std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format) {
  return std::make_unique<LineFormatter>(format);
}

void SetupLogging(spdlog::level::level_enum level, LogFormat format) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(MakeLogFormatter(format));
  auto logger = std::make_shared<spdlog::logger>("bird_call_exporter", sink);
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace bird_exporter
