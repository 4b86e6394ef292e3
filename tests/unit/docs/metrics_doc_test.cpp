// docs/metrics.md must list exactly the metrics the exporter defines, with matching types.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "metrics/call_mapping.h"
#include "metrics/metric_definitions.h"

namespace bird_exporter {
namespace {

const std::set<std::string> kProcessMetrics = {"process_cpu_seconds_total",
                                               "process_resident_memory_bytes",
                                               "process_virtual_memory_bytes",
                                               "process_start_time_seconds",
                                               "process_open_fds",
                                               "process_max_fds"};

std::map<std::string, std::string> DocumentedMetrics() {
  std::ifstream in(TESTDATA_DIR "/../../docs/metrics.md");
  EXPECT_TRUE(in.good());
  std::map<std::string, std::string> documented;  // name -> type column
  const std::regex row(R"(^\|\s*`([a-z_:]+)`\s*\|\s*([a-z]+)\s*\|)");
  for (std::string line; std::getline(in, line);) {
    std::smatch match;
    if (std::regex_search(line, match, row)) {
      EXPECT_TRUE(documented.emplace(match[1], match[2]).second) << "listed twice: " << match[1];
    }
  }
  return documented;
}

std::string TypeName(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Histogram:
      return "histogram";
    default:
      return "other";
  }
}

TEST(MetricsDocTest, ListsEveryDefinedMetricWithItsType) {
  const auto documented = DocumentedMetrics();
  for (const auto& spec : AllMetricSpecs()) {
    const auto it = documented.find(std::string(spec.name));
    ASSERT_NE(it, documented.end()) << spec.name << " is missing from docs/metrics.md";
    EXPECT_EQ(it->second, TypeName(spec.type)) << spec.name;
  }
}

TEST(MetricsDocTest, ListsNothingTheExporterDoesNotServe) {
  std::set<std::string> defined(kProcessMetrics);
  for (const auto& spec : AllMetricSpecs()) defined.insert(std::string(spec.name));
  for (const auto& [name, type] : DocumentedMetrics()) {
    EXPECT_EQ(defined.count(name), 1u) << name << " is documented but not defined";
  }
}

TEST(MetricsDocTest, NamesEveryRangeCheckedField) {
  std::ifstream in(TESTDATA_DIR "/../../docs/metrics.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const auto section = doc.find("### Values out of range");
  ASSERT_NE(section, std::string::npos);
  const std::string table = doc.substr(section, doc.find("\n**", section) - section);
  for (const FieldRange& range : FieldRanges()) {
    // Listed by full name, or by the member name after a `mediaMetrics.` row's first entry.
    const std::string field(range.field);
    const std::string member = field.substr(field.find('.') + 1);
    EXPECT_TRUE(table.find("`" + field + "`") != std::string::npos ||
                table.find("`" + member + "`") != std::string::npos)
        << field << " is missing from the table of docs/metrics.md";
  }
}

}  // namespace
}  // namespace bird_exporter
