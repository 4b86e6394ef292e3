// The process around the Exporter: flags, logging, the configuration, --config.check and
// --state.inspect, the signal loop; returns the process exit code.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/config.h"

namespace bird_exporter {

// What --demo polls instead of Bird: the configuration that reaches it, a line for the landing
// page, and whatever serves it (kept alive until the exporter has stopped).
struct DemoSource {
  Config config;
  std::string landing_note;
  std::shared_ptr<void> keep_alive;
};
// Starts the demo of a scenario; throws std::invalid_argument naming an unknown one.
using DemoFactory = std::function<DemoSource(const std::string& scenario)>;

// Without a demo factory, --demo is refused.
int RunExporter(int argc, char** argv, const DemoFactory& demo = {});

}  // namespace bird_exporter
