// A real Prometheus server for end-to-end tests: scrapes the given targets every second,
// evaluates the given rule files, and answers instant queries and the alerts API. Optional
// history is backfilled into its TSDB (promtool tsdb create-blocks-from openmetrics) before it
// starts, for rules that compare with a day of data.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "support/exporter_process.h"

namespace bird_exporter::testing {

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

struct PrometheusOptions {
  std::vector<std::string> targets;  // host:port of job bird_call_exporter
  std::string rule_files;            // a glob, empty: no rules
  std::string history_openmetrics;   // a file to backfill before start, empty: none
  bool exemplar_storage = false;     // --enable-feature=exemplar-storage
};

// The repository's rule files (deploy/prometheus/rules/*.yml) copied into `dir` with every
// `for:` set to `for_value` and every group evaluated every second, so that a test sees in
// seconds what the rules decide in minutes; the timing is what `promtool test rules` covers.
// Returns the glob of the copies.
std::string FastRuleCopies(const std::filesystem::path& dir, const std::string& for_value);

class PrometheusServer {
 public:
  // Starts Prometheus with its data and log in `work_dir`; waits until it answers queries.
  // Throws std::runtime_error (with its log) if it does not start or the backfill fails.
  PrometheusServer(const std::string& work_dir, const PrometheusOptions& options);

  // The `data` of a successful API answer, or null.
  nlohmann::json Get(const std::string& path_and_query);
  // The `data` of an instant query ({resultType, result}), or null.
  nlohmann::json Query(const std::string& promql);
  // Label `label` -> value of each sample of an instant vector query.
  std::map<std::string, double> By(const std::string& promql, const std::string& label);
  // Every active alert (pending or firing) with its labels and state.
  nlohmann::json Alerts();
  // The names of the alerts in `state`.
  std::set<std::string> AlertsIn(const std::string& state);
  std::string Log() const { return process_->Log(); }

 private:
  int port_ = 0;
  std::unique_ptr<ExporterProcess> process_;
};

}  // namespace bird_exporter::testing
