#include "support/log_capture.h"

#include <spdlog/sinks/base_sink.h>

#include <mutex>

#include "log/logging.h"

namespace bird_exporter::testing {

class LogCapture::Sink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string Text() {
    std::lock_guard lock(mutex_);
    return text_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    text_.append(formatted.data(), formatted.size());
  }
  void flush_() override {}

 private:
  std::string text_;
};

LogCapture::LogCapture(spdlog::level::level_enum level)
    : sink_(std::make_shared<Sink>()), previous_(spdlog::default_logger()) {
  sink_->set_formatter(MakeLogFormatter(LogFormat::kLogfmt));
  auto logger = std::make_shared<spdlog::logger>("test", sink_);
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

LogCapture::~LogCapture() { spdlog::set_default_logger(previous_); }

std::string LogCapture::Text() const { return sink_->Text(); }

}  // namespace bird_exporter::testing
