#include "daemon/run.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "daemon/exporter.h"
#include "daemon/flags.h"
#include "log/logging.h"
#include "version.h"

namespace bird_exporter {
namespace {

std::string Hostname() {
  char name[256] = {0};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

// Each HTTP connection is a file descriptor: the soft limit (often 1024) is raised to the hard
// one, as Go programs do, and a limit still below --web.max-connections is reported.
void RaiseOpenFileLimit(int max_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  constexpr rlim_t kReserved = 64;  // state database, Bird connections, logs
  if (limit.rlim_cur != RLIM_INFINITY &&
      limit.rlim_cur < static_cast<rlim_t>(max_connections) + kReserved) {
    spdlog::warn(
        "the open file limit is below --web.max-connections; connections beyond it wait "
        "to be accepted open_files={} max_connections={}",
        static_cast<unsigned long long>(limit.rlim_cur), max_connections);
  }
}

// --web.config.file, checked before anything starts: nullopt (after logging why) stops it.
std::optional<WebConfig> LoadStartupWebConfig(const std::string& path) {
  if (path.empty()) return WebConfig{};
  WebConfig web_config;
  try {
    web_config = LoadWebConfigFile(path);
  } catch (const WebConfigError& e) {
    spdlog::error("invalid web configuration error={}", LogQuote(e.what()));
    return std::nullopt;
  }
  spdlog::info("web configuration file={} {}", path, SummarizeWebConfig(web_config));
  for (const auto& warning : WebConfigWarnings(web_config)) {
    spdlog::warn("web configuration warning={}", LogQuote(warning));
  }
  return web_config;
}

// --config.file at start-up: nullopt (after printing or logging every error of the file) stops.
std::optional<Config> LoadStartupConfig(const Flags& flags) {
  try {
    return LoadConfigFile(flags.config_file);
  } catch (const ConfigError& e) {
    if (flags.config_check) {
      std::cerr << e.what() << "\n";
    } else {
      // One record per error of the file.
      std::istringstream errors(e.what());
      for (std::string error; std::getline(errors, error);) {
        spdlog::error("invalid configuration error={}", LogQuote(error));
      }
    }
    return std::nullopt;
  }
}

// A bad flag or shard: the reason on stderr, exit status 2.
int Usage(const std::string& error) {
  std::cerr << "bird_call_exporter: " << error << "\n";
  return 2;
}

// --help and --version answer and exit 0; nullopt for everything else.
std::optional<int> HelpOrVersion(const Flags& flags) {
  if (flags.help) {
    std::cout << HelpText();
    return 0;
  }
  if (flags.version) {
    std::cout << "bird_call_exporter version " << kVersion << " (revision " << kRevision << ")\n";
    return 0;
  }
  return std::nullopt;
}

// --log.level and --log.format (checked by ParseFlags).
void SetupLoggingFrom(const Flags& flags) {
  spdlog::level::level_enum level = spdlog::level::info;
  LogFormat format = LogFormat::kLogfmt;
  ParseLogLevel(flags.log_level, level);
  ParseLogFormat(flags.log_format, format);
  SetupLogging(level, format);
}

// --config.check: the configuration is valid; its summary on stdout.
int ConfigCheck(const Flags& flags, const Config& config) {
  std::cout << "configuration OK: " << flags.config_file << "\n" << SummarizeConfig(config) << "\n";
  return 0;
}

// --state.inspect: what the state file holds, on stdout.
int InspectState(const Config& config) {
  if (config.state_file.empty()) {
    std::cerr << "bird_call_exporter: the configuration has no state_file\n";
    return 1;
  }
  try {
    std::cout << SqliteStateStore::Inspect(config.state_file);
  } catch (const StateError& e) {
    std::cerr << "bird_call_exporter: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

ServerSettings ServerSettingsOf(const Flags& flags, WebConfig web_config, std::string note) {
  ServerSettings settings;
  settings.listen_address = flags.listen_address;
  settings.telemetry_path = flags.telemetry_path;
  settings.landing_note = std::move(note);
  settings.web_config = std::move(web_config);
  settings.enable_lifecycle = flags.enable_lifecycle;
  settings.max_requests = flags.max_requests;
  settings.max_connections = flags.max_connections;
  return settings;
}

// SIGTERM, SIGINT and SIGHUP, blocked in the calling thread: they are taken synchronously by
// sigwait, and every thread started afterwards inherits the mask (none may take them first).
sigset_t BlockSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal_number : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, signal_number);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// Runs the exporter until SIGTERM or SIGINT; SIGHUP reloads.
int Serve(const Flags& flags, ExporterOptions options, const std::string& landing_note) {
  const auto web_config = LoadStartupWebConfig(flags.web_config_file);
  if (!web_config) return 1;
  const sigset_t signals = BlockSignals();
  RaiseOpenFileLimit(flags.max_connections);

  options.web_config_file = flags.web_config_file;
  options.server = ServerSettingsOf(flags, *web_config, landing_note);
  std::optional<Exporter> exporter;
  try {
    exporter.emplace(std::move(options));
  } catch (const StartError& e) {
    spdlog::error("{} error={}", e.stage(), LogQuote(e.what()));
    return 1;
  }
  const auto ports = exporter->ListeningPorts();
  spdlog::info("listening address={} port={} telemetry_path={}", flags.listen_address,
               ports.empty() ? 0 : ports.front(), flags.telemetry_path);
  for (;;) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number != SIGHUP) {
      spdlog::info("received signal, shutting down signal={}", strsignal(signal_number));
      break;
    }
    spdlog::info("received SIGHUP, reloading the configuration");
    exporter->Reload();
  }
  exporter.reset();
  spdlog::info("stopped");
  return 0;
}

// --demo: the configuration comes from the demo, which only its web config can reload.
int RunDemo(const Flags& flags, const ShardSettings& shard, const DemoFactory& demo) {
  if (!demo) {
    std::cerr << "bird_call_exporter: --demo is not available in this build\n";
    return 2;
  }
  // Before the simulator's threads start, so that they never take a signal meant for the loop.
  BlockSignals();
  DemoSource source;
  try {
    source = demo(flags.demo_scenario);
  } catch (const std::invalid_argument& e) {
    spdlog::error("--demo.scenario: {}", e.what());
    return 2;
  }
  spdlog::info("demo mode: polling the built-in Bird API simulator url={} scenario={}",
               source.config.bird.base_url, flags.demo_scenario);
  ExporterOptions options;
  options.config = std::move(source.config);
  options.shard = shard;
  return Serve(flags, std::move(options), source.landing_note);
}

}  // namespace

int RunExporter(int argc, char** argv, const DemoFactory& demo) {
  // No core dump, and no ptrace by other processes of the same user: the process holds the
  // access key and the TLS private key.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  std::string error;
  const auto flags = ParseFlags(std::vector<std::string>(argv + 1, argv + argc), error);
  if (!flags) return Usage(error);
  if (const auto answered = HelpOrVersion(*flags)) return *answered;
  SetupLoggingFrom(*flags);
  const auto shard = ParseShard(flags->shard_index, flags->shard_count, Hostname(), error);
  if (!shard) return Usage(error);
  if (flags->demo) return RunDemo(*flags, *shard, demo);

  auto config = LoadStartupConfig(*flags);
  if (!config) return 1;
  if (flags->config_check) return ConfigCheck(*flags, *config);
  if (flags->state_inspect) return InspectState(*config);
  // The key's variables leave the environment (and /proc/<pid>/environ); reloads still see them.
  ScrubAccessKeyEnvironment(config->bird);
  spdlog::info("starting bird_call_exporter version={} revision={}", kVersion, kRevision);
  spdlog::info("configuration file={} {}", flags->config_file, SummarizeConfig(*config));
  ExporterOptions options;
  options.config = std::move(*config);
  options.shard = *shard;
  options.config_file = flags->config_file;
  return Serve(*flags, std::move(options), "");
}

}  // namespace bird_exporter
