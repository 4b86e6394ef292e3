// SIGHUP to the real binary reloads its configuration: channels added start polling, removed
// ones stop and their series disappear, the counted-call state is kept, and no key reaches the
// log. What a reload applies, refuses or defers, POST /-/reload and key rotation are tested on
// the Exporter object in this process (exporter_test.cpp); this test proves the signal path.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include "support/exporter_process.h"
#include "support/process.h"
#include "support/scripted_bird.h"

namespace bird_exporter::testing {
namespace {

using std::chrono::seconds;

constexpr const char* kOldKey = "reload-old-key-Qw3";

class ReloadTest : public ::testing::Test {
 protected:
  ReloadTest() : bird_(sim::ScriptedSettings(kOldKey, {{"ws-a", {"ch-1", "ch-2"}}})) {}
  void SetUp() override {
    key_file_ = dir_ / "access_key";
    std::ofstream(key_file_) << kOldKey << "\n";
    config_ = dir_ / "config.yml";
  }
  void TearDown() override {
    if (exporter_) {
      const std::string log = exporter_->Log();
      EXPECT_EQ(log.find(kOldKey), std::string::npos) << "the old key leaked into the log";
    }
    exporter_.reset();
  }

  void WriteConfig(const std::vector<std::pair<std::string, std::string>>& channels,
                   const std::string& extra = "") {
    WriteChannelsConfig(config_, bird_.BaseUrl(), "access_key_file: " + key_file_, channels, extra);
  }
  void AddEndedCalls(const std::string& channel, int count) {
    testing::AddEndedCalls(bird_, channel, count);
  }

  void Start() {
    std::vector<std::string> args{"--config.file=" + config_, "--web.listen-address=127.0.0.1:0"};
    exporter_ = std::make_unique<ExporterProcess>(
        EXPORTER_BINARY, args, std::map<std::string, std::string>{}, dir_.path());
    ASSERT_GT(exporter_->WaitForPort(), 0) << exporter_->Log();
  }

  double Calls(const std::string& channel_name) {
    return SumSamples(exporter_->Scrape(), "bird_calls_total",
                      {"channel=\"" + channel_name + "\""});
  }
  bool HasChannelSeries(const std::string& channel_name) {
    for (const auto& [series, value] : exporter_->Scrape()) {
      if (series.find("channel=\"" + channel_name + "\"") != std::string::npos) return true;
    }
    return false;
  }
  double Scalar(const std::string& name) { return SumSamples(exporter_->Scrape(), name); }

  sim::Simulator bird_;
  TempDir dir_{"bird_reload"};
  std::string key_file_, config_;
  std::unique_ptr<ExporterProcess> exporter_;
};

TEST_F(ReloadTest, AddsAndRemovesChannelsAndKeepsTheCountedCalls) {
  AddEndedCalls("ch-1", 4);
  AddEndedCalls("ch-2", 3);
  WriteConfig({{"ch-1", "support"}});
  Start();
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 4; }, seconds(20))) << exporter_->Log();
  EXPECT_EQ(Scalar("bird_exporter_config_last_reload_successful"), 1);

  WriteConfig({{"ch-2", "sales"}});
  kill(exporter_->pid(), SIGHUP);
  ASSERT_TRUE(
      WaitFor([&] { return Calls("sales") == 3 && !HasChannelSeries("support"); }, seconds(20)))
      << exporter_->Log();
  EXPECT_EQ(Scalar("bird_exporter_config_last_reload_successful"), 1);
  EXPECT_GT(Scalar("bird_exporter_config_last_reload_success_timestamp_seconds"), 1.7e9);

  // Back again: its calls were counted before and are not counted twice.
  WriteConfig({{"ch-1", "support"}, {"ch-2", "sales"}});
  kill(exporter_->pid(), SIGHUP);
  ASSERT_TRUE(WaitFor(
      [&] {
        return SumSamples(exporter_->Scrape(), "bird_exporter_channel_up",
                          {"channel=\"support\""}) == 1;
      },
      seconds(20)));
  const std::size_t requests = bird_.Requests().size();
  ASSERT_TRUE(WaitFor([&] { return bird_.Requests().size() >= requests + 6; }, seconds(20)));
  EXPECT_EQ(Calls("support"), 0);
  EXPECT_EQ(Calls("sales"), 3);
}

}  // namespace
}  // namespace bird_exporter::testing
