// The Kubernetes manifests in deploy/kubernetes/: `kubectl kustomize` renders the base and the
// sharded overlay; every rendered object passes the schema validation of
// deploy/kubernetes/validate/validate.mjs (kubernetes-models, installed with `npm ci` from the
// committed lockfile into a fresh directory, so nothing from an earlier run is reused); the
// workloads run locked down, probe the right endpoints and agree with each other; no Secret is
// rendered; the configuration in the ConfigMap is accepted by the exporter with the workloads'
// flags and environment; and base/prometheusrule.yaml is exactly the output of
// generate-prometheusrule.sh, with the groups of deploy/prometheus/rules/*.yml.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
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
const fs::path kKubernetesDir = kRepoRoot / "deploy" / "kubernetes";
const fs::path kBaseDir = kKubernetesDir / "base";
const fs::path kShardedDir = kKubernetesDir / "overlays" / "sharded";
const fs::path kValidateDir = kKubernetesDir / "validate";
const fs::path kGenerator = kKubernetesDir / "generate-prometheusrule.sh";
const fs::path kRulesDir = kRepoRoot / "deploy" / "prometheus" / "rules";

constexpr const char* kName = "bird-call-exporter";
constexpr const char* kConfigPath = "/etc/bird_call_exporter/bird_call_exporter.yml";
constexpr const char* kAccessKeyPath = "/etc/bird_call_exporter/secret/access_key";
constexpr const char* kStatePath = "/var/lib/bird_call_exporter/state.json";
constexpr const char* kSecretPlaceholder = "REPLACE_WITH_YOUR_BIRD_ACCESS_KEY";

// Structural equality of two YAML nodes (scalars by their text, maps regardless of key order).
bool NodesEqual(const YAML::Node& a, const YAML::Node& b) {
  if (a.Type() != b.Type()) return false;
  switch (a.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return true;
    case YAML::NodeType::Scalar:
      return a.Scalar() == b.Scalar();
    case YAML::NodeType::Sequence:
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (!NodesEqual(a[i], b[i])) return false;
      }
      return true;
    case YAML::NodeType::Map:
      if (a.size() != b.size()) return false;
      for (const auto& entry : a) {
        const YAML::Node other = b[entry.first.as<std::string>()];
        if (!other.IsDefined() || !NodesEqual(entry.second, other)) return false;
      }
      return true;
  }
  return false;
}

// A map node without the given keys (a deep copy; the original is left alone).
YAML::Node Without(const YAML::Node& node, const std::vector<std::string>& keys) {
  YAML::Node copy = YAML::Clone(node);
  for (const auto& key : keys) copy.remove(key);
  return copy;
}

struct Rendered {
  std::vector<YAML::Node> objects;
  fs::path file;  // the rendered YAML stream

  std::vector<YAML::Node> OfKind(const std::string& kind) const {
    std::vector<YAML::Node> found;
    for (const auto& object : objects) {
      if (object["kind"] && object["kind"].as<std::string>() == kind) found.push_back(object);
    }
    return found;
  }
  std::multiset<std::string> Kinds() const {
    std::multiset<std::string> kinds;
    for (const auto& object : objects) kinds.insert(object["kind"].as<std::string>("<none>"));
    return kinds;
  }
};

class KubernetesTest : public ::testing::Test {
 protected:
  // `kubectl kustomize dir`, parsed. Fails the test when kustomize or the YAML fails.
  void Render(const fs::path& dir, Rendered* rendered) {
    rendered->file = dir_ / (dir.filename().string() + ".rendered.yaml");
    const fs::path errors = dir_ / "kustomize.stderr";
    const CommandResult result =
        RunCommandStdout("kubectl kustomize " + ShellQuote(dir.string()) + " >" +
                         ShellQuote(rendered->file.string()) + " 2>" + ShellQuote(errors.string()));
    ASSERT_EQ(result.exit_code, 0) << "kubectl kustomize " << dir << " failed:\n"
                                   << ReadFile(errors);
    try {
      for (const auto& document : YAML::LoadAll(ReadFile(rendered->file))) {
        if (document.IsNull()) continue;
        ASSERT_TRUE(document.IsMap()) << YAML::Dump(document);
        rendered->objects.push_back(document);
      }
    } catch (const YAML::Exception& e) {
      FAIL() << "rendered " << dir << " is not YAML: " << e.what();
    }
    ASSERT_FALSE(rendered->objects.empty()) << "kustomize rendered nothing for " << dir;
  }

  // The single object of `kind` in `rendered`.
  static void One(const Rendered& rendered, const std::string& kind, YAML::Node* object) {
    const auto found = rendered.OfKind(kind);
    ASSERT_EQ(found.size(), 1u) << "expected exactly one " << kind;
    *object = found.front();
  }

  // Copies package.json, package-lock.json and validate.mjs into a fresh directory and installs
  // the dependencies there with `npm ci` (exactly the versions of the lockfile). Sets
  // validator_ to the copy of validate.mjs.
  void InstallValidator() {
    const fs::path dir = dir_ / "validate";
    fs::create_directories(dir);
    for (const char* file : {"package.json", "package-lock.json", "validate.mjs"}) {
      ASSERT_TRUE(fs::exists(kValidateDir / file)) << kValidateDir / file;
      fs::copy_file(kValidateDir / file, dir / file);
    }
    const CommandResult result =
        RunCommandStdout("npm ci --prefix " + ShellQuote(dir.string()) +
                         " --ignore-scripts --no-audit --no-fund --loglevel=error 2>&1");
    ASSERT_EQ(result.exit_code, 0) << "npm ci failed:\n" << result.output;
    ASSERT_TRUE(fs::is_directory(dir / "node_modules" / "kubernetes-models")) << result.output;
    validator_ = dir / "validate.mjs";
  }

  CommandResult Validate(const fs::path& file) {
    return RunCommandStdout("node " + ShellQuote(validator_.string()) + " " +
                            ShellQuote(file.string()) + " 2>&1");
  }

  fs::path WriteFile(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  testing::TempDir tmp_{"bird_kubernetes"};
  const fs::path dir_{tmp_.path()};
  fs::path validator_;
};

// The pod spec of a workload (the Deployment or the StatefulSet).
YAML::Node PodSpecOf(const YAML::Node& workload) { return workload["spec"]["template"]["spec"]; }

// The groups of every rule file, file by file in sorted order (as generate-prometheusrule.sh).
std::vector<YAML::Node> RuleFileGroups() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kRulesDir)) {
    if (entry.path().extension() == ".yml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  std::vector<YAML::Node> groups;
  for (const auto& file : files) {
    for (const YAML::Node& group : YAML::LoadFile(file.string())["groups"]) groups.push_back(group);
  }
  return groups;
}

std::vector<std::string> GroupNames(const std::vector<YAML::Node>& groups) {
  std::vector<std::string> names;
  for (const auto& group : groups) names.push_back(group["name"].as<std::string>());
  return names;
}

// ------------------------------------------------------------------------------------------
// Rendering and schema validation

TEST_F(KubernetesTest, BaseRendersTheExpectedObjects) {
  Rendered base;
  ASSERT_NO_FATAL_FAILURE(Render(kBaseDir, &base));
  const std::multiset<std::string> expected = {
      "ServiceAccount",        "ConfigMap",           "Service",
      "PersistentVolumeClaim", "Deployment",          "ServiceMonitor",
      "PrometheusRule",        "PodDisruptionBudget", "NetworkPolicy"};
  EXPECT_EQ(base.Kinds(), expected);
}

TEST_F(KubernetesTest, ShardedOverlayReplacesTheDeploymentByAStatefulSet) {
  Rendered sharded;
  ASSERT_NO_FATAL_FAILURE(Render(kShardedDir, &sharded));
  const std::multiset<std::string> expected = {
      "ServiceAccount", "ConfigMap",           "Service",      "StatefulSet", "ServiceMonitor",
      "PrometheusRule", "PodDisruptionBudget", "NetworkPolicy"};
  EXPECT_EQ(sharded.Kinds(), expected);
}

TEST_F(KubernetesTest, EveryRenderedObjectPassesSchemaValidation) {
  ASSERT_NO_FATAL_FAILURE(InstallValidator());
  for (const fs::path& dir : {kBaseDir, kShardedDir}) {
    SCOPED_TRACE(dir.string());
    Rendered rendered;
    ASSERT_NO_FATAL_FAILURE(Render(dir, &rendered));
    const CommandResult result = Validate(rendered.file);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    // One "valid:" line per object: nothing was skipped.
    std::size_t valid_lines = 0;
    std::istringstream lines(result.output);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("valid: ", 0) == 0) ++valid_lines;
    }
    EXPECT_EQ(valid_lines, rendered.objects.size()) << result.output;
  }
  // The example Secret, which is not rendered, is a valid Secret too.
  const CommandResult secret = Validate(kBaseDir / "secret-example.yaml");
  EXPECT_EQ(secret.exit_code, 0) << secret.output;
}

TEST_F(KubernetesTest, ValidatorRejectsAnInvalidDeploymentAndUnknownKinds) {
  ASSERT_NO_FATAL_FAILURE(InstallValidator());
  // Control case: containers is a mapping, not a list.
  const fs::path invalid = WriteFile("invalid.yaml", R"(apiVersion: v1
kind: ServiceAccount
metadata:
  name: fine
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  selector:
    matchLabels:
      app: broken
  template:
    metadata:
      labels:
        app: broken
    spec:
      containers:
        name: broken
        image: example
)");
  CommandResult result = Validate(invalid);
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("Deployment/broken"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("/spec/template/spec/containers must be array"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("valid: v1 ServiceAccount/fine"), std::string::npos)
      << result.output;

  const fs::path unknown = WriteFile("unknown.yaml", R"(apiVersion: example.com/v1
kind: Widget
metadata:
  name: gadget
)");
  result = Validate(unknown);
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("Widget/gadget"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("unknown kind"), std::string::npos) << result.output;

  // A nested type is not a resource.
  result =
      Validate(WriteFile("nested.yaml", "apiVersion: v1\nkind: Container\nmetadata:\n  name: c\n"));
  EXPECT_EQ(result.exit_code, 1) << result.output;

  // An empty stream is not a pass.
  result = Validate(WriteFile("empty.yaml", "---\n"));
  EXPECT_EQ(result.exit_code, 1) << result.output;
}

TEST_F(KubernetesTest, ValidatorDependenciesArePinnedAndLocked) {
  const auto package = nlohmann::json::parse(ReadFile(kValidateDir / "package.json"));
  const auto lock = nlohmann::json::parse(ReadFile(kValidateDir / "package-lock.json"));
  const auto& dependencies = package.at("dependencies");
  for (const char* name : {"kubernetes-models", "@kubernetes-models/prometheus-operator", "yaml"}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(dependencies.contains(name));
    const std::string version = dependencies.at(name).get<std::string>();
    // An exact version: no range.
    EXPECT_EQ(version.find_first_not_of("0123456789."), std::string::npos) << version;
    const auto& locked = lock.at("packages").at(std::string("node_modules/") + name);
    EXPECT_EQ(locked.at("version").get<std::string>(), version);
  }
  EXPECT_EQ(lock.at("packages").at("").at("dependencies"), dependencies)
      << "package-lock.json is out of date: run npm install in " << kValidateDir;
}

// ------------------------------------------------------------------------------------------
// Secrets

TEST_F(KubernetesTest, NoSecretIsRenderedAndTheExampleHoldsOnlyAPlaceholder) {
  for (const fs::path& dir : {kBaseDir, kShardedDir}) {
    SCOPED_TRACE(dir.string());
    Rendered rendered;
    ASSERT_NO_FATAL_FAILURE(Render(dir, &rendered));
    EXPECT_TRUE(rendered.OfKind("Secret").empty());
    const std::string text = ReadFile(rendered.file);
    EXPECT_EQ(text.find("kind: Secret"), std::string::npos);
    EXPECT_EQ(text.find(kSecretPlaceholder), std::string::npos);
  }
  // The example is documentation only: no kustomization lists it or generates a Secret.
  for (const fs::path& dir : {kBaseDir, kShardedDir}) {
    const YAML::Node kustomization = YAML::LoadFile((dir / "kustomization.yaml").string());
    for (const YAML::Node& resource : kustomization["resources"]) {
      EXPECT_EQ(resource.as<std::string>().find("secret"), std::string::npos) << dir;
    }
    EXPECT_FALSE(kustomization["secretGenerator"].IsDefined()) << dir;
  }
  const YAML::Node secret = YAML::LoadFile((kBaseDir / "secret-example.yaml").string());
  EXPECT_EQ(secret["kind"].as<std::string>(), "Secret");
  EXPECT_EQ(secret["metadata"]["name"].as<std::string>(), kName);
  EXPECT_FALSE(secret["data"].IsDefined());
  ASSERT_TRUE(secret["stringData"].IsMap());
  EXPECT_EQ(secret["stringData"].size(), 1u);
  EXPECT_EQ(secret["stringData"]["access_key"].as<std::string>(), kSecretPlaceholder);
}

// ------------------------------------------------------------------------------------------
// Workloads

void ExpectLockedDown(const YAML::Node& workload) {
  const YAML::Node pod = PodSpecOf(workload);
  EXPECT_EQ(pod["serviceAccountName"].as<std::string>(""), kName);
  EXPECT_EQ(pod["automountServiceAccountToken"].as<std::string>(""), "false");
  EXPECT_FALSE(pod["hostNetwork"].IsDefined());
  EXPECT_FALSE(pod["hostPID"].IsDefined());
  EXPECT_FALSE(pod["hostname"].IsDefined()) << "--shard.index=auto reads the pod name";

  const YAML::Node pod_security = pod["securityContext"];
  EXPECT_EQ(pod_security["runAsNonRoot"].as<std::string>(""), "true");
  EXPECT_EQ(pod_security["runAsUser"].as<std::string>(""), "65532");
  EXPECT_EQ(pod_security["runAsGroup"].as<std::string>(""), "65532");
  EXPECT_EQ(pod_security["fsGroup"].as<std::string>(""), "65532");
  EXPECT_EQ(pod_security["seccompProfile"]["type"].as<std::string>(""), "RuntimeDefault");

  ASSERT_TRUE(pod["containers"].IsSequence());
  ASSERT_EQ(pod["containers"].size(), 1u);
  EXPECT_FALSE(pod["initContainers"].IsDefined());
  const YAML::Node container = pod["containers"][0];
  const YAML::Node security = container["securityContext"];
  EXPECT_EQ(security["runAsNonRoot"].as<std::string>(""), "true");
  EXPECT_EQ(security["runAsUser"].as<std::string>(""), "65532");
  EXPECT_EQ(security["runAsGroup"].as<std::string>(""), "65532");
  EXPECT_EQ(security["readOnlyRootFilesystem"].as<std::string>(""), "true");
  EXPECT_EQ(security["allowPrivilegeEscalation"].as<std::string>(""), "false");
  EXPECT_EQ(Strings(security["capabilities"]["drop"]), std::vector<std::string>{"ALL"});
  EXPECT_FALSE(security["capabilities"]["add"].IsDefined());
  EXPECT_NE(security["privileged"].as<std::string>("false"), "true");
  EXPECT_EQ(security["seccompProfile"]["type"].as<std::string>(""), "RuntimeDefault");

  ASSERT_TRUE(container["ports"].IsSequence());
  ASSERT_EQ(container["ports"].size(), 1u);
  EXPECT_EQ(container["ports"][0]["name"].as<std::string>(""), "metrics");
  EXPECT_EQ(container["ports"][0]["containerPort"].as<int>(0), 9842);
  EXPECT_EQ(container["livenessProbe"]["httpGet"]["path"].as<std::string>(""), "/-/healthy");
  EXPECT_EQ(container["livenessProbe"]["httpGet"]["port"].as<std::string>(""), "metrics");
  EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"].as<std::string>(""), "/-/ready");
  EXPECT_EQ(container["readinessProbe"]["httpGet"]["port"].as<std::string>(""), "metrics");

  const YAML::Node resources = container["resources"];
  EXPECT_EQ(resources["requests"]["cpu"].as<std::string>(""), "50m");
  EXPECT_EQ(resources["requests"]["memory"].as<std::string>(""), "64Mi");
  EXPECT_EQ(resources["limits"]["cpu"].as<std::string>(""), "500m");
  EXPECT_EQ(resources["limits"]["memory"].as<std::string>(""), "128Mi");

  // The files the image's defaults and the configuration name.
  std::map<std::string, YAML::Node> mounts;
  for (const YAML::Node& mount : container["volumeMounts"]) {
    mounts[mount["mountPath"].as<std::string>()] = mount;
  }
  ASSERT_TRUE(mounts.count(kConfigPath)) << YAML::Dump(container["volumeMounts"]);
  EXPECT_EQ(mounts[kConfigPath]["readOnly"].as<std::string>(""), "true");
  ASSERT_TRUE(mounts.count("/etc/bird_call_exporter/secret"))
      << YAML::Dump(container["volumeMounts"]);
  EXPECT_EQ(mounts["/etc/bird_call_exporter/secret"]["readOnly"].as<std::string>(""), "true");
  ASSERT_TRUE(mounts.count("/var/lib/bird_call_exporter")) << YAML::Dump(container["volumeMounts"]);
  EXPECT_EQ(mounts["/var/lib/bird_call_exporter"]["name"].as<std::string>(""), "state");

  std::map<std::string, YAML::Node> volumes;
  for (const YAML::Node& volume : pod["volumes"])
    volumes[volume["name"].as<std::string>()] = volume;
  const YAML::Node secret =
      volumes[mounts["/etc/bird_call_exporter/secret"]["name"].as<std::string>()];
  EXPECT_EQ(secret["secret"]["secretName"].as<std::string>(""), kName)
      << YAML::Dump(pod["volumes"]);
  ASSERT_TRUE(secret["secret"]["items"].IsSequence()) << YAML::Dump(secret);
  EXPECT_EQ(secret["secret"]["items"][0]["key"].as<std::string>(""), "access_key");
  EXPECT_EQ(secret["secret"]["items"][0]["path"].as<std::string>(""), "access_key");
  const YAML::Node config = volumes[mounts[kConfigPath]["name"].as<std::string>()];
  EXPECT_EQ(config["configMap"]["name"].as<std::string>("").rfind("bird-call-exporter-config-", 0),
            0u)
      << YAML::Dump(config);
  EXPECT_EQ(mounts[kConfigPath]["subPath"].as<std::string>(""), "bird_call_exporter.yml");

  const auto args = Strings(container["args"]);
  ASSERT_FALSE(args.empty());
  EXPECT_EQ(args.front(), std::string("--config.file=") + kConfigPath);
}

TEST_F(KubernetesTest, WorkloadsRunLockedDownAndProbeTheExporter) {
  Rendered base;
  Rendered sharded;
  ASSERT_NO_FATAL_FAILURE(Render(kBaseDir, &base));
  ASSERT_NO_FATAL_FAILURE(Render(kShardedDir, &sharded));
  YAML::Node deployment;
  YAML::Node statefulset;
  ASSERT_NO_FATAL_FAILURE(One(base, "Deployment", &deployment));
  ASSERT_NO_FATAL_FAILURE(One(sharded, "StatefulSet", &statefulset));
  {
    SCOPED_TRACE("Deployment");
    ExpectLockedDown(deployment);
  }
  {
    SCOPED_TRACE("StatefulSet");
    ExpectLockedDown(statefulset);
  }
  for (const Rendered* rendered : {&base, &sharded}) {
    YAML::Node account;
    ASSERT_NO_FATAL_FAILURE(One(*rendered, "ServiceAccount", &account));
    EXPECT_EQ(account["metadata"]["name"].as<std::string>(), kName);
    EXPECT_EQ(account["automountServiceAccountToken"].as<std::string>(""), "false");
  }
}

TEST_F(KubernetesTest, DeploymentRunsOneExporterWithItsStateOnAVolumeClaim) {
  Rendered base;
  ASSERT_NO_FATAL_FAILURE(Render(kBaseDir, &base));
  YAML::Node deployment;
  YAML::Node claim;
  YAML::Node budget;
  ASSERT_NO_FATAL_FAILURE(One(base, "Deployment", &deployment));
  ASSERT_NO_FATAL_FAILURE(One(base, "PersistentVolumeClaim", &claim));
  ASSERT_NO_FATAL_FAILURE(One(base, "PodDisruptionBudget", &budget));
  EXPECT_EQ(deployment["spec"]["replicas"].as<int>(0), 1);
  EXPECT_EQ(deployment["spec"]["strategy"]["type"].as<std::string>(""), "Recreate");
  const auto args = Strings(PodSpecOf(deployment)["containers"][0]["args"]);
  EXPECT_EQ(args, std::vector<std::string>{std::string("--config.file=") + kConfigPath});

  EXPECT_EQ(claim["metadata"]["name"].as<std::string>(), "bird-call-exporter-state");
  bool claimed = false;
  for (const YAML::Node& volume : PodSpecOf(deployment)["volumes"]) {
    if (volume["name"].as<std::string>() == "state") {
      claimed = volume["persistentVolumeClaim"]["claimName"].as<std::string>("") ==
                "bird-call-exporter-state";
    }
  }
  EXPECT_TRUE(claimed) << YAML::Dump(PodSpecOf(deployment)["volumes"]);

  // A budget that never blocks a drain of the single pod.
  EXPECT_EQ(budget["spec"]["maxUnavailable"].as<int>(0), 1);
  EXPECT_FALSE(budget["spec"]["minAvailable"].IsDefined());
}

TEST_F(KubernetesTest, StatefulSetShardsMatchTheirReplicasAndShareBirdsRateLimit) {
  Rendered sharded;
  ASSERT_NO_FATAL_FAILURE(Render(kShardedDir, &sharded));
  YAML::Node statefulset;
  YAML::Node service;
  YAML::Node budget;
  ASSERT_NO_FATAL_FAILURE(One(sharded, "StatefulSet", &statefulset));
  ASSERT_NO_FATAL_FAILURE(One(sharded, "Service", &service));
  ASSERT_NO_FATAL_FAILURE(One(sharded, "PodDisruptionBudget", &budget));

  const int replicas = statefulset["spec"]["replicas"].as<int>(0);
  EXPECT_EQ(replicas, 3);
  const YAML::Node container = PodSpecOf(statefulset)["containers"][0];
  const auto args = Strings(container["args"]);
  EXPECT_THAT(args, ::testing::Contains("--shard.index=auto"));
  EXPECT_THAT(args, ::testing::Contains("--shard.count=" + std::to_string(replicas)))
      << "--shard.count must equal the replicas";
  double rate = 0;
  for (const YAML::Node& env : container["env"]) {
    if (env["name"].as<std::string>() == "BIRD_MAX_REQUESTS_PER_SECOND") {
      rate = std::stod(env["value"].as<std::string>());
    }
  }
  EXPECT_GT(rate, 0);
  EXPECT_LE(rate * replicas, 50) << "the shards together must stay below Bird's 50 GET/s";

  // The pod names end in -<ordinal>: the StatefulSet's own name is the prefix.
  EXPECT_EQ(statefulset["metadata"]["name"].as<std::string>(), kName);
  EXPECT_EQ(statefulset["spec"]["serviceName"].as<std::string>(""),
            service["metadata"]["name"].as<std::string>());
  EXPECT_EQ(service["spec"]["clusterIP"].as<std::string>(""), "None");

  const YAML::Node templates = statefulset["spec"]["volumeClaimTemplates"];
  ASSERT_TRUE(templates.IsSequence());
  ASSERT_EQ(templates.size(), 1u);
  EXPECT_EQ(templates[0]["metadata"]["name"].as<std::string>(), "state");
  EXPECT_EQ(Strings(templates[0]["spec"]["accessModes"]),
            std::vector<std::string>{"ReadWriteOnce"});

  EXPECT_EQ(budget["spec"]["maxUnavailable"].as<int>(0), 1);
  EXPECT_EQ(budget["spec"]["unhealthyPodEvictionPolicy"].as<std::string>(""), "AlwaysAllow");
}

// The StatefulSet's pod template is the Deployment's, plus the shard flags and its own request
// budget, so the two do not drift apart.
TEST_F(KubernetesTest, StatefulSetPodTemplateFollowsTheDeployment) {
  Rendered base;
  Rendered sharded;
  ASSERT_NO_FATAL_FAILURE(Render(kBaseDir, &base));
  ASSERT_NO_FATAL_FAILURE(Render(kShardedDir, &sharded));
  YAML::Node deployment;
  YAML::Node statefulset;
  ASSERT_NO_FATAL_FAILURE(One(base, "Deployment", &deployment));
  ASSERT_NO_FATAL_FAILURE(One(sharded, "StatefulSet", &statefulset));

  EXPECT_TRUE(NodesEqual(deployment["spec"]["selector"], statefulset["spec"]["selector"]));
  EXPECT_TRUE(NodesEqual(deployment["spec"]["template"]["metadata"],
                         statefulset["spec"]["template"]["metadata"]));

  const YAML::Node deployment_pod = PodSpecOf(deployment);
  const YAML::Node statefulset_pod = PodSpecOf(statefulset);
  EXPECT_TRUE(
      NodesEqual(Without(deployment_pod, {"containers", "volumes"}),
                 Without(statefulset_pod, {"containers", "volumes", "topologySpreadConstraints"})))
      << "Deployment:\n"
      << YAML::Dump(deployment_pod) << "\nStatefulSet:\n"
      << YAML::Dump(statefulset_pod);

  const YAML::Node deployment_container = deployment_pod["containers"][0];
  const YAML::Node statefulset_container = statefulset_pod["containers"][0];
  EXPECT_TRUE(NodesEqual(Without(deployment_container, {"args", "env"}),
                         Without(statefulset_container, {"args", "env"})))
      << "Deployment:\n"
      << YAML::Dump(deployment_container) << "\nStatefulSet:\n"
      << YAML::Dump(statefulset_container);
  auto expected_args = Strings(deployment_container["args"]);
  expected_args.push_back("--shard.index=auto");
  expected_args.push_back("--shard.count=" + statefulset["spec"]["replicas"].as<std::string>());
  EXPECT_EQ(Strings(statefulset_container["args"]), expected_args);

  // The same volumes, except that the state comes from the volume claim template.
  YAML::Node deployment_volumes(YAML::NodeType::Sequence);
  for (const YAML::Node& volume : deployment_pod["volumes"]) {
    if (volume["name"].as<std::string>() != "state") deployment_volumes.push_back(volume);
  }
  EXPECT_TRUE(NodesEqual(deployment_volumes, statefulset_pod["volumes"]))
      << YAML::Dump(statefulset_pod["volumes"]);
}

// ------------------------------------------------------------------------------------------
// Service, scraping, disruption budget and network policy

TEST_F(KubernetesTest, ServiceMonitorScrapesTheMetricsPortOfEveryPod) {
  for (const fs::path& dir : {kBaseDir, kShardedDir}) {
    SCOPED_TRACE(dir.string());
    Rendered rendered;
    ASSERT_NO_FATAL_FAILURE(Render(dir, &rendered));
    YAML::Node service;
    YAML::Node monitor;
    ASSERT_NO_FATAL_FAILURE(One(rendered, "Service", &service));
    ASSERT_NO_FATAL_FAILURE(One(rendered, "ServiceMonitor", &monitor));
    YAML::Node workload = rendered.OfKind(dir == kBaseDir ? "Deployment" : "StatefulSet").at(0);
    const YAML::Node pod_labels = workload["spec"]["template"]["metadata"]["labels"];

    ASSERT_TRUE(service["spec"]["ports"].IsSequence());
    ASSERT_EQ(service["spec"]["ports"].size(), 1u);
    const YAML::Node port = service["spec"]["ports"][0];
    EXPECT_EQ(port["name"].as<std::string>(""), "metrics");
    EXPECT_EQ(port["port"].as<int>(0), 9842);
    EXPECT_EQ(port["targetPort"].as<std::string>(""), "metrics");

    // Every selector matches: Service -> pods, ServiceMonitor -> Service, PDB and NetworkPolicy
    // -> pods.
    auto matches = [](const YAML::Node& selector, const YAML::Node& labels) {
      if (!selector.IsMap() || selector.size() == 0) return false;
      for (const auto& entry : selector) {
        const YAML::Node value = labels[entry.first.as<std::string>()];
        if (!value.IsDefined() || value.as<std::string>() != entry.second.as<std::string>()) {
          return false;
        }
      }
      return true;
    };
    EXPECT_TRUE(matches(service["spec"]["selector"], pod_labels));
    EXPECT_TRUE(matches(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"]));
    YAML::Node budget;
    YAML::Node policy;
    ASSERT_NO_FATAL_FAILURE(One(rendered, "PodDisruptionBudget", &budget));
    ASSERT_NO_FATAL_FAILURE(One(rendered, "NetworkPolicy", &policy));
    EXPECT_TRUE(matches(budget["spec"]["selector"]["matchLabels"], pod_labels));
    EXPECT_TRUE(matches(policy["spec"]["podSelector"]["matchLabels"], pod_labels));

    ASSERT_TRUE(monitor["spec"]["endpoints"].IsSequence());
    ASSERT_EQ(monitor["spec"]["endpoints"].size(), 1u);
    const YAML::Node endpoint = monitor["spec"]["endpoints"][0];
    EXPECT_EQ(endpoint["port"].as<std::string>(""), "metrics");
    EXPECT_EQ(endpoint["path"].as<std::string>("/metrics"), "/metrics");
    EXPECT_EQ(endpoint["interval"].as<std::string>(""), "30s");
  }
}

TEST_F(KubernetesTest, NetworkPolicyAdmitsPrometheusAndLetsOutOnlyDnsAndHttps) {
  Rendered base;
  ASSERT_NO_FATAL_FAILURE(Render(kBaseDir, &base));
  YAML::Node policy;
  ASSERT_NO_FATAL_FAILURE(One(base, "NetworkPolicy", &policy));
  EXPECT_EQ(Strings(policy["spec"]["policyTypes"]),
            (std::vector<std::string>{"Ingress", "Egress"}));

  const YAML::Node ingress = policy["spec"]["ingress"];
  ASSERT_TRUE(ingress.IsSequence());
  ASSERT_EQ(ingress.size(), 1u);
  ASSERT_TRUE(ingress[0]["from"].IsSequence()) << "ingress from everywhere";
  for (const YAML::Node& peer : ingress[0]["from"]) {
    EXPECT_TRUE(peer["namespaceSelector"].IsMap()) << YAML::Dump(peer);
    EXPECT_TRUE(peer["podSelector"]["matchLabels"].IsMap()) << YAML::Dump(peer);
    EXPECT_FALSE(peer["ipBlock"].IsDefined()) << YAML::Dump(peer);
  }
  ASSERT_EQ(ingress[0]["ports"].size(), 1u);
  EXPECT_EQ(ingress[0]["ports"][0]["port"].as<int>(0), 9842);
  EXPECT_EQ(ingress[0]["ports"][0]["protocol"].as<std::string>(""), "TCP");

  std::set<std::string> egress_ports;
  for (const YAML::Node& rule : policy["spec"]["egress"]) {
    ASSERT_TRUE(rule["ports"].IsSequence()) << "egress to every port: " << YAML::Dump(rule);
    for (const YAML::Node& port : rule["ports"]) {
      egress_ports.insert(port["protocol"].as<std::string>("TCP") + "/" +
                          port["port"].as<std::string>());
    }
  }
  EXPECT_EQ(egress_ports, (std::set<std::string>{"UDP/53", "TCP/53", "TCP/443"}));
  // HTTPS only to public addresses: never the link-local cloud metadata endpoint, nor private
  // ranges.
  for (const YAML::Node& rule : policy["spec"]["egress"]) {
    if (rule["ports"][0]["port"].as<int>(0) != 443) continue;
    ASSERT_TRUE(rule["to"].IsSequence()) << "HTTPS to every address: " << YAML::Dump(rule);
    std::set<std::string> excluded;
    for (const YAML::Node& peer : rule["to"]) {
      for (const YAML::Node& cidr : peer["ipBlock"]["except"])
        excluded.insert(cidr.as<std::string>());
    }
    for (const char* range : {"169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                              "127.0.0.0/8", "fe80::/10", "fc00::/7"}) {
      EXPECT_EQ(excluded.count(range), 1u) << range << " is not excluded";
    }
  }
}

// ------------------------------------------------------------------------------------------
// Configuration

// The configuration of the ConfigMap, with the environment and flags of each workload, passes
// the exporter's own --config.check (for every shard ordinal in place of `auto`), and names the
// paths the pod mounts.
TEST_F(KubernetesTest, ConfigMapConfigurationIsAcceptedByTheExporter) {
  const fs::path key = WriteFile("access_key", "test-access-key-for-config-check\n");
  for (const fs::path& dir : {kBaseDir, kShardedDir}) {
    SCOPED_TRACE(dir.string());
    Rendered rendered;
    ASSERT_NO_FATAL_FAILURE(Render(dir, &rendered));
    YAML::Node config_map;
    ASSERT_NO_FATAL_FAILURE(One(rendered, "ConfigMap", &config_map));
    const std::string config = config_map["data"]["bird_call_exporter.yml"].as<std::string>("");
    ASSERT_FALSE(config.empty()) << YAML::Dump(config_map);
    const YAML::Node parsed = YAML::Load(config);
    EXPECT_EQ(parsed["bird"]["access_key_file"].as<std::string>(""), kAccessKeyPath);
    EXPECT_FALSE(parsed["bird"]["access_key"].IsDefined());
    EXPECT_EQ(parsed["state_file"].as<std::string>(""), kStatePath);

    // The same file, with the key read from a local file instead of the mounted Secret.
    std::string local = config;
    const auto at = local.find(kAccessKeyPath);
    ASSERT_NE(at, std::string::npos);
    local.replace(at, std::string(kAccessKeyPath).size(), key.string());
    const fs::path config_file = WriteFile(dir.filename().string() + ".yml", local);

    const bool is_base = dir == kBaseDir;
    const YAML::Node workload = rendered.OfKind(is_base ? "Deployment" : "StatefulSet").at(0);
    const YAML::Node container = PodSpecOf(workload)["containers"][0];
    std::string environment = "env";
    for (const YAML::Node& env : container["env"]) {
      environment +=
          " " + ShellQuote(env["name"].as<std::string>() + "=" + env["value"].as<std::string>());
    }
    const int replicas = workload["spec"]["replicas"].as<int>(1);
    for (int ordinal = 0; ordinal < (is_base ? 1 : replicas); ++ordinal) {
      std::string command = environment + " " + ShellQuote(EXPORTER_BINARY) + " --config.check";
      for (std::string arg : Strings(container["args"])) {
        if (arg == std::string("--config.file=") + kConfigPath)
          arg = "--config.file=" + config_file.string();
        if (arg == "--shard.index=auto") arg = "--shard.index=" + std::to_string(ordinal);
        command += " " + ShellQuote(arg);
      }
      const CommandResult result = RunCommandStdout(command + " 2>&1");
      EXPECT_EQ(result.exit_code, 0) << command << "\n" << result.output;
      EXPECT_NE(result.output.find("configuration OK"), std::string::npos) << result.output;
      EXPECT_EQ(result.output.find("test-access-key-for-config-check"), std::string::npos);
    }
  }
}

// ------------------------------------------------------------------------------------------
// PrometheusRule

TEST_F(KubernetesTest, PrometheusRuleIsTheGeneratorOutputForTheRuleFiles) {
  const CommandResult generated = RunCommandStdout(ShellQuote(kGenerator.string()) + " --stdout");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  EXPECT_EQ(generated.output, ReadFile(kBaseDir / "prometheusrule.yaml"))
      << "base/prometheusrule.yaml is out of date: run "
         "deploy/kubernetes/generate-prometheusrule.sh";
  const CommandResult check = RunCommandStdout(ShellQuote(kGenerator.string()) + " --check 2>&1");
  EXPECT_EQ(check.exit_code, 0) << check.output;

  // The rendered PrometheusRule holds the groups of the rule files, in order and unchanged.
  Rendered base;
  ASSERT_NO_FATAL_FAILURE(Render(kBaseDir, &base));
  YAML::Node rule;
  ASSERT_NO_FATAL_FAILURE(One(base, "PrometheusRule", &rule));
  EXPECT_EQ(rule["apiVersion"].as<std::string>(), "monitoring.coreos.com/v1");
  EXPECT_EQ(rule["metadata"]["name"].as<std::string>(), kName);
  const std::vector<YAML::Node> expected = RuleFileGroups();
  ASSERT_FALSE(expected.empty());
  const YAML::Node groups = rule["spec"]["groups"];
  ASSERT_TRUE(groups.IsSequence());
  std::vector<YAML::Node> rendered_groups(groups.begin(), groups.end());
  EXPECT_EQ(GroupNames(rendered_groups), GroupNames(expected));
  ASSERT_EQ(rendered_groups.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(NodesEqual(rendered_groups[i], expected[i]))
        << "group " << GroupNames(expected)[i] << " differs from its rule file";
  }
  // The sharded overlay carries the same rule.
  Rendered sharded;
  ASSERT_NO_FATAL_FAILURE(Render(kShardedDir, &sharded));
  YAML::Node sharded_rule;
  ASSERT_NO_FATAL_FAILURE(One(sharded, "PrometheusRule", &sharded_rule));
  EXPECT_TRUE(NodesEqual(rule, sharded_rule));
}

// The generator copies only what it can copy verbatim: a rule file with anything besides
// `groups:` makes it fail rather than emit a partial rule.
TEST_F(KubernetesTest, GeneratorRejectsARuleFileItCannotCopy) {
  const fs::path root = dir_ / "repo";
  fs::create_directories(root / "deploy" / "kubernetes" / "base");
  fs::create_directories(root / "deploy" / "prometheus" / "rules");
  const fs::path script = root / "deploy" / "kubernetes" / "generate-prometheusrule.sh";
  fs::copy_file(kGenerator, script);
  const fs::path rules = root / "deploy" / "prometheus" / "rules";
  std::ofstream(rules / "a.yml") << "# comment\ngroups:\n  - name: a\n    rules:\n"
                                    "      - record: x\n        expr: vector(1)\n";
  std::ofstream(rules / "b.yml") << "groups:\n  - name: b\n    rules: []\n";

  CommandResult result = RunCommandStdout(ShellQuote(script.string()) + " 2>&1");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const YAML::Node rule =
      YAML::LoadFile((root / "deploy/kubernetes/base/prometheusrule.yaml").string());
  std::vector<YAML::Node> groups(rule["spec"]["groups"].begin(), rule["spec"]["groups"].end());
  EXPECT_EQ(GroupNames(groups), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(rule["spec"]["groups"][0]["rules"][0]["expr"].as<std::string>(""), "vector(1)");

  std::ofstream(rules / "b.yml") << "groups:\n  - name: b\n    rules: []\nextra: true\n";
  result = RunCommandStdout(ShellQuote(script.string()) + " --stdout 2>&1");
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("b.yml:4"), std::string::npos) << result.output;

  std::ofstream(rules / "b.yml") << "# no groups\n";
  result = RunCommandStdout(ShellQuote(script.string()) + " --stdout 2>&1");
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("b.yml"), std::string::npos) << result.output;

  // A failed run leaves the previous output alone, and --check notices a stale file.
  const std::string before = ReadFile(root / "deploy/kubernetes/base/prometheusrule.yaml");
  result = RunCommandStdout(ShellQuote(script.string()) + " 2>&1");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(ReadFile(root / "deploy/kubernetes/base/prometheusrule.yaml"), before);
  std::ofstream(rules / "b.yml") << "groups:\n  - name: renamed\n    rules: []\n";
  result = RunCommandStdout(ShellQuote(script.string()) + " --check 2>&1");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("out of date"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace bird_exporter
