#include "sim/demo.h"

#include <chrono>
#include <vector>

namespace bird_exporter::sim {
namespace {

SimulatorSettings DemoSettings(const std::string& scenario) {
  SimulatorSettings settings;
  settings.scenario = ScenarioByName(scenario);
  settings.workspaces = DemoWorkspaces();
  settings.seed = 20261121;
  return settings;
}

}  // namespace

Config DemoConfig(const std::string& base_url, const std::string& access_key) {
  Config config;
  config.bird.base_url = base_url;
  config.bird.access_key = access_key;
  config.bird.request_timeout = std::chrono::seconds(5);
  // The simulator's workspaces serve nobody else: most of its 50 requests per second are ours.
  config.bird.max_requests_per_second = 40;
  config.poll.interval = std::chrono::seconds(5);
  config.poll.initial_lookback = std::chrono::minutes(10);
  config.poll.insights_grace_period = std::chrono::minutes(2);
  config.poll.max_call_age = std::chrono::hours(1);
  const std::vector<std::string> workspace_names = {"production", "staging"};
  const std::vector<std::vector<std::string>> channel_names = {{"support-nl", "sales-de"},
                                                               {"support-uk", "outbound-us"}};
  const auto workspaces = DemoWorkspaces();
  for (std::size_t w = 0; w < workspaces.size(); ++w) {
    WorkspaceConfig ws{workspaces[w].id, workspace_names[w], {}};
    for (std::size_t c = 0; c < workspaces[w].channel_ids.size(); ++c) {
      ws.channels.push_back({workspaces[w].channel_ids[c], channel_names[w][c]});
    }
    config.workspaces.push_back(ws);
  }
  return config;
}

Demo::Demo(const std::string& scenario)
    : settings_(DemoSettings(scenario)),
      simulator_(settings_),
      config_(DemoConfig(simulator_.BaseUrl(), settings_.access_key)) {}

std::string Demo::LandingNote() const {
  return "Demo mode: the data comes from the built-in Bird API simulator (scenario " +
         settings_.scenario.name + ": " + settings_.scenario.description +
         "), not from a Bird account.";
}

}  // namespace bird_exporter::sim
