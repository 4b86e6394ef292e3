// Every metric the exporter serves: name, type, help, unit, labels, buckets and Bird source field.
// The single table that code, docs/metrics.md and tests are checked against.
#pragma once

#include <string_view>
#include <vector>

#include <prometheus/metric_type.h>
#include <prometheus/registry.h>
#include <string>

namespace bird_exporter {

struct MetricSpec {
  std::string_view name;
  prometheus::MetricType type;
  std::string_view help;
  std::vector<std::string_view> labels;
  std::vector<double> buckets;  // histograms only
};

const std::vector<MetricSpec>& AllMetricSpecs();

// Looks a metric up by name; aborts the program on a name missing from the table (a bug).
const MetricSpec& FindMetricSpec(std::string_view name);

// Registers the family `name` with the help text from the table, e.g.
// RegisterFamily(prometheus::BuildCounter(), registry, "bird_calls_total").
template <typename Builder>
auto& RegisterFamily(Builder builder, prometheus::Registry& registry, std::string_view name) {
  const MetricSpec& spec = FindMetricSpec(name);
  return builder.Name(std::string(spec.name)).Help(std::string(spec.help)).Register(registry);
}

}  // namespace bird_exporter
