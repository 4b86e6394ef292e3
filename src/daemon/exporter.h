// The running exporter: the whole object graph, from the metrics registry to the HTTP server and
// the poll thread, as members in the order they start. Destruction is the shutdown: the poll
// thread stops first, then the server, the poller, the state, the client and the metrics.
#pragma once

#include <prometheus/registry.h>

#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bird/client.h"
#include "bird/rate_limiter.h"
#include "config/config.h"
#include "config/web_config.h"
#include "http/curl_transport.h"
#include "metrics/call_metrics.h"
#include "metrics/exporter_metrics.h"
#include "metrics/process_collector.h"
#include "poller/poller.h"
#include "poller/shard.h"
#include "server/server.h"
#include "state/store.h"

namespace bird_exporter {

struct ExporterOptions {
  Config config;
  ShardSettings shard;
  // Read again by Reload(). An empty config_file keeps `config` for good (the demo); an empty
  // web_config_file means plain HTTP without authentication.
  std::string config_file;
  std::string web_config_file;
  // The HTTP server (listen address, limits, timeouts, landing note, web_config already loaded
  // from web_config_file); its reload and exemplars callbacks are the exporter's own.
  ServerSettings server;
};

// What a reload did: nothing when `error` says why it was refused (the running configuration
// stays in place whole), else the sections it applied and those that wait for a restart.
struct ReloadResult {
  std::string error;
  std::vector<std::string> changed;   // "bird", "poll", "metrics.poor_call", "workspaces"
  std::vector<std::string> deferred;  // "state_file", "metrics.dimensions"
  bool web_config_reloaded = false;
  bool ok() const { return error.empty(); }
};

// Why the exporter could not start: `stage` is the log message, what() the reason.
class StartError : public std::runtime_error {
 public:
  StartError(std::string stage, const std::string& reason)
      : std::runtime_error(reason), stage_(std::move(stage)) {}
  const std::string& stage() const { return stage_; }

 private:
  std::string stage_;
};

class Exporter {
 public:
  // Opens the state, starts the HTTP server and then the poll thread. Throws StartError when the
  // state is refused (held by another process, written by a newer release) or the server cannot
  // listen. Signals are the caller's: the threads started here inherit its signal mask.
  explicit Exporter(ExporterOptions options);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // The one reload path, for SIGHUP and POST /-/reload: the new configuration and web config are
  // checked whole before any part is applied, one reload at a time. Whatever the outcome,
  // bird_exporter_config_last_reload_successful shows it on the next scrape.
  ReloadResult Reload();

  std::vector<int> ListeningPorts() const;

 private:
  ReloadResult ReloadLocked();
  void Apply(Config next, ReloadResult& result);

  const std::string config_file_;
  const std::string web_config_file_;
  const ShardSettings shard_;
  // Guards the running configuration and reloads (before the server: HTTP threads use it until
  // the server has stopped). serving_ is true from the moment the server and the poll thread
  // run until shutdown begins; reloads outside that are refused.
  std::mutex mutex_;
  bool serving_ = false;
  Config current_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ProcessCollector> process_;
  ExporterMetrics exporter_metrics_;
  CallMetrics call_metrics_;
  CurlTransport transport_;
  WorkspaceRateLimiter limiter_;
  BirdClient client_;
  std::unique_ptr<SqliteStateStore> store_;  // none without state_file
  Poller poller_;
  std::optional<HttpServer> server_;  // started once the state is loaded
  std::jthread poll_thread_;          // last: stopped first
};

}  // namespace bird_exporter
