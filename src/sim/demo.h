// --demo: the built-in Bird API simulator with a fixed topology (two workspaces of two voice
// channels each), and the configuration that polls it. Linked only by the executable.
#pragma once

#include <string>

#include "config/config.h"
#include "sim/simulator.h"

namespace bird_exporter::sim {

// The configuration that polls a simulator of DemoWorkspaces() at `base_url`: short intervals,
// most of the simulated 50 requests per second, no state file and no secret to protect.
Config DemoConfig(const std::string& base_url, const std::string& access_key);

class Demo {
 public:
  // Starts the simulator of `scenario` (sim::ScenarioByName) at a fixed seed; throws
  // std::invalid_argument naming an unknown scenario.
  explicit Demo(const std::string& scenario);

  const Config& config() const { return config_; }
  // The landing page's line: where the data comes from.
  std::string LandingNote() const;

 private:
  SimulatorSettings settings_;
  Simulator simulator_;
  Config config_;
};

}  // namespace bird_exporter::sim
