// The HTTP front on the listen address: the telemetry path (prometheus-cpp text exposition of
// the registered collectables), a landing page, /-/healthy and /-/ready. Serves; never polls.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

class CivetServer;
class CivetHandler;

namespace bird_exporter {

struct ServerSettings {
  std::string listen_address = ":9842";  // [HOST]:PORT
  std::string telemetry_path = "/metrics";
  int num_threads = 4;
  std::string landing_note;  // extra line on the landing page (e.g. demo mode)
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

class HttpServer {
 public:
  // Starts listening at once; throws ServerError when the address cannot be bound.
  HttpServer(ServerSettings settings,
             std::vector<std::weak_ptr<prometheus::Collectable>> collectables,
             ReadinessCheck readiness);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::vector<int> ListeningPorts() const;

 private:
  ServerSettings settings_;
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables_;
  ReadinessCheck readiness_;
  std::vector<std::unique_ptr<CivetHandler>> handlers_;
  std::unique_ptr<CivetServer> server_;
};

}  // namespace bird_exporter
