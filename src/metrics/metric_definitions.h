// Every metric the exporter serves: name, type, help, unit, labels, buckets and Bird source field.
// The single table that code, docs/metrics.md and tests are checked against.
#pragma once

#include <string_view>
#include <vector>

#include <prometheus/metric_type.h>

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

}  // namespace bird_exporter
