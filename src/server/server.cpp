#include "server/server.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <prometheus/text_serializer.h>

#include <charconv>

#include "server/tls_front.h"
#include "version.h"

namespace bird_exporter {
namespace {

void Respond(mg_connection* conn, int status, const char* reason, const std::string& content_type,
             const std::string& body, const char* extra_headers = "") {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\n%s\r\n",
            status, reason, content_type.c_str(), body.size(), extra_headers);
  mg_write(conn, body.data(), body.size());
}

// `guard` runs first and answers the request itself when it returns false (e.g. with a 401).
class FunctionHandler : public CivetHandler {
 public:
  FunctionHandler(std::function<bool(mg_connection*)> guard,
                  std::function<void(mg_connection*)> get)
      : get_(std::move(get)), guard_(std::move(guard)) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    if (!guard_ || guard_(conn)) get_(conn);
    return true;
  }
  bool handleHead(CivetServer*, mg_connection* conn) override { return handleGet(nullptr, conn); }

 private:
  std::function<void(mg_connection*)> get_;
  std::function<bool(mg_connection*)> guard_;
};

// /-/reload changes state, so only POST does it (as in Prometheus and blackbox_exporter).
class ReloadHandler : public CivetHandler {
 public:
  ReloadHandler(std::function<bool(mg_connection*)> guard, std::function<std::string()> reload)
      : guard_(std::move(guard)), reload_(std::move(reload)) {}
  bool handlePost(CivetServer*, mg_connection* conn) override {
    if (!guard_(conn)) return true;
    const std::string error = reload_ ? reload_() : "reload is not available";
    if (error.empty()) {
      Respond(conn, 200, "OK", "text/plain", "Reloaded\n");
    } else {
      Respond(conn, 500, "Internal Server Error", "text/plain",
              "failed to reload the configuration: " + error + "\n");
    }
    return true;
  }
  bool handleGet(CivetServer*, mg_connection* conn) override { return NotAllowed(conn); }
  bool handleHead(CivetServer*, mg_connection* conn) override { return NotAllowed(conn); }
  bool handlePut(CivetServer*, mg_connection* conn) override { return NotAllowed(conn); }
  bool handleDelete(CivetServer*, mg_connection* conn) override { return NotAllowed(conn); }
  bool handlePatch(CivetServer*, mg_connection* conn) override { return NotAllowed(conn); }

 private:
  bool NotAllowed(mg_connection* conn) {
    if (!guard_(conn)) return true;
    const std::string body = "Only POST is allowed on /-/reload\n";
    mg_printf(conn,
              "HTTP/1.1 405 Method Not Allowed\r\nAllow: POST\r\nContent-Type: text/plain\r\n"
              "Content-Length: %zu\r\n\r\n",
              body.size());
    mg_write(conn, body.data(), body.size());
    return true;
  }

  std::function<bool(mg_connection*)> guard_;
  std::function<std::string()> reload_;
};

// civetweb reports why it could not start through log_message; the messages of the thread that
// is starting a server are collected here.
thread_local std::vector<std::string>* start_messages = nullptr;

int CollectStartMessage(const mg_connection*, const char* message) {
  if (start_messages == nullptr || message == nullptr) return 0;
  start_messages->emplace_back(message);
  return 1;
}

std::string HtmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string ToCivetListeningPort(const std::string& listen_address) {
  const auto colon = listen_address.rfind(':');
  if (colon == std::string::npos) {
    throw ServerError("--web.listen-address: expected [HOST]:PORT, got \"" + listen_address + "\"");
  }
  const std::string host = listen_address.substr(0, colon);
  const std::string port_text = listen_address.substr(colon + 1);
  int port = -1;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() ||
      port < 0 || port > 65535) {
    throw ServerError("--web.listen-address: invalid port in \"" + listen_address + "\"");
  }
  if (host.empty()) return port_text;
  if (host.front() == '[') {
    if (host.back() != ']') {
      throw ServerError("--web.listen-address: unterminated IPv6 address in \"" + listen_address +
                        "\"");
    }
    return host + ":" + port_text;
  }
  if (host.find(':') != std::string::npos) {
    throw ServerError("--web.listen-address: write IPv6 hosts in brackets, e.g. [::1]:9842");
  }
  return host + ":" + port_text;
}

HttpServer::HttpServer(ServerSettings settings,
                       std::vector<std::weak_ptr<prometheus::Collectable>> collectables,
                       ReadinessCheck readiness)
    : settings_(std::move(settings)),
      collectables_(std::move(collectables)),
      readiness_(std::move(readiness)),
      auth_(std::make_shared<AuthState>()) {
  auth_->web_config = settings_.web_config;
  if (settings_.telemetry_path.empty() || settings_.telemetry_path.front() != '/' ||
      settings_.telemetry_path == "/" || settings_.telemetry_path.rfind("/-/", 0) == 0) {
    throw ServerError("--web.telemetry-path: must start with / and not be / or under /-/, got \"" +
                      settings_.telemetry_path + "\"");
  }
  const WebConfig& web = settings_.web_config;
  // With TLS, civetweb serves plain HTTP on a loopback port and TlsFront the listen address.
  const std::string public_port = ToCivetListeningPort(settings_.listen_address);  // validates
  const std::string listening_port = web.tls_enabled ? "127.0.0.1:0" : public_port;
  const std::vector<std::string> options = {
      "listening_ports", listening_port,
      "num_threads",     std::to_string(settings_.num_threads),
      "enable_keep_alive", "yes",
      "request_timeout_ms", "30000",
  };
  CivetCallbacks callbacks;
  callbacks.log_message = CollectStartMessage;
  std::vector<std::string> messages;
  start_messages = &messages;
  try {
    server_ = std::make_unique<CivetServer>(options, &callbacks);
  } catch (const CivetException& e) {
    start_messages = nullptr;
    std::string reason = e.what();
    // civetweb's own messages say what went wrong (e.g. the address is in use).
    if (!messages.empty()) {
      reason.clear();
      for (const auto& message : messages) reason += (reason.empty() ? "" : "; ") + message;
    }
    throw ServerError("cannot listen on " + settings_.listen_address + ": " + reason);
  }
  start_messages = nullptr;
  if (server_->getContext() == nullptr) {
    throw ServerError("cannot listen on " + settings_.listen_address);
  }
  if (web.tls_enabled) {
    TlsFrontSettings front;
    front.listen_address = settings_.listen_address;
    front.tls = web.tls;
    mg_server_port port{};
    if (mg_get_server_ports(server_->getContext(), 1, &port) != 1) {
      throw ServerError("cannot listen on 127.0.0.1 for the TLS relay");
    }
    front.backend_port = port.port;
    tls_front_ = std::make_unique<TlsFront>(std::move(front));
  }

  // Every handler admits only what came through TLS (when configured); all but /-/healthy also
  // want basic auth credentials (when configured).
  const auto tls_only = [this](mg_connection* conn) { return FromTlsFront(conn); };
  const auto guard = [this](mg_connection* conn) { return FromTlsFront(conn) && Authorize(conn); };
  auto metrics = std::make_unique<FunctionHandler>(guard, [this](mg_connection* conn) {
    std::vector<prometheus::MetricFamily> families;
    for (const auto& weak : collectables_) {
      if (auto collectable = weak.lock()) {
        auto collected = collectable->Collect();
        families.insert(families.end(), std::make_move_iterator(collected.begin()),
                        std::make_move_iterator(collected.end()));
      }
    }
    Respond(conn, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
            prometheus::TextSerializer().Serialize(families));
  });
  // /-/healthy stays open: load balancers and liveness probes carry no credentials.
  auto healthy = std::make_unique<FunctionHandler>(
      tls_only, [](mg_connection* conn) { Respond(conn, 200, "OK", "text/plain", "Healthy\n"); });
  auto ready = std::make_unique<FunctionHandler>(guard, [this](mg_connection* conn) {
    const std::string reason = readiness_ ? readiness_() : std::string();
    if (reason.empty()) {
      Respond(conn, 200, "OK", "text/plain", "Ready\n");
    } else {
      Respond(conn, 503, "Service Unavailable", "text/plain", "Not ready: " + reason + "\n");
    }
  });
  auto landing = std::make_unique<FunctionHandler>(guard, [this](mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    if (info == nullptr || info->local_uri == nullptr || std::string(info->local_uri) != "/") {
      Respond(conn, 404, "Not Found", "text/plain", "Not found\n");
      return;
    }
    const std::string path = HtmlEscape(settings_.telemetry_path);
    std::string note;
    if (!settings_.landing_note.empty()) {
      note = "<p><strong>" + HtmlEscape(settings_.landing_note) + "</strong></p>\n";
    }
    Respond(conn, 200, "OK", "text/html; charset=utf-8",
            "<!DOCTYPE html>\n<html><head><title>Bird Call Exporter</title></head><body>\n"
            "<h1>Bird Call Exporter</h1>\n<p>Prometheus metrics of Bird voice-call insights. "
            "Version " +
                std::string(kVersion) + " (" + kRevision + ").</p>\n" + note + "<ul>\n<li><a href=\"" +
                path + "\">" + path +
                "</a></li>\n<li><a href=\"/-/healthy\">/-/healthy</a></li>\n"
                "<li><a href=\"/-/ready\">/-/ready</a></li>\n</ul>\n</body></html>\n");
  });
  server_->addHandler(settings_.telemetry_path, metrics.get());
  server_->addHandler("/-/healthy", healthy.get());
  server_->addHandler("/-/ready", ready.get());
  auto reload = std::make_unique<ReloadHandler>(guard, settings_.reload);
  server_->addHandler("/-/reload", reload.get());
  server_->addHandler("/", landing.get());
  handlers_.push_back(std::move(reload));
  handlers_.push_back(std::move(metrics));
  handlers_.push_back(std::move(healthy));
  handlers_.push_back(std::move(ready));
  handlers_.push_back(std::move(landing));
}

bool HttpServer::FromTlsFront(mg_connection* conn) {
  if (!tls_front_) return true;
  const mg_request_info* info = mg_get_request_info(conn);
  if (info != nullptr && tls_front_->IsOwnBackendConnection(info->remote_addr, info->remote_port)) {
    return true;
  }
  // Someone on this host connected to the loopback port directly, around TLS.
  Respond(conn, 403, "Forbidden", "text/plain", "Forbidden: use HTTPS\n");
  return false;
}

bool HttpServer::Authorize(mg_connection* conn) {
  std::shared_ptr<AuthState> auth;
  {
    std::lock_guard lock(auth_mutex_);
    auth = auth_;
  }
  if (!auth->web_config.BasicAuthEnabled()) return true;
  const char* header = mg_get_header(conn, "Authorization");
  if (CheckBasicAuth(auth->web_config, header == nullptr ? "" : header, &auth->cache)) {
    return true;
  }
  Respond(conn, 401, "Unauthorized", "text/plain", "Unauthorized\n",
          "WWW-Authenticate: Basic realm=\"bird_call_exporter\"\r\n");
  return false;
}

void HttpServer::ReloadWebConfig(const WebConfig& web_config) {
  if (web_config.tls_enabled != static_cast<bool>(tls_front_)) {
    throw ServerError("web config: switching TLS on or off needs a restart");
  }
  if (tls_front_) tls_front_->Reload(web_config.tls);
  auto next = std::make_shared<AuthState>();
  next->web_config = web_config;
  std::lock_guard lock(auth_mutex_);
  auth_ = std::move(next);
}

HttpServer::~HttpServer() {
  tls_front_.reset();  // first: no more relayed connections
  if (server_) server_->close();
}

std::vector<int> HttpServer::ListeningPorts() const {
  if (tls_front_) return {tls_front_->port()};
  std::vector<int> ports;
  mg_server_port info[8];
  const int n = mg_get_server_ports(server_->getContext(), 8, info);
  for (int i = 0; i < n; ++i) ports.push_back(info[i].port);
  return ports;
}

}  // namespace bird_exporter
