// bird_api_simulator: serves a simulated Bird calls API for demos and tests.
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "sim/simulator.h"

namespace {

int Run(int argc, char** argv) {
  using bird_exporter::sim::Simulator;
  using bird_exporter::sim::SimulatorSettings;
  SimulatorSettings settings;
  settings.listen_address = "127.0.0.1:8089";
  std::string scenario = "healthy";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (name == "--help") {
      std::cout << "usage: bird_api_simulator [--web.listen-address=HOST:PORT] "
                   "[--scenario=NAME] [--seed=N] [--access-key=KEY] [--history=SECONDS] "
                   "[--generate-for=SECONDS]\nscenarios:";
      for (const auto& n : bird_exporter::sim::ScenarioNames()) std::cout << " " << n;
      std::cout << "\n";
      return 0;
    } else if (name == "--web.listen-address") {
      settings.listen_address = value;
    } else if (name == "--scenario") {
      scenario = value;
    } else if (name == "--seed") {
      settings.seed = std::stoull(value);
    } else if (name == "--access-key") {
      settings.access_key = value;
    } else if (name == "--history") {
      settings.history = std::chrono::seconds(std::stoll(value));
    } else if (name == "--generate-for") {
      settings.generate_for = std::chrono::seconds(std::stoll(value));
    } else {
      std::cerr << "bird_api_simulator: unknown flag " << name << " (see --help)\n";
      return 2;
    }
  }
  try {
    settings.scenario = bird_exporter::sim::ScenarioByName(scenario);
  } catch (const std::invalid_argument& e) {
    std::cerr << "bird_api_simulator: " << e.what() << "\n";
    return 2;
  }
  settings.workspaces = bird_exporter::sim::DemoWorkspaces();

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  Simulator simulator(settings);
  std::cerr << "bird_api_simulator listening port=" << simulator.Port()
            << " scenario=" << settings.scenario.name << "\n";
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bird_api_simulator: " << e.what() << "\n";
    return 1;
  }
}
