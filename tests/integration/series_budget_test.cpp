// Series per channel: the cardinality budget of the default metrics.dimensions. The simulator's
// demo traffic (every country, carrier, codec, outcome and quality fault the demo shows) is
// counted by the real exporter, and the series of each channel on /metrics are counted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include "sim/simulator.h"
#include "support/exporter_process.h"
#include "support/process.h"

namespace bird_exporter::testing {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kKey = "series-budget-key";
// The labels each family had before metrics.dimensions: call_type everywhere, and the codec on
// the MOS and quality histograms.
const char* kLabelsBefore =
    "metrics:\n  dimensions:\n    outcome: [call_type]\n    setup: [call_type]\n    answer: []\n"
    "    duration: [call_type]\n    quality: [call_type, codec]\n    media: [call_type]\n"
    "    poor: [call_type]\n";
// The families that came with the KPIs, left out of the series counted "before".
const std::set<std::string> kNewFamilies = {
    "bird_calls_abandoned_total", "bird_call_time_to_answer_seconds",
    "bird_call_ring_seconds",     "bird_call_r_factor",
    "bird_calls_poor_total",      "bird_call_poor_reasons_total"};

std::string FamilyOf(const std::string& series) {
  std::string name = series.substr(0, series.find('{'));
  for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix) &&
        kNewFamilies.count(name.substr(0, name.size() - suffix.size())) != 0) {
      return name.substr(0, name.size() - suffix.size());
    }
  }
  return name;
}

class SeriesBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim::SimulatorSettings settings;
    settings.access_key = kKey;
    settings.seed = 42;
    settings.scenario = sim::ScenarioByName("healthy");
    settings.scenario.calls_per_minute = 60;
    settings.scenario.long_call_share = 0;
    settings.scenario.mean_talk_seconds = 5;
    // One channel per workspace, so each gets the whole request budget of 50 a second.
    settings.workspaces = sim::GeneratedWorkspaces(3, 1);
    // Enough calls that every combination the traffic makes shows up; all of them ended before
    // the start, so the exporter counts a fixed set.
    settings.history = minutes(8);
    settings.generate_for = seconds(0);
    settings.max_gets_per_second = 1000;
    simulator_ = std::make_unique<sim::Simulator>(settings);
    // The calls still talking at the start end first, so that every run counts the same calls.
    ASSERT_TRUE(WaitFor([&] { return simulator_->Truth()["quiet"].get<bool>(); }, minutes(3)));
  }
  void TearDown() override {
    exporter_.reset();
    simulator_.reset();
  }

  // Counts every call with `metrics` as the configuration's metrics section; returns the series
  // of each channel (every series with a channel label).
  std::map<std::string, std::size_t> SeriesPerChannel(const std::string& metrics,
                                                      bool only_old_families = false) {
    const std::string config = dir_ / "exporter.yml";
    std::ofstream out(config);
    out << "bird:\n  base_url: " << simulator_->BaseUrl()
        << "\n  access_key: ${BIRD_ACCESS_KEY}\n  max_requests_per_second: 50\n"
        << "poll:\n  interval: 500ms\n  initial_lookback: 1h\n"
        << metrics << "workspaces:\n";
    for (const auto& ws : sim::GeneratedWorkspaces(3, 1)) {
      out << "  - id: " << ws.id << "\n    channels:\n";
      for (const auto& ch : ws.channel_ids) out << "      - id: " << ch << "\n";
    }
    out.close();
    exporter_ = std::make_unique<ExporterProcess>(
        EXPORTER_BINARY,
        std::vector<std::string>{"--config.file=" + config, "--web.listen-address=127.0.0.1:0"},
        std::map<std::string, std::string>{{"BIRD_ACCESS_KEY", kKey}}, dir_.path());
    EXPECT_GT(exporter_->WaitForPort(), 0) << exporter_->Log();
    const double calls = simulator_->Truth()["generated"].get<double>();
    Samples samples;
    const bool counted = WaitFor(
        [&] {
          samples = exporter_->Scrape();
          return SumSamples(samples, "bird_calls_total") == calls;
        },
        seconds(kSanitized ? 600 : 150));
    EXPECT_TRUE(counted) << SumSamples(samples, "bird_calls_total") << " of " << calls;
    std::map<std::string, std::size_t> per_channel;
    std::map<std::string, std::size_t> per_family;  // of the first channel
    std::string first;
    for (const auto& [series, value] : samples) {
      const auto at = series.find("channel=\"");
      if (at == std::string::npos) continue;
      const std::string channel = series.substr(at + 9, series.find('"', at + 9) - at - 9);
      if (first.empty()) first = channel;
      if (channel == first) {
        std::string family = series.substr(0, series.find('{'));
        for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
          if (family.ends_with(suffix)) family.resize(family.size() - suffix.size());
        }
        ++per_family[family];
      }
      if (only_old_families && kNewFamilies.count(FamilyOf(series)) != 0) continue;
      const auto start = at + 9;
      ++per_channel[series.substr(start, series.find('"', start) - start)];
    }
    exporter_.reset();
    std::cout << "series of channel " << first << " by family:";
    for (const auto& [family, count] : per_family) std::cout << " " << family << "=" << count;
    std::cout << "\n";
    return per_channel;
  }

  TempDir dir_{"bird_series"};
  std::unique_ptr<sim::Simulator> simulator_;
  std::unique_ptr<ExporterProcess> exporter_;
};

// With the KPIs and the country and provider dimensions, a channel has no more series than it
// had with the families and labels before them, on the same traffic; asking for every dimension
// everywhere is measured too (what an operator pays for it).
TEST_F(SeriesBudgetTest, TheDefaultDimensionsStayWithinTheSeriesOfBefore) {
  const auto before = SeriesPerChannel(kLabelsBefore, /*only_old_families=*/true);
  const auto defaults = SeriesPerChannel("");
  const std::string every = "[call_type, country, provider, edge_region]";
  const auto maximal = SeriesPerChannel(
      "metrics:\n  dimensions:\n    outcome: " + every + "\n    setup: " + every +
      "\n    answer: " + every + "\n    duration: " + every + "\n    poor: " + every +
      "\n    quality: [call_type, country, provider, edge_region, codec]"
      "\n    media: [call_type, country, provider, edge_region, codec]\n");
  ASSERT_EQ(before.size(), 3u);
  ASSERT_EQ(defaults.size(), 3u);
  ASSERT_EQ(maximal.size(), 3u);
  for (const auto& [channel, series] : defaults) {
    EXPECT_LE(series, before.at(channel)) << channel;
    EXPECT_GT(maximal.at(channel), 2 * series) << channel;
    std::cout << "series per channel: " << channel << " before " << before.at(channel)
              << ", default dimensions " << series << ", every dimension " << maximal.at(channel)
              << "\n";
  }
}

}  // namespace
}  // namespace bird_exporter::testing
