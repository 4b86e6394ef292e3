// The Exporter object in the test's own process, on 127.0.0.1 port 0, with its log captured:
// for end-to-end tests where a child process would add nothing (no signal, exit status,
// restart or memory figure of a process is looked at).
#pragma once

#include <memory>
#include <string>

#include "daemon/exporter.h"
#include "support/exporter_process.h"
#include "support/log_capture.h"

namespace bird_exporter::testing {

class InProcessExporter : public ExporterUnderTest {
 public:
  // `config_text` is a configuration file's text; `access_key` is the value of
  // ${BIRD_ACCESS_KEY} in it (no other variable is set). Throws ConfigError or what the
  // Exporter throws.
  InProcessExporter(const std::string& config_text, const std::string& access_key);
  ~InProcessExporter() override;

  std::string Url(const std::string& path) const override;
  bool Running() override { return true; }  // a crash would be the test's own
  std::string Log() const override { return log_.Text(); }

 private:
  LogCapture log_;  // outlives the exporter
  std::unique_ptr<Exporter> exporter_;
};

}  // namespace bird_exporter::testing
