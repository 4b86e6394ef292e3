// Two exporter processes with --shard.count=2 against one simulator: they poll disjoint sets of
// channels whose union is every channel, and their totals add up to the simulator's truth.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "sim/simulator.h"
#include "support/exporter_process.h"
#include "support/process.h"

namespace bird_exporter::testing {
namespace {

using std::chrono::seconds;

constexpr const char* kKey = "sharding-test-key";

std::set<std::string> PolledChannels(const Samples& samples) {
  std::set<std::string> channels;
  const std::regex channel_label("channel=\"([^\"]+)\"");
  for (const auto& [series, value] : samples) {
    if (series.rfind("bird_exporter_channel_up{", 0) != 0) continue;
    std::smatch match;
    if (std::regex_search(series, match, channel_label)) channels.insert(match[1]);
  }
  return channels;
}

TEST(ShardingTest, TwoShardsPollDisjointChannelsAndTogetherCountEveryCall) {
  const TempDir dir("bird_shard");

  sim::SimulatorSettings settings;
  settings.access_key = kKey;
  settings.seed = 5;
  settings.scenario = sim::ScenarioByName("healthy");
  settings.scenario.calls_per_minute = 60;
  settings.scenario.mean_talk_seconds = 3;
  settings.scenario.long_call_share = 0;
  settings.workspaces = sim::DemoWorkspaces();
  settings.history = seconds(60);
  settings.generate_for = seconds(3);
  sim::Simulator simulator(settings);

  const std::string config = dir / "exporter.yml";
  {
    std::ofstream out(config);
    out << "bird:\n  base_url: " << simulator.BaseUrl()
        << "\n  access_key: ${BIRD_ACCESS_KEY}\npoll:\n  interval: 500ms\nworkspaces:\n";
    for (const auto& ws : sim::DemoWorkspaces()) {
      out << "  - id: " << ws.id << "\n    channels:\n";
      for (const auto& ch : ws.channel_ids) out << "      - id: " << ch << "\n";
    }
  }
  std::vector<std::unique_ptr<ExporterProcess>> shards;
  for (int index = 0; index < 2; ++index) {
    shards.push_back(std::make_unique<ExporterProcess>(
        EXPORTER_BINARY,
        std::vector<std::string>{"--config.file=" + config, "--web.listen-address=127.0.0.1:0",
                                 "--shard.index=" + std::to_string(index), "--shard.count=2"},
        std::map<std::string, std::string>{{"BIRD_ACCESS_KEY", kKey}}, dir.path()));
    ASSERT_GT(shards.back()->WaitForPort(), 0) << shards.back()->Log();
  }

  nlohmann::json truth;
  double total = 0;
  const bool settled = WaitFor(
      [&] {
        truth = simulator.Truth();
        total = SumSamples(shards[0]->Scrape(), "bird_calls_total") +
                SumSamples(shards[1]->Scrape(), "bird_calls_total");
        return truth["quiet"].get<bool>() && truth["calls"] == truth["generated"] &&
               total == truth["calls"].get<double>();
      },
      seconds(90));
  EXPECT_TRUE(settled) << "truth=" << truth.dump() << " total=" << total;

  const auto first = PolledChannels(shards[0]->Scrape());
  const auto second = PolledChannels(shards[1]->Scrape());
  EXPECT_FALSE(first.empty());
  EXPECT_FALSE(second.empty());
  std::set<std::string> both;
  std::set_intersection(first.begin(), first.end(), second.begin(), second.end(),
                        std::inserter(both, both.begin()));
  EXPECT_TRUE(both.empty()) << "a channel is polled by both shards";
  std::set<std::string> all(first);
  all.insert(second.begin(), second.end());
  std::set<std::string> configured;
  for (const auto& ws : sim::DemoWorkspaces())
    configured.insert(ws.channel_ids.begin(), ws.channel_ids.end());
  EXPECT_EQ(all, configured);
  // Each shard's calls come only from its own channels.
  for (const auto& [series, value] : shards[0]->Scrape()) {
    if (series.rfind("bird_calls_total{", 0) != 0) continue;
    for (const auto& channel : second) EXPECT_EQ(series.find(channel), std::string::npos);
  }
  EXPECT_NE(shards[0]->Log().find("index=0 count=2 channels="), std::string::npos);
  shards.clear();
}

}  // namespace
}  // namespace bird_exporter::testing
