#include "support/prometheus_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <stdexcept>

#include "bird/client.h"
#include "support/process.h"

namespace bird_exporter::testing {

namespace fs = std::filesystem;
using std::chrono::seconds;

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string FastRuleCopies(const fs::path& dir, const std::string& for_value) {
  const fs::path rules = fs::path(TESTDATA_DIR) / ".." / ".." / "deploy/prometheus/rules";
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(rules)) {
    if (entry.path().extension() != ".yml") continue;
    std::string text = ReadFile(entry.path());
    text = std::regex_replace(text, std::regex(R"(\bfor: *[0-9a-z]+)"), "for: " + for_value);
    text = std::regex_replace(text, std::regex(R"(\binterval: *[0-9a-z]+)"), "interval: 1s");
    std::ofstream(dir / entry.path().filename()) << text;
  }
  return (dir / "*.yml").string();
}

PrometheusServer::PrometheusServer(const std::string& work_dir, const PrometheusOptions& options) {
  const std::string data = work_dir + "/prometheus-data";
  if (!options.history_openmetrics.empty()) {
    const CommandResult backfill =
        RunCommand(ShellQuote(PROMTOOL_BINARY) + " tsdb create-blocks-from openmetrics " +
                   ShellQuote(options.history_openmetrics) + " " + ShellQuote(data));
    if (backfill.exit_code != 0) throw std::runtime_error("backfill failed: " + backfill.output);
  }
  port_ = FreePort();
  std::ofstream config(work_dir + "/prometheus.yml");
  config << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n";
  if (!options.rule_files.empty()) config << "rule_files:\n  - " << options.rule_files << "\n";
  config << "scrape_configs:\n  - job_name: bird_call_exporter\n    static_configs:\n"
         << "      - targets: [";
  for (std::size_t i = 0; i < options.targets.size(); ++i) {
    config << (i ? ", " : "") << "'" << options.targets[i] << "'";
  }
  config << "]\n";
  config.close();
  std::vector<std::string> args{"--config.file=" + work_dir + "/prometheus.yml",
                                "--storage.tsdb.path=" + data,
                                "--web.listen-address=127.0.0.1:" + std::to_string(port_)};
  // With exemplar storage Prometheus asks for OpenMetrics and keeps the exemplars.
  if (options.exemplar_storage) args.push_back("--enable-feature=exemplar-storage");
  process_ = std::make_unique<ExporterProcess>(PROMETHEUS_BINARY, args,
                                               std::map<std::string, std::string>{}, work_dir);
  // Still running: a port taken meanwhile by another process would leave the queries to it.
  if (!WaitFor([&] { return Query("up").is_object(); }, seconds(30)) || !process_->Running()) {
    throw std::runtime_error("Prometheus did not start: " + process_->Log());
  }
}

nlohmann::json PrometheusServer::Get(const std::string& path_and_query) {
  const HttpResult result = HttpGet("http://127.0.0.1:" + std::to_string(port_) + path_and_query);
  if (result.status != 200) return nullptr;
  const auto doc = nlohmann::json::parse(result.body, nullptr, false);
  if (doc.is_discarded() || doc.value("status", "") != "success") return nullptr;
  return doc["data"];
}

nlohmann::json PrometheusServer::Query(const std::string& promql) {
  return Get("/api/v1/query?query=" + UrlEncode(promql));
}

std::map<std::string, double> PrometheusServer::By(const std::string& promql,
                                                   const std::string& label) {
  std::map<std::string, double> values;
  const auto data = Query(promql);
  if (!data.is_object() || !data["result"].is_array()) return values;
  for (const auto& sample : data["result"]) {
    values[sample["metric"].value(label, "")] = std::stod(sample["value"][1].get<std::string>());
  }
  return values;
}

nlohmann::json PrometheusServer::Alerts() {
  const auto data = Get("/api/v1/alerts");
  if (!data.is_object() || !data["alerts"].is_array()) return nlohmann::json::array();
  return data["alerts"];
}

std::set<std::string> PrometheusServer::AlertsIn(const std::string& state) {
  std::set<std::string> names;
  for (const auto& alert : Alerts()) {
    if (alert.value("state", "") == state) names.insert(alert["labels"].value("alertname", ""));
  }
  return names;
}

}  // namespace bird_exporter::testing
