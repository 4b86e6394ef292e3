// Every metric the exporter serves: name, type, help, unit, labels, buckets and Bird source field.
// The single table that code, docs/metrics.md and tests are checked against.
#pragma once

#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_type.h>
#include <prometheus/registry.h>

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace bird_exporter {

struct MetricSpec {
  std::string_view name;
  prometheus::MetricType type;
  std::string_view help;
  std::vector<std::string_view> labels;
  std::vector<double> buckets;  // histograms only
  // The group of metrics.dimensions whose labels the family also carries ("outcome", ...;
  // empty: none). `labels` are the labels it always has.
  std::string_view group = {};
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

// Removes every series of `family` whose labels include all of `match` (a channel or workspace
// that left the configuration). prometheus-cpp removes by pointer, and Add() with existing labels
// returns the existing series.
template <typename T>
void RemoveMatching(prometheus::Family<T>& family, const prometheus::Labels& match) {
  for (const auto& collected : family.Collect()) {
    for (const auto& metric : collected.metric) {
      prometheus::Labels labels;
      for (const auto& label : metric.label) labels[label.name] = label.value;
      bool matches = true;
      for (const auto& [name, value] : match) {
        auto it = labels.find(name);
        if (it == labels.end() || it->second != value) matches = false;
      }
      if (!matches) continue;
      if constexpr (std::is_same_v<T, prometheus::Histogram>) {
        family.Remove(&family.Add(labels, prometheus::Histogram::BucketBoundaries{}));
      } else {
        family.Remove(&family.Add(labels));
      }
    }
  }
}

}  // namespace bird_exporter
