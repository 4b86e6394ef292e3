// Configuration reload against the simulator's scripted calls: channels added start polling,
// removed ones stop and their series disappear, the counted-call state is kept, a bad file is
// refused, and the access key can be rotated through access_key_file without a restart.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include "support/exporter_process.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/scripted_bird.h"

namespace bird_exporter::testing {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kOldKey = "reload-old-key-Qw3";
constexpr const char* kNewKey = "reload-new-key-Zr8";

// A request with any method (POST with an empty body), 10 s at most; returns the status and
// fills `body`.
long Request(const std::string& method, const std::string& url, std::string& body) {
  HttpRequest request;
  request.method = method;
  request.url = url;
  if (method == "POST") request.body = "";
  request.timeout = std::chrono::milliseconds(10000);
  const HttpResponse response = HttpSend(request);
  body += response.body;
  return response.status;
}

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
      EXPECT_EQ(log.find(kNewKey), std::string::npos) << "the new key leaked into the log";
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

  void Start(bool enable_lifecycle = false) {
    std::vector<std::string> args{"--config.file=" + config_, "--web.listen-address=127.0.0.1:0"};
    if (enable_lifecycle) args.push_back("--web.enable-lifecycle");
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

TEST_F(ReloadTest, RefusesAnInvalidConfigurationAndKeepsRunning) {
  AddEndedCalls("ch-1", 2);
  WriteConfig({{"ch-1", "support"}});
  Start();
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 2; }, seconds(20)));
  std::ofstream(config_) << "bird:\n  colour: blue\n";
  kill(exporter_->pid(), SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return Scalar("bird_exporter_config_last_reload_successful") == 0; },
                      seconds(10)));
  EXPECT_NE(exporter_->Log().find("configuration reload failed"), std::string::npos);
  EXPECT_NE(exporter_->Log().find("bird.colour (line 2): unknown key"), std::string::npos);
  AddEndedCalls("ch-1", 5);  // the old configuration keeps polling
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 5; }, seconds(20)));
  EXPECT_TRUE(exporter_->Running());
}

TEST_F(ReloadTest, RotatesTheAccessKeyWithoutARestart) {
  AddEndedCalls("ch-1", 2);
  WriteConfig({{"ch-1", "support"}});
  Start();
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 2; }, seconds(20)));

  bird_.SetAccessKey(kNewKey);  // Bird now only accepts the new key
  ASSERT_TRUE(WaitFor(
      [&] {
        return SumSamples(exporter_->Scrape(), "bird_exporter_api_requests_total",
                          {"code=\"401\""}) > 0;
      },
      seconds(20)));
  std::ofstream(key_file_) << kNewKey << "\n";
  kill(exporter_->pid(), SIGHUP);
  AddEndedCalls("ch-1", 4);
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 4; }, seconds(20))) << exporter_->Log();
  EXPECT_EQ(SumSamples(exporter_->Scrape(), "bird_exporter_channel_up"), 1);
}

TEST_F(ReloadTest, PostReloadIsRefusedWithoutEnableLifecycle) {
  AddEndedCalls("ch-1", 2);
  AddEndedCalls("ch-2", 3);
  WriteConfig({{"ch-1", "support"}});
  Start();
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 2; }, seconds(20)));
  WriteConfig({{"ch-1", "support"}, {"ch-2", "sales"}});
  std::string body;
  EXPECT_EQ(Request("POST", exporter_->Url("/-/reload"), body), 403);
  EXPECT_NE(body.find("--web.enable-lifecycle"), std::string::npos) << body;
  // SIGHUP still reloads.
  kill(exporter_->pid(), SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return Calls("sales") == 3; }, seconds(20))) << exporter_->Log();
}

TEST_F(ReloadTest, PostReloadSharesThePathOfSighupAndRefusesOtherMethods) {
  AddEndedCalls("ch-1", 2);
  AddEndedCalls("ch-2", 3);
  WriteConfig({{"ch-1", "support"}});
  Start(/*enable_lifecycle=*/true);
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 2; }, seconds(20)));

  std::string body;
  EXPECT_EQ(Request("GET", exporter_->Url("/-/reload"), body), 405);
  body.clear();
  EXPECT_EQ(Request("PUT", exporter_->Url("/-/reload"), body), 405);

  WriteConfig({{"ch-1", "support"}, {"ch-2", "sales"}});
  body.clear();
  EXPECT_EQ(Request("POST", exporter_->Url("/-/reload"), body), 200) << body;
  ASSERT_TRUE(WaitFor([&] { return Calls("sales") == 3; }, seconds(20)));

  WriteConfig({{"ch-1", "support"}}, "  colour: blue\n");
  body.clear();
  EXPECT_EQ(Request("POST", exporter_->Url("/-/reload"), body), 500);
  EXPECT_NE(body.find("poll.colour (line 7): unknown key"), std::string::npos) << body;
  EXPECT_EQ(Scalar("bird_exporter_config_last_reload_successful"), 0);
  EXPECT_EQ(Calls("support"), 2);
}

}  // namespace
}  // namespace bird_exporter::testing
