// The Prometheus rules in deploy/prometheus/rules/: promtool accepts every rule file, the unit
// tests in deploy/prometheus/tests/ pass and cover every rule, the recording rules the dashboards
// rely on exist, and every alert carries a severity, a summary, a description and a runbook_url
// that points at a section of docs/runbook.md.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "support/process.h"

namespace bird_exporter {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::ReadFile;
using testing::RunCommand;
using testing::RunCommandStdout;
using testing::ShellQuote;

const fs::path kRepoRoot = fs::path(TESTDATA_DIR "/../..").lexically_normal();
const fs::path kRulesDir = kRepoRoot / "deploy" / "prometheus" / "rules";
const fs::path kRuleTestsDir = kRepoRoot / "deploy" / "prometheus" / "tests";
const fs::path kRecordingRules = kRulesDir / "bird_call_exporter.rules.yml";
const fs::path kAlerts = kRulesDir / "bird_call_exporter.alerts.yml";
const fs::path kRunbook = kRepoRoot / "docs" / "runbook.md";
constexpr std::string_view kRunbookUrl =
    "https://github.com/bird-call-exporter/bird_call_exporter/blob/main/docs/runbook.md#";

// The recording rules that dashboards query by name: each exists for the 5m and the 1h window.
const std::vector<std::string> kContractRecords = {
    "workspace_channel:bird_calls:rate",
    "workspace_channel_direction:bird_calls:rate",
    "workspace_channel:bird_calls_answered:rate",
    "workspace_channel:bird_call_asr:ratio_rate",
    "workspace_channel_direction:bird_call_asr:ratio_rate",
    "workspace_channel:bird_call_ner:ratio_rate",
    "workspace_channel_direction:bird_call_ner:ratio_rate",
    "workspace_channel:bird_call_network_failure:ratio_rate",
    "workspace_channel:bird_call_acd_seconds:mean",
    "workspace_channel:bird_call_pdd_seconds:p50_",
    "workspace_channel:bird_call_pdd_seconds:p95_",
    "workspace_channel:bird_call_mos:p05_",
    "workspace_channel:bird_call_mos:p50_",
    "workspace_channel:bird_call_mos_at_or_below_3_6:ratio_rate",
    "workspace_channel:bird_call_mos_at_or_below_3_1:ratio_rate",
    "workspace_channel:bird_call_no_inbound_media:ratio_rate",
};

std::string Promtool() { return ShellQuote(PROMTOOL_BINARY); }

std::vector<fs::path> YamlFilesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yml")
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The anchor GitHub gives a Markdown heading: lower case, spaces become '-', and every other
// character that is not a letter, a digit, '-' or '_' is dropped.
std::string GithubAnchor(std::string_view heading) {
  std::string anchor;
  for (unsigned char c : heading) {
    if (std::isalnum(c) || c == '-' || c == '_') {
      anchor += static_cast<char>(std::tolower(c));
    } else if (c == ' ') {
      anchor += '-';
    }
  }
  return anchor;
}

struct Heading {
  int level = 0;
  std::string text;
};

// The ATX headings of a Markdown file, outside fenced code blocks.
std::vector<Heading> MarkdownHeadings(const std::string& markdown) {
  std::vector<Heading> headings;
  std::istringstream lines(markdown);
  std::string line;
  bool in_fence = false;
  while (std::getline(lines, line)) {
    if (line.rfind("```", 0) == 0) {
      in_fence = !in_fence;
      continue;
    }
    if (in_fence || line.empty() || line[0] != '#') continue;
    const std::size_t level = line.find_first_not_of('#');
    if (level == std::string::npos || level > 6 || line[level] != ' ') continue;
    std::string text = line.substr(level + 1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '#')) text.pop_back();
    headings.push_back({static_cast<int>(level), text});
  }
  return headings;
}

// Every anchor of the file, with GitHub's "-1", "-2", ... suffixes for repeated headings.
std::set<std::string> MarkdownAnchors(const std::string& markdown) {
  std::set<std::string> anchors;
  std::map<std::string, int> seen;
  for (const Heading& heading : MarkdownHeadings(markdown)) {
    const std::string anchor = GithubAnchor(heading.text);
    const int count = seen[anchor]++;
    anchors.insert(count == 0 ? anchor : anchor + "-" + std::to_string(count));
  }
  return anchors;
}

std::vector<YAML::Node> RulesOf(const fs::path& rule_file, const char* kind) {
  std::vector<YAML::Node> rules;
  const YAML::Node root = YAML::LoadFile(rule_file.string());
  for (const auto& group : root["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (rule[kind]) rules.push_back(rule);
    }
  }
  return rules;
}

class RulesFilesTest : public ::testing::Test {
 protected:
  testing::TempDir tmp_{"bird_rules"};
  const fs::path dir_{tmp_.path()};
};

TEST_F(RulesFilesTest, RecordingRulesAndAlertsExist) {
  EXPECT_TRUE(fs::is_regular_file(kRecordingRules)) << kRecordingRules;
  EXPECT_TRUE(fs::is_regular_file(kAlerts)) << kAlerts;
  EXPECT_TRUE(fs::is_regular_file(kRunbook)) << kRunbook;
}

TEST_F(RulesFilesTest, PromtoolChecksEveryRuleFile) {
  const std::vector<fs::path> files = YamlFilesIn(kRulesDir);
  ASSERT_FALSE(files.empty()) << "no *.yml in " << kRulesDir;
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    const CommandResult result =
        RunCommand(Promtool() + " check rules " + ShellQuote(file.string()));
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("SUCCESS"), std::string::npos) << result.output;
  }
}

TEST_F(RulesFilesTest, PromtoolRejectsABrokenRuleFile) {
  // Guards the check above: a rule file with an invalid record name and an unbalanced
  // expression must fail `promtool check rules`.
  const fs::path broken = dir_ / "broken.yml";
  std::ofstream(broken) << "groups:\n"
                        << "  - name: broken\n"
                        << "    rules:\n"
                        << "      - record: not a metric name\n"
                        << "        expr: sum by (workspace) (rate(bird_calls_total[5m])\n";
  const CommandResult result =
      RunCommand(Promtool() + " check rules " + ShellQuote(broken.string()));
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output.find("SUCCESS"), std::string::npos) << result.output;
}

TEST_F(RulesFilesTest, PromtoolReportsAFailingUnitTest) {
  // Guards the unit test run below: a test that expects a wrong value must fail.
  const fs::path test = dir_ / "failing_test.yml";
  std::ofstream(test)
      << "rule_files:\n"
      << "  - " << kRecordingRules.string() << "\n"
      << "tests:\n"
      << "  - interval: 1m\n"
      << "    input_series:\n"
      << "      - series: 'bird_calls_total{workspace=\"production\", channel=\"support\", "
         "direction=\"outgoing\", call_type=\"pstn\", status=\"completed\"}'\n"
      << "        values: '0+6x60'\n"
      << "    promql_expr_test:\n"
      << "      - expr: workspace_channel:bird_calls:rate1h\n"
      << "        eval_time: 1h\n"
      << "        exp_samples:\n"
      << "          - labels: 'workspace_channel:bird_calls:rate1h{workspace=\"production\", "
         "channel=\"support\"}'\n"
      << "            value: 6\n";
  const CommandResult result = RunCommand(Promtool() + " test rules " + ShellQuote(test.string()));
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("FAILED"), std::string::npos) << result.output;
}

TEST_F(RulesFilesTest, RecordingRulesOfTheDashboardContractExist) {
  std::set<std::string> records;
  for (const YAML::Node& rule : RulesOf(kRecordingRules, "record")) {
    const std::string name = rule["record"].as<std::string>();
    EXPECT_TRUE(records.insert(name).second) << "recorded twice: " << name;
    // level:metric:operations
    EXPECT_EQ(std::count(name.begin(), name.end(), ':'), 2) << name;
  }
  for (const std::string& prefix : kContractRecords) {
    for (const char* window : {"5m", "1h"}) {
      const std::string name = prefix + window;
      EXPECT_TRUE(records.count(name)) << "missing recording rule " << name;
    }
  }
}

TEST_F(RulesFilesTest, EveryAlertHasSeverityAnnotationsAndARunbookSection) {
  const std::set<std::string> anchors = MarkdownAnchors(ReadFile(kRunbook));
  const std::vector<YAML::Node> alerts = RulesOf(kAlerts, "alert");
  ASSERT_FALSE(alerts.empty());
  std::set<std::string> names;
  for (const YAML::Node& alert : alerts) {
    const std::string name = alert["alert"].as<std::string>();
    SCOPED_TRACE(name);
    EXPECT_TRUE(names.insert(name).second) << "alert defined twice";
    EXPECT_TRUE(alert["for"]) << "no for:";

    const YAML::Node labels = alert["labels"];
    ASSERT_TRUE(labels && labels["severity"]) << "no severity label";
    const std::string severity = labels["severity"].as<std::string>();
    EXPECT_TRUE(severity == "warning" || severity == "critical") << severity;

    const YAML::Node annotations = alert["annotations"];
    ASSERT_TRUE(annotations);
    for (const char* key : {"summary", "description", "runbook_url"}) {
      EXPECT_TRUE(annotations[key] && !annotations[key].as<std::string>().empty())
          << "no " << key << " annotation";
    }
    if (!annotations["runbook_url"]) continue;
    const std::string url = annotations["runbook_url"].as<std::string>();
    ASSERT_EQ(url.rfind(kRunbookUrl, 0), 0u) << url;
    const std::string anchor = url.substr(kRunbookUrl.size());
    EXPECT_EQ(anchor, GithubAnchor(name)) << "the anchor should be the alert's own section";
    EXPECT_TRUE(anchors.count(anchor)) << "docs/runbook.md has no heading with anchor #" << anchor;
  }

  // And the other way round: every alert section of the runbook names an existing alert.
  for (const Heading& heading : MarkdownHeadings(ReadFile(kRunbook))) {
    if (heading.level == 2 && heading.text.rfind("Bird", 0) == 0) {
      EXPECT_TRUE(names.count(heading.text))
          << "runbook section for unknown alert " << heading.text;
    }
  }
}

TEST_F(RulesFilesTest, UnitTestsCoverEveryRule) {
  // What the unit tests check: alert name -> whether some case expects it firing, and whether
  // some case expects it silent; recorded series names used in promql_expr_test expressions.
  std::map<std::string, std::pair<bool, bool>> alert_cases;
  std::string expressions;
  std::set<fs::path> rule_files_used;
  const std::vector<fs::path> test_files = YamlFilesIn(kRuleTestsDir);
  ASSERT_FALSE(test_files.empty()) << "no *.yml in " << kRuleTestsDir;
  for (const fs::path& file : test_files) {
    const YAML::Node root = YAML::LoadFile(file.string());
    for (const auto& rule_file : root["rule_files"]) {
      rule_files_used.insert(fs::weakly_canonical(kRuleTestsDir / rule_file.as<std::string>()));
    }
    for (const auto& test : root["tests"]) {
      for (const auto& alert_test : test["alert_rule_test"]) {
        auto& [fires, silent] = alert_cases[alert_test["alertname"].as<std::string>()];
        const YAML::Node expected = alert_test["exp_alerts"];
        if (expected && expected.size() > 0) {
          fires = true;
        } else {
          silent = true;
        }
      }
      for (const auto& expr_test : test["promql_expr_test"]) {
        expressions += expr_test["expr"].as<std::string>() + "\n";
      }
    }
  }
  for (const fs::path& rule_file : YamlFilesIn(kRulesDir)) {
    EXPECT_TRUE(rule_files_used.count(fs::weakly_canonical(rule_file)))
        << "no unit test loads " << rule_file;
  }
  for (const YAML::Node& alert : RulesOf(kAlerts, "alert")) {
    const std::string name = alert["alert"].as<std::string>();
    EXPECT_TRUE(alert_cases[name].first) << "no unit test where " << name << " fires";
    EXPECT_TRUE(alert_cases[name].second) << "no unit test where " << name << " stays silent";
  }
  for (const YAML::Node& rule : RulesOf(kRecordingRules, "record")) {
    const std::string name = rule["record"].as<std::string>();
    // The name followed by a character that cannot continue it.
    bool found = false;
    for (std::size_t at = expressions.find(name); at != std::string::npos;
         at = expressions.find(name, at + 1)) {
      const char next = expressions[at + name.size()];
      if (!std::isalnum(static_cast<unsigned char>(next)) && next != '_' && next != ':') {
        found = true;
        break;
      }
    }
    EXPECT_TRUE(found) << "no promql_expr_test checks " << name;
  }
}

// One ctest test per unit test file, so that they run in parallel.
std::vector<std::string> UnitTestFiles() {
  std::vector<std::string> names;
  for (const fs::path& file : YamlFilesIn(kRuleTestsDir)) names.push_back(file.filename().string());
  return names;
}

class RulesUnitTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RulesUnitTest, PromtoolTestRulesPasses) {
  const std::string command = "cd " + ShellQuote(kRuleTestsDir.string()) + " && " + Promtool() +
                              " test rules " + ShellQuote(GetParam());
  const CommandResult result = RunCommand(command);
  EXPECT_EQ(result.exit_code, 0) << command << "\n" << result.output;
  EXPECT_NE(result.output.find("SUCCESS"), std::string::npos) << result.output;
}

INSTANTIATE_TEST_SUITE_P(Rules, RulesUnitTest, ::testing::ValuesIn(UnitTestFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = fs::path(info.param).stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RulesUnitTest);

// The monitoring mixin of deploy/mixin/: its JSON copies of the rule files are up to date, its
// output is what promtool accepts and holds every rule, and its job selector reaches both
// matchers of BirdExporterDown.
const fs::path kMixinDir = kRepoRoot / "deploy" / "mixin";

CommandResult Jsonnet(const std::string& snippet) {
  return RunCommand("jsonnet -S -J " + ShellQuote(kMixinDir.string()) + " -e " +
                    ShellQuote(snippet));
}

std::size_t RuleCount(const YAML::Node& root) {
  std::size_t count = 0;
  for (const auto& group : root["groups"]) count += group["rules"].size();
  return count;
}

TEST_F(RulesFilesTest, TheMixinsJsonCopiesAreUpToDate) {
  const CommandResult check =
      RunCommand(ShellQuote((kMixinDir / "generate.sh").string()) + " --check");
  EXPECT_EQ(check.exit_code, 0) << check.output;
}

TEST_F(RulesFilesTest, TheMixinGivesTheRuleFilesAndTheDashboards) {
  const std::string dir = ::testing::TempDir();
  for (const std::string kind : {"alerts", "rules"}) {
    SCOPED_TRACE(kind);
    const CommandResult out =
        RunCommand("jsonnet -S " + ShellQuote((kMixinDir / (kind + ".jsonnet")).string()));
    ASSERT_EQ(out.exit_code, 0) << out.output;
    const std::string file = dir + "/mixin_" + kind + ".yml";
    std::ofstream(file) << out.output;
    const CommandResult check = RunCommand(Promtool() + " check rules " + ShellQuote(file));
    EXPECT_EQ(check.exit_code, 0) << check.output;
    const fs::path source = kind == "alerts" ? kAlerts : kRecordingRules;
    EXPECT_EQ(RuleCount(YAML::Load(out.output)), RuleCount(YAML::LoadFile(source.string())));
  }
  const CommandResult dashboards =
      RunCommand("jsonnet -m " + ShellQuote(dir) + " " +
                 ShellQuote((kMixinDir / "dashboards.jsonnet").string()));
  ASSERT_EQ(dashboards.exit_code, 0) << dashboards.output;
  for (const char* name : {"bird_call_exporter_overview.json", "bird_call_exporter_quality.json",
                           "bird_call_exporter_health.json"}) {
    EXPECT_NE(dashboards.output.find(name), std::string::npos) << dashboards.output;
  }
}

TEST_F(RulesFilesTest, TheMixinsSelectorReachesBothMatchersOfBirdExporterDown) {
  const auto expr_of = [](const std::string& yaml) {
    for (const auto& group : YAML::Load(yaml)["groups"]) {
      for (const auto& rule : group["rules"]) {
        if (rule["alert"] && rule["alert"].as<std::string>() == "BirdExporterDown") {
          return rule["expr"].as<std::string>();
        }
      }
    }
    return std::string();
  };
  const CommandResult defaults =
      Jsonnet("std.manifestYamlDoc((import 'mixin.libsonnet').prometheusAlerts)");
  ASSERT_EQ(defaults.exit_code, 0) << defaults.output;
  EXPECT_EQ(expr_of(defaults.output),
            "up{job=~\"bird[-_]call[-_]exporter.*\"} == 0\nor\n"
            "absent(up{job=~\"bird[-_]call[-_]exporter.*\"})\n");
  const CommandResult custom = Jsonnet(
      "std.manifestYamlDoc(((import 'mixin.libsonnet') + "
      "{_config+:: {birdExporterSelector: 'job=\"bird-exporter\", "
      "env=\"prod\"'}}).prometheusAlerts)");
  ASSERT_EQ(custom.exit_code, 0) << custom.output;
  EXPECT_EQ(expr_of(custom.output),
            "up{job=\"bird-exporter\", env=\"prod\"} == 0\nor\n"
            "absent(up{job=\"bird-exporter\", env=\"prod\"})\n");
}

}  // namespace
}  // namespace bird_exporter
