// The whole chain with a real Prometheus: simulator -> bird_call_exporter -> Prometheus scraping
// every second. Once traffic is quiet, Prometheus's view must equal the simulator's ground truth.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "bird/client.h"
#include "sim/simulator.h"
#include "support/exporter_process.h"
#include "support/process.h"
#include "support/prometheus_server.h"

namespace bird_exporter::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kKey = "prometheus-e2e-key";

// Short calls, no multi-minute ones, so the traffic ends within a test's patience.
sim::Scenario TestScenario(const std::string& name) {
  sim::Scenario scenario = sim::ScenarioByName(name);
  scenario.calls_per_minute = 90;
  scenario.mean_talk_seconds = 4;
  scenario.long_call_share = 0;
  scenario.one_way_audio_share = 0.1;
  scenario.slow_seconds = 2.5;
  return scenario;
}

class PrometheusE2ETest : public ::testing::Test {
 protected:
  void TearDown() override {
    exporter_.reset();
    prometheus_.reset();
    simulator_.reset();
  }

  void StartAll(const std::string& scenario_name, bool exemplar_storage = false) {
    sim::SimulatorSettings settings;
    settings.access_key = kKey;
    settings.seed = 42;
    settings.scenario = TestScenario(scenario_name);
    settings.workspaces = sim::DemoWorkspaces();
    settings.history = seconds(40);
    settings.generate_for = seconds(8);
    simulator_ = std::make_unique<sim::Simulator>(settings);

    const std::string config = dir_ / "exporter.yml";
    std::ofstream out(config);
    out << "bird:\n  base_url: " << simulator_->BaseUrl()
        << "\n  access_key: ${BIRD_ACCESS_KEY}\n  request_timeout: 2s\n  max_retries: 4\n"
        << "poll:\n  interval: 500ms\n  initial_lookback: 10m\n  insights_grace_period: 5m\n"
        << "workspaces:\n";
    for (const auto& ws : sim::DemoWorkspaces()) {
      out << "  - id: " << ws.id << "\n    channels:\n";
      for (const auto& ch : ws.channel_ids) out << "      - id: " << ch << "\n";
    }
    out.close();
    exporter_ = std::make_unique<ExporterProcess>(
        EXPORTER_BINARY,
        std::vector<std::string>{"--config.file=" + config, "--web.listen-address=127.0.0.1:0"},
        std::map<std::string, std::string>{{"BIRD_ACCESS_KEY", kKey}}, dir_.path());
    const int exporter_port = exporter_->WaitForPort();
    ASSERT_GT(exporter_port, 0) << exporter_->Log();

    PrometheusOptions options;
    options.targets = {"127.0.0.1:" + std::to_string(exporter_port)};
    options.exemplar_storage = exemplar_storage;
    prometheus_ = std::make_unique<PrometheusServer>(dir_.path(), options);
  }

  // The result vector of an instant query, or null when Prometheus is not answering.
  nlohmann::json Query(const std::string& promql) {
    const auto data = prometheus_->Query(promql);
    return data.is_object() ? data["result"] : nullptr;
  }

  double Scalar(const std::string& promql) {
    const auto result = Query(promql);
    if (!result.is_array() || result.empty()) return -1;
    return std::stod(result[0]["value"][1].get<std::string>());
  }

  std::map<std::string, double> By(const std::string& promql, const std::string& label) {
    return prometheus_->By(promql, label);
  }

  // Waits until the simulator is quiet, every call it made was served as ended, and Prometheus
  // has scraped the same total; returns the truth.
  nlohmann::json WaitForQuiescence() {
    nlohmann::json truth;
    const bool settled = WaitFor(
        [&] {
          truth = simulator_->Truth();
          return truth["quiet"].get<bool>() && truth["calls"] == truth["generated"] &&
                 Scalar("sum(bird_calls_total)") == truth["calls"].get<double>();
        },
        seconds(120));
    EXPECT_TRUE(settled) << "truth=" << truth.dump()
                         << " prometheus=" << Scalar("sum(bird_calls_total)") << "\n"
                         << exporter_->Log().substr(0, 3000);
    return truth;
  }

  void ExpectPrometheusMatchesTruth(const nlohmann::json& truth) {
    EXPECT_EQ(Scalar("up{job=\"bird_call_exporter\"}"), 1);
    EXPECT_GT(truth["calls"].get<int>(), 100);
    EXPECT_EQ(Scalar("sum(bird_calls_total)"), truth["calls"].get<double>());
    EXPECT_EQ(Scalar("sum(bird_call_mos_count)"), truth["mos_observations"].get<double>());
    EXPECT_EQ(Scalar("sum(bird_call_pdd_seconds_count)"), truth["pdd_observations"].get<double>());
    EXPECT_EQ(Scalar("sum(bird_call_duration_seconds_count)"),
              truth["duration_observations"].get<double>());
    EXPECT_EQ(Scalar("sum(bird_call_no_inbound_media_total)"),
              truth["no_inbound_media"].get<double>());
    std::map<std::string, double> statuses;
    for (const auto& [status, count] : truth["by_status"].items()) statuses[status] = count;
    EXPECT_EQ(By("sum by (status) (bird_calls_total)", "status"), statuses);
    std::map<std::string, double> causes;
    for (const auto& [code, count] : truth["by_hangup_cause_code"].items()) causes[code] = count;
    EXPECT_EQ(By("sum by (hangup_cause_code) (bird_call_hangups_total)", "hangup_cause_code"),
              causes);
    EXPECT_EQ(Scalar("sum(bird_exporter_insights_unavailable_total) or vector(0)"), 0);
    // The breakdowns: the remote party's country as libphonenumber reads the simulated
    // numbers (SIP URIs, WebRTC clients, withheld and invalid numbers are unknown), the
    // carrier of each call, and the callers who gave up while it rang.
    std::map<std::string, double> countries, providers;
    for (const auto& [country, count] : truth["by_country"].items()) countries[country] = count;
    for (const auto& [provider, count] : truth["by_provider"].items()) providers[provider] = count;
    EXPECT_EQ(By("sum by (country) (bird_calls_total)", "country"), countries);
    EXPECT_GE(countries.size(), 5u);
    EXPECT_EQ(By("sum by (provider) (bird_calls_total)", "provider"), providers);
    EXPECT_EQ(providers.size(), 4u);
    EXPECT_EQ(Scalar("sum(bird_calls_abandoned_total)"), truth["abandoned"].get<double>());
    EXPECT_EQ(Scalar("sum(bird_call_pdd_seconds_count)"),
              Scalar("sum(bird_call_pdd_seconds_count{country!=\"\", provider!=\"\"})"));
  }

  TempDir dir_{"bird_prom_e2e"};
  std::unique_ptr<sim::Simulator> simulator_;
  std::unique_ptr<ExporterProcess> exporter_;
  std::unique_ptr<PrometheusServer> prometheus_;
};

TEST_F(PrometheusE2ETest, PrometheusSeesExactlyTheSimulatedCalls) {
  StartAll("healthy");
  // The key came from BIRD_ACCESS_KEY; the process's environment no longer shows it.
  std::ifstream environ_file("/proc/" + std::to_string(exporter_->pid()) + "/environ");
  const std::string environ_text((std::istreambuf_iterator<char>(environ_file)),
                                 std::istreambuf_iterator<char>());
  EXPECT_FALSE(environ_text.empty());
  EXPECT_EQ(environ_text.find(kKey), std::string::npos) << "the key is in /proc/<pid>/environ";
  const nlohmann::json truth = WaitForQuiescence();
  ExpectPrometheusMatchesTruth(truth);
  EXPECT_EQ(Scalar("sum(bird_exporter_parse_errors_total)"), 0);
}

// Scraped as OpenMetrics, the totals are the same, and the MOS buckets carry the id of the
// latest call that fell into them: what Grafana shows when an operator clicks a bad bucket.
TEST_F(PrometheusE2ETest, WithExemplarStorageTheMosBucketsCarryCallIds) {
  StartAll("healthy", /*exemplar_storage=*/true);
  ExpectPrometheusMatchesTruth(WaitForQuiescence());
  nlohmann::json data;
  ASSERT_TRUE(WaitFor(
      [&] {
        const double now =
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        const auto found = prometheus_->Get(
            "/api/v1/query_exemplars?query=" + UrlEncode("bird_call_mos_bucket") +
            "&start=" + std::to_string(now - 600) + "&end=" + std::to_string(now + 60));
        if (!found.is_array() || found.empty()) return false;
        data = found;
        return true;
      },
      seconds(60)))
      << prometheus_->Log().substr(0, 3000);
  std::set<std::string> call_ids;
  for (const auto& series : data) {
    const double le = series["seriesLabels"]["le"].get<std::string>() == "+Inf"
                          ? 1e9
                          : std::stod(series["seriesLabels"]["le"].get<std::string>());
    for (const auto& exemplar : series["exemplars"]) {
      ASSERT_EQ(exemplar["labels"].size(), 1u) << exemplar.dump();  // only call_id, no number
      const std::string id = exemplar["labels"]["call_id"].get<std::string>();
      EXPECT_EQ(id.size(), 36u) << id;
      call_ids.insert(id);
      EXPECT_LE(std::stod(exemplar["value"].get<std::string>()), le) << series.dump();
    }
  }
  // Exemplars exist only in OpenMetrics: the scrapes were OpenMetrics.
  EXPECT_GE(call_ids.size(), 3u);
}

TEST_F(PrometheusE2ETest, TotalsStayExactWhenTheApiIsInTrouble) {
  StartAll("api-trouble");
  const nlohmann::json truth = WaitForQuiescence();
  ExpectPrometheusMatchesTruth(truth);
  EXPECT_GT(Scalar("sum(bird_exporter_api_requests_total{code=\"429\"})"), 0);
  EXPECT_GT(Scalar("sum(bird_exporter_api_requests_total{code=\"502\"})"), 0);
  EXPECT_GT(Scalar("sum(bird_exporter_parse_errors_total)"), 0);
}

}  // namespace
}  // namespace bird_exporter::testing
