// Proof on real data: simulator -> exporter -> a real Prometheus loaded with the repository's
// recording and alerting rules. Every query of every dashboard panel must return a non-empty,
// finite result, and the quality alerts must fire on degraded traffic and stay quiet on healthy.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "bird/client.h"
#include "sim/simulator.h"
#include "support/exporter_process.h"
#include "support/process.h"
#include "support/prometheus_server.h"

namespace bird_exporter::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

const fs::path kRepo = fs::path(TESTDATA_DIR) / ".." / "..";
constexpr const char* kKey = "dashboards-e2e-key";

// Busy traffic so that every window has calls; the degraded variant combines a lossy carrier
// with a burst of one-way audio and callers who give up while it rings.
sim::Scenario TestScenario(bool degraded) {
  sim::Scenario scenario = sim::ScenarioByName(degraded ? "degraded-carrier" : "healthy");
  if (degraded) {
    scenario.one_way_audio_share = 0.3;
    scenario.cancelled = 0.5;
  }
  scenario.calls_per_minute = 150;
  scenario.mean_talk_seconds = 3;
  scenario.long_call_share = 0.02;
  return scenario;
}

void CollectTargets(const nlohmann::json& panels, const std::string& dashboard,
                    std::vector<std::pair<std::string, std::string>>& out) {
  for (const auto& panel : panels) {
    if (panel.contains("panels")) CollectTargets(panel["panels"], dashboard, out);
    if (!panel.contains("targets")) continue;
    for (const auto& target : panel["targets"]) {
      if (!target.contains("expr") || target.value("hide", false)) continue;
      out.emplace_back(dashboard + " / " + panel.value("title", "?"), target["expr"]);
    }
  }
}

// Grafana's variables as a user who selected "All" would send them.
std::string Substitute(std::string expr) {
  static const std::vector<std::pair<std::regex, std::string>> kVariables = {
      {std::regex(R"(\$\{?__rate_interval\}?)"), "1m"},
      {std::regex(R"(\$\{?__interval\}?)"), "15s"},
      {std::regex(R"(\$\{?__range\}?)"), "5m"},
      {std::regex(R"(\$\{?(workspace|channel|direction|codec|status|job|instance)(:[a-z]+)?\}?)"),
       ".*"},
  };
  for (const auto& [pattern, value] : kVariables) expr = std::regex_replace(expr, pattern, value);
  return expr;
}

class DashboardsE2ETest : public ::testing::Test {
 protected:
  void TearDown() override {
    prometheus_.reset();
    exporter_.reset();
    simulator_.reset();
  }

  void StartAll(bool degraded) {
    sim::SimulatorSettings settings;
    settings.access_key = kKey;
    settings.seed = degraded ? 11 : 12;
    settings.scenario = TestScenario(degraded);
    settings.workspaces = sim::DemoWorkspaces();
    settings.history = seconds(0);
    simulator_ = std::make_unique<sim::Simulator>(settings);

    const std::string config = dir_ / "exporter.yml";
    std::ofstream out(config);
    out << "bird:\n  base_url: " << simulator_->BaseUrl()
        << "\n  access_key: ${BIRD_ACCESS_KEY}\n  request_timeout: 2s\n"
        << "poll:\n  interval: 1s\n  insights_grace_period: 1m\nworkspaces:\n";
    const std::vector<std::string> names = {"production", "staging"};
    const auto workspaces = sim::DemoWorkspaces();
    for (std::size_t w = 0; w < workspaces.size(); ++w) {
      out << "  - id: " << workspaces[w].id << "\n    name: " << names[w] << "\n    channels:\n";
      for (const auto& ch : workspaces[w].channel_ids) out << "      - id: " << ch << "\n";
    }
    out.close();
    exporter_ = std::make_unique<ExporterProcess>(
        EXPORTER_BINARY,
        std::vector<std::string>{"--config.file=" + config, "--web.listen-address=127.0.0.1:0"},
        std::map<std::string, std::string>{{"BIRD_ACCESS_KEY", kKey}}, dir_.path());
    const int exporter_port = exporter_->WaitForPort();
    ASSERT_GT(exporter_port, 0) << exporter_->Log();

    // The repository's rule files, with `for:` shortened: the expressions and floors are what
    // real data must exercise here; the `for:` timing is covered by `promtool test rules`.
    PrometheusOptions options;
    options.targets = {"127.0.0.1:" + std::to_string(exporter_port)};
    options.rule_files = FastRuleCopies(dir_ / "rules", "5s");
    prometheus_ = std::make_unique<PrometheusServer>(dir_.path(), options);
  }

  nlohmann::json Query(const std::string& promql) { return prometheus_->Query(promql); }
  std::set<std::string> AlertsIn(const std::string& state) { return prometheus_->AlertsIn(state); }

  // Non-empty and every value finite; the reason otherwise.
  std::string CheckFinite(const std::string& promql) {
    const auto data = Query(promql);
    if (!data.is_object()) return "query failed";
    const auto& result = data["result"];
    if (data.value("resultType", "") == "scalar") {
      const double v = std::stod(result[1].get<std::string>());
      return std::isfinite(v) ? "" : "non-finite scalar";
    }
    if (!result.is_array() || result.empty()) return "empty result";
    for (const auto& sample : result) {
      const double v = std::stod(sample["value"][1].get<std::string>());
      if (!std::isfinite(v)) return "non-finite value " + sample.dump();
    }
    return "";
  }

  TempDir dir_{"bird_dash_e2e"};
  std::unique_ptr<sim::Simulator> simulator_;
  std::unique_ptr<ExporterProcess> exporter_;
  std::unique_ptr<PrometheusServer> prometheus_;
};

TEST_F(DashboardsE2ETest, EveryPanelHasDataAndQualityAlertsFireOnDegradedTraffic) {
  StartAll(/*degraded=*/true);
  const std::set<std::string> expected = {"BirdCallAbandonRatioHigh", "BirdCallNoInboundMediaSpike",
                                          "BirdCallPoorMosShareHigh", "BirdCallPoorShareHigh"};
  std::set<std::string> firing;
  const bool fired = WaitFor(
      [&] {
        firing = AlertsIn("firing");
        return std::includes(firing.begin(), firing.end(), expected.begin(), expected.end());
      },
      seconds(150));
  std::string seen;
  for (const auto& name : firing) seen += name + " ";
  EXPECT_TRUE(fired) << "firing: " << seen;

  std::vector<std::pair<std::string, std::string>> targets;
  for (const auto& entry : fs::directory_iterator(kRepo / "grafana/dashboards")) {
    if (entry.path().extension() != ".json") continue;
    const auto dashboard = nlohmann::json::parse(ReadFile(entry.path()));
    CollectTargets(dashboard["panels"], entry.path().filename().string(), targets);
  }
  ASSERT_GT(targets.size(), 30u);
  for (const auto& [panel, expr] : targets) {
    const std::string promql = Substitute(expr);
    // Some panels need a few evaluations of the 1h rules; give each query a short grace.
    std::string problem;
    WaitFor([&] { return (problem = CheckFinite(promql)).empty(); }, seconds(10));
    EXPECT_EQ(problem, "") << panel << "\n  " << promql;
  }
}

TEST_F(DashboardsE2ETest, QualityAlertsStayQuietOnHealthyTraffic) {
  StartAll(/*degraded=*/false);
  // Wait until the rules have real inputs: MOS shares and no-media shares are computed.
  ASSERT_TRUE(WaitFor(
      [&] {
        const auto data = Query("workspace_channel:bird_call_mos_at_or_below_3_6:ratio_rate5m");
        return data.is_object() && data["result"].size() >= 4;
      },
      seconds(120)));
  // Watch for 20 s: long enough for a 5 s `for:` with 1 s evaluations to turn pending into
  // firing. Nothing may even be pending.
  std::set<std::string> bad;
  WaitFor(
      [&] {
        for (const std::string state : {"pending", "firing"}) {
          for (const auto& name : AlertsIn(state)) {
            if (name == "BirdCallPoorMosShareHigh" || name == "BirdCallBadMosShareHigh" ||
                name == "BirdCallNoInboundMediaSpike" || name == "BirdCallPoorShareHigh" ||
                name == "BirdCallAbandonRatioHigh") {
              bad.insert(name);
            }
          }
        }
        return false;  // observe for the whole period
      },
      seconds(20));
  std::string seen;
  for (const auto& name : bad) seen += name + " ";
  EXPECT_TRUE(bad.empty()) << "alerts active on healthy traffic: " << seen;
}

}  // namespace
}  // namespace bird_exporter::testing
