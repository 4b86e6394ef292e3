#include "support/yaml.h"

namespace bird_exporter::testing {

std::vector<std::string> Strings(const YAML::Node& sequence) {
  std::vector<std::string> values;
  if (!sequence.IsSequence()) return values;
  for (const YAML::Node& item : sequence) values.push_back(item.as<std::string>());
  return values;
}

}  // namespace bird_exporter::testing
