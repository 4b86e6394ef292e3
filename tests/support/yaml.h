// Reading YAML documents (compose files, rendered Kubernetes objects) in tests.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace bird_exporter::testing {

// The items of a YAML sequence as strings; empty when `sequence` is not a sequence.
std::vector<std::string> Strings(const YAML::Node& sequence);

}  // namespace bird_exporter::testing
