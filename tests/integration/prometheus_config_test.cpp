// promtool accepts the Prometheus configuration of the demo stack (deploy/prometheus/), and
// every rule file in deploy/prometheus/rules/ with it.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/process.h"

namespace bird_exporter {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::ReadFile;
using testing::RunCommand;
using testing::RunCommandStdout;
using testing::ShellQuote;
using testing::TempDir;

const fs::path kPrometheusDir =
    fs::path(TESTDATA_DIR "/../../deploy/prometheus").lexically_normal();
constexpr const char* kContainerRules = "/etc/prometheus/rules/*.yml";

class PrometheusConfigTest : public ::testing::Test {
 protected:
  // A copy of deploy/prometheus/prometheus.yml whose rule_files load `rules_dir`/*.yml instead
  // of the directory the compose stack mounts, so promtool checks the rule files there too.
  std::string CopyWithRulesFrom(const fs::path& rules_dir) {
    std::ifstream in(kPrometheusDir / "prometheus.yml");
    EXPECT_TRUE(in.good());
    std::ostringstream text;
    text << in.rdbuf();
    std::string config = text.str();
    const auto at = config.find(kContainerRules);
    EXPECT_NE(at, std::string::npos) << "rule_files no longer loads " << kContainerRules;
    if (at != std::string::npos) {
      config.replace(at, std::string(kContainerRules).size(), (rules_dir / "*.yml").string());
    }
    const std::string path = dir_ / "prometheus.yml";
    std::ofstream(path) << config;
    return path;
  }

  TempDir dir_{"bird_promconfig"};
};

TEST_F(PrometheusConfigTest, PromtoolAcceptsTheDemoStackConfiguration) {
  const CommandResult result = RunCommand(std::string(PROMTOOL_BINARY) + " check config " +
                                          (kPrometheusDir / "prometheus.yml").string());
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST_F(PrometheusConfigTest, PromtoolAcceptsTheConfigurationWithTheRepositoryRuleFiles) {
  ASSERT_TRUE(fs::is_directory(kPrometheusDir / "rules"));
  const CommandResult result = RunCommand(std::string(PROMTOOL_BINARY) + " check config " +
                                          CopyWithRulesFrom(kPrometheusDir / "rules"));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("SUCCESS"), std::string::npos) << result.output;
}

TEST_F(PrometheusConfigTest, PromtoolRejectsABrokenRuleFileInTheRulesDirectory) {
  // Guards the check above: a bad rule in the loaded directory must fail it. Uses a scratch
  // directory, so the repository is not touched.
  const fs::path rules = fs::path(dir_.path()) / "rules";
  fs::create_directory(rules);
  std::ofstream(rules / "broken.yml")
      << "groups:\n  - name: broken\n    rules:\n      - record: not a metric name\n"
      << "        expr: up\n";
  const CommandResult result =
      RunCommand(std::string(PROMTOOL_BINARY) + " check config " + CopyWithRulesFrom(rules));
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("broken.yml"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace bird_exporter
