// The deployment files outside the container image:
// - deploy/systemd/bird_call_exporter.service passes `systemd-analyze verify`, and
//   `systemd-analyze security --offline=true` rates its exposure at most 2.0;
// - the unit, deploy/debian/bird_call_exporter.yml and the Dockerfile agree on the paths, and the
//   packaged configuration passes --config.check with the key in $CREDENTIALS_DIRECTORY;
// - the Debian package built by scripts/package.sh (DeploymentPackageTest) holds the binary, the
//   unit, the conffile, the dashboards, the rules and the documentation, depends on the shared
//   libraries the binary links, and its extracted binary and configuration work.
//
// The package is also checked by lintian (errors and warnings fail, overrides carry their reason)
// and installed, removed and purged with apt in a fresh Debian root.
//
// DeploymentPackageTest compiles the exporter again (Release, tests off) into
// <build dir>/deployment-package; later runs only rebuild what changed. tests/CMakeLists.txt
// runs those tests alone and with a longer timeout.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
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
using testing::TempDir;

const fs::path kRepoRoot = fs::path(TESTDATA_DIR "/../..").lexically_normal();
const fs::path kUnit = kRepoRoot / "deploy/systemd/bird_call_exporter.service";
const fs::path kPackagedConfig = kRepoRoot / "deploy/debian/bird_call_exporter.yml";
const fs::path kExampleConfig = kRepoRoot / "config/bird_call_exporter.yml";
const fs::path kDockerfile = kRepoRoot / "deploy/docker/Dockerfile";

constexpr const char* kInstalledBinary = "/usr/bin/bird_call_exporter";
constexpr const char* kInstalledConfig = "/etc/bird_call_exporter/bird_call_exporter.yml";
constexpr double kMaxExposure = 2.0;

void ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// Values of `key=` lines of a unit file, in order.
std::vector<std::string> UnitValues(const std::string& unit, const std::string& key) {
  std::vector<std::string> values;
  std::istringstream in(unit);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + "=", 0) == 0) values.push_back(line.substr(key.size() + 1));
  }
  return values;
}

// A directory like the one systemd names in $CREDENTIALS_DIRECTORY, holding a made-up key;
// null when the key cannot be written. Removed when the test is done with it.
std::unique_ptr<TempDir> MakeCredentialsDir() {
  auto dir = std::make_unique<TempDir>("bird_credentials");
  std::ofstream key(*dir / "bird_access_key");
  key << "  deployment-test-key\n";
  if (!key) return nullptr;
  return dir;
}

std::string ConfigCheckCommand(const fs::path& binary, const fs::path& config,
                               const std::string& credentials_dir) {
  return "env " +
         (credentials_dir.empty() ? std::string("-u CREDENTIALS_DIRECTORY")
                                  : "CREDENTIALS_DIRECTORY=" + ShellQuote(credentials_dir)) +
         " " + ShellQuote(binary.string()) + " --config.file=" + ShellQuote(config.string()) +
         " --config.check";
}

class DeploymentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::is_directory(dir_.path()));
    unit_ = ReadFile(kUnit);
    ASSERT_FALSE(unit_.empty()) << "cannot read " << kUnit;
  }

  // A copy of the unit (same file name) whose ExecStart= and ExecStartPre= run the binary of
  // this build, so that `systemd-analyze verify` finds it on a machine without the package.
  std::string UnitCopy() const {
    std::string unit = unit_;
    ReplaceAll(unit, kInstalledBinary, EXPORTER_BINARY);
    const std::string path = dir_ / "bird_call_exporter.service";
    std::ofstream(path) << unit;
    return path;
  }

  TempDir dir_{"bird_deployment"};
  std::string unit_;
};

TEST_F(DeploymentTest, SystemdAnalyzeVerifyAcceptsTheUnit) {
  const std::string copy = UnitCopy();
  const CommandResult result = RunCommand(
      "LC_ALL=C SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no " + ShellQuote(copy));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  // Unknown keys and unparsable values are only warnings, printed as "<unit path>:<line>: ...".
  EXPECT_EQ(result.output.find(copy), std::string::npos) << result.output;
}

TEST_F(DeploymentTest, SystemdAnalyzeSecurityRatesTheExposureAtMostTwo) {
  const CommandResult result =
      RunCommand("LC_ALL=C SYSTEMD_COLORS=0 systemd-analyze security --no-pager --offline=true " +
                 ShellQuote(UnitCopy()));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string marker = "Overall exposure level for bird_call_exporter.service:";
  const auto at = result.output.find(marker);
  ASSERT_NE(at, std::string::npos) << result.output;
  const double exposure = std::strtod(result.output.c_str() + at + marker.size(), nullptr);
  EXPECT_GT(exposure, 0.0) << result.output;
  EXPECT_LE(exposure, kMaxExposure) << result.output;
}

TEST_F(DeploymentTest, UnitRunsTheInstalledBinaryWithTheInstalledConfiguration) {
  const std::string run = std::string(kInstalledBinary) + " --config.file=" + kInstalledConfig;
  EXPECT_EQ(UnitValues(unit_, "ExecStart"), std::vector<std::string>{run});
  EXPECT_EQ(UnitValues(unit_, "ExecStartPre"), std::vector<std::string>{run + " --config.check"});
  // The system user the package's postinst creates.
  EXPECT_EQ(UnitValues(unit_, "User"), std::vector<std::string>{"bird_exporter"});
  EXPECT_EQ(UnitValues(unit_, "Group"), std::vector<std::string>{"bird_exporter"});
  EXPECT_TRUE(UnitValues(unit_, "DynamicUser").empty());
  EXPECT_EQ(UnitValues(unit_, "Restart"), std::vector<std::string>{"on-failure"});
  // ProcSubset=pid would hide /proc/stat and with it process_start_time_seconds.
  EXPECT_TRUE(UnitValues(unit_, "ProcSubset").empty());
}

TEST_F(DeploymentTest, PackagedConfigurationReadsTheKeyCredentialAndKeepsStateInTheStateDirectory) {
  const std::string config = ReadFile(kPackagedConfig);
  ASSERT_FALSE(config.empty()) << "cannot read " << kPackagedConfig;

  const auto credentials = UnitValues(unit_, "LoadCredential");
  ASSERT_EQ(credentials,
            std::vector<std::string>{"bird_access_key:/etc/bird_call_exporter/access_key"});
  EXPECT_NE(config.find("\n  access_key_file: ${CREDENTIALS_DIRECTORY}/bird_access_key\n"),
            std::string::npos);
  EXPECT_EQ(config.find("\n  access_key:"), std::string::npos) << "the key must not be set inline";

  ASSERT_EQ(UnitValues(unit_, "StateDirectory"), std::vector<std::string>{"bird_call_exporter"});
  EXPECT_NE(config.find("\nstate_file: /var/lib/bird_call_exporter/state.json\n"),
            std::string::npos);
}

TEST_F(DeploymentTest, DockerImageUsesTheSameConfigurationAndStatePaths) {
  const std::string dockerfile = ReadFile(kDockerfile);
  ASSERT_FALSE(dockerfile.empty()) << "cannot read " << kDockerfile;
  EXPECT_NE(dockerfile.find(std::string("--config.file=") + kInstalledConfig), std::string::npos);
  EXPECT_NE(dockerfile.find(kInstalledBinary), std::string::npos);
  EXPECT_NE(dockerfile.find("VOLUME /var/lib/bird_call_exporter"), std::string::npos);
}

TEST_F(DeploymentTest, PackagedConfigurationPassesConfigCheckWithTheCredentialsDirectory) {
  const auto credentials_dir = MakeCredentialsDir();
  ASSERT_NE(credentials_dir, nullptr);
  const std::string& credentials = credentials_dir->path();
  const CommandResult result =
      RunCommand(ConfigCheckCommand(EXPORTER_BINARY, kPackagedConfig, credentials));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("access_key_file=" + credentials + "/bird_access_key"),
            std::string::npos)
      << result.output;
  EXPECT_EQ(result.output.find("deployment-test-key"), std::string::npos) << result.output;
}

TEST_F(DeploymentTest, PackagedConfigurationFailsWithoutTheCredentialsDirectory) {
  const CommandResult result = RunCommand(ConfigCheckCommand(EXPORTER_BINARY, kPackagedConfig, ""));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("CREDENTIALS_DIRECTORY is not set"), std::string::npos)
      << result.output;
}

// The bash completion completes flags up to their "=" and the values of --log.level.
TEST_F(DeploymentTest, BashCompletionCompletesFlagsAndValues) {
  const fs::path completion = kRepoRoot / "deploy/debian/bird_call_exporter.bash-completion";
  const std::string bin_dir = fs::path(EXPORTER_BINARY).parent_path().string();
  const std::string script =
      "source /usr/share/bash-completion/bash_completion; source " +
      ShellQuote(completion.string()) + "; PATH=" + ShellQuote(bin_dir) +
      ":$PATH; complete_line() { COMP_LINE=\"$*\"; "
      "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMP_POINT=${#COMP_LINE}; "
      "COMPREPLY=(); _bird_call_exporter; printf '[%s]' \"${COMPREPLY[@]}\"; echo; }; "
      "complete_line bird_call_exporter --config.f; "
      "complete_line bird_call_exporter --log.level=w; "
      "complete_line bird_call_exporter --web.max-";
  const CommandResult result = RunCommand("bash -c " + ShellQuote(script));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output,
            "[--config.file=]\n[warn]\n[--web.max-connections=][--web.max-requests=]\n");
}

// CHANGELOG.md's latest release is the version the binary reports, and the licence is there.
TEST_F(DeploymentTest, ChangelogHeadsWithTheVersionOfTheBinary) {
  const CommandResult binary = RunCommand(ShellQuote(EXPORTER_BINARY) + " --version");
  ASSERT_EQ(binary.exit_code, 0) << binary.output;
  const std::string prefix = "bird_call_exporter version ";
  ASSERT_EQ(binary.output.rfind(prefix, 0), 0u) << binary.output;
  const std::string version =
      binary.output.substr(prefix.size(), binary.output.find(' ', prefix.size()) - prefix.size());
  std::istringstream changelog(ReadFile(kRepoRoot / "CHANGELOG.md"));
  std::string latest;
  for (std::string line; std::getline(changelog, line);) {
    if (line.rfind("## [", 0) == 0 && line.rfind("## [Unreleased]", 0) != 0) {
      latest = line;
      break;
    }
  }
  EXPECT_EQ(latest.rfind("## [" + version + "] - ", 0), 0u) << latest;
  EXPECT_NE(ReadFile(kRepoRoot / "LICENSE").find("Apache License"), std::string::npos);
}

// Apart from where the key comes from, the packaged configuration is the example one: same
// settings, same placeholder workspaces.
TEST_F(DeploymentTest, PackagedConfigurationMatchesTheExampleConfiguration) {
  const auto credentials_dir = MakeCredentialsDir();
  ASSERT_NE(credentials_dir, nullptr);
  const std::string& credentials = credentials_dir->path();
  const CommandResult packaged =
      RunCommand(ConfigCheckCommand(EXPORTER_BINARY, kPackagedConfig, credentials));
  const CommandResult example =
      RunCommand("env BIRD_ACCESS_KEY=deployment-test-key " +
                 ConfigCheckCommand(EXPORTER_BINARY, kExampleConfig, credentials));
  ASSERT_EQ(packaged.exit_code, 0) << packaged.output;
  ASSERT_EQ(example.exit_code, 0) << example.output;
  // Drop the first line (it names the file) and the access_key_file= setting.
  auto settings = [](std::string summary) {
    summary.erase(0, summary.find('\n') + 1);
    const auto at = summary.find(" access_key_file=");
    if (at != std::string::npos) summary.erase(at, summary.find(' ', at + 1) - at);
    return summary;
  };
  EXPECT_EQ(settings(packaged.output), settings(example.output));
}

// --- the Debian package --------------------------------------------------------------------------

class DeploymentPackageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const fs::path build_dir = fs::path(EXPORTER_BINARY).parent_path() / "deployment-package";
    const CommandResult result =
        RunCommand(ShellQuote((kRepoRoot / "scripts/package.sh").string()) + " " +
                   ShellQuote(build_dir.string()));
    build_output_ = new std::string(result.output);
    if (result.exit_code != 0) return;
    // The last line is the path of the .deb.
    std::string output = result.output;
    while (!output.empty() && output.back() == '\n') output.pop_back();
    const std::string deb = output.substr(output.rfind('\n') + 1);
    if (deb.size() < 4 || deb.compare(deb.size() - 4, 4, ".deb") != 0 || !fs::exists(deb)) return;
    auto extracted_dir = std::make_unique<TempDir>("bird_deb");
    const std::string extracted = extracted_dir->path();
    const CommandResult extract =
        RunCommand("dpkg-deb -x " + ShellQuote(deb) + " " + ShellQuote(extracted));
    if (extract.exit_code != 0) {
      *build_output_ += extract.output;
      return;
    }
    deb_ = new std::string(deb);
    extracted_ = new std::string(extracted);
    extracted_dir_ = extracted_dir.release();
  }

  static void TearDownTestSuite() {
    delete extracted_dir_;  // removes it
    extracted_dir_ = nullptr;
    delete extracted_;
    delete deb_;
    delete build_output_;
    extracted_ = deb_ = build_output_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(deb_, nullptr) << "scripts/package.sh failed; the end of its output:\n"
                             << Tail(*build_output_, 40);
  }

  static std::string Tail(const std::string& text, int lines) {
    auto at = text.size();
    while (lines-- > 0 && at != std::string::npos && at > 0) at = text.rfind('\n', at - 1);
    return at == std::string::npos ? text : text.substr(at + 1);
  }

  static CommandResult DpkgDeb(const std::string& arguments) {
    return RunCommand("dpkg-deb " + arguments + " " + ShellQuote(*deb_));
  }

  static std::string* build_output_;
  static std::string* deb_;
  static std::string* extracted_;
  static TempDir* extracted_dir_;
};

std::string* DeploymentPackageTest::build_output_ = nullptr;
std::string* DeploymentPackageTest::deb_ = nullptr;
std::string* DeploymentPackageTest::extracted_ = nullptr;
TempDir* DeploymentPackageTest::extracted_dir_ = nullptr;

std::vector<std::string> FileNames(const fs::path& dir, const std::string& extension) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == extension) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST_F(DeploymentPackageTest, HoldsTheBinaryUnitConfigurationDashboardsRulesAndDocs) {
  const CommandResult contents = DpkgDeb("--contents");
  ASSERT_EQ(contents.exit_code, 0) << contents.output;
  std::vector<std::string> expected = {
      "./usr/bin/bird_call_exporter",
      "./lib/systemd/system/bird_call_exporter.service",
      "./etc/bird_call_exporter/bird_call_exporter.yml",
      "./usr/share/bird_call_exporter/grafana/provisioning/dashboards/bird_call_exporter.yml",
      "./usr/share/bird_call_exporter/grafana/provisioning/datasources/prometheus.yml",
      "./usr/share/doc/bird-call-exporter/README.md",
      "./usr/share/doc/bird-call-exporter/systemd.md",
  };
  const auto dashboards = FileNames(kRepoRoot / "grafana/dashboards", ".json");
  ASSERT_FALSE(dashboards.empty());
  for (const auto& name : dashboards) {
    expected.push_back("./usr/share/bird_call_exporter/grafana/dashboards/" + name);
  }
  const auto rules = FileNames(kRepoRoot / "deploy/prometheus/rules", ".yml");
  ASSERT_FALSE(rules.empty());
  for (const auto& name : rules) {
    expected.push_back("./usr/share/bird_call_exporter/prometheus/rules/" + name);
  }
  for (const auto& name : FileNames(kRepoRoot / "docs", ".md")) {
    expected.push_back("./usr/share/doc/bird-call-exporter/" + name);
  }
  for (const auto& path : expected) {
    // dpkg-deb --contents prints `tar tv` lines: the path ends the line.
    EXPECT_NE(contents.output.find(" " + path + "\n"), std::string::npos)
        << path << " missing from the package:\n"
        << contents.output;
  }
  EXPECT_EQ(contents.output.find("bird_api_simulator"), std::string::npos) << contents.output;
}

TEST_F(DeploymentPackageTest, ControlFieldsNameThePackageAndItsLibraryDependencies) {
  const CommandResult package = DpkgDeb("-f");
  ASSERT_EQ(package.exit_code, 0) << package.output;
  EXPECT_NE(package.output.find("Package: bird-call-exporter\n"), std::string::npos)
      << package.output;
  EXPECT_NE(package.output.find("Section: net\n"), std::string::npos) << package.output;

  const CommandResult depends = RunCommand("dpkg-deb -f " + ShellQuote(*deb_) + " Depends");
  ASSERT_EQ(depends.exit_code, 0) << depends.output;
  for (const char* library :
       {"libcurl4", "libprometheus-cpp-core", "libsqlite3-0", "zlib1g", "libyaml-cpp0.7",
        "libspdlog1.10", "libphonenumber8", "libstdc++6", "libc6"}) {
    EXPECT_NE(depends.output.find(library), std::string::npos)
        << library << " missing from Depends: " << depends.output;
  }
  // The HTTP server is Boost.Beast (header-only): neither civetweb nor prometheus-cpp's pull
  // library is linked any more.
  for (const char* library : {"libcivetweb", "libprometheus-cpp-pull"}) {
    EXPECT_EQ(depends.output.find(library), std::string::npos)
        << library << " still in Depends: " << depends.output;
  }
}

TEST_F(DeploymentPackageTest, VersionIsTheVersionOfTheBinary) {
  const CommandResult version = RunCommand("dpkg-deb -f " + ShellQuote(*deb_) + " Version");
  ASSERT_EQ(version.exit_code, 0) << version.output;
  const CommandResult binary =
      RunCommand(ShellQuote(*extracted_ + "/usr/bin/bird_call_exporter") + " --version");
  ASSERT_EQ(binary.exit_code, 0) << binary.output;
  const std::string prefix = "bird_call_exporter version ";
  ASSERT_EQ(binary.output.rfind(prefix, 0), 0u) << binary.output;
  const std::string binary_version =
      binary.output.substr(prefix.size(), binary.output.find(' ', prefix.size()) - prefix.size());
  EXPECT_EQ(version.output.rfind(binary_version + "-", 0), 0u)
      << "package " << version.output << "binary " << binary.output;
}

TEST_F(DeploymentPackageTest, ConfigurationIsAConffile) {
  const CommandResult listed = RunCommand("dpkg-deb --info " + ShellQuote(*deb_) + " conffiles");
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_NE(listed.output.find(std::string(kInstalledConfig) + "\n"), std::string::npos)
      << listed.output;
}

TEST_F(DeploymentPackageTest, MaintainerScriptsUseTheDebianSystemdHelpers) {
  for (const char* script : {"postinst", "prerm", "postrm"}) {
    const CommandResult text =
        RunCommand("dpkg-deb --info " + ShellQuote(*deb_) + " " + std::string(script));
    ASSERT_EQ(text.exit_code, 0) << script << ": " << text.output;
    EXPECT_NE(text.output.find("deb-systemd-"), std::string::npos) << script << text.output;
    // systemctl only for daemon-reload, and only where systemd runs.
    std::istringstream lines(text.output);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("systemctl") == std::string::npos || line.find('#') == 0) continue;
      EXPECT_NE(line.find("daemon-reload"), std::string::npos) << script << ": " << line;
    }
    if (std::string(script) != "prerm") {
      EXPECT_NE(text.output.find("[ -d /run/systemd/system ]"), std::string::npos) << text.output;
    }
  }
  const CommandResult postinst = RunCommand("dpkg-deb --info " + ShellQuote(*deb_) + " postinst");
  EXPECT_NE(postinst.output.find("adduser --system"), std::string::npos) << postinst.output;
  // A first installation does not enable or start the service (it needs a key first).
  EXPECT_EQ(postinst.output.find("deb-systemd-invoke start"), std::string::npos);
  const CommandResult postrm = RunCommand("dpkg-deb --info " + ShellQuote(*deb_) + " postrm");
  // The state goes on purge only.
  const auto purge = postrm.output.find("\"purge\" ]; then");
  const auto state = postrm.output.find("rm -rf /var/lib/bird_call_exporter");
  ASSERT_NE(purge, std::string::npos) << postrm.output;
  ASSERT_NE(state, std::string::npos) << postrm.output;
  EXPECT_LT(purge, state);
}

TEST_F(DeploymentPackageTest, LintianReportsNoErrorOrWarning) {
  // Every tag that is overridden is in the package's overrides file with its reason.
  const CommandResult result = RunCommand("lintian --fail-on error,warning " + ShellQuote(*deb_));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  std::istringstream lines(result.output);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_FALSE(line.rfind("E: ", 0) == 0 || line.rfind("W: ", 0) == 0) << line;
  }
}

TEST_F(DeploymentPackageTest, HoldsTheManualPageCompletionCopyrightAndChangelogs) {
  for (const char* path : {"/usr/share/man/man1/bird_call_exporter.1.gz",
                           "/usr/share/bash-completion/completions/bird_call_exporter",
                           "/usr/share/doc/bird-call-exporter/copyright",
                           "/usr/share/doc/bird-call-exporter/changelog.gz",
                           "/usr/share/doc/bird-call-exporter/changelog.Debian.gz"}) {
    EXPECT_TRUE(fs::exists(*extracted_ + path)) << path;
  }
  const CommandResult man =
      RunCommand("zcat " + ShellQuote(*extracted_ + "/usr/share/man/man1/bird_call_exporter.1.gz"));
  EXPECT_NE(man.output.find(".SH SIGNALS"), std::string::npos) << man.output;
  // Every flag of --help is in the manual page.
  const CommandResult help =
      RunCommand(ShellQuote(*extracted_ + "/usr/bin/bird_call_exporter") + " --help");
  std::istringstream lines(help.output);
  int flags = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  --", 0) != 0) continue;
    const std::string flag = line.substr(4, line.find_first_of("= ", 4) - 4);
    ++flags;
    // help2man writes "--web.listen-address" as "\fB\-\-web\fR.listen\-address".
    std::string escaped;
    for (const char c : flag) escaped += c == '-' ? std::string("\\-") : std::string(1, c);
    const auto dot = escaped.find('.');
    if (dot != std::string::npos) escaped.insert(dot, "\\fR");
    EXPECT_NE(man.output.find("\\-\\-" + escaped), std::string::npos) << flag << " as " << escaped;
  }
  EXPECT_GT(flags, 15);
  const CommandResult changelog = RunCommand(
      "zcat " + ShellQuote(*extracted_ + "/usr/share/doc/bird-call-exporter/changelog.Debian.gz"));
  const CommandResult version = RunCommand("dpkg-deb -f " + ShellQuote(*deb_) + " Version");
  std::string deb_version = version.output;
  while (!deb_version.empty() && deb_version.back() == '\n') deb_version.pop_back();
  EXPECT_EQ(changelog.output.rfind("bird-call-exporter (" + deb_version + ") ", 0), 0u)
      << changelog.output;
  EXPECT_EQ(changelog.output.find("@localhost"), std::string::npos) << changelog.output;
}

// apt-get install, remove and purge in a fresh Debian 12 root made by debootstrap
// (scripts/package-install-test.sh says what each step checks).
TEST_F(DeploymentPackageTest, InstallsRemovesAndPurgesInAFreshDebianRoot) {
  const CommandResult result =
      RunCommand(ShellQuote((kRepoRoot / "scripts/package-install-test.sh").string()) + " " +
                 ShellQuote(*deb_));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("install-test: passed"), std::string::npos) << result.output;
}

TEST_F(DeploymentPackageTest, ExtractedFilesAreTheRepositoryFiles) {
  EXPECT_EQ(ReadFile(*extracted_ + "/lib/systemd/system/bird_call_exporter.service"),
            ReadFile(kUnit));
  EXPECT_EQ(ReadFile(*extracted_ + kInstalledConfig), ReadFile(kPackagedConfig));
}

TEST_F(DeploymentPackageTest, ExtractedBinaryPrintsItsVersion) {
  const CommandResult result =
      RunCommand(ShellQuote(*extracted_ + "/usr/bin/bird_call_exporter") + " --version");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output.rfind("bird_call_exporter version ", 0), 0u) << result.output;
}

TEST_F(DeploymentPackageTest, ExtractedConfigurationPassesConfigCheck) {
  const auto credentials_dir = MakeCredentialsDir();
  ASSERT_NE(credentials_dir, nullptr);
  const std::string& credentials = credentials_dir->path();
  const CommandResult result = RunCommand(ConfigCheckCommand(
      *extracted_ + "/usr/bin/bird_call_exporter", *extracted_ + kInstalledConfig, credentials));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("configuration OK"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace bird_exporter
