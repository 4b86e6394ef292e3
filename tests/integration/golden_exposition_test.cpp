// The exposition against a checked-in golden file (as node_exporter does): the simulator at a
// fixed seed and a fixed clock, polled through the real client over real HTTP until every call
// is counted, then the call families rendered as /metrics renders them. Any change of a name, a
// label, a bucket, a HELP text or a count shows up as a diff of tests/testdata/golden.prom.
// The exporter's own families (request latencies, timestamps: values of the moment) are
// compared by their HELP and TYPE lines only.
//
// After an intended change, rewrite the file and review the diff:
//   BIRD_EXPORTER_UPDATE_GOLDEN=1 build/tests/bird_exporter_integration_tests
//       --gtest_filter='GoldenExpositionTest.*'
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "bird/client.h"
#include "bird/rate_limiter.h"
#include "bird/rfc3339.h"
#include "http/curl_transport.h"
#include "metrics/call_metrics.h"
#include "metrics/exporter_metrics.h"
#include "poller/poller.h"
#include "sim/demo.h"
#include "sim/simulator.h"
#include "support/http_client.h"
#include "support/process.h"

namespace bird_exporter::testing {
namespace {

const char* const kGoldenPath = TESTDATA_DIR "/golden.prom";

// The series of each family in label order (prometheus-cpp keeps them in hash order, which
// depends on the order the poller's workers met them). A histogram's buckets stay together in
// their order and sort just before the series' sum and count.
std::string SortedSeries(const std::string& exposition) {
  std::istringstream in(exposition);
  std::string out;
  std::vector<std::pair<std::string, std::string>> series;  // labels without le, lines
  const auto flush = [&] {
    std::stable_sort(series.begin(), series.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [key, lines] : series) out += lines;
    series.clear();
  };
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# ", 0) == 0) {
      flush();
      out += line + "\n";
      continue;
    }
    std::string key = line.substr(0, line.find(' '));
    const auto brace = key.find('{');
    key = brace == std::string::npos ? "" : key.substr(brace);
    const auto le = key.find("le=\"");
    if (le != std::string::npos) key.erase(le, key.find('"', le + 4) + 1 - le);
    if (series.empty() || series.back().first != key) series.push_back({key, ""});
    series.back().second += line + "\n";
  }
  flush();
  return out;
}

std::string Serialize(prometheus::Registry& registry) {
  return SortedSeries(prometheus::TextSerializer().Serialize(registry.Collect()));
}

// Only the "# HELP" and "# TYPE" lines.
std::string Declarations(const std::string& exposition) {
  std::istringstream in(exposition);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# ", 0) == 0) out += line + "\n";
  }
  return out;
}

std::string GoldenExposition() {
  // Every call is created in the 10 minutes before the start (no new call after it); the clock
  // then stands two hours later, when each has ended and has its insights.
  const SystemTime start = *ParseRfc3339("2026-11-21T12:00:00Z");
  std::atomic<SystemTime> now{start};
  sim::SimulatorSettings settings;
  settings.scenario = sim::ScenarioByName("degraded-carrier");
  settings.scenario.calls_per_minute = 6;
  settings.workspaces = sim::DemoWorkspaces();
  settings.seed = 20261121;
  settings.history = std::chrono::minutes(10);
  settings.generate_for = std::chrono::milliseconds(0);
  settings.max_gets_per_second = 100000;
  settings.clock = [&now] { return now.load(); };
  sim::Simulator simulator(settings);
  now = start + std::chrono::hours(2);

  Config config = sim::DemoConfig(simulator.BaseUrl(), settings.access_key);
  config.poll.initial_lookback = std::chrono::hours(3);
  // One cycle takes what it needs: none of its requests waits for the next (which would change
  // the order calls are recorded in, and so the last-call gauges and the float sums).
  config.poll.interval = std::chrono::hours(1);
  config.poll.max_call_age = std::chrono::hours(6);
  prometheus::Registry calls_registry, exporter_registry;
  CallMetrics call_metrics(calls_registry, config.metrics.dimensions);
  ExporterMetrics exporter_metrics(exporter_registry);
  EnsureCurlGlobal();  // main()'s job in the binary
  CurlTransport transport;
  WorkspaceRateLimiter limiter(100000);
  ClientSettings client_settings;
  client_settings.base_url = config.bird.base_url;
  client_settings.access_key = config.bird.access_key;
  BirdClient client(client_settings, transport, limiter, exporter_metrics);
  std::vector<ChannelRef> channels;
  for (const auto& ws : config.workspaces) {
    for (const auto& ch : ws.channels) channels.push_back({ws.id, ws.name, ch.id, ch.name});
  }
  PollerSettings poller_settings;
  poller_settings.poll = config.poll;
  poller_settings.poor_call = config.metrics.poor_call;
  Poller poller(poller_settings, channels, client, call_metrics, exporter_metrics, nullptr,
                [&now] { return now.load(); });
  poller.LoadState();
  std::stop_source stop;
  EXPECT_TRUE(poller.PollOnce(stop.get_token()));
  const int truth = simulator.Truth()["calls"].get<int>();
  EXPECT_GT(truth, 100);
  std::string calls_total;
  for (const auto& family : calls_registry.Collect()) {
    if (family.name != "bird_calls") continue;
    double sum = 0;
    for (const auto& metric : family.metric) sum += metric.counter.value;
    EXPECT_EQ(sum, truth) << "the golden exposition must count every call the simulator served";
  }
  return Serialize(calls_registry) + Declarations(Serialize(exporter_registry));
}

TEST(GoldenExpositionTest, MatchesTheCheckedInExposition) {
  const std::string exposition = GoldenExposition();
  if (std::getenv("BIRD_EXPORTER_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(kGoldenPath, std::ios::binary) << exposition;
    GTEST_SKIP() << "rewrote " << kGoldenPath;
  }
  const std::string golden = ReadFile(kGoldenPath);
  ASSERT_FALSE(golden.empty()) << kGoldenPath << " is missing";
  if (exposition == golden) return;
  // The first line that differs, then the whole diff in the failure message.
  const std::string actual_path = ::testing::TempDir() + "golden.actual.prom";
  std::ofstream(actual_path, std::ios::binary) << exposition;
  const auto diff =
      RunCommand("diff -u " + ShellQuote(kGoldenPath) + " " + ShellQuote(actual_path));
  FAIL() << "the exposition differs from " << kGoldenPath
         << " (BIRD_EXPORTER_UPDATE_GOLDEN=1 rewrites it):\n"
         << diff.output;
}

// The same seed and clock give the same exposition: the golden file can only change with the
// code.
TEST(GoldenExpositionTest, IsTheSameOnEveryRun) {
  EXPECT_EQ(GoldenExposition(), GoldenExposition());
}

}  // namespace
}  // namespace bird_exporter::testing
