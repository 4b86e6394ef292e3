// The HTTP front on the listen address, on Boost.Beast: the telemetry path (a snapshot of the
// text exposition, rendered once per poll and every few seconds, plain or gzip), a landing page,
// /-/healthy, /-/ready and, with --web.enable-lifecycle, POST /-/reload. One event loop serves
// every connection, so an idle, slow or non-reading client costs memory, not availability: each
// connection has deadlines for its request head, its whole request and the progress of its
// response. TLS, client certificates and basic auth follow --web.config.file. Serves; never polls.
#pragma once

#include <prometheus/collectable.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/web_config.h"
#include "metrics/openmetrics.h"
#include "server/http_listener.h"

namespace bird_exporter {

struct ServerSettings {
  std::string listen_address = ":9842";  // [HOST]:PORT
  std::string telemetry_path = "/metrics";
  std::string landing_note;  // extra line on the landing page (e.g. demo mode)
  // --web.config.file: TLS and basic auth. The default is plain HTTP without authentication.
  WebConfig web_config;
  // POST /-/reload (only with enable_lifecycle): reloads the configuration; returns an empty
  // string on success, else why not.
  std::function<std::string()> reload;
  bool enable_lifecycle = false;  // --web.enable-lifecycle
  int max_requests = 40;          // --web.max-requests: concurrent scrapes; 0 = no limit
  // How long a scrape counts against max_requests at most while its answer is being written:
  // clients that stop reading cannot hold the slots of the others.
  std::chrono::milliseconds scrape_slot_hold{std::chrono::seconds(1)};
  // How long a scrape beyond max_requests waits for a slot before its 503.
  std::chrono::milliseconds scrape_queue_wait{std::chrono::seconds(1)};
  int max_connections = 4096;  // --web.max-connections: more wait in the listen backlog
  std::chrono::milliseconds read_header_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};   // a whole request
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};  // without any progress
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(2)};    // between requests
  std::chrono::milliseconds tls_handshake_timeout{std::chrono::seconds(10)};
  // A scrape renders the exposition again when a poll has committed since the last rendering
  // (RequestRender) or when it is older than this (process metrics).
  std::chrono::milliseconds max_snapshot_age{std::chrono::seconds(5)};
  // Held while the metrics are collected for a rendering (unset: nothing is held): the poller
  // holds it while it adds a poll's counts, so that a snapshot has all of them or none.
  std::function<std::unique_lock<std::mutex>()> collect_guard;
  // Failed basic-auth attempts from one address within a minute before it gets 429s.
  int max_auth_failures = 10;
  // The exemplars of the OpenMetrics exposition (none when unset).
  std::function<ExemplarMap()> exemplars;
};

class ServerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Readiness: empty string when ready, else the reason shown with the 503.
using ReadinessCheck = std::function<std::string()>;

// With settings.web_config:
// - tls_server_config: HTTPS only on the listen address, TLS 1.2 or 1.3 as min_version says,
//   client certificates as client_auth_type says, verified against client_ca_file for
//   VerifyClientCertIfGiven and RequireAndVerifyClientCert.
// - basic_auth_users: every path but /-/healthy answers 401 without valid credentials. bcrypt
//   runs on worker threads, never on the event loop; an address with too many failures gets 429.
class HttpServer {
 public:
  // Starts listening at once; throws ServerError when the address cannot be bound or TLS cannot
  // be set up.
  HttpServer(ServerSettings settings,
             std::vector<std::weak_ptr<prometheus::Collectable>> collectables,
             ReadinessCheck readiness);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::vector<int> ListeningPorts() const;

  // Marks the exposition out of date (a poll has committed): the next scrape renders it before
  // it answers. Never blocks.
  void RequestRender();
  // Renders it now, on the calling thread (after a reload, so that the next scrape shows it).
  void RenderNow();

  // Applies a reloaded web config: new basic-auth users and TLS certificates take effect for new
  // requests and connections. Switching TLS on or off needs a restart. Throws ServerError and
  // keeps the running web config on failure.
  void ReloadWebConfig(const WebConfig& web_config);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace bird_exporter
