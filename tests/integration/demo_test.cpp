// The zero-configuration demo: `bird_call_exporter --demo` must show every call metric family
// with data within 30 seconds, and say on its landing page that it is a demo.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "metrics/metric_definitions.h"
#include "support/exporter_process.h"
#include "support/process.h"

namespace bird_exporter::testing {
namespace {

using std::chrono::seconds;

class DemoTest : public ::testing::TestWithParam<std::string> {
 protected:
  TempDir dir_{"bird_demo"};
};

// Families with a series of their own in the exposition (histograms appear as _count).
std::vector<std::string> CallFamilies() {
  std::vector<std::string> names;
  for (const auto& spec : AllMetricSpecs()) {
    const std::string name(spec.name);
    if (name.rfind("bird_exporter_", 0) == 0) continue;
    names.push_back(spec.type == prometheus::MetricType::Histogram ? name + "_count" : name);
  }
  return names;
}

TEST_P(DemoTest, ShowsEveryCallMetricFamilyWithinThirtySeconds) {
  const auto started = std::chrono::steady_clock::now();
  ExporterProcess demo(
      EXPORTER_BINARY,
      {"--demo", "--demo.scenario=" + GetParam(), "--web.listen-address=127.0.0.1:0"}, {},
      dir_.path());
  ASSERT_GT(demo.WaitForPort(), 0) << demo.Log();
  std::vector<std::string> missing;
  const bool complete = WaitFor(
      [&] {
        const Samples samples = demo.Scrape();
        missing.clear();
        for (const auto& family : CallFamilies()) {
          bool present = false;
          for (const auto& [series, value] : samples) {
            if (series.substr(0, series.find('{')) == family) present = true;
          }
          if (!present) missing.push_back(family);
        }
        return missing.empty() && SumSamples(samples, "bird_calls_total") > 0;
      },
      std::chrono::duration_cast<std::chrono::milliseconds>(
          seconds(30) - (std::chrono::steady_clock::now() - started)));
  std::string missing_list;
  for (const auto& m : missing) missing_list += m + " ";
  EXPECT_TRUE(complete) << "missing after 30 s: " << missing_list << "\n" << demo.Log();

  const HttpResult landing = HttpGet(demo.Url("/"));
  EXPECT_EQ(landing.status, 200);
  EXPECT_NE(landing.body.find("Demo mode"), std::string::npos);
  EXPECT_NE(landing.body.find("scenario " + GetParam()), std::string::npos);
  EXPECT_EQ(HttpGet(demo.Url("/-/ready")).status, 200);
  EXPECT_EQ(demo.Stop(SIGTERM, seconds(5)), 0);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, DemoTest,
                         ::testing::Values("healthy", "degraded-carrier", "slow-pdd",
                                           "one-way-audio", "api-trouble"));

}  // namespace
}  // namespace bird_exporter::testing
