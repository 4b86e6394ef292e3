// End-to-end: the exporter polls calls scripted into the simulator over real HTTP, and its
// /metrics totals are compared with exactly what the simulator served. Tests of process
// behaviour (signals, exit status, SIGKILL restarts, memory, log formats chosen by flag) run the
// real bird_call_exporter binary; the others run the Exporter object in this process.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "sim/simulator.h"
#include "state/state.h"
#include "support/exporter_process.h"
#include "support/in_process_exporter.h"
#include "support/process.h"

namespace bird_exporter::testing {
namespace {

// The ids the state at `path` records as counted: a JSON state file of an earlier release, or
// the SQLite database (read only, as an operator would).
std::set<std::string> CountedIdsAt(const std::string& path) {
  std::set<std::string> ids;
  if (!std::filesystem::exists(path)) return ids;
  const std::string text = ReadFile(path);
  if (text.rfind("{", 0) == 0) {
    for (const auto& [id, created] : ParseState(text).counted) ids.insert(id);
    return ids;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT call_id FROM counted", -1, &stmt, nullptr) == SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        ids.insert(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
      }
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return ids;
}

using Clock = std::chrono::system_clock;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kAccessKey = "e2e-access-key-7Qx9vN2m";

struct ChannelSpec {
  std::string workspace_id, workspace_name, channel_id, channel_name;
};

const std::vector<ChannelSpec> kChannels = {
    {"ws-a", "production", "ch-a1", "support"},
    {"ws-a", "production", "ch-a2", "sales"},
    {"ws-b", "ws-b", "ch-b1", "ch-b1"},
};

// Insights shaped like Bird's documented example, with a chosen MOS and inbound media count.
nlohmann::json MediaInsights(const sim::ScriptedCall& call, double mos, double quality,
                             int in_media) {
  nlohmann::json body = {
      {"id", call.id},
      {"channelId", call.channel_id},
      {"from", "3197004499436"},
      {"to", "351919150029"},
      {"direction", call.direction},
      {"status", call.status},
      {"type", call.type},
      {"duration", call.duration.value_or(0)},
      {"hangupCauseCode", call.hangup_cause_code.value_or(16)},
      {"hangupSource", "caller"},
      {"hangupSipCode", call.hangup_sip_code},
      {"signallingMetrics", {{"pdd", 0.36154374}}},
      {"mediaMetrics",
       {{"mos", mos},
        {"qualityScore", quality},
        {"inBytes", 918},
        {"outBytes", 1462},
        {"inPacketCount", in_media + 14},
        {"outPacketCount", 1462},
        {"inMediaPacketCount", in_media},
        {"outMediaPacketCount", 0},
        {"inDtmfPacketCount", 0},
        {"outDtmfPacketCount", 0},
        {"jitterMinVar", 126.08},
        {"jitterMaxVar", 1187.95},
        {"jitterLossRate", 0},
        {"jitterBurstRate", 0},
        {"meanInterval", 20.89},
        {"flawTotal", 0},
        {"readCodecName", "PCMU"},
        {"readCodecRate", "8000"},
        {"writeCodecName", "PCMU"},
        {"writeCodecRate", "8000"},
        {"dtmfType", "info"}}},
      {"createdAt", "2023-10-25T17:01:14.645Z"},
      {"updatedAt", "2023-10-25T17:01:45.655Z"},
  };
  return body;
}

// What the simulator served, in the exporter's terms; filled while building the scenario.
struct Truth {
  std::map<std::string, int> by_status;
  int answered_with_media = 0;
  int no_inbound_media = 0;
  int with_pdd = 0;
  std::map<std::string, int> by_cause_class;
  int total() const {
    int n = 0;
    for (const auto& [status, count] : by_status) n += count;
    return n;
  }
};

class ExporterE2ETest : public ::testing::Test {
 protected:
  ExporterE2ETest()
      : bird_(sim::ScriptedSettings(kAccessKey,
                                    {{"ws-a", {"ch-a1", "ch-a2"}}, {"ws-b", {"ch-b1"}}})) {}

  void SetUp() override { bird_.SetMaxPageSize(5); }
  void TearDown() override {
    for (auto& process : processes_) {
      const std::string log = process->Log();
      EXPECT_EQ(log.find(kAccessKey), std::string::npos) << "the access key leaked into the log";
    }
    processes_.clear();
  }

  std::string WriteConfig(const std::string& bird_extra, const std::string& state_file = "",
                          const std::string& poll_extra = "") {
    std::ostringstream yaml;
    yaml << "bird:\n  base_url: " << bird_.BaseUrl() << "\n  access_key: ${BIRD_ACCESS_KEY}\n"
         << "  request_timeout: 1s\n  page_size: 5\n"
         << bird_extra << "poll:\n  interval: 200ms\n  initial_lookback: 10m\n"
         << "  insights_grace_period: 3s\n  max_call_age: 1h\n"
         << poll_extra;
    if (!state_file.empty()) yaml << "state_file: " << state_file << "\n";
    yaml << "workspaces:\n";
    std::string current;
    for (const auto& ch : kChannels) {
      if (ch.workspace_id != current) {
        current = ch.workspace_id;
        yaml << "  - id: " << ch.workspace_id << "\n";
        if (ch.workspace_name != ch.workspace_id) yaml << "    name: " << ch.workspace_name << "\n";
        yaml << "    channels:\n";
      }
      yaml << "      - id: " << ch.channel_id << "\n";
      if (ch.channel_name != ch.channel_id) yaml << "        name: " << ch.channel_name << "\n";
    }
    const std::string path = dir_ / "config-" + std::to_string(++configs_) + ".yml";
    std::ofstream(path) << yaml.str();
    return path;
  }

  ExporterProcess& Start(const std::string& config_path, const std::string& key = kAccessKey,
                         std::vector<std::string> extra_args = {}) {
    std::vector<std::string> args = {"--config.file=" + config_path,
                                     "--web.listen-address=127.0.0.1:0", "--log.level=debug"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    auto owned = std::make_unique<ExporterProcess>(
        EXPORTER_BINARY, args, std::map<std::string, std::string>{{"BIRD_ACCESS_KEY", key}},
        dir_.path());
    ExporterProcess& process = *owned;
    processes_.push_back(std::move(owned));
    EXPECT_GT(process.WaitForPort(), 0) << process.Log();
    return process;
  }

  // The Exporter object in this process instead, for tests that look at no process behaviour
  // (signals, exit status, restarts, memory): its configuration's ${VAR}s read `key`.
  ExporterUnderTest& StartInProcess(const std::string& config_path,
                                    const std::string& key = kAccessKey) {
    processes_.push_back(std::make_unique<InProcessExporter>(ReadFile(config_path), key));
    return *processes_.back();
  }

  sim::ScriptedCall NewCall(const ChannelSpec& ch, const std::string& status,
                            Clock::time_point created) {
    sim::ScriptedCall call;
    call.workspace_id = ch.workspace_id;
    call.channel_id = ch.channel_id;
    char id[64];
    ++call_counter_;
    std::snprintf(id, sizeof(id), "%08x-78ba-416d-899e-%012d", call_counter_, call_counter_);
    call.id = id;
    call.status = status;
    call.created_at = created;
    return call;
  }

  // An ended call; answered ones carry media insights. Records what the exporter must count.
  sim::ScriptedCall EndedCall(const ChannelSpec& ch, const std::string& status,
                              Clock::time_point created, Truth& truth, int in_media = 900,
                              double mos = 4.5, bool ready = true) {
    sim::ScriptedCall call = NewCall(ch, status, created);
    call.ended_at = created + seconds(40);
    call.insights_ready = ready;
    call.list_mos = 4.1;
    call.list_pdd = 1.23;
    if (status == "completed") {
      call.answered_at = created + seconds(5);
      call.duration = 35;
      call.hangup_cause_code = 16;
      call.hangup_sip_code = "200";
      call.insights = MediaInsights(call, mos, 100, in_media);
      if (in_media > 0) {
        ++truth.answered_with_media;
      } else {
        ++truth.no_inbound_media;
      }
      ++truth.by_cause_class["ok"];
    } else if (status == "busy") {
      call.hangup_cause_code = 17;
      call.hangup_sip_code = "486";
      ++truth.by_cause_class["user"];
    } else if (status == "no-answer") {
      call.hangup_cause_code = 19;
      call.hangup_sip_code = "480";
      ++truth.by_cause_class["user"];
    } else if (status == "cancelled") {
      call.hangup_cause_code = 16;
      call.hangup_sip_code = "487";
      ++truth.by_cause_class["user"];
    } else {
      call.hangup_cause_code = 34;
      call.hangup_sip_code = "503";
      ++truth.by_cause_class["network"];
    }
    ++truth.by_status[status];
    ++truth.with_pdd;  // insights pdd for media calls, list pdd otherwise
    return call;
  }

  // The standard mix on every channel: 8 answered (one without inbound media), 3 busy,
  // 2 no-answer, 1 cancelled, 1 failed, created over the last few minutes.
  void AddStandardMix(Truth& truth) {
    const auto now = Clock::now();
    for (const auto& ch : kChannels) {
      int minute = 0;
      auto created = [&] { return now - minutes(8) + seconds(17 * ++minute); };
      for (int i = 0; i < 7; ++i) {
        bird_.UpsertCall(EndedCall(ch, "completed", created(), truth, 900, 3.2 + 0.2 * i));
      }
      bird_.UpsertCall(EndedCall(ch, "completed", created(), truth, 0));
      for (int i = 0; i < 3; ++i) bird_.UpsertCall(EndedCall(ch, "busy", created(), truth));
      for (int i = 0; i < 2; ++i) bird_.UpsertCall(EndedCall(ch, "no-answer", created(), truth));
      bird_.UpsertCall(EndedCall(ch, "cancelled", created(), truth));
      bird_.UpsertCall(EndedCall(ch, "failed", created(), truth));
    }
  }

  // Polls until bird_calls_total equals `expected`, then lets every channel be listed at least
  // three more times and checks the total did not move.
  void ExpectStableTotal(ExporterUnderTest& exporter, int expected,
                         milliseconds timeout = seconds(60)) {
    ASSERT_TRUE(WaitFor(
        [&] { return SumSamples(exporter.Scrape(), "bird_calls_total") == expected; }, timeout))
        << "bird_calls_total=" << SumSamples(exporter.Scrape(), "bird_calls_total")
        << " expected=" << expected << "\n"
        << exporter.Log().substr(0, 4000);
    const auto list_requests = [&] { return bird_.Requests().size(); };
    const std::size_t before = list_requests();
    ASSERT_TRUE(
        WaitFor([&] { return list_requests() >= before + 3 * kChannels.size(); }, seconds(20)));
    EXPECT_EQ(SumSamples(exporter.Scrape(), "bird_calls_total"), expected);
  }

  sim::Simulator bird_;
  TempDir dir_{"bird_e2e"};
  int configs_ = 0;
  int call_counter_ = 0;
  std::vector<std::unique_ptr<ExporterUnderTest>> processes_;
};

TEST_F(ExporterE2ETest, CountsExactlyWhatBirdServedAcrossChannelsPagesAndPolls) {
  Truth truth;
  AddStandardMix(truth);
  // A long call in progress, older than most calls of its channel, and two ended calls whose
  // insights are not ready yet. The long call is followed by id: its end is found within a
  // tenth of its age (27 s here).
  sim::ScriptedCall long_call = NewCall(kChannels[0], "ongoing", Clock::now() - seconds(270));
  bird_.UpsertCall(long_call);
  Truth late_truth;
  sim::ScriptedCall late1 = EndedCall(kChannels[2], "completed", Clock::now() - minutes(1),
                                      late_truth, 900, 4.4, /*ready=*/false);
  late1.ended_at = Clock::now() + minutes(10);  // far from its grace period
  sim::ScriptedCall late2 =
      EndedCall(kChannels[2], "busy", Clock::now() - minutes(1), late_truth, 0, 0,
                /*ready=*/false);
  late2.ended_at = Clock::now() + minutes(10);
  bird_.UpsertCall(late1);
  bird_.UpsertCall(late2);

  ExporterUnderTest& exporter = StartInProcess(WriteConfig("  max_concurrent_requests: 4\n"));
  ExpectStableTotal(exporter, truth.total());
  Samples s = exporter.Scrape();
  EXPECT_EQ(SumSamples(s, "bird_exporter_insights_pending", {"workspace=\"ws-b\""}), 2);
  EXPECT_EQ(SumSamples(s, "bird_calls_active", {"status=\"ongoing\""}), 1);
  EXPECT_EQ(SumSamples(s, "bird_exporter_channel_up"), 3);
  EXPECT_EQ(HttpGet(exporter.Url("/-/ready")).status, 200);

  // The insights become ready; the long call ends.
  late1.insights_ready = true;
  late2.insights_ready = true;
  bird_.UpsertCall(late1);
  bird_.UpsertCall(late2);
  Truth long_truth;
  sim::ScriptedCall ended_long =
      EndedCall(kChannels[0], "completed", long_call.created_at, long_truth);
  ended_long.id = long_call.id;
  ended_long.insights = MediaInsights(ended_long, 4.5, 100, 900);
  bird_.UpsertCall(ended_long);

  const int expected = truth.total() + late_truth.total() + long_truth.total();
  ExpectStableTotal(exporter, expected);
  s = exporter.Scrape();
  EXPECT_EQ(SumSamples(s, "bird_calls_total", {"status=\"completed\""}),
            truth.by_status["completed"] + 2);
  EXPECT_EQ(SumSamples(s, "bird_calls_total", {"status=\"busy\""}), truth.by_status["busy"] + 1);
  EXPECT_EQ(SumSamples(s, "bird_calls_total", {"status=\"no-answer\""}),
            truth.by_status["no-answer"]);
  EXPECT_EQ(SumSamples(s, "bird_call_mos_count"), truth.answered_with_media + 2);
  EXPECT_EQ(SumSamples(s, "bird_call_quality_ratio_count"), truth.answered_with_media + 2);
  EXPECT_EQ(SumSamples(s, "bird_call_no_inbound_media_total"), truth.no_inbound_media);
  EXPECT_EQ(SumSamples(s, "bird_call_pdd_seconds_count"), expected);
  EXPECT_EQ(SumSamples(s, "bird_call_duration_seconds_count"), truth.by_status["completed"] + 2);
  EXPECT_EQ(SumSamples(s, "bird_call_hangups_total"), expected);
  EXPECT_EQ(SumSamples(s, "bird_call_hangups_total", {"cause_class=\"user\""}),
            truth.by_cause_class["user"] + 1);
  EXPECT_EQ(SumSamples(s, "bird_call_hangups_total", {"cause_class=\"network\""}),
            truth.by_cause_class["network"]);
  EXPECT_EQ(SumSamples(s, "bird_call_hangups_total",
                       {"hangup_cause=\"USER_BUSY\"", "sip_code=\"486\"", "cause_class=\"user\""}),
            truth.by_status["busy"] + 1);
  EXPECT_EQ(SumSamples(s, "bird_calls_active", {"status=\"ongoing\""}), 0);
  EXPECT_EQ(SumSamples(s, "bird_exporter_insights_pending"), 0);
  EXPECT_EQ(SumSamples(s, "bird_exporter_insights_unavailable_total"), 0);
  EXPECT_EQ(SumSamples(s, "bird_exporter_api_requests_total", {"code=\"401\""}), 0);
  // Labels are configured names, never ids of calls.
  EXPECT_GT(SumSamples(s, "bird_calls_total", {"workspace=\"production\"", "channel=\"support\""}),
            0);
  for (const auto& [series, value] : s) {
    EXPECT_EQ(series.find("78ba-416d"), std::string::npos)
        << "a call id became a label: " << series;
  }
}

TEST_F(ExporterE2ETest, CountsFromTheListWhenInsightsNeverArrive) {
  Truth truth;
  sim::ScriptedCall call =
      EndedCall(kChannels[1], "completed", Clock::now() - minutes(2), truth, 900, 4.5,
                /*ready=*/false);
  bird_.UpsertCall(call);
  ExporterUnderTest& exporter = StartInProcess(WriteConfig(""));
  ExpectStableTotal(exporter, 1, seconds(30));
  const Samples s = exporter.Scrape();
  EXPECT_EQ(SumSamples(s, "bird_exporter_insights_unavailable_total",
                       {"workspace=\"production\"", "channel=\"sales\""}),
            1);
  EXPECT_EQ(SumSamples(s, "bird_call_mos_count", {"codec=\"unknown\""}), 1);  // the list's mos
  EXPECT_GE(SumSamples(s, "bird_exporter_api_requests_total",
                       {"endpoint=\"call_insights\"", "code=\"404\""}),
            1);
}

TEST_F(ExporterE2ETest, TotalsStayExactWhileTheApiMisbehaves) {
  Truth truth;
  AddStandardMix(truth);
  bird_.SetSlowDelay(milliseconds(1500));  // longer than request_timeout: a client timeout
  for (const std::string endpoint : {"list_calls", "call_insights"}) {
    bird_.InjectFaults(endpoint, sim::Fault::kTooManyRequests, 2);
    bird_.InjectFaults(endpoint, sim::Fault::kTooManyRequestsRetryAfter, 1);
    bird_.InjectFaults(endpoint, sim::Fault::kServerErrorHtml, 2);
    bird_.InjectFaults(endpoint, sim::Fault::kServiceUnavailable, 1);
    bird_.InjectFaults(endpoint, sim::Fault::kTruncatedBody, 2);
    bird_.InjectFaults(endpoint, sim::Fault::kMalformedBody, 2);
    bird_.InjectFaults(endpoint, sim::Fault::kHtmlOk, 1);
    bird_.InjectFaults(endpoint, sim::Fault::kSlow, 1);
  }
  ExporterUnderTest& exporter = StartInProcess(WriteConfig("  max_retries: 2\n"));
  ExpectStableTotal(exporter, truth.total(), seconds(90));
  EXPECT_EQ(bird_.PendingFaults(), 0);
  const Samples s = exporter.Scrape();
  EXPECT_EQ(SumSamples(s, "bird_call_mos_count"), truth.answered_with_media);
  EXPECT_EQ(SumSamples(s, "bird_call_no_inbound_media_total"), truth.no_inbound_media);
  EXPECT_EQ(SumSamples(s, "bird_exporter_api_requests_total", {"code=\"429\""}), 6);
  EXPECT_EQ(SumSamples(s, "bird_exporter_api_requests_total", {"code=\"502\""}), 4);
  EXPECT_EQ(SumSamples(s, "bird_exporter_api_requests_total", {"code=\"503\""}), 2);
  EXPECT_EQ(SumSamples(s, "bird_exporter_api_requests_total", {"code=\"error\""}), 2);
  EXPECT_EQ(SumSamples(s, "bird_exporter_parse_errors_total"), 10);
  EXPECT_EQ(SumSamples(s, "bird_exporter_insights_unavailable_total"), 0);
  EXPECT_TRUE(exporter.Running());
  const std::string log = exporter.Log();
  EXPECT_NE(log.find("level=warn msg=\"bird request failed, retrying\""), std::string::npos);
}

// Issue 12's hostile bodies: 60 MB of JSON nested 30 million levels deep, on list pages and on
// insights, eight times each. They are cut at the body caps (4 MiB and 256 KiB by default) and
// retried; memory stays bounded and every call is still counted exactly once.
TEST_F(ExporterE2ETest, HugeNestedBodiesAreCutAtTheCapsAndLoseNothing) {
  Truth truth;
  AddStandardMix(truth);
  for (const std::string endpoint : {"list_calls", "call_insights"}) {
    bird_.InjectFaults(endpoint, sim::Fault::kHugeNestedBody, 8);
  }
  ExporterProcess& exporter = Start(WriteConfig("  max_retries: 3\n"));
  ExpectStableTotal(exporter, truth.total(), seconds(120));
  EXPECT_EQ(bird_.PendingFaults(), 0);
  const Samples s = exporter.Scrape();
  EXPECT_EQ(SumSamples(s, "bird_call_mos_count"), truth.answered_with_media);
  EXPECT_EQ(SumSamples(s, "bird_exporter_api_requests_total", {"code=\"error\""}), 16);
  // The peak resident memory of the whole run (VmHWM), huge bodies included.
  std::ifstream status("/proc/" + std::to_string(exporter.pid()) + "/status");
  double peak_mb = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) peak_mb = std::stod(line.substr(6)) / 1024;
  }
  EXPECT_GT(peak_mb, 0);
  if (!kSanitized) {
    EXPECT_LT(peak_mb, 64) << "peak RSS in MB";
  }
  RecordProperty("peak_rss_mb", std::to_string(peak_mb));
  EXPECT_NE(exporter.Log().find("response body larger than"), std::string::npos);
}

TEST_F(ExporterE2ETest, AbsurdValuesCostOnlyTheirFieldAndAreCountedAsAnomalies) {
  Truth truth;
  AddStandardMix(truth);
  const auto now = Clock::now();
  // Insights with a MOS too large for a double, a "NaN" byte count and 10^20 packets.
  sim::ScriptedCall absurd = EndedCall(kChannels[0], "completed", now - minutes(2), truth);
  absurd.insights["mediaMetrics"]["mos"] = "@mos@";
  absurd.insights["mediaMetrics"]["inBytes"] = "NaN";
  absurd.insights["mediaMetrics"]["outPacketCount"] = 1e20;
  absurd.raw = {{"\"@mos@\"", "1e400"}};
  // A list record (and insights) whose duration overflows a double.
  sim::ScriptedCall overflow = EndedCall(kChannels[1], "busy", now - minutes(2), truth);
  overflow.duration = 12345;
  overflow.raw = {{"\"duration\":12345", "\"duration\":-1e999"}};
  // A call dated a year ahead: counted, its times clamped.
  sim::ScriptedCall future =
      EndedCall(kChannels[2], "no-answer", now + std::chrono::hours(24 * 365), truth);
  for (const sim::ScriptedCall& call : {absurd, overflow, future}) bird_.UpsertCall(call);

  ExporterUnderTest& exporter = StartInProcess(WriteConfig(""));
  ExpectStableTotal(exporter, truth.total());
  const Samples s = exporter.Scrape();
  const auto anomalies = [&s](const std::string& field) {
    return SumSamples(s, "bird_exporter_field_anomalies_total", {"field=\"" + field + "\""});
  };
  EXPECT_EQ(anomalies("mediaMetrics.mos"), 1);
  EXPECT_EQ(anomalies("mediaMetrics.inBytes"), 1);
  EXPECT_EQ(anomalies("mediaMetrics.outPacketCount"), 1);
  EXPECT_EQ(anomalies("duration"), 1);
  EXPECT_EQ(anomalies("createdAt"), 1);
  EXPECT_EQ(anomalies("updatedAt"), 1);
  EXPECT_EQ(anomalies("endedAt"), 1);  // a no-answer call has no answeredAt
  EXPECT_EQ(SumSamples(s, "bird_exporter_field_anomalies_total"), 7);
  // Everything else of those calls is observed; the MOS of the absurd one is not.
  EXPECT_EQ(SumSamples(s, "bird_call_mos_count"), truth.answered_with_media - 1);
  EXPECT_EQ(SumSamples(s, "bird_call_quality_ratio_count"), truth.answered_with_media);
  EXPECT_EQ(SumSamples(s, "bird_exporter_parse_errors_total"), 0);
  for (const auto& [series, value] : s) {
    EXPECT_TRUE(std::isfinite(value)) << series << " = " << value;
  }
  const std::string log = exporter.Log();
  EXPECT_NE(log.find("call_id=\"" + absurd.id +
                     "\" fields=\"mediaMetrics.inBytes,mediaMetrics.mos,"
                     "mediaMetrics.outPacketCount\""),
            std::string::npos)
      << log.substr(0, 4000);
  EXPECT_TRUE(exporter.Running());
}

TEST_F(ExporterE2ETest, ACraftedCallIdCannotForgeALogRecordInEitherFormat) {
  const std::string forged =
      "c1\"\nts=2026-01-01T00:00:00.000Z level=error msg=\"state lost\" \r\x1b[2J";
  for (const std::string format : {"logfmt", "json"}) {
    SCOPED_TRACE(format);
    Truth truth;
    sim::ScriptedCall call = EndedCall(kChannels[0], "completed", Clock::now() - minutes(2), truth);
    call.id = forged + format;
    call.insights = MediaInsights(call, 4.2, 100, 900);
    call.insights["mediaMetrics"]["mos"] = "n/a";  // an anomaly: its warn line names the call
    call.insights["mediaMetrics"]["readCodecName"] = "PCMA\nlevel=error";
    bird_.UpsertCall(call);
    ExporterProcess& exporter = Start(WriteConfig(""), kAccessKey, {"--log.format=" + format});
    ExpectStableTotal(exporter, format == "logfmt" ? 1 : 2);  // the simulator keeps the first one
    const std::string log = exporter.Log();
    EXPECT_EQ(exporter.Stop(SIGTERM, seconds(5)), 0);
    std::istringstream lines(log);
    int records = 0;
    bool named = false;
    for (std::string line; std::getline(lines, line);) {
      ++records;
      if (format == "logfmt") {
        ASSERT_EQ(line.rfind("ts=", 0), 0u) << line;
        EXPECT_NE(line.rfind("ts=2026-01-01", 0), 0u) << line;  // no forged record
        named |= line.find(
                     "call_id=\"c1\\\"\\nts=2026-01-01T00:00:00.000Z level=error "
                     "msg=\\\"state lost\\\" \\r\\u001b[2J" +
                     format + "\"") != std::string::npos;
      } else {
        nlohmann::json record;
        ASSERT_NO_THROW(record = nlohmann::json::parse(line)) << line;
        ASSERT_TRUE(record.is_object()) << line;
        EXPECT_EQ(record.size(), 3u) << line;
        EXPECT_NE(record.value("msg", ""), "state lost");
        named |=
            record.value("msg", "").find("call_id=\"c1\\\"\\nts=2026-01-01") != std::string::npos;
      }
    }
    EXPECT_GT(records, 3);
    EXPECT_TRUE(named) << log.substr(0, 4000);
  }
}

TEST_F(ExporterE2ETest, AWrongKeyKeepsTheDaemonUpAndShowsInMetrics) {
  Truth truth;
  AddStandardMix(truth);
  ExporterProcess& exporter = Start(WriteConfig(""), "wrong-key-Zt81");
  ASSERT_TRUE(WaitFor(
      [&] {
        return SumSamples(exporter.Scrape(), "bird_exporter_api_requests_total",
                          {"code=\"401\""}) >= 2 * kChannels.size();
      },
      seconds(20)));
  const Samples s = exporter.Scrape();
  EXPECT_EQ(SumSamples(s, "bird_exporter_channel_up"), 0);
  EXPECT_EQ(s.count("bird_exporter_channel_up{channel=\"support\",workspace=\"production\"}"), 1u);
  EXPECT_EQ(SumSamples(s, "bird_calls_total"), 0);
  EXPECT_GE(SumSamples(s, "bird_exporter_channel_errors_total", {"reason=\"unauthorized\""}),
            kChannels.size());
  // A permanent answer: the pod is ready (a rollout goes on) and the alerts say why.
  EXPECT_EQ(HttpGet(exporter.Url("/-/ready")).status, 200);
  EXPECT_EQ(HttpGet(exporter.Url("/-/healthy")).status, 200);
  EXPECT_TRUE(exporter.Running());
  const std::string log = exporter.Log();
  EXPECT_NE(log.find("bird refused the access key"), std::string::npos);
  // Once per channel, not once per poll.
  std::size_t refused = 0;
  for (auto at = log.find("bird refused the access key"); at != std::string::npos;
       at = log.find("bird refused the access key", at + 1)) {
    ++refused;
  }
  EXPECT_EQ(refused, kChannels.size());
  EXPECT_EQ(log.find("wrong-key-Zt81"), std::string::npos);
  EXPECT_EQ(exporter.Stop(SIGTERM, seconds(5)), 0);
}

TEST_F(ExporterE2ETest, AGracefulRestartNeitherDoubleCountsNorLosesCalls) {
  Truth truth;
  AddStandardMix(truth);
  const std::string state = dir_ / "state.json";
  const std::string config = WriteConfig("", state);
  {
    ExporterProcess& first = Start(config);
    ExpectStableTotal(first, truth.total());
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(first.Stop(SIGTERM, seconds(5)), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5));
    EXPECT_NE(first.Log().find("stopped"), std::string::npos);
  }
  // Calls that end while the exporter is down.
  Truth downtime;
  for (const auto& ch : kChannels) {
    bird_.UpsertCall(EndedCall(ch, "completed", Clock::now() - minutes(1), downtime));
    bird_.UpsertCall(EndedCall(ch, "no-answer", Clock::now() - seconds(30), downtime));
  }
  ExporterProcess& second = Start(config);
  ExpectStableTotal(second, downtime.total());
}

TEST_F(ExporterE2ETest, KillNineAtAnyMomentNeverDoubleCountsNorLosesCalls) {
  Truth truth;
  AddStandardMix(truth);
  std::set<std::string> all_ids;
  for (const auto& call : bird_.Calls()) all_ids.insert(call.id);
  bird_.SetSlowDelay(milliseconds(30));
  bird_.InjectFaults("call_insights", sim::Fault::kSlow, 1000);  // stretch the cycles out
  const std::string state = dir_ / "state.json";
  const std::string config = WriteConfig("  max_concurrent_requests: 2\n", state);

  std::mt19937 random(12345);
  std::size_t counted_before = 0;
  for (int round = 0; round < 4; ++round) {
    ExporterProcess& exporter = Start(config);
    // Kill at a varying moment: right away, mid-cycle, or after a few cycles.
    const auto delay = milliseconds(std::uniform_int_distribution<int>(0, 900)(random));
    const auto deadline = std::chrono::steady_clock::now() + delay;
    WaitFor([&] { return std::chrono::steady_clock::now() >= deadline; }, delay + seconds(1));
    ASSERT_TRUE(exporter.Stop(SIGKILL, seconds(5)).has_value());
    const std::size_t saved = CountedIdsAt(state).size();
    EXPECT_GE(saved, counted_before);
    counted_before = saved;
  }
  // The last run counts exactly what the killed runs had not made durable.
  ExporterProcess& last = Start(config);
  ExpectStableTotal(last, static_cast<int>(all_ids.size() - counted_before), seconds(90));
  ASSERT_EQ(last.Stop(SIGTERM, seconds(5)), 0);
  EXPECT_EQ(CountedIdsAt(state), all_ids);
}

TEST_F(ExporterE2ETest, KillNineDuringTheMigrationOfALargeJsonStateNeverDoubleCounts) {
  Truth truth;
  AddStandardMix(truth);
  std::vector<std::string> ids;
  for (const auto& call : bird_.Calls()) ids.push_back(call.id);
  // A state file of an earlier release: half of the calls counted already, and 400,000 other
  // ids of the last hour to make the import take a while.
  const std::string state = dir_ / "state.json";
  {
    const auto now_ms = std::chrono::duration_cast<milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::ofstream out(state);
    out << "{\"version\":1,\"channels\":[";
    for (std::size_t i = 0; i < kChannels.size(); ++i) {
      out << (i ? "," : "") << "{\"workspace_id\":\"" << kChannels[i].workspace_id
          << "\",\"channel_id\":\"" << kChannels[i].channel_id
          << "\",\"window_start_ms\":" << now_ms - 9 * 60 * 1000 << "}";
    }
    out << "],\"counted\":{";
    for (std::size_t i = 0; i < ids.size() / 2; ++i) {
      out << (i ? "," : "") << "\"" << ids[i] << "\":" << now_ms - 60000;
    }
    for (int i = 0; i < 400000; ++i) out << ",\"filler-" << i << "\":" << now_ms - 60000;
    out << "}}";
  }
  const std::set<std::string> served(ids.begin(), ids.end());
  auto counted_of_served = [&] {
    std::set<std::string> counted;
    for (const auto& id : CountedIdsAt(state)) {
      if (served.count(id) > 0) counted.insert(id);
    }
    return counted;
  };
  ASSERT_EQ(counted_of_served().size(), ids.size() / 2);
  const std::string config = WriteConfig("", state);
  std::mt19937 random(777);
  for (int round = 0; round < 3; ++round) {
    ExporterProcess& exporter = Start(config);
    const auto delay = milliseconds(std::uniform_int_distribution<int>(0, 1500)(random));
    const auto deadline = std::chrono::steady_clock::now() + delay;
    WaitFor([&] { return std::chrono::steady_clock::now() >= deadline; }, delay + seconds(1));
    ASSERT_TRUE(exporter.Stop(SIGKILL, seconds(5)).has_value());
    EXPECT_GE(counted_of_served().size(), ids.size() / 2) << "round " << round;
  }
  const std::size_t before = counted_of_served().size();
  ExporterProcess& last = Start(config);
  ExpectStableTotal(last, static_cast<int>(ids.size() - before), seconds(90));
  ASSERT_EQ(last.Stop(SIGTERM, seconds(5)), 0);
  EXPECT_EQ(counted_of_served(), served);
  EXPECT_TRUE(std::filesystem::exists(state + ".migrated"));
}

TEST_F(ExporterE2ETest, AStateDirectoryMissingAtStartIsWaitedForNotACrashLoop) {
  Truth truth;
  AddStandardMix(truth);
  const std::string config = WriteConfig("", dir_ / "later/state.db");
  ExporterProcess& exporter = Start(config);
  ASSERT_TRUE(
      WaitFor([&] { return exporter.Log().find("cannot open the state") != std::string::npos; },
              seconds(20)));
  EXPECT_EQ(HttpGet(exporter.Url("/-/ready")).status, 503);
  EXPECT_NE(HttpGet(exporter.Url("/-/ready")).body.find("state database"), std::string::npos);
  EXPECT_TRUE(bird_.Requests().empty()) << "Bird is not asked while nothing can be recorded";
  EXPECT_GE(SumSamples(exporter.Scrape(), "bird_exporter_state_errors_total"), 1);
  std::filesystem::create_directory(dir_ / "later");
  ExpectStableTotal(exporter, truth.total());
  EXPECT_EQ(HttpGet(exporter.Url("/-/ready")).status, 200);
}

TEST_F(ExporterE2ETest, ASecondExporterOnTheSameStateRefusesToStart) {
  const std::string config = WriteConfig("", dir_ / "state.db");
  ExporterProcess& first = Start(config);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(first.Url("/-/ready")).status == 200; }, seconds(20)));
  ExporterProcess second(EXPORTER_BINARY,
                         {"--config.file=" + config, "--web.listen-address=127.0.0.1:0"},
                         {{"BIRD_ACCESS_KEY", kAccessKey}}, dir_.path());
  EXPECT_EQ(second.Stop(0, seconds(10)), 1);
  EXPECT_NE(second.Log().find("another bird_call_exporter process uses the state file"),
            std::string::npos)
      << second.Log();
  EXPECT_EQ(HttpGet(first.Url("/-/ready")).status, 200);
}

TEST_F(ExporterE2ETest, ADiskFullRollsThePollBackAndTheCallsAreCountedOnceAfter) {
  // A small file system of its own for the state (tests run as root, as in CI).
  const std::string small = dir_ / "small";
  std::filesystem::create_directory(small);
  ASSERT_EQ(::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=4m,mode=0700"), 0)
      << "mounting a tmpfs needs root: " << std::strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{small};
  const std::string config = WriteConfig("", small + "/state.db");
  ExporterProcess& exporter = Start(config);
  ASSERT_TRUE(
      WaitFor([&] { return HttpGet(exporter.Url("/-/ready")).status == 200; }, seconds(20)));
  // Fill the file system, then let calls end.
  {
    std::ofstream filler(small + "/filler", std::ios::binary);
    const std::string block(64 * 1024, 'x');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  Truth truth;
  AddStandardMix(truth);
  const auto write_errors = [&] {
    return SumSamples(exporter.Scrape(), "bird_exporter_state_errors_total",
                      {"operation=\"write\""});
  };
  ASSERT_TRUE(WaitFor([&] { return write_errors() >= 2; }, seconds(30))) << exporter.Log();
  EXPECT_EQ(SumSamples(exporter.Scrape(), "bird_calls_total"), 0);
  EXPECT_NE(exporter.Log().find("cannot save state"), std::string::npos);
  std::filesystem::remove(small + "/filler");
  ExpectStableTotal(exporter, truth.total());
  ASSERT_EQ(exporter.Stop(SIGTERM, seconds(5)), 0);
  // A restart on the recovered file counts nothing again.
  ExporterProcess& again = Start(config);
  ExpectStableTotal(again, 0);
}

// Most requests of any one-second window among the simulator's requests under `path_prefix`.
std::size_t MostInOneSecond(const std::vector<sim::RecordedRequest>& requests,
                            const std::string& path_prefix) {
  std::vector<std::chrono::steady_clock::time_point> times;
  for (const auto& request : requests) {
    if (request.path.rfind(path_prefix, 0) == 0) times.push_back(request.received_at);
  }
  std::sort(times.begin(), times.end());
  std::size_t most = 0;
  for (std::size_t i = 0, j = 0; i < times.size(); ++i) {
    while (times[i] - times[j] >= seconds(1)) ++j;
    most = std::max(most, i - j + 1);
  }
  return most;
}

TEST_F(ExporterE2ETest, NeverExceedsTheRateLimitOrTheConcurrencyLimit) {
  Truth truth;
  const auto now = Clock::now();
  for (int i = 0; i < 30; ++i) {
    bird_.UpsertCall(EndedCall(kChannels[i % 2], "completed", now - seconds(60 + i), truth));
  }
  bird_.SetSlowDelay(milliseconds(150));
  bird_.InjectFaults("call_insights", sim::Fault::kSlow, 1000);
  ExporterUnderTest& exporter =
      StartInProcess(WriteConfig("  max_requests_per_second: 10\n  max_concurrent_requests: 2\n"));
  ExpectStableTotal(exporter, truth.total());
  EXPECT_LE(bird_.MaxConcurrentRequests(), 2);
  // All channels share workspace ws-a's budget except ws-b; check ws-a's requests.
  const auto requests = bird_.Requests();
  ASSERT_GT(std::count_if(requests.begin(), requests.end(),
                          [](const auto& r) { return r.path.rfind("/workspaces/ws-a/", 0) == 0; }),
            30);
  // The client spaces requests 100 ms apart; one extra allows for loopback scheduling jitter
  // between the client taking a token and the simulator seeing the request.
  EXPECT_LE(MostInOneSecond(requests, "/workspaces/ws-a/"), 11u);
}

TEST_F(ExporterE2ETest, ARateLimitStormHalvesTheBudgetAndBirdNeverSeesMoreThanTheCeiling) {
  Truth truth;
  const auto now = Clock::now();
  for (int i = 0; i < 30; ++i) {
    bird_.UpsertCall(EndedCall(kChannels[i % 2], "completed", now - seconds(120 + i), truth));
  }
  bird_.InjectFaults("call_insights", sim::Fault::kTooManyRequests, 12);
  ExporterUnderTest& exporter =
      StartInProcess(WriteConfig("  max_requests_per_second: 10\n  max_concurrent_requests: 4\n"));
  // The storm drives the budget down: it is read while it lasts or just after.
  double lowest = 10;
  ASSERT_TRUE(WaitFor(
      [&] {
        const double budget =
            SumSamples(exporter.Scrape(), "bird_exporter_api_budget_requests_per_second",
                       {"workspace=\"production\""});
        if (budget > 0) lowest = std::min(lowest, budget);
        return lowest <= 5;
      },
      seconds(30)))
      << "lowest budget seen " << lowest;
  ExpectStableTotal(exporter, truth.total());
  const Samples s = exporter.Scrape();
  const auto requests = bird_.Requests();
  const auto answered_429 = std::count_if(requests.begin(), requests.end(),
                                          [](const auto& r) { return r.status == 429; });
  EXPECT_EQ(answered_429, 12);
  EXPECT_EQ(SumSamples(s, "bird_exporter_api_rate_limited_total", {"workspace=\"production\""}), 12)
      << SumSamples(s, "bird_exporter_api_requests_total", {"code=\"429\""});
  EXPECT_EQ(SumSamples(s, "bird_calls_total"), 30);
  // Recovered: back at the ceiling, never above it.
  ASSERT_TRUE(WaitFor(
      [&] {
        return SumSamples(exporter.Scrape(), "bird_exporter_api_budget_requests_per_second",
                          {"workspace=\"production\""}) == 10;
      },
      seconds(30)));
  EXPECT_LE(MostInOneSecond(bird_.Requests(), "/workspaces/ws-a/"), 10u);
}

TEST_F(ExporterE2ETest, LongCallsEndingAroundFaultsAndAKillAreCountedExactlyOnce) {
  Truth truth;
  AddStandardMix(truth);
  const auto now = Clock::now();
  // Newer calls, so that the open ones are past the first pages of each poll's listing.
  for (const auto& ch : kChannels) {
    for (int i = 0; i < 15; ++i) {
      bird_.UpsertCall(EndedCall(ch, "busy", now - seconds(40 + i), truth));
    }
  }
  std::vector<sim::ScriptedCall> open;
  for (int i = 0; i < 12; ++i) {
    sim::ScriptedCall call = NewCall(kChannels[i % 3], "ongoing", now - seconds(100 + 5 * i));
    call.answered_at = call.created_at + seconds(3);
    bird_.UpsertCall(call);
    open.push_back(call);
  }
  const std::string state = dir_ / "state.json";
  const std::string config = WriteConfig("  max_concurrent_requests: 4\n", state);
  auto* exporter = &Start(config);
  ExpectStableTotal(*exporter, truth.total());
  EXPECT_EQ(SumSamples(exporter->Scrape(), "bird_exporter_calls_followed"), 12);
  EXPECT_EQ(SumSamples(exporter->Scrape(), "bird_calls_active", {"status=\"ongoing\""}), 12);

  // Half of them end while Bird misbehaves; the exporter is then killed.
  bird_.InjectFaults("", sim::Fault::kServerErrorHtml, 3);
  bird_.InjectFaults("", sim::Fault::kTruncatedBody, 3);
  bird_.InjectFaults("", sim::Fault::kTooManyRequestsRetryAfter, 2);
  Truth ended_truth;
  auto end = [&](const sim::ScriptedCall& call) {
    sim::ScriptedCall ended = EndedCall(kChannels[0], "completed", call.created_at, ended_truth);
    ended.workspace_id = call.workspace_id;
    ended.channel_id = call.channel_id;
    ended.id = call.id;
    ended.ended_at = Clock::now() - seconds(1);
    ended.insights = MediaInsights(ended, 4.3, 100, 900);
    bird_.UpsertCall(ended);
  };
  for (int i = 0; i < 6; ++i) end(open[i]);
  ExpectStableTotal(*exporter, truth.total() + 6, seconds(90));
  ASSERT_TRUE(exporter->Stop(SIGKILL, seconds(5)).has_value());
  for (int i = 6; i < 12; ++i) end(open[i]);  // while it is down

  exporter = &Start(config);
  ExpectStableTotal(*exporter, 6, seconds(90));
  const Samples s = exporter->Scrape();
  EXPECT_EQ(SumSamples(s, "bird_exporter_calls_followed"), 0);
  EXPECT_EQ(SumSamples(s, "bird_calls_active"), 0);
  EXPECT_EQ(SumSamples(s, "bird_call_mos_count"), 6);  // the six that ended while it was down
  // Each open call was looked at again a bounded number of times, not once per poll.
  const auto requests = bird_.Requests();
  const auto follow = std::count_if(requests.begin(), requests.end(), [](const auto& r) {
    return r.endpoint == "get_call" ||
           (r.endpoint == "list_calls" && r.query.find("status=") != std::string::npos);
  });
  EXPECT_LT(follow, 12 * 20);
}

int InsightsRequests(const std::vector<sim::RecordedRequest>& requests) {
  return static_cast<int>(std::count_if(requests.begin(), requests.end(), [](const auto& r) {
    return r.endpoint == "call_insights";
  }));
}

TEST_F(ExporterE2ETest, InsightsModeAllAsksOnceForEveryCall) {
  Truth truth;
  AddStandardMix(truth);
  ExporterUnderTest& exporter = StartInProcess(WriteConfig("", "", "  insights: all\n"));
  ExpectStableTotal(exporter, truth.total());
  const Samples s = exporter.Scrape();
  EXPECT_EQ(InsightsRequests(bird_.Requests()), truth.total());
  EXPECT_EQ(SumSamples(s, "bird_call_mos_count"), truth.answered_with_media);
  EXPECT_EQ(SumSamples(s, "bird_call_quality_ratio_count"), truth.answered_with_media);
  EXPECT_EQ(SumSamples(s, "bird_call_pdd_seconds_count"), truth.with_pdd);
  EXPECT_EQ(SumSamples(s, "bird_call_no_inbound_media_total"), truth.no_inbound_media);
  EXPECT_EQ(SumSamples(s, "bird_exporter_insights_mode", {"mode=\"all\""}), 1);
}

TEST_F(ExporterE2ETest, InsightsModeNoneCountsEveryCallFromTheListAlone) {
  Truth truth;
  AddStandardMix(truth);
  ExporterUnderTest& exporter = StartInProcess(WriteConfig("", "", "  insights: none\n"));
  ExpectStableTotal(exporter, truth.total());
  const Samples s = exporter.Scrape();
  EXPECT_EQ(InsightsRequests(bird_.Requests()), 0);
  // The list's qualityInsights.mos of every answered call, one-way audio included.
  EXPECT_EQ(SumSamples(s, "bird_call_mos_count"),
            truth.answered_with_media + truth.no_inbound_media);
  EXPECT_EQ(SumSamples(s, "bird_call_pdd_seconds_count"), truth.with_pdd);
  EXPECT_EQ(SumSamples(s, "bird_call_duration_seconds_count"), truth.by_status["completed"]);
  EXPECT_EQ(SumSamples(s, "bird_call_quality_ratio_count"), 0);
  EXPECT_EQ(SumSamples(s, "bird_call_no_inbound_media_total"), 0);
  EXPECT_EQ(SumSamples(s, "bird_exporter_insights_pending"), 0);
  EXPECT_EQ(SumSamples(s, "bird_exporter_insights_mode", {"mode=\"none\""}), 1);
}

TEST_F(ExporterE2ETest, InsightsModePoorAsksOnlyForAnsweredCallsWithALowOrMissingListMos) {
  Truth truth;
  AddStandardMix(truth);
  // The list shows the same MOS as the insights (3.2, 3.4, ... 4.4); the call without inbound
  // media has none in the list.
  int poor = 0;
  for (sim::ScriptedCall call : bird_.Calls()) {
    if (call.status != "completed") continue;
    const double mos = call.insights["mediaMetrics"]["mos"].get<double>();
    const bool no_media = call.insights["mediaMetrics"]["inMediaPacketCount"].get<int>() == 0;
    call.list_mos = no_media ? std::nullopt : std::optional<double>(mos);
    if (no_media || mos < 3.6) ++poor;
    bird_.UpsertCall(call);
  }
  ASSERT_EQ(poor, 9);  // 3.2 and 3.4, and the one without media, on each of 3 channels
  ExporterUnderTest& exporter = StartInProcess(WriteConfig("", "", "  insights: poor\n"));
  ExpectStableTotal(exporter, truth.total());
  const Samples s = exporter.Scrape();
  EXPECT_EQ(InsightsRequests(bird_.Requests()), poor);
  EXPECT_EQ(SumSamples(s, "bird_call_mos_count"), truth.answered_with_media);
  EXPECT_EQ(SumSamples(s, "bird_call_quality_ratio_count"), 6);  // insights, with media
  EXPECT_EQ(SumSamples(s, "bird_call_no_inbound_media_total"), truth.no_inbound_media);
  EXPECT_EQ(SumSamples(s, "bird_call_pdd_seconds_count"), truth.with_pdd);
  EXPECT_EQ(SumSamples(s, "bird_exporter_insights_mode", {"mode=\"poor\""}), 1);
}

TEST_F(ExporterE2ETest, ServesLandingHealthReadinessAndValidExposition) {
  Truth truth;
  AddStandardMix(truth);
  ExporterUnderTest& exporter = StartInProcess(WriteConfig(""));
  const HttpResult landing = HttpGet(exporter.Url("/"));
  EXPECT_EQ(landing.status, 200);
  EXPECT_NE(landing.body.find("href=\"/metrics\""), std::string::npos);
  EXPECT_EQ(HttpGet(exporter.Url("/nope")).status, 404);
  EXPECT_EQ(HttpGet(exporter.Url("/-/healthy")).status, 200);
  ExpectStableTotal(exporter, truth.total());
  EXPECT_EQ(HttpGet(exporter.Url("/-/ready")).status, 200);

  const HttpResult scrape = HttpGet(exporter.Url("/metrics"));
  const Samples s = ParseExposition(scrape.body);
  EXPECT_EQ(SumSamples(s, "bird_exporter_build_info"), 1);
  EXPECT_GT(SumSamples(s, "process_resident_memory_bytes"), 0);
  EXPECT_GT(SumSamples(s, "process_start_time_seconds"), 1.7e9);
  EXPECT_GT(SumSamples(s, "process_open_fds"), 0);
  EXPECT_EQ(scrape.body.find(kAccessKey), std::string::npos);

  const std::string path = dir_ / "scrape.prom";
  std::ofstream(path) << scrape.body;
  const CommandResult promtool =
      RunCommand(std::string(PROMTOOL_BINARY) + " check metrics < " + ShellQuote(path));
  EXPECT_EQ(promtool.exit_code, 0) << promtool.output;
  EXPECT_EQ(promtool.output, "") << "promtool check metrics reported problems";
}

TEST_F(ExporterE2ETest, ConfigCheckAndVersionExitCodes) {
  const std::string good = WriteConfig("");
  ExporterProcess check(EXPORTER_BINARY, {"--config.file=" + good, "--config.check"},
                        {{"BIRD_ACCESS_KEY", kAccessKey}}, dir_.path());
  EXPECT_EQ(check.Stop(0, seconds(10)), 0);
  EXPECT_NE(check.Log().find("<redacted>"), std::string::npos);
  EXPECT_EQ(check.Log().find(kAccessKey), std::string::npos);

  const std::string bad = dir_ / "bad.yml";
  std::ofstream(bad) << "bird:\n  access_key: x\n  request_timeout: soon\nworkspaces: []\n";
  ExporterProcess bad_check(EXPORTER_BINARY, {"--config.file=" + bad, "--config.check"}, {},
                            dir_.path());
  EXPECT_EQ(bad_check.Stop(0, seconds(10)), 1);
  EXPECT_NE(bad_check.Log().find("bird.request_timeout (line 3)"), std::string::npos)
      << bad_check.Log();

  ExporterProcess version(EXPORTER_BINARY, {"--version"}, {}, dir_.path());
  EXPECT_EQ(version.Stop(0, seconds(10)), 0);
  EXPECT_NE(version.Log().find("bird_call_exporter version "), std::string::npos);

  ExporterProcess unknown(EXPORTER_BINARY, {"--no.such-flag"}, {}, dir_.path());
  EXPECT_EQ(unknown.Stop(0, seconds(10)), 2);
}

TEST_F(ExporterE2ETest, JsonLogsAreOneObjectPerLine) {
  ExporterProcess& exporter = Start(WriteConfig(""), kAccessKey, {"--log.format=json"});
  ASSERT_TRUE(
      WaitFor([&] { return HttpGet(exporter.Url("/-/ready")).status == 200; }, seconds(20)));
  std::istringstream lines(exporter.Log());
  int parsed = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto doc = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << line;
    EXPECT_TRUE(doc.contains("ts") && doc.contains("level") && doc.contains("msg")) << line;
    ++parsed;
  }
  EXPECT_GE(parsed, 3);
}

}  // namespace
}  // namespace bird_exporter::testing
