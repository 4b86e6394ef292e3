// The demo stack in deploy/ cannot be run where the tests run (no Docker engine, no image
// registry), so its files are checked statically: they parse, every file they refer to exists,
// and the names that tie them together (services, ports, paths, the binary) agree.
#include <fnmatch.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/yaml.h"

namespace bird_exporter {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::ReadFile;
using testing::RunCommand;
using testing::RunCommandStdout;
using testing::ShellQuote;
using testing::Strings;

const fs::path kRepoRoot = fs::path(TESTDATA_DIR "/../..").lexically_normal();
const fs::path kDeployDir = kRepoRoot / "deploy";
const fs::path kComposeFile = kDeployDir / "docker-compose.yml";
const fs::path kDockerfile = kDeployDir / "docker" / "Dockerfile";

bool Contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// A bind mount of a compose service: host path (as written) and path in the container.
struct Mount {
  std::string source;
  std::string target;
};

// Bind mounts in short ("SOURCE:TARGET[:MODE]") or long (type: bind) syntax; named volumes are
// not host paths and are left out.
std::vector<Mount> BindMounts(const YAML::Node& service) {
  std::vector<Mount> mounts;
  for (const auto& volume : service["volumes"]) {
    if (volume.IsMap()) {
      if (volume["type"].as<std::string>("") == "bind") {
        mounts.push_back({volume["source"].as<std::string>(), volume["target"].as<std::string>()});
      }
      continue;
    }
    const std::string spec = volume.as<std::string>();
    const auto colon = spec.find(':');
    if (colon == std::string::npos) continue;  // anonymous volume
    const std::string source = spec.substr(0, colon);
    if (source.empty() || (source[0] != '.' && source[0] != '/' && source[0] != '~')) continue;
    const std::string rest = spec.substr(colon + 1);
    mounts.push_back({source, rest.substr(0, rest.find(':'))});
  }
  return mounts;
}

// The container path that `source` (as written in the compose file) is mounted at, or "".
std::string MountTarget(const YAML::Node& service, const std::string& source) {
  for (const Mount& mount : BindMounts(service)) {
    if (mount.source == source) return mount.target;
  }
  return "";
}

// Container ports published by a service ("HOST:CONTAINER[/PROTO]" or a bare port).
std::set<int> ContainerPorts(const YAML::Node& service) {
  std::set<int> ports;
  for (const auto& port : service["ports"]) {
    std::string spec = port.IsMap() ? port["target"].as<std::string>() : port.as<std::string>();
    spec = spec.substr(0, spec.find('/'));
    ports.insert(std::stoi(spec.substr(spec.rfind(':') + 1)));
  }
  return ports;
}

// One Dockerfile instruction: keyword in upper case and its arguments, continuations joined.
struct Instruction {
  std::string keyword;
  std::string arguments;
};
using Stage = std::vector<Instruction>;

// The Dockerfile's build stages, each starting with its FROM instruction.
std::vector<Stage> DockerfileStages() {
  std::istringstream in(ReadFile(kDockerfile));
  std::vector<Stage> stages;
  std::string logical;
  for (std::string line; std::getline(in, line);) {
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    if (!line.empty() && line.back() == '\\') {
      logical += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    logical += line;
    const auto space = logical.find_first_of(" \t");
    Instruction instruction{logical.substr(0, space), ""};
    std::transform(instruction.keyword.begin(), instruction.keyword.end(),
                   instruction.keyword.begin(), ::toupper);
    if (space != std::string::npos) {
      instruction.arguments = logical.substr(logical.find_first_not_of(" \t", space));
    }
    logical.clear();
    if (instruction.keyword == "FROM") stages.emplace_back();
    if (!stages.empty()) stages.back().push_back(instruction);
  }
  return stages;
}

// Arguments of every `keyword` instruction of a stage.
std::vector<std::string> Find(const Stage& stage, const std::string& keyword) {
  std::vector<std::string> found;
  for (const Instruction& instruction : stage) {
    if (instruction.keyword == keyword) found.push_back(instruction.arguments);
  }
  return found;
}

std::vector<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

class DeployComposeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_THROW(compose_ = YAML::LoadFile(kComposeFile.string())) << kComposeFile;
    ASSERT_TRUE(compose_["services"].IsMap());
    services_ = compose_["services"];
  }

  YAML::Node compose_;
  YAML::Node services_;
};

TEST_F(DeployComposeTest, DefinesExporterPrometheusAndGrafanaServices) {
  EXPECT_FALSE(compose_["version"]) << "the compose specification has no version key";
  for (const char* name : {"exporter", "prometheus", "grafana"}) {
    EXPECT_TRUE(services_[name].IsMap()) << "missing service " << name;
  }
  EXPECT_EQ(services_["prometheus"]["image"].as<std::string>(""), "prom/prometheus");
  EXPECT_EQ(services_["grafana"]["image"].as<std::string>(""), "grafana/grafana");
}

TEST_F(DeployComposeTest, EveryMountedHostPathExistsInTheRepository) {
  int mounts = 0;
  for (const auto& service : services_) {
    const std::string name = service.first.as<std::string>();
    for (const Mount& mount : BindMounts(service.second)) {
      ++mounts;
      EXPECT_TRUE(mount.source.rfind("./", 0) == 0 || mount.source.rfind("../", 0) == 0)
          << name << " mounts " << mount.source << ": host paths must be relative to deploy/";
      const fs::path host = (kDeployDir / mount.source).lexically_normal();
      EXPECT_TRUE(fs::exists(host))
          << name << " mounts " << mount.source << ", but " << host << " does not exist";
      EXPECT_EQ(host.string().rfind(kRepoRoot.string(), 0), 0u)
          << name << " mounts " << mount.source << " from outside the repository";
    }
  }
  EXPECT_EQ(mounts, 4);
}

TEST_F(DeployComposeTest, ExporterIsBuiltFromTheRepositoryDockerfileAndRunsTheDemo) {
  const YAML::Node exporter = services_["exporter"];
  ASSERT_TRUE(exporter["build"].IsMap());
  const fs::path context = kDeployDir / exporter["build"]["context"].as<std::string>();
  EXPECT_EQ(fs::canonical(context), fs::canonical(kRepoRoot));
  const fs::path dockerfile = context / exporter["build"]["dockerfile"].as<std::string>("");
  ASSERT_TRUE(fs::is_regular_file(dockerfile)) << dockerfile;
  EXPECT_EQ(fs::canonical(dockerfile), fs::canonical(kDockerfile));

  const std::vector<std::string> command = Strings(exporter["command"]);
  EXPECT_TRUE(Contains(command, "--demo"));
  EXPECT_TRUE(Contains(command, "--demo.scenario=${DEMO_SCENARIO:-healthy}"));
  EXPECT_TRUE(ContainerPorts(exporter).contains(9842));
}

TEST_F(DeployComposeTest, DockerfileEntrypointRunsTheExporterBinaryItInstalls) {
  const std::vector<Stage> stages = DockerfileStages();
  ASSERT_EQ(stages.size(), 2u) << "a build stage and a runtime stage";
  for (const Stage& stage : stages) {
    EXPECT_EQ(Words(stage.front().arguments).at(0), "debian:bookworm-slim");
  }
  const Stage& runtime = stages.back();

  const std::vector<std::string> entrypoints = Find(runtime, "ENTRYPOINT");
  ASSERT_EQ(entrypoints.size(), 1u);
  const nlohmann::json entrypoint = nlohmann::json::parse(entrypoints[0]);
  ASSERT_TRUE(entrypoint.is_array() && !entrypoint.empty()) << "ENTRYPOINT must be exec form";
  const std::string binary = entrypoint[0].get<std::string>();
  EXPECT_EQ(fs::path(binary).filename(), "bird_call_exporter");
  EXPECT_NE(ReadFile(kRepoRoot / "CMakeLists.txt").find("add_executable(bird_call_exporter "),
            std::string::npos)
      << "the build no longer produces a bird_call_exporter binary";

  // The binary comes from the build stage, to the path the ENTRYPOINT runs.
  bool installed = false;
  for (const std::string& copy : Find(runtime, "COPY")) {
    const std::vector<std::string> words = Words(copy);
    if (words.size() == 3 && words[0] == "--from=build") {
      EXPECT_EQ(fs::path(words[1]).filename(), "bird_call_exporter");
      installed = installed || words[2] == binary;
    }
  }
  EXPECT_TRUE(installed) << "no COPY --from=build puts the exporter at " << binary;
  EXPECT_NE(Find(stages.front(), "RUN").back().find("-DBIRD_EXPORTER_BUILD_TESTS=OFF"),
            std::string::npos);
}

TEST_F(DeployComposeTest, DockerfileRunsUnprivilegedWithStateVolumeAndHealthcheck) {
  const std::vector<Stage> stages = DockerfileStages();
  ASSERT_FALSE(stages.empty());
  const Stage& runtime = stages.back();
  const std::vector<std::string> users = Find(runtime, "USER");
  ASSERT_FALSE(users.empty());
  EXPECT_EQ(users.back().substr(0, users.back().find(':')), "65532");
  EXPECT_TRUE(Contains(Find(runtime, "EXPOSE"), "9842"));
  EXPECT_TRUE(Contains(Find(runtime, "VOLUME"), "/var/lib/bird_call_exporter"));
  const std::vector<std::string> healthchecks = Find(runtime, "HEALTHCHECK");
  ASSERT_EQ(healthchecks.size(), 1u);
  EXPECT_NE(healthchecks[0].find("curl -fsS http://127.0.0.1:9842/-/healthy || exit 1"),
            std::string::npos);

  // The default command reads the configuration the image ships, whose state file lies in the
  // volume.
  const std::vector<std::string> cmds = Find(runtime, "CMD");
  ASSERT_EQ(cmds.size(), 1u);
  const nlohmann::json cmd = nlohmann::json::parse(cmds[0]);
  ASSERT_EQ(cmd, nlohmann::json::parse(
                     R"(["--config.file=/etc/bird_call_exporter/bird_call_exporter.yml"])"));
  bool shipped = false;
  for (const std::string& copy : Find(runtime, "COPY")) {
    const std::vector<std::string> words = Words(copy);
    if (words.size() == 2 && words[1] == "/etc/bird_call_exporter/bird_call_exporter.yml") {
      shipped = true;
      const YAML::Node config = YAML::LoadFile((kRepoRoot / words[0]).string());
      EXPECT_EQ(config["state_file"].as<std::string>("").rfind("/var/lib/bird_call_exporter/", 0),
                0u);
    }
  }
  EXPECT_TRUE(shipped) << "the image does not contain the file its default command reads";
}

TEST_F(DeployComposeTest, EveryFileTheDockerfileCopiesFromTheContextExistsAndIsNotIgnored) {
  std::vector<std::string> ignored;
  std::istringstream dockerignore(ReadFile(kRepoRoot / ".dockerignore"));
  for (std::string line; std::getline(dockerignore, line);) {
    if (!line.empty() && line[0] != '#') ignored.push_back(line);
  }
  EXPECT_TRUE(Contains(ignored, ".git"));
  const auto is_ignored = [&](const std::string& path) {
    return std::any_of(ignored.begin(), ignored.end(), [&](const std::string& pattern) {
      return fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0;
    });
  };
  EXPECT_TRUE(is_ignored("build"));
  EXPECT_TRUE(is_ignored("build-deploy"));

  int copies = 0;
  for (const Stage& stage : DockerfileStages()) {
    for (const std::string& copy : Find(stage, "COPY")) {
      std::vector<std::string> words = Words(copy);
      if (words.empty() || words[0].rfind("--from=", 0) == 0) continue;
      words.pop_back();  // destination
      for (const std::string& source : words) {
        ++copies;
        if (source == ".") continue;
        EXPECT_TRUE(fs::exists(kRepoRoot / source)) << "COPY " << source;
        EXPECT_FALSE(is_ignored(source)) << "COPY " << source << " is excluded by .dockerignore";
      }
    }
  }
  EXPECT_GT(copies, 0);
  for (const char* needed : {"CMakeLists.txt", "src", "config"}) {
    EXPECT_FALSE(is_ignored(needed)) << ".dockerignore excludes " << needed;
  }
}

// The demo's services (Grafana lets anonymous viewers in) are published on this host only.
TEST_F(DeployComposeTest, PublishesEveryPortOnTheLoopbackAddressOnly) {
  int published = 0;
  for (const auto& service : services_) {
    for (const auto& port : service.second["ports"]) {
      ++published;
      EXPECT_EQ(port.as<std::string>().rfind("127.0.0.1:", 0), 0u)
          << service.first.as<std::string>() << " publishes " << port.as<std::string>();
    }
  }
  EXPECT_EQ(published, 3);
}

TEST_F(DeployComposeTest, PrometheusScrapesTheExporterServiceAndLoadsTheMountedRules) {
  const YAML::Node prometheus = services_["prometheus"];
  const std::vector<std::string> flags = Strings(prometheus["command"]);
  EXPECT_TRUE(Contains(flags, "--config.file=/etc/prometheus/prometheus.yml"));
  // Its lifecycle API (reload, shutdown over HTTP) stays off.
  EXPECT_FALSE(Contains(flags, "--web.enable-lifecycle"));
  EXPECT_TRUE(ContainerPorts(prometheus).contains(9090));
  EXPECT_EQ(MountTarget(prometheus, "./prometheus/prometheus.yml"),
            "/etc/prometheus/prometheus.yml");
  const std::string rules_dir = MountTarget(prometheus, "./prometheus/rules");
  EXPECT_EQ(rules_dir, "/etc/prometheus/rules");

  const YAML::Node config = YAML::LoadFile((kDeployDir / "prometheus" / "prometheus.yml").string());
  EXPECT_EQ(Strings(config["rule_files"]), std::vector<std::string>{rules_dir + "/*.yml"});
  bool scraped = false;
  for (const auto& job : config["scrape_configs"]) {
    if (job["job_name"].as<std::string>("") != "bird_call_exporter") continue;
    EXPECT_EQ(job["scrape_interval"].as<std::string>(""), "15s");
    for (const auto& group : job["static_configs"]) {
      scraped = scraped || Contains(Strings(group["targets"]), "exporter:9842");
    }
  }
  EXPECT_TRUE(scraped) << "job bird_call_exporter does not scrape exporter:9842";
}

TEST_F(DeployComposeTest, GrafanaProvisionsThePrometheusDatasourceAndTheDashboardDirectory) {
  const YAML::Node grafana = services_["grafana"];
  EXPECT_TRUE(ContainerPorts(grafana).contains(3000));
  EXPECT_EQ(grafana["environment"]["GF_AUTH_ANONYMOUS_ENABLED"].as<std::string>(""), "true");
  EXPECT_EQ(grafana["environment"]["GF_AUTH_ANONYMOUS_ORG_ROLE"].as<std::string>(""), "Viewer");
  EXPECT_EQ(MountTarget(grafana, "../grafana/provisioning"), "/etc/grafana/provisioning");
  const std::string dashboards_dir = MountTarget(grafana, "../grafana/dashboards");
  EXPECT_EQ(dashboards_dir, "/var/lib/grafana/dashboards");

  const fs::path provisioning = kRepoRoot / "grafana" / "provisioning";
  YAML::Node datasources;
  ASSERT_NO_THROW(datasources =
                      YAML::LoadFile((provisioning / "datasources" / "prometheus.yml").string()));
  EXPECT_EQ(datasources["apiVersion"].as<int>(0), 1);
  ASSERT_EQ(datasources["datasources"].size(), 1u);
  const YAML::Node datasource = datasources["datasources"][0];
  EXPECT_EQ(datasource["type"].as<std::string>(""), "prometheus");
  EXPECT_EQ(datasource["uid"].as<std::string>(""), "prometheus");
  EXPECT_EQ(datasource["url"].as<std::string>(""), "http://prometheus:9090");
  EXPECT_TRUE(datasource["isDefault"].as<bool>(false));

  YAML::Node dashboards;
  ASSERT_NO_THROW(dashboards = YAML::LoadFile(
                      (provisioning / "dashboards" / "bird_call_exporter.yml").string()));
  EXPECT_EQ(dashboards["apiVersion"].as<int>(0), 1);
  ASSERT_EQ(dashboards["providers"].size(), 1u);
  const YAML::Node provider = dashboards["providers"][0];
  EXPECT_EQ(provider["type"].as<std::string>(""), "file");
  EXPECT_EQ(provider["options"]["path"].as<std::string>(""), dashboards_dir);
}

}  // namespace
}  // namespace bird_exporter
