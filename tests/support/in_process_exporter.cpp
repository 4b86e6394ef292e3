#include "support/in_process_exporter.h"

#include <spdlog/spdlog.h>

#include "config/yaml_fields.h"
#include "support/http_client.h"

namespace bird_exporter::testing {

InProcessExporter::InProcessExporter(const std::string& config_text,
                                     const std::string& access_key) {
  EnsureCurlGlobal();  // main()'s job in the binary
  ExporterOptions options;
  options.config = ParseConfig(
      config_text,
      [&](const std::string& name) -> std::optional<std::string> {
        if (name == "BIRD_ACCESS_KEY") return access_key;
        return std::nullopt;
      },
      yaml::ReadWholeFile);
  // The binary's start-up summary, so that a test's look for the key in the log covers it.
  spdlog::info("configuration file=(in process) {}", SummarizeConfig(options.config));
  options.server.listen_address = "127.0.0.1:0";
  exporter_ = std::make_unique<Exporter>(std::move(options));
}

InProcessExporter::~InProcessExporter() = default;

std::string InProcessExporter::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(exporter_->ListeningPorts().at(0)) + path;
}

}  // namespace bird_exporter::testing
