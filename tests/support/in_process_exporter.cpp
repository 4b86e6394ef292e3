#include "support/in_process_exporter.h"

#include "support/process.h"

namespace bird_exporter::testing {

InProcessExporter::InProcessExporter(const std::string& config_text,
                                     const std::string& access_key) {
  ExporterOptions options;
  options.config = ParseConfig(
      config_text, [&](const std::string&) -> std::optional<std::string> { return access_key; },
      [](const std::string& path) { return ReadFile(path); });
  options.server.listen_address = "127.0.0.1:0";
  exporter_ = std::make_unique<Exporter>(std::move(options));
}

InProcessExporter::~InProcessExporter() = default;

std::string InProcessExporter::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(exporter_->ListeningPorts().at(0)) + path;
}

}  // namespace bird_exporter::testing
