#include "daemon/exporter.h"

#include <prometheus/registry.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "bird/client.h"
#include "config/config.h"
#include "daemon/flags.h"
#include "http/curl_transport.h"
#include "log/logging.h"
#include "metrics/call_metrics.h"
#include "metrics/exporter_metrics.h"
#include "metrics/process_collector.h"
#include "poller/poller.h"
#include "poller/shard.h"
#include "server/server.h"
#include "sim/simulator.h"
#include "state/store.h"
#include "version.h"

namespace bird_exporter {
namespace {

std::vector<ChannelRef> ChannelsOf(const Config& config, const ShardSettings& shard) {
  std::vector<ChannelRef> channels;
  for (const auto& ws : config.workspaces) {
    for (const auto& ch : ws.channels) {
      if (InShard(ws.id, ch.id, shard)) channels.push_back({ws.id, ws.name, ch.id, ch.name});
    }
  }
  return channels;
}

PollerSettings PollerSettingsOf(const Config& config) {
  PollerSettings settings;
  settings.poll = config.poll;
  settings.max_concurrent_requests = config.bird.max_concurrent_requests;
  settings.poor_call = config.metrics.poor_call;
  return settings;
}

std::string Hostname() {
  char name[256] = {0};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

ClientSettings ClientSettingsOf(const BirdSettings& bird) {
  ClientSettings settings;
  settings.base_url = bird.base_url;
  settings.access_key = bird.access_key;
  settings.request_timeout = bird.request_timeout;
  settings.max_retries = bird.max_retries;
  settings.page_size = bird.page_size;
  settings.max_list_body_bytes = bird.max_list_body_size;
  settings.max_call_body_bytes = bird.max_call_body_size;
  return settings;
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

int Serve(const Flags& flags, const Config& config, const ShardSettings& shard,
          const std::string& landing_note) {
  // Before anything starts: an invalid --web.config.file stops start-up.
  WebConfig web_config;
  if (!flags.web_config_file.empty()) {
    try {
      web_config = LoadWebConfigFile(flags.web_config_file);
    } catch (const WebConfigError& e) {
      spdlog::error("invalid web configuration error={}", LogQuote(e.what()));
      return 1;
    }
    spdlog::info("web configuration file={} {}", flags.web_config_file,
                 SummarizeWebConfig(web_config));
    for (const auto& warning : WebConfigWarnings(web_config)) {
      spdlog::warn("web configuration warning={}", LogQuote(warning));
    }
  }
  // Signals are taken synchronously by this thread; every thread started below inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  RaiseOpenFileLimit(flags.max_connections);

  auto registry = std::make_shared<prometheus::Registry>();
  auto process = std::make_shared<ProcessCollector>();
  ExporterMetrics exporter_metrics(*registry);
  CallMetrics call_metrics(*registry, config.metrics.dimensions);
  RegisterBuildInfo(*registry);

  CurlTransport transport;
  WorkspaceRateLimiter limiter(config.bird.max_requests_per_second);
  BirdClient client(ClientSettingsOf(config.bird), transport, limiter, exporter_metrics);

  std::unique_ptr<SqliteStateStore> store;
  if (!config.state_file.empty()) store = std::make_unique<SqliteStateStore>(config.state_file);
  std::vector<ChannelRef> channels = ChannelsOf(config, shard);
  if (shard.count > 1) {
    std::size_t total = 0;
    for (const auto& ws : config.workspaces) total += ws.channels.size();
    spdlog::info("shard index={} count={} channels={} of {}", shard.index, shard.count,
                 channels.size(), total);
    if (channels.empty()) spdlog::warn("this shard has no channels to poll");
  }
  Poller poller(PollerSettingsOf(config), std::move(channels), client, call_metrics,
                exporter_metrics, store.get());
  try {
    // A state that cannot be opened now (a missing or read-only directory) is retried by the
    // polls, with /-/ready answering 503 meanwhile; only a state held by another process, or
    // written by a newer release, stops the start.
    poller.LoadState();
  } catch (const StateRefusedError& e) {
    spdlog::error("refusing to start error={}", LogQuote(e.what()));
    return 1;
  }

  exporter_metrics.ConfigReloaded(true, ToUnixSeconds(std::chrono::system_clock::now()));
  std::unique_ptr<HttpServer> server;
  // One path for SIGHUP and POST /-/reload: a new configuration is checked completely before any
  // part of it is applied; a bad one leaves the running one in place.
  std::mutex reload_mutex;
  Config current = config;
  auto reload_now = [&]() -> std::string {
    std::lock_guard lock(reload_mutex);
    // The demo has no configuration file; only its web config can be reloaded.
    std::optional<Config> loaded;
    try {
      if (!flags.demo) loaded = LoadConfigFile(flags.config_file);
    } catch (const ConfigError& e) {
      exporter_metrics.ConfigReloaded(false, 0);
      spdlog::error("configuration reload failed, keeping the running configuration error={}",
                    LogQuote(e.what()));
      return e.what();
    }
    // The web config is checked and applied first: it is the only part that can still fail
    // (a key that does not match its certificate), and then nothing has changed yet.
    if (!flags.web_config_file.empty()) {
      try {
        const WebConfig web = LoadWebConfigFile(flags.web_config_file);
        if (server) server->ReloadWebConfig(web);
        for (const auto& warning : WebConfigWarnings(web)) {
          spdlog::warn("web configuration warning={}", LogQuote(warning));
        }
      } catch (const std::runtime_error& e) {
        exporter_metrics.ConfigReloaded(false, 0);
        spdlog::error(
            "web configuration reload failed, keeping the running configuration "
            "error={}",
            LogQuote(e.what()));
        return e.what();
      }
    }
    if (!loaded) {
      exporter_metrics.ConfigReloaded(true, ToUnixSeconds(std::chrono::system_clock::now()));
      spdlog::info("web configuration reloaded");
      return "";
    }
    Config& next = *loaded;
    if (next.state_file != current.state_file) {
      spdlog::warn("state_file changed; the new path is used after a restart");
      next.state_file = current.state_file;
    }
    if (next.metrics.dimensions != current.metrics.dimensions) {
      spdlog::warn("metrics.dimensions changed; the new labels are used after a restart");
      next.metrics.dimensions = current.metrics.dimensions;
    }
    client.UpdateSettings(ClientSettingsOf(next.bird));
    explicit_bzero(current.bird.access_key.data(), current.bird.access_key.size());
    limiter.SetRate(next.bird.max_requests_per_second);
    poller.Reconfigure(PollerSettingsOf(next), ChannelsOf(next, shard));
    current = next;
    exporter_metrics.ConfigReloaded(true, ToUnixSeconds(std::chrono::system_clock::now()));
    spdlog::info("configuration reloaded file={} {}", flags.config_file, SummarizeConfig(next));
    return "";
  };
  // Whatever the outcome, /metrics shows it (bird_exporter_config_last_reload_successful).
  auto reload = [&]() -> std::string {
    std::string error = reload_now();
    if (server) server->RenderNow();
    return error;
  };

  ServerSettings server_settings;
  server_settings.listen_address = flags.listen_address;
  server_settings.telemetry_path = flags.telemetry_path;
  server_settings.landing_note = landing_note;
  server_settings.web_config = std::move(web_config);
  server_settings.reload = reload;
  server_settings.enable_lifecycle = flags.enable_lifecycle;
  server_settings.max_requests = flags.max_requests;
  server_settings.max_connections = flags.max_connections;
  server_settings.exemplars = [&call_metrics] { return call_metrics.Exemplars(); };
  try {
    server = std::make_unique<HttpServer>(
        server_settings, std::vector<std::weak_ptr<prometheus::Collectable>>{registry, process},
        [&poller]() -> std::string {
          if (!poller.StateOpen()) return "the state database cannot be opened (see the log)";
          return poller.Ready() ? "" : "not every channel has been polled successfully yet";
        });
  } catch (const ServerError& e) {
    spdlog::error("cannot start the HTTP server error={}", LogQuote(e.what()));
    return 1;
  }
  const auto ports = server->ListeningPorts();
  spdlog::info("listening address={} port={} telemetry_path={}", flags.listen_address,
               ports.empty() ? 0 : ports.front(), flags.telemetry_path);

  // Each cycle's counts reach /metrics in a snapshot rendered right after it.
  std::jthread poll_thread([&poller, &server](std::stop_token stop) {
    poller.Run(stop, [&server] { server->RequestRender(); });
  });

  for (;;) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number == SIGHUP) {
      spdlog::info("received SIGHUP, reloading the configuration");
      reload();
      continue;
    }
    spdlog::info("received signal, shutting down signal={}", strsignal(signal_number));
    break;
  }
  poll_thread.request_stop();
  poll_thread.join();
  server.reset();
  spdlog::info("stopped");
  return 0;
}

// The demo polls an in-process simulator with a fixed topology and no secret to protect.
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
  const auto workspaces = sim::DemoWorkspaces();
  for (std::size_t w = 0; w < workspaces.size(); ++w) {
    WorkspaceConfig ws{workspaces[w].id, workspace_names[w], {}};
    for (std::size_t c = 0; c < workspaces[w].channel_ids.size(); ++c) {
      ws.channels.push_back({workspaces[w].channel_ids[c], channel_names[w][c]});
    }
    config.workspaces.push_back(ws);
  }
  return config;
}

int RunDemo(const Flags& flags, const ShardSettings& shard) {
  sim::SimulatorSettings settings;
  try {
    settings.scenario = sim::ScenarioByName(flags.demo_scenario);
  } catch (const std::invalid_argument& e) {
    spdlog::error("--demo.scenario: {}", e.what());
    return 2;
  }
  settings.workspaces = sim::DemoWorkspaces();
  settings.seed = 20261121;
  sim::Simulator simulator(settings);
  spdlog::info("demo mode: polling the built-in Bird API simulator url={} scenario={}",
               simulator.BaseUrl(), settings.scenario.name);
  return Serve(flags, DemoConfig(simulator.BaseUrl(), settings.access_key), shard,
               "Demo mode: the data comes from the built-in Bird API simulator (scenario " +
                   settings.scenario.name + ": " + settings.scenario.description +
                   "), not from a Bird account.");
}

}  // namespace

int RunExporter(int argc, char** argv) {
  // No core dump, and no ptrace by other processes of the same user: the process holds the
  // access key and the TLS private key.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  std::string error;
  const auto flags = ParseFlags(std::vector<std::string>(argv + 1, argv + argc), error);
  if (!flags) {
    std::cerr << "bird_call_exporter: " << error << "\n";
    return 2;
  }
  if (flags->help) {
    std::cout << HelpText();
    return 0;
  }
  if (flags->version) {
    std::cout << "bird_call_exporter version " << kVersion << " (revision " << kRevision << ")\n";
    return 0;
  }
  spdlog::level::level_enum level = spdlog::level::info;
  LogFormat format = LogFormat::kLogfmt;
  ParseLogLevel(flags->log_level, level);
  ParseLogFormat(flags->log_format, format);
  SetupLogging(level, format);

  const auto shard = ParseShard(flags->shard_index, flags->shard_count, Hostname(), error);
  if (!shard) {
    std::cerr << "bird_call_exporter: " << error << "\n";
    return 2;
  }
  if (flags->demo) return RunDemo(*flags, *shard);

  Config config;
  try {
    config = LoadConfigFile(flags->config_file);
  } catch (const ConfigError& e) {
    if (flags->config_check) {
      std::cerr << e.what() << "\n";
    } else {
      // One record per error of the file.
      std::istringstream errors(e.what());
      for (std::string error; std::getline(errors, error);) {
        spdlog::error("invalid configuration error={}", LogQuote(error));
      }
    }
    return 1;
  }
  if (flags->config_check) {
    std::cout << "configuration OK: " << flags->config_file << "\n"
              << SummarizeConfig(config) << "\n";
    return 0;
  }
  if (flags->state_inspect) {
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
  // The key's variables leave the environment (and /proc/<pid>/environ); reloads still see them.
  ScrubAccessKeyEnvironment(config.bird);
  spdlog::info("starting bird_call_exporter version={} revision={}", kVersion, kRevision);
  spdlog::info("configuration file={} {}", flags->config_file, SummarizeConfig(config));
  return Serve(*flags, config, *shard, "");
}

}  // namespace bird_exporter
