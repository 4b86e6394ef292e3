// The Exporter object in this process, on port 0, against the simulator's scripted calls:
// start-up errors, and the one reload path (what it applies, what waits for a restart, what it
// refuses; POST /-/reload and its lifecycle flag; an access key rotated through its file), also
// while reloads race each other and the shutdown. Its log is captured: no key is ever in it.
#include "daemon/exporter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/exporter_process.h"
#include "support/http_client.h"
#include "support/log_capture.h"
#include "support/process.h"
#include "support/scripted_bird.h"

namespace bird_exporter::testing {
namespace {

using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* kKey = "exporter-object-key-Pq7";
constexpr const char* kNewKey = "exporter-object-new-key-Zr8";

// A request with any method (POST with an empty body), 10 s at most.
HttpResponse Send(const std::string& method, const std::string& url) {
  HttpRequest request;
  request.method = method;
  request.url = url;
  if (method == "POST") request.body = "";
  request.timeout = std::chrono::seconds(10);
  return HttpSend(request);
}

long Post(const std::string& url) { return Send("POST", url).status; }

class ExporterTest : public ::testing::Test {
 protected:
  ExporterTest() : bird_(sim::ScriptedSettings(kKey, {{"ws-a", {"ch-1", "ch-2"}}})) {}
  void TearDown() override {
    exporter_.reset();
    const std::string log = log_.Text();
    EXPECT_EQ(log.find(kKey), std::string::npos) << "the access key leaked into the log";
    EXPECT_EQ(log.find(kNewKey), std::string::npos) << "the new key leaked into the log";
  }

  void WriteConfig(const std::vector<std::pair<std::string, std::string>>& channels,
                   const std::string& extra = "") {
    WriteChannelsConfig(config_, bird_.BaseUrl(), std::string("access_key: ") + kKey, channels,
                        extra);
  }
  void AddEndedCalls(const std::string& channel, int count) {
    testing::AddEndedCalls(bird_, channel, count);
  }

  ExporterOptions Options(bool enable_lifecycle = false) {
    ExporterOptions options;
    options.config = LoadConfigFile(config_);
    options.config_file = config_;
    options.server.listen_address = "127.0.0.1:0";
    options.server.enable_lifecycle = enable_lifecycle;
    return options;
  }
  void Start(bool enable_lifecycle = false) {
    EnsureCurlGlobal();  // main()'s job in the binary
    exporter_ = std::make_unique<Exporter>(Options(enable_lifecycle));
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(exporter_->ListeningPorts().at(0)) + path;
  }
  double Scalar(const std::string& name, const std::vector<std::string>& labels = {}) {
    return SumSamples(ParseExposition(HttpGet(Url("/metrics")).body), name, labels);
  }
  double Calls(const std::string& channel_name) {
    return Scalar("bird_calls_total", {"channel=\"" + channel_name + "\""});
  }

  sim::Simulator bird_;
  TempDir dir_{"bird_exporter_object"};
  const std::string config_ = dir_ / "config.yml";
  LogCapture log_;  // outlives the exporter
  std::unique_ptr<Exporter> exporter_;
};

TEST_F(ExporterTest, ReloadAppliesWhatChangedAndDefersWhatNeedsARestart) {
  AddEndedCalls("ch-1", 4);
  AddEndedCalls("ch-2", 3);
  WriteConfig({{"ch-1", "support"}});
  Start();
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 4; }, seconds(20)));

  WriteConfig({{"ch-2", "sales"}}, "  max_call_age: 2h\nstate_file: " + dir_.path() +
                                       "/state.db\nmetrics:\n  dimensions:\n    outcome: []\n");
  const ReloadResult result = exporter_->Reload();
  EXPECT_TRUE(result.ok()) << result.error;
  EXPECT_THAT(result.changed, ElementsAre("poll", "workspaces"));
  EXPECT_THAT(result.deferred, ElementsAre("state_file", "metrics.dimensions"));
  EXPECT_FALSE(result.web_config_reloaded);
  // A success (AReloadIsOnTheNextScrape checks that the next scrape shows it at once).
  EXPECT_EQ(Scalar("bird_exporter_config_last_reload_successful"), 1);
  ASSERT_TRUE(WaitFor([&] { return Calls("sales") == 3; }, seconds(20)));
  EXPECT_EQ(Calls("support"), 0);
  // The deferred keys kept their running values: no state file, the default outcome labels.
  EXPECT_FALSE(std::filesystem::exists(dir_ / "state.db"));
  bool country_label = false;
  for (const auto& [series, value] : ParseExposition(HttpGet(Url("/metrics")).body)) {
    if (series.rfind("bird_calls_total{", 0) == 0 && series.find("country=") != std::string::npos) {
      country_label = true;
    }
  }
  EXPECT_TRUE(country_label);
}

TEST_F(ExporterTest, ReloadOfTheSameFileChangesNothing) {
  WriteConfig({{"ch-1", "support"}});
  Start();
  const ReloadResult result = exporter_->Reload();
  EXPECT_TRUE(result.ok()) << result.error;
  EXPECT_THAT(result.changed, IsEmpty());
  EXPECT_THAT(result.deferred, IsEmpty());
}

// The next scrape shows a reload's outcome: it renders the exposition before it returns (with
// one poll an hour, nothing else would render it for the next 5 seconds).
TEST_F(ExporterTest, AReloadIsOnTheNextScrape) {
  AddEndedCalls("ch-1", 2);
  WriteChannelsConfig(config_, bird_.BaseUrl(), std::string("access_key: ") + kKey,
                      {{"ch-1", "support"}});
  std::string text = ReadFile(config_);
  text.replace(text.find("interval: 200ms"), 15, "interval: 1h");
  std::ofstream(config_) << text;
  Start();
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 2; }, seconds(20)));
  const std::string stamp = "bird_exporter_config_last_reload_success_timestamp_seconds";
  const double started = Scalar(stamp);
  ASSERT_GT(started, 1.7e9);
  ASSERT_TRUE(exporter_->Reload().ok());
  EXPECT_GT(Scalar(stamp), started);
  std::ofstream(config_) << "bird:\n  colour: blue\n";
  ASSERT_FALSE(exporter_->Reload().ok());
  EXPECT_EQ(Scalar("bird_exporter_config_last_reload_successful"), 0);
}

TEST_F(ExporterTest, ARefusedReloadNamesTheKeyAndKeepsTheRunningConfiguration) {
  AddEndedCalls("ch-1", 2);
  WriteConfig({{"ch-1", "support"}});
  Start();
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 2; }, seconds(20)));
  std::ofstream(config_) << "bird:\n  colour: blue\n";
  const ReloadResult result = exporter_->Reload();
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.error, HasSubstr("bird.colour (line 2): unknown key"));
  EXPECT_THAT(result.changed, IsEmpty());
  EXPECT_EQ(Scalar("bird_exporter_config_last_reload_successful"), 0);
  EXPECT_THAT(log_.Text(), HasSubstr("configuration reload failed"));
  EXPECT_THAT(log_.Text(), HasSubstr("bird.colour (line 2): unknown key"));
  AddEndedCalls("ch-1", 5);  // the running configuration keeps polling
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 5; }, seconds(20)));
}

TEST_F(ExporterTest, RotatesTheAccessKeyThroughItsFileWithoutARestart) {
  const std::string key_file = dir_ / "access_key";
  std::ofstream(key_file) << kKey << "\n";
  AddEndedCalls("ch-1", 2);
  WriteChannelsConfig(config_, bird_.BaseUrl(), "access_key_file: " + key_file,
                      {{"ch-1", "support"}});
  Start();
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 2; }, seconds(20)));

  bird_.SetAccessKey(kNewKey);  // Bird now only accepts the new key
  ASSERT_TRUE(
      WaitFor([&] { return Scalar("bird_exporter_api_requests_total", {"code=\"401\""}) > 0; },
              seconds(20)));
  std::ofstream(key_file) << kNewKey << "\n";
  const ReloadResult result = exporter_->Reload();
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_THAT(result.changed, ElementsAre("bird"));
  AddEndedCalls("ch-1", 4);
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 4; }, seconds(20)));
  EXPECT_EQ(Scalar("bird_exporter_channel_up"), 1);
}

TEST_F(ExporterTest, PostReloadIsRefusedWithoutEnableLifecycle) {
  AddEndedCalls("ch-1", 2);
  AddEndedCalls("ch-2", 3);
  WriteConfig({{"ch-1", "support"}});
  Start();
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 2; }, seconds(20)));
  WriteConfig({{"ch-1", "support"}, {"ch-2", "sales"}});
  const HttpResponse refused = Send("POST", Url("/-/reload"));
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(refused.body, HasSubstr("--web.enable-lifecycle"));
  // The reload of SIGHUP still applies it.
  ASSERT_TRUE(exporter_->Reload().ok());
  ASSERT_TRUE(WaitFor([&] { return Calls("sales") == 3; }, seconds(20)));
}

TEST_F(ExporterTest, PostReloadSharesThePathOfSighupAndRefusesOtherMethods) {
  AddEndedCalls("ch-1", 2);
  AddEndedCalls("ch-2", 3);
  WriteConfig({{"ch-1", "support"}});
  Start(/*enable_lifecycle=*/true);
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 2; }, seconds(20)));

  EXPECT_EQ(Send("GET", Url("/-/reload")).status, 405);
  EXPECT_EQ(Send("PUT", Url("/-/reload")).status, 405);

  WriteConfig({{"ch-1", "support"}, {"ch-2", "sales"}});
  const HttpResponse applied = Send("POST", Url("/-/reload"));
  EXPECT_EQ(applied.status, 200) << applied.body;
  ASSERT_TRUE(WaitFor([&] { return Calls("sales") == 3; }, seconds(20)));

  WriteConfig({{"ch-1", "support"}}, "  colour: blue\n");
  const HttpResponse refused = Send("POST", Url("/-/reload"));
  EXPECT_EQ(refused.status, 500);
  EXPECT_THAT(refused.body, HasSubstr("poll.colour (line 7): unknown key"));
  EXPECT_EQ(Scalar("bird_exporter_config_last_reload_successful"), 0);
  EXPECT_EQ(Calls("support"), 2);
}

// SIGHUP (a direct call) and POST /-/reload share one path, one reload at a time; a shutdown
// while reloads are arriving waits for the one under way and refuses the rest.
TEST_F(ExporterTest, ReloadsRacingEachOtherAndTheShutdownAreSafe) {
  AddEndedCalls("ch-1", 3);
  WriteConfig({{"ch-1", "support"}});
  Start(/*enable_lifecycle=*/true);
  ASSERT_TRUE(WaitFor([&] { return Calls("support") == 3; }, seconds(20)));
  const std::string url = Url("/-/reload");
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::vector<std::thread> posters;
  for (int i = 0; i < 3; ++i) {
    posters.emplace_back([&] {
      while (!stop) {
        const long status = Post(url);
        if (status == 0) break;  // the server has gone
        EXPECT_TRUE(status == 200 || status == 500) << status;
        ++answered;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    const ReloadResult result = exporter_->Reload();
    EXPECT_TRUE(result.ok()) << result.error;
  }
  ASSERT_TRUE(WaitFor([&] { return answered >= 10; }, seconds(20)));
  exporter_.reset();  // while the posters still post
  stop = true;
  for (auto& poster : posters) poster.join();
}

TEST_F(ExporterTest, AnAddressInUseIsAStartError) {
  WriteConfig({{"ch-1", "support"}});
  Start();
  ExporterOptions second = Options();
  second.server.listen_address = "127.0.0.1:" + std::to_string(exporter_->ListeningPorts().at(0));
  try {
    Exporter exporter(std::move(second));
    FAIL() << "a second exporter started on a port in use";
  } catch (const StartError& e) {
    EXPECT_EQ(e.stage(), "cannot start the HTTP server");
    EXPECT_NE(std::string(e.what()), "");
  }
  EXPECT_EQ(HttpGet(Url("/-/healthy")).status, 200);  // the first one is unharmed
}

}  // namespace
}  // namespace bird_exporter::testing
