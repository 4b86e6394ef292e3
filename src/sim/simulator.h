// A simulator of the Bird calls API over real HTTP: calls appear, ring, talk and end in real
// time from a seed and a scenario, with Bird's envelope, auth, rate limit and quirks. It knows
// its ground truth (GET /_sim/truth). For demos and end-to-end tests, never for production.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/call_generator.h"

namespace bird_exporter::sim {

struct SimWorkspace {
  std::string id;
  std::vector<std::string> channel_ids;
};

struct SimulatorSettings {
  std::string listen_address = "127.0.0.1:0";  // civetweb listening_ports syntax
  std::string access_key = "demo-access-key";
  std::uint64_t seed = 1;
  Scenario scenario;
  std::vector<SimWorkspace> workspaces;
  // Calls created this long before the start are already there (many already ended).
  std::chrono::milliseconds history{std::chrono::minutes(5)};
  // After this long no new call starts, so traffic winds down to a quiet, final truth.
  std::optional<std::chrono::milliseconds> generate_for;
  int max_gets_per_second = 50;  // per workspace, like Bird; beyond it: 429
};

// Default demo topology: two workspaces with two voice channels each, stable uuids.
std::vector<SimWorkspace> DemoWorkspaces();

class Simulator {
 public:
  explicit Simulator(SimulatorSettings settings);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  std::string BaseUrl() const;  // http://127.0.0.1:<port>
  int Port() const;

  // What the simulator has served: every call listed at least once in a terminal status whose
  // insights are ready, aggregated the way the exporter counts them, plus `quiet` = no call
  // will start, end or become ready any more, and `generated` = every call created so far.
  nlohmann::json Truth() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bird_exporter::sim
