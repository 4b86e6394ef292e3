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

void AppendEscaped(std::string_view text, spdlog::memory_buf_t& dest) {
  for (char c : text) {
    switch (c) {
      case '"':
        dest.append(std::string_view("\\\""));
        break;
      case '\\':
        dest.append(std::string_view("\\\\"));
        break;
      case '\n':
        dest.append(std::string_view("\\n"));
        break;
      case '\t':
        dest.append(std::string_view("\\t"));
        break;
      case '\r':
        dest.append(std::string_view("\\r"));
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          const int n = std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
          dest.append(buffer, buffer + n);
        } else {
          dest.push_back(c);
        }
    }
  }
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
      if (eq != std::string_view::npos && (next_space == std::string_view::npos || eq < next_space)) {
        split = i;
        break;
      }
    }
    dest.append(std::string_view(" msg=\""));
    AppendEscaped(payload.substr(0, split), dest);
    dest.push_back('"');
    dest.append(payload.substr(split));
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

void SetupLogging(spdlog::level::level_enum level, LogFormat format) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(std::make_unique<LineFormatter>(format));
  auto logger = std::make_shared<spdlog::logger>("bird_call_exporter", sink);
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace bird_exporter
