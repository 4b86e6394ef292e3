// Captures the records of the default spdlog logger, formatted as the exporter formats them
// (logfmt), for tests of an Exporter in this process. spdlog's default logger must not be
// swapped while another thread logs: create the capture before the Exporter and let it go
// after (the simulator does not log). One at a time; the previous default logger is back when
// it goes.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace bird_exporter::testing {

class LogCapture {
 public:
  explicit LogCapture(spdlog::level::level_enum level = spdlog::level::debug);
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::string Text() const;  // every record so far, one per line

 private:
  class Sink;
  std::shared_ptr<Sink> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace bird_exporter::testing
