// The HTTP front on the listen address: the telemetry path (prometheus-cpp text exposition of
// the registered collectables), a landing page, /-/healthy and /-/ready. Serves; never polls.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "server/web_config.h"

class CivetServer;
class CivetHandler;
struct mg_connection;

namespace bird_exporter {

class TlsFront;

struct ServerSettings {
  std::string listen_address = ":9842";  // [HOST]:PORT
  std::string telemetry_path = "/metrics";
  int num_threads = 4;
  std::string landing_note;  // extra line on the landing page (e.g. demo mode)
  // --web.config.file: TLS and basic auth. The default is plain HTTP without authentication.
  WebConfig web_config;
  // POST /-/reload: reloads the configuration; returns an empty string on success, else why not.
  std::function<std::string()> reload;
};

class ServerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "[HOST]:PORT" -> civetweb listening_ports ("127.0.0.1:9842", "[::1]:9842", "9842").
// Throws ServerError naming the flag on malformed input.
std::string ToCivetListeningPort(const std::string& listen_address);

// Readiness: empty string when ready, else the reason shown with the 503.
using ReadinessCheck = std::function<std::string()>;

// With settings.web_config:
// - tls_server_config: HTTPS only on the listen address (TlsFront, OpenSSL), TLS 1.2 or 1.3 as
//   min_version says, client certificates as client_auth_type says, verified against
//   client_ca_file for VerifyClientCertIfGiven and RequireAndVerifyClientCert.
// - basic_auth_users: every path but /-/healthy answers 401 without valid credentials.
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

  // Applies a reloaded web config: new basic-auth users and TLS certificates take effect for new
  // requests and connections. Switching TLS on or off needs a restart. Throws ServerError and
  // keeps the running web config on failure.
  void ReloadWebConfig(const WebConfig& web_config);

 private:
  // True when the request may proceed; otherwise the 403 or 401 has been sent.
  bool FromTlsFront(mg_connection* conn);
  bool Authorize(mg_connection* conn);

  ServerSettings settings_;
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables_;
  ReadinessCheck readiness_;
  // The basic-auth part of the web config, replaced whole on reload (with a fresh cache, so an
  // old password stops working at once).
  struct AuthState {
    WebConfig web_config;
    BasicAuthCache cache;
  };
  mutable std::mutex auth_mutex_;
  std::shared_ptr<AuthState> auth_;
  std::vector<std::unique_ptr<CivetHandler>> handlers_;
  std::unique_ptr<CivetServer> server_;
  std::unique_ptr<TlsFront> tls_front_;  // set with tls_server_config
};

}  // namespace bird_exporter
