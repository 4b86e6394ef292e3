// Throughput of the per-call hot paths: parsing Bird answers, mapping a call to observations,
// recording them, and saving the state (the JSON serialiser the state file of earlier releases
// used, and one poll's SQLite transaction). Run: build/tests/bird_exporter_benchmarks
#include <benchmark/benchmark.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bird/model.h"
#include "metrics/call_mapping.h"
#include "metrics/call_metrics.h"
#include "state/state.h"
#include "state/store.h"

namespace bird_exporter {
namespace {

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(TESTDATA_DIR) + "/bird/" + name);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A list page of `n` calls shaped like Bird's list example.
std::string PageOf(int n) {
  std::string body = "{\"results\":[";
  for (int i = 0; i < n; ++i) {
    if (i) body += ",";
    body +=
        "{\"id\":\"382ef429-78ba-416d-899e-" + std::to_string(100000000000 + i) +
        "\",\"channelId\":\"880d8171-cbab-47bb-81b6-b1a0902da136\",\"from\":\"+31612345678\","
        "\"to\":\"+351919150029\",\"direction\":\"outgoing\",\"status\":\"completed\","
        "\"type\":\"pstn\",\"duration\":30,\"hangupCauseCode\":16,\"hangupSource\":\"caller\","
        "\"hangupSipCode\":\"200\",\"createdAt\":\"2023-10-25T17:01:14.645Z\","
        "\"updatedAt\":\"2023-10-25T17:01:45.655Z\",\"answeredAt\":\"2023-10-25T17:01:16.038Z\","
        "\"endedAt\":\"2023-10-25T17:01:45.478Z\",\"qualityInsights\":{\"mos\":\"4.47\","
        "\"pdd\":\"1.23\"}}";
  }
  return body + "],\"nextPageToken\":\"WzE3MzIyMTIxNTU1NTAsIjY3MzEyNjAxIl0=\"}";
}

void BM_ParseCallInsights(benchmark::State& state) {
  const std::string body = Fixture("insights_outbound_completed.json");
  for (auto _ : state) benchmark::DoNotOptimize(ParseCallInsights(body));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseCallInsights);

void BM_ParseCallPage100(benchmark::State& state) {
  const std::string body = PageOf(100);
  for (auto _ : state) benchmark::DoNotOptimize(ParseCallPage(body));
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_ParseCallPage100);

void BM_MapAndRecordCall(benchmark::State& state) {
  const CallInsights insights = ParseCallInsights(Fixture("insights_outbound_completed.json"));
  prometheus::Registry registry;
  CallMetrics metrics(registry);
  const ChannelLabels channel{"production", "support"};
  for (auto _ : state) metrics.Record(channel, MapCall(insights.call, &insights));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MapAndRecordCall);

void BM_SerializeRegistry(benchmark::State& state) {
  const CallInsights insights = ParseCallInsights(Fixture("insights_outbound_completed.json"));
  prometheus::Registry registry;
  CallMetrics metrics(registry);
  for (int ws = 0; ws < 4; ++ws) {
    metrics.Record({"workspace" + std::to_string(ws), "channel"},
                   MapCall(insights.call, &insights));
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(prometheus::TextSerializer().Serialize(registry.Collect()));
  }
}
BENCHMARK(BM_SerializeRegistry);

void BM_SerializeState(benchmark::State& state) {
  State s;
  const auto created = std::chrono::system_clock::now();
  for (int i = 0; i < state.range(0); ++i) {
    s.counted.emplace("382ef429-78ba-416d-899e-" + std::to_string(100000000000 + i), created);
  }
  for (auto _ : state) benchmark::DoNotOptimize(SerializeState(s));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SerializeState)->Arg(10000)->Arg(100000);

// One poll's transaction on a SQLite state of range(0) remembered calls, on this machine's disk
// (/var/tmp), fsync included: range(1) newly counted calls, two channels moving on and the
// pruning query. The previous state file rewrote every remembered id at each poll instead.
void BM_StateCommit(benchmark::State& state) {
  const std::string dir = "/var/tmp/bird_exporter_bench_state";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    SqliteStateStore store(dir + "/state.db");
    store.Open();
    const ChannelKey key{"ws", "ch"};
    ChannelState cs;
    const auto created = std::chrono::system_clock::now();
    for (long long done = 0; done < state.range(0);) {
      PollRecord fill;
      fill.channels.push_back({key, nullptr, &cs});
      for (int i = 0; i < 100000 && done < state.range(0); ++i, ++done) {
        fill.counted.push_back(
            {key, "382ef429-78ba-416d-899e-" + std::to_string(100000000000 + done), created});
      }
      store.Commit(fill);
    }
  }
  SqliteStateStore store(dir + "/state.db");
  store.Open();
  ChannelState before, after;
  long long next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    PollRecord record;
    after.window_start = before.window_start + std::chrono::seconds(1);
    for (const char* ch : {"ch", "ch2"}) record.channels.push_back({{"ws", ch}, &before, &after});
    const auto created = std::chrono::system_clock::now();
    for (int i = 0; i < state.range(1); ++i) {
      record.counted.push_back(
          {{"ws", "ch"}, "9c4a77b1-0d3e-4f6a-8b2c-" + std::to_string(next++), created});
    }
    record.prune_before = created - std::chrono::hours(6);
    state.ResumeTiming();
    store.Commit(record);
    state.PauseTiming();
    before = after;
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(1));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_StateCommit)->Args({1000000, 1000})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace bird_exporter

BENCHMARK_MAIN();
