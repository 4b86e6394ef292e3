// bird_api_simulator: serves a simulated Bird calls API for demos and tests.
#include <signal.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <system_error>

#include "sim/simulator.h"

namespace {

constexpr int kMaxWorkspaces = 1000;
constexpr int kMaxChannelsPerWorkspace = 1000;
constexpr int kMaxChannels = 10000;
// Gaps are whole milliseconds: beyond this many calls a second per channel the rate drifts.
constexpr double kMaxCallsPerSecond = 100;

constexpr const char* kUsage =
    "usage: bird_api_simulator [flags]\n"
    "  --web.listen-address=HOST:PORT  where to listen (default 127.0.0.1:8089)\n"
    "  --scenario=NAME                 the traffic (default healthy; the scenarios are below)\n"
    "  --seed=N                        the seed of every call and fault (default 1)\n"
    "  --access-key=KEY                the key clients must send (default demo-access-key)\n"
    "  --history=SECONDS               calls created this long before the start are already\n"
    "                                  there (default 300)\n"
    "  --generate-for=SECONDS          no call starts after this long (default: no end)\n"
    "  --calls-per-second=N            new calls a second per channel instead of the scenario's\n"
    "                                  rate: above 0, at most 100, fractions allowed (0.5)\n"
    "  --long-call-share=X             share of the answered calls that are long calls instead\n"
    "                                  of the scenario's: 0 to 1\n"
    "  --workspaces=N                  serve N generated workspaces (1-1000) instead of the\n"
    "                                  two demo workspaces (2 with only the flag below)\n"
    "  --channels-per-workspace=M      channels of each generated workspace (1-1000, default 2;\n"
    "                                  at most 10000 channels in all)\n"
    "  --max-gets-per-second=N         requests a second per workspace before 429s, like\n"
    "                                  Bird's limit (default 50)\n"
    "Generated workspaces and channels have the same ids on every run (derived from their\n"
    "indices); they are printed on stderr at the start, one `workspace=<id> channel=<id>` line\n"
    "per channel.\n";

// The whole text as a decimal integer within [min, max].
template <typename T>
std::optional<T> ParseInteger(const std::string& text, T min, T max) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

// The whole text as a finite decimal number.
std::optional<double> ParseNumber(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::fixed);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

int BadValue(const std::string& name, const std::string& value, const std::string& expected) {
  std::cerr << "bird_api_simulator: invalid value \"" << value << "\" for " << name << ": "
            << expected << "\n";
  return 2;
}

struct SimFlags {
  bird_exporter::sim::SimulatorSettings settings;
  std::string scenario = "healthy";
  std::optional<double> calls_per_second, long_call_share;
  std::optional<int> workspaces, channels_per_workspace;
};

// One flag and its value; nullopt when accepted, else the exit code (0 after --help).
std::optional<int> ParseFlag(const std::string& name, const std::string& value, SimFlags& flags) {
  constexpr long long kMaxSeconds = 10LL * 365 * 24 * 3600;
  auto& settings = flags.settings;
  if (name == "--help" || name == "-h") {
    std::cout << kUsage << "scenarios:\n";
    for (const auto& n : bird_exporter::sim::ScenarioNames()) {
      std::cout << "  " << n << "\n      " << bird_exporter::sim::ScenarioByName(n).description
                << "\n";
    }
    return 0;
  } else if (name == "--web.listen-address") {
    if (value.empty()) return BadValue(name, value, "expected HOST:PORT");
    settings.listen_address = value;
  } else if (name == "--scenario") {
    flags.scenario = value;
  } else if (name == "--seed") {
    const auto seed =
        ParseInteger<std::uint64_t>(value, 0, std::numeric_limits<std::uint64_t>::max());
    if (!seed) return BadValue(name, value, "expected a non-negative integer");
    settings.seed = *seed;
  } else if (name == "--access-key") {
    if (value.empty()) return BadValue(name, value, "expected a non-empty key");
    settings.access_key = value;
  } else if (name == "--history") {
    const auto seconds = ParseInteger<long long>(value, 0, kMaxSeconds);
    if (!seconds) return BadValue(name, value, "expected whole seconds, 0 or more");
    settings.history = std::chrono::seconds(*seconds);
  } else if (name == "--generate-for") {
    const auto seconds = ParseInteger<long long>(value, 0, kMaxSeconds);
    if (!seconds) return BadValue(name, value, "expected whole seconds, 0 or more");
    settings.generate_for = std::chrono::seconds(*seconds);
  } else if (name == "--calls-per-second") {
    flags.calls_per_second = ParseNumber(value);
    const auto& rate = flags.calls_per_second;
    if (!rate || *rate <= 0 || *rate > kMaxCallsPerSecond) {
      return BadValue(name, value, "expected a number above 0 and at most 100");
    }
  } else if (name == "--long-call-share") {
    flags.long_call_share = ParseNumber(value);
    const auto& share = flags.long_call_share;
    if (!share || *share < 0 || *share > 1) {
      return BadValue(name, value, "expected a number from 0 to 1");
    }
  } else if (name == "--workspaces") {
    flags.workspaces = ParseInteger<int>(value, 1, kMaxWorkspaces);
    if (!flags.workspaces) return BadValue(name, value, "expected an integer from 1 to 1000");
  } else if (name == "--channels-per-workspace") {
    flags.channels_per_workspace = ParseInteger<int>(value, 1, kMaxChannelsPerWorkspace);
    if (!flags.channels_per_workspace) {
      return BadValue(name, value, "expected an integer from 1 to 1000");
    }
  } else if (name == "--max-gets-per-second") {
    const auto limit = ParseInteger<int>(value, 1, 1000000);
    if (!limit) return BadValue(name, value, "expected an integer from 1 to 1000000");
    settings.max_gets_per_second = *limit;
  } else {
    std::cerr << "bird_api_simulator: unknown flag " << name << " (see --help)\n";
    return 2;
  }
  return std::nullopt;
}

// The scenario and the topology the flags ask for; nullopt when they fit, else the exit code.
std::optional<int> Resolve(SimFlags& flags) {
  auto& settings = flags.settings;
  try {
    settings.scenario = bird_exporter::sim::ScenarioByName(flags.scenario);
  } catch (const std::invalid_argument& e) {
    std::cerr << "bird_api_simulator: " << e.what() << "\n";
    return 2;
  }
  if (flags.calls_per_second) settings.scenario.calls_per_minute = *flags.calls_per_second * 60;
  if (flags.long_call_share) settings.scenario.long_call_share = *flags.long_call_share;
  if (!flags.workspaces && !flags.channels_per_workspace) {
    settings.workspaces = bird_exporter::sim::DemoWorkspaces();
    return std::nullopt;
  }
  const int n = flags.workspaces.value_or(2), m = flags.channels_per_workspace.value_or(2);
  if (n * m > kMaxChannels) {
    std::cerr << "bird_api_simulator: --workspaces=" << n << " with --channels-per-workspace=" << m
              << " makes " << n * m << " channels, more than " << kMaxChannels << "\n";
    return 2;
  }
  settings.workspaces = bird_exporter::sim::GeneratedWorkspaces(n, m);
  return std::nullopt;
}

int Run(int argc, char** argv) {
  SimFlags flags;
  flags.settings.listen_address = "127.0.0.1:8089";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (const auto code = ParseFlag(arg.substr(0, eq), value, flags)) return *code;
  }
  if (const auto code = Resolve(flags)) return *code;
  const bool generated = flags.workspaces || flags.channels_per_workspace;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (generated) {
    for (const auto& ws : flags.settings.workspaces) {
      for (const auto& ch : ws.channel_ids) {
        std::cerr << "workspace=" << ws.id << " channel=" << ch << "\n";
      }
    }
  }
  bird_exporter::sim::Simulator simulator(flags.settings);
  std::cerr << "bird_api_simulator listening port=" << simulator.Port()
            << " scenario=" << flags.settings.scenario.name << "\n";
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
