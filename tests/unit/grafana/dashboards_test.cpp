// The Grafana dashboards in grafana/dashboards/ are checked statically: they parse, carry the
// expected uids and template variables, query the selected data source, filter every query by
// the selected workspace, channel and direction, use only metrics that docs/metrics.md lists (or
// recording rules of deploy/prometheus/rules), and draw the same thresholds as the alerts.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace bird_exporter {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kRepoRoot = fs::path(TESTDATA_DIR "/../..").lexically_normal();
const fs::path kDashboardDir = kRepoRoot / "grafana" / "dashboards";
const fs::path kMetricsDoc = kRepoRoot / "docs" / "metrics.md";
const fs::path kRulesFile =
    kRepoRoot / "deploy" / "prometheus" / "rules" / "bird_call_exporter.rules.yml";

const std::set<std::string> kExpectedUids = {"bird-calls-overview", "bird-calls-quality",
                                             "bird-exporter-health"};
const json kDatasource = {{"type", "prometheus"}, {"uid", "${datasource}"}};
const std::string kLessOrEqual = "\xE2\x89\xA4";  // "≤" in UTF-8

// Recording rule names agreed between the rules and the dashboards, used when the rules file is
// not there. Every rule exists for the 5m and the 1h window.
std::set<std::string> ContractRecordingRules() {
  std::set<std::string> names;
  for (const std::string window : {"5m", "1h"}) {
    for (const std::string level : {"workspace_channel", "workspace_channel_direction"}) {
      names.insert(level + ":bird_calls:rate" + window);
      names.insert(level + ":bird_call_asr:ratio_rate" + window);
      names.insert(level + ":bird_call_ner:ratio_rate" + window);
    }
    const std::string wc = "workspace_channel:";
    names.insert(wc + "bird_calls_answered:rate" + window);
    names.insert(wc + "bird_call_network_failure:ratio_rate" + window);
    names.insert(wc + "bird_call_acd_seconds:mean" + window);
    names.insert(wc + "bird_call_pdd_seconds:p50_" + window);
    names.insert(wc + "bird_call_pdd_seconds:p95_" + window);
    names.insert(wc + "bird_call_mos:p05_" + window);
    names.insert(wc + "bird_call_mos:p50_" + window);
    names.insert(wc + "bird_call_mos_at_or_below_3_6:ratio_rate" + window);
    names.insert(wc + "bird_call_mos_at_or_below_3_1:ratio_rate" + window);
    names.insert(wc + "bird_call_no_inbound_media:ratio_rate" + window);
  }
  return names;
}

std::set<std::string> RecordingRules() {
  if (!fs::exists(kRulesFile)) return ContractRecordingRules();
  std::set<std::string> names;
  const YAML::Node root = YAML::LoadFile(kRulesFile.string());
  for (const auto& group : root["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (rule["record"]) names.insert(rule["record"].as<std::string>());
    }
  }
  EXPECT_FALSE(names.empty()) << kRulesFile << " has no recording rules";
  return names;
}

struct MetricDoc {
  std::string type;
  std::set<std::string> labels;
};

// The "All metrics" table of docs/metrics.md: name -> type and labels.
std::map<std::string, MetricDoc> DocumentedMetrics() {
  std::ifstream in(kMetricsDoc);
  EXPECT_TRUE(in.good()) << "cannot read " << kMetricsDoc;
  std::map<std::string, MetricDoc> documented;
  const std::regex row(R"(^\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|\s*([a-z]+)\s*\|([^|]*)\|)");
  const std::regex label(R"([a-z_]+)");
  for (std::string line; std::getline(in, line);) {
    std::smatch match;
    if (!std::regex_search(line, match, row)) continue;
    MetricDoc doc{match[2], {}};
    const std::string labels = match[3];
    if (labels.find("(none)") == std::string::npos) {
      for (auto it = std::sregex_iterator(labels.begin(), labels.end(), label);
           it != std::sregex_iterator(); ++it) {
        doc.labels.insert(it->str());
      }
    }
    documented.emplace(match[1], doc);
  }
  EXPECT_FALSE(documented.empty()) << "no metric table in " << kMetricsDoc;
  return documented;
}

struct Dashboard {
  std::string file;
  json doc;
};

std::vector<Dashboard> LoadDashboards() {
  std::vector<Dashboard> dashboards;
  for (const auto& entry : fs::directory_iterator(kDashboardDir)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    std::ostringstream text;
    text << in.rdbuf();
    Dashboard dashboard{entry.path().filename().string(), json::parse(text.str(), nullptr, false)};
    dashboards.push_back(std::move(dashboard));
  }
  std::sort(dashboards.begin(), dashboards.end(),
            [](const Dashboard& a, const Dashboard& b) { return a.file < b.file; });
  return dashboards;
}

// Every panel, including the panels nested in (collapsed) rows.
void CollectPanels(const json& panels, std::vector<json>& out) {
  if (!panels.is_array()) return;
  for (const auto& panel : panels) {
    out.push_back(panel);
    if (panel.contains("panels")) CollectPanels(panel["panels"], out);
  }
}

std::vector<json> AllPanels(const json& dashboard) {
  std::vector<json> out;
  if (dashboard.contains("panels")) CollectPanels(dashboard["panels"], out);
  return out;
}

std::vector<std::string> Expressions(const json& panel) {
  std::vector<std::string> out;
  if (!panel.contains("targets")) return out;
  for (const auto& target : panel["targets"]) {
    if (target.contains("expr")) out.push_back(target["expr"].get<std::string>());
  }
  return out;
}

// A metric (or recording rule) named in an expression, with the text of its label matchers
// when it has any.
struct Selector {
  std::string name;
  std::optional<std::string> matchers;
};

const std::set<std::string> kPromQLWords = {
    // aggregation operators
    "sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group",
    // binary and set operators, modifiers
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
    "group_right",
    // functions that can appear without a direct "(" in hand-written queries
    "rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "clamp_min",
    "clamp_max", "clamp", "time", "vector", "scalar", "label_replace", "label_join", "abs",
    "absent", "ceil", "floor", "round", "sort", "sort_desc", "timestamp", "changes", "resets",
    "avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "count_over_time",
    "last_over_time", "predict_linear",
    // literals and label names that may stand on their own
    "inf", "nan", "Inf", "NaN", "le", "start", "end"};

const std::set<std::string> kGroupingWords = {"by",       "without",    "on",
                                              "ignoring", "group_left", "group_right"};

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

// Index just past the bracketed group that opens at `open` (string literals skipped).
size_t SkipGroup(const std::string& expr, size_t open, char close) {
  size_t i = open + 1;
  while (i < expr.size() && expr[i] != close) {
    if (expr[i] == '"' || expr[i] == '\'' || expr[i] == '`') {
      const char quote = expr[i++];
      while (i < expr.size() && expr[i] != quote) i += (expr[i] == '\\') ? 2 : 1;
    }
    ++i;
  }
  return std::min(i + 1, expr.size());
}

size_t SkipSpace(const std::string& expr, size_t i) {
  while (i < expr.size() && std::isspace(static_cast<unsigned char>(expr[i])) != 0) ++i;
  return i;
}

// Identifiers of the form [a-zA-Z_:][a-zA-Z0-9_:]* that are followed by "{", "[", whitespace,
// ")" or the end, leaving out string literals, label matchers, range and subquery durations,
// grouping label lists, functions and PromQL keywords.
std::vector<Selector> Selectors(const std::string& expr) {
  std::vector<Selector> out;
  size_t i = 0;
  while (i < expr.size()) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      i = SkipGroup(expr, i, c);
    } else if (c == '{') {
      i = SkipGroup(expr, i, '}');
    } else if (c == '[') {
      i = SkipGroup(expr, i, ']');
    } else if (c == '$') {  // a Grafana variable such as $__rate_interval
      ++i;
      while (i < expr.size() && IsIdentChar(expr[i])) ++i;
    } else if (std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.') {
      while (i < expr.size() && (IsIdentChar(expr[i]) || expr[i] == '.')) ++i;
    } else if (IsIdentStart(c)) {
      const size_t start = i;
      while (i < expr.size() && IsIdentChar(expr[i])) ++i;
      const std::string name = expr.substr(start, i - start);
      const size_t next = SkipSpace(expr, i);
      if (kGroupingWords.count(name) != 0) {
        if (next < expr.size() && expr[next] == '(') i = SkipGroup(expr, next, ')');
        continue;
      }
      const char follow = i < expr.size() ? expr[i] : ')';
      const bool metric_like = follow == '{' || follow == '[' || follow == ')' || follow == ',' ||
                               std::isspace(static_cast<unsigned char>(follow)) != 0;
      const bool is_call = next < expr.size() && expr[next] == '(';
      if (!metric_like || is_call || kPromQLWords.count(name) != 0) continue;
      Selector selector{name, std::nullopt};
      if (follow == '{') {
        const size_t close = SkipGroup(expr, i, '}');
        selector.matchers = expr.substr(i + 1, close - i - 2);
        i = close;
      }
      out.push_back(selector);
    } else {
      ++i;
    }
  }
  return out;
}

std::string Where(const Dashboard& dashboard, const json& panel) {
  return dashboard.file + " panel " + std::to_string(panel.value("id", -1)) + " \"" +
         panel.value("title", std::string()) + "\"";
}

TEST(GrafanaDashboardTest, SelectorExtractionFindsMetricsOnly) {
  const auto selectors = Selectors(
      R"(histogram_quantile(0.95, sum by (workspace, le) (rate(bird_call_pdd_seconds_bucket{)"
      R"(workspace=~"$workspace", le="3.6"}[$__rate_interval]))) / (sum without (x) )"
      R"((workspace_channel:bird_calls:rate5m) > 0) or vector(0) and on (a) group_left () )"
      R"(process_open_fds offset 5m)");
  ASSERT_EQ(selectors.size(), 3u);
  EXPECT_EQ(selectors[0].name, "bird_call_pdd_seconds_bucket");
  EXPECT_EQ(selectors[0].matchers.value_or(""), R"(workspace=~"$workspace", le="3.6")");
  EXPECT_EQ(selectors[1].name, "workspace_channel:bird_calls:rate5m");
  EXPECT_FALSE(selectors[1].matchers.has_value());
  EXPECT_EQ(selectors[2].name, "process_open_fds");
}

TEST(GrafanaDashboardTest, DashboardsAreValidJsonWithTheExpectedUids) {
  const auto dashboards = LoadDashboards();
  ASSERT_FALSE(dashboards.empty()) << "no dashboard in " << kDashboardDir;
  std::multiset<std::string> uids;
  for (const auto& dashboard : dashboards) {
    ASSERT_FALSE(dashboard.doc.is_discarded()) << dashboard.file << " is not valid JSON";
    ASSERT_TRUE(dashboard.doc.is_object()) << dashboard.file;
    ASSERT_TRUE(dashboard.doc.contains("uid") && dashboard.doc["uid"].is_string())
        << dashboard.file;
    uids.insert(dashboard.doc["uid"].get<std::string>());
    EXPECT_FALSE(dashboard.doc.value("title", std::string()).empty()) << dashboard.file;
    EXPECT_GE(dashboard.doc.value("schemaVersion", 0), 36) << dashboard.file;
    EXPECT_TRUE(dashboard.doc["id"].is_null()) << dashboard.file << ": exported with a database id";
  }
  for (const auto& uid : uids) EXPECT_EQ(uids.count(uid), 1u) << "uid used twice: " << uid;
  for (const auto& uid : kExpectedUids) EXPECT_EQ(uids.count(uid), 1u) << "missing uid " << uid;
}

TEST(GrafanaDashboardTest, PanelIdsAreUniqueAndPanelsDoNotOverlap) {
  for (const auto& dashboard : LoadDashboards()) {
    if (dashboard.doc.is_discarded()) continue;
    const auto panels = AllPanels(dashboard.doc);
    EXPECT_FALSE(panels.empty()) << dashboard.file;
    std::set<int> ids;
    for (const auto& panel : panels) {
      ASSERT_TRUE(panel.contains("id") && panel["id"].is_number_integer())
          << Where(dashboard, panel);
      EXPECT_TRUE(ids.insert(panel["id"].get<int>()).second)
          << "duplicate id: " << Where(dashboard, panel);
      ASSERT_TRUE(panel.contains("gridPos")) << Where(dashboard, panel);
      const auto& pos = panel["gridPos"];
      EXPECT_GE(pos.value("x", -1), 0) << Where(dashboard, panel);
      EXPECT_LE(pos.value("x", 0) + pos.value("w", 0), 24) << Where(dashboard, panel);
      EXPECT_GT(pos.value("w", 0), 0) << Where(dashboard, panel);
      EXPECT_GT(pos.value("h", 0), 0) << Where(dashboard, panel);
    }
    for (size_t a = 0; a < panels.size(); ++a) {
      for (size_t b = a + 1; b < panels.size(); ++b) {
        const auto& p = panels[a]["gridPos"];
        const auto& q = panels[b]["gridPos"];
        const bool apart = p.value("x", 0) + p.value("w", 0) <= q.value("x", 0) ||
                           q.value("x", 0) + q.value("w", 0) <= p.value("x", 0) ||
                           p.value("y", 0) + p.value("h", 0) <= q.value("y", 0) ||
                           q.value("y", 0) + q.value("h", 0) <= p.value("y", 0);
        EXPECT_TRUE(apart) << Where(dashboard, panels[a]) << " overlaps "
                           << Where(dashboard, panels[b]);
      }
    }
  }
}

TEST(GrafanaDashboardTest, EveryQueryUsesTheDatasourceVariable) {
  for (const auto& dashboard : LoadDashboards()) {
    if (dashboard.doc.is_discarded()) continue;
    for (const auto& panel : AllPanels(dashboard.doc)) {
      if (!panel.contains("targets") || panel["targets"].empty()) continue;
      EXPECT_EQ(panel.value("datasource", json()), kDatasource) << Where(dashboard, panel);
      for (const auto& target : panel["targets"]) {
        if (target.contains("datasource")) {
          EXPECT_EQ(target["datasource"], kDatasource) << Where(dashboard, panel);
        }
        EXPECT_FALSE(target.value("expr", std::string()).empty()) << Where(dashboard, panel);
      }
    }
    for (const auto& variable : dashboard.doc["templating"]["list"]) {
      if (variable.value("type", std::string()) == "query") {
        EXPECT_EQ(variable.value("datasource", json()), kDatasource)
            << dashboard.file << " variable " << variable.value("name", std::string());
      }
    }
  }
}

TEST(GrafanaDashboardTest, TemplateVariablesExist) {
  for (const auto& dashboard : LoadDashboards()) {
    if (dashboard.doc.is_discarded()) continue;
    std::map<std::string, json> variables;
    for (const auto& variable : dashboard.doc["templating"]["list"]) {
      variables[variable.value("name", std::string())] = variable;
    }
    ASSERT_EQ(variables.count("datasource"), 1u) << dashboard.file;
    EXPECT_EQ(variables["datasource"].value("type", std::string()), "datasource") << dashboard.file;
    EXPECT_EQ(variables["datasource"].value("query", std::string()), "prometheus")
        << dashboard.file;
    for (const std::string name : {"job", "instance", "workspace", "channel", "direction"}) {
      ASSERT_EQ(variables.count(name), 1u) << dashboard.file << " has no $" << name;
      const auto& variable = variables[name];
      EXPECT_EQ(variable.value("type", std::string()), "query") << dashboard.file << " $" << name;
      EXPECT_TRUE(variable.value("multi", false)) << dashboard.file << " $" << name;
      EXPECT_TRUE(variable.value("includeAll", false)) << dashboard.file << " $" << name;
      const std::string definition = variable.value("definition", std::string());
      EXPECT_NE(definition.find("label_values("), std::string::npos)
          << dashboard.file << " $" << name;
      EXPECT_NE(definition.find(", " + name + ")"), std::string::npos)
          << dashboard.file << " $" << name;
    }
    EXPECT_NE(
        variables["channel"].value("definition", std::string()).find(R"(workspace=~"$workspace")"),
        std::string::npos)
        << dashboard.file << ": $channel does not follow $workspace";
  }
}

TEST(GrafanaDashboardTest, QueriesUseOnlyDocumentedMetricsAndRecordingRules) {
  const auto documented = DocumentedMetrics();
  const auto rules = RecordingRules();
  for (const auto& dashboard : LoadDashboards()) {
    if (dashboard.doc.is_discarded()) continue;
    size_t checked = 0;
    for (const auto& panel : AllPanels(dashboard.doc)) {
      for (const auto& expr : Expressions(panel)) {
        const auto selectors = Selectors(expr);
        EXPECT_FALSE(selectors.empty()) << Where(dashboard, panel) << ": no metric in " << expr;
        for (const auto& selector : selectors) {
          ++checked;
          if (rules.count(selector.name) != 0 || documented.count(selector.name) != 0) continue;
          bool histogram_series = false;
          for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
            const auto& name = selector.name;
            if (name.size() > suffix.size() &&
                name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
              const auto it = documented.find(name.substr(0, name.size() - suffix.size()));
              histogram_series =
                  histogram_series || (it != documented.end() && it->second.type == "histogram");
            }
          }
          EXPECT_TRUE(histogram_series) << Where(dashboard, panel) << ": " << selector.name
                                        << " is neither in docs/metrics.md nor a recording rule";
        }
      }
    }
    EXPECT_GT(checked, 0u) << dashboard.file;
  }
}

TEST(GrafanaDashboardTest, QueriesFilterByTheSelectedWorkspaceChannelAndDirection) {
  const auto documented = DocumentedMetrics();
  const auto rules = RecordingRules();
  const auto labels_of = [&](const std::string& name) {
    std::set<std::string> labels;
    if (rules.count(name) != 0 || name.rfind("workspace_channel", 0) == 0) {
      labels = {"workspace", "channel"};
      if (name.rfind("workspace_channel_direction:", 0) == 0) labels.insert("direction");
      return labels;
    }
    auto it = documented.find(name);
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (it == documented.end() && name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        it = documented.find(name.substr(0, name.size() - suffix.size()));
      }
    }
    if (it != documented.end()) labels = it->second.labels;
    return labels;
  };
  for (const auto& dashboard : LoadDashboards()) {
    if (dashboard.doc.is_discarded()) continue;
    for (const auto& panel : AllPanels(dashboard.doc)) {
      for (const auto& expr : Expressions(panel)) {
        for (const auto& selector : Selectors(expr)) {
          for (const std::string label : {"workspace", "channel", "direction"}) {
            if (labels_of(selector.name).count(label) == 0) continue;
            const std::string filter = label + R"(=~"$)" + label + R"(")";
            EXPECT_NE(selector.matchers.value_or("").find(filter), std::string::npos)
                << Where(dashboard, panel) << ": " << selector.name << " lacks " << filter << " in "
                << expr;
          }
        }
      }
    }
  }
}

// Several exporters (shards, regions, a staging one) can feed one Prometheus: every selector of
// an exporter metric filters on the selected job and instance, and so do the variables. The
// recording rules aggregate job and instance away.
TEST(GrafanaDashboardTest, QueriesAndVariablesFilterByTheSelectedJobAndInstance) {
  for (const auto& dashboard : LoadDashboards()) {
    if (dashboard.doc.is_discarded()) continue;
    std::size_t filtered = 0;
    for (const auto& panel : AllPanels(dashboard.doc)) {
      for (const auto& expr : Expressions(panel)) {
        for (const auto& selector : Selectors(expr)) {
          if (selector.name.find(':') != std::string::npos) continue;
          for (const std::string label : {"job", "instance"}) {
            const std::string filter = label + R"(=~"$)" + label + R"(")";
            EXPECT_NE(selector.matchers.value_or("").find(filter), std::string::npos)
                << Where(dashboard, panel) << ": " << selector.name << " lacks " << filter << " in "
                << expr;
          }
          ++filtered;
        }
      }
    }
    EXPECT_GT(filtered, 10u) << dashboard.file;
    for (const auto& variable : dashboard.doc["templating"]["list"]) {
      const std::string name = variable.value("name", std::string());
      if (name != "workspace" && name != "channel" && name != "direction") continue;
      const std::string definition = variable.value("definition", std::string());
      EXPECT_NE(definition.find(R"(job=~"$job", instance=~"$instance")"), std::string::npos)
          << dashboard.file << " $" << name << ": " << definition;
    }
  }
}

TEST(GrafanaDashboardTest, RangeVectorsUseGrafanaIntervals) {
  const std::regex range(R"(\[([^\]]*)\])");
  for (const auto& dashboard : LoadDashboards()) {
    if (dashboard.doc.is_discarded()) continue;
    for (const auto& panel : AllPanels(dashboard.doc)) {
      for (const auto& expr : Expressions(panel)) {
        for (auto it = std::sregex_iterator(expr.begin(), expr.end(), range);
             it != std::sregex_iterator(); ++it) {
          const std::string window = (*it)[1];
          EXPECT_TRUE(window == "$__rate_interval" || window == "$__range")
              << Where(dashboard, panel) << ": fixed window [" << window << "] in " << expr;
        }
      }
    }
  }
}

// Thresholds drawn by a panel, or by a table column (an override matched by name), with the
// title or column name they belong to.
struct ThresholdOwner {
  std::string where;
  std::string name;
  std::vector<double> values;  // the non-base steps
};

std::vector<double> StepValues(const json& thresholds) {
  std::vector<double> values;
  if (!thresholds.contains("steps")) return values;
  for (const auto& step : thresholds["steps"]) {
    if (step.contains("value") && step["value"].is_number())
      values.push_back(step["value"].get<double>());
  }
  return values;
}

std::vector<ThresholdOwner> ThresholdOwners(const Dashboard& dashboard) {
  std::vector<ThresholdOwner> owners;
  for (const auto& panel : AllPanels(dashboard.doc)) {
    if (!panel.contains("fieldConfig")) continue;
    const auto& config = panel["fieldConfig"];
    const auto where = Where(dashboard, panel);
    if (config.contains("defaults") && config["defaults"].contains("thresholds")) {
      owners.push_back({where, panel.value("title", std::string()),
                        StepValues(config["defaults"]["thresholds"])});
    }
    if (!config.contains("overrides")) continue;
    for (const auto& override_ : config["overrides"]) {
      if (override_["matcher"].value("id", std::string()) != "byName") continue;
      for (const auto& property : override_["properties"]) {
        if (property.value("id", std::string()) == "thresholds") {
          const auto column = override_["matcher"].value("options", std::string());
          owners.push_back(
              {where + " column \"" + column + "\"", column, StepValues(property["value"])});
        }
      }
    }
  }
  return owners;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

void ExpectSteps(const ThresholdOwner& owner, std::vector<double> expected) {
  auto values = owner.values;
  std::sort(values.begin(), values.end());
  std::sort(expected.begin(), expected.end());
  ASSERT_EQ(values.size(), expected.size()) << owner.where;
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_NEAR(values[i], expected[i], 1e-9) << owner.where;
  }
}

TEST(GrafanaDashboardTest, ThresholdsMatchTheAlertThresholds) {
  const std::regex asr(R"(\bASR\b)");
  const std::regex ner(R"(\bNER\b)");
  for (const auto& dashboard : LoadDashboards()) {
    if (dashboard.doc.is_discarded()) continue;
    std::map<std::string, int> found;
    for (const auto& owner : ThresholdOwners(dashboard)) {
      const auto& name = owner.name;
      if (Contains(name, "PDD") && Contains(name, "p95")) {
        ExpectSteps(owner, {3, 5});  // warning above 3 s, critical above 5 s
        ++found["pdd"];
      } else if (Contains(name, "MOS " + kLessOrEqual + " 3.6") ||
                 Contains(name, "MOS " + kLessOrEqual + " 3.1")) {
        ExpectSteps(owner, {0.05});  // more than 5 % of the calls
        ++found["mos"];
      } else if (Contains(Lower(name), "inbound media") && !Contains(name, "per second")) {
        ExpectSteps(owner, {0.1});  // more than 10 % of the answered calls
        ++found["no_inbound_media"];
      } else if (std::regex_search(name, asr)) {
        ExpectSteps(owner, {0.3});  // ASR below 30 %
        ++found["asr"];
      } else if (std::regex_search(name, ner)) {
        ExpectSteps(owner, {0.9});  // NER below 90 %
        ++found["ner"];
      } else if (Contains(Lower(name), "successful poll")) {
        ExpectSteps(owner, {300});  // BirdChannelNotPolled: no successful poll for 5 minutes
        ++found["poll_age"];
      } else if (Contains(name, "API requests failing")) {
        ExpectSteps(owner, {0.1});  // BirdApiErrors: more than 10 % of the requests
        ++found["api_errors"];
      }
    }
    const std::string uid = dashboard.doc.value("uid", std::string());
    if (uid == "bird-calls-overview") {
      for (const std::string kind : {"pdd", "mos", "no_inbound_media", "asr", "ner"}) {
        EXPECT_GT(found[kind], 0) << dashboard.file << " has no " << kind << " panel";
      }
    }
    if (uid == "bird-exporter-health") {
      for (const std::string kind : {"poll_age", "api_errors"}) {
        EXPECT_GT(found[kind], 0) << dashboard.file << " has no " << kind << " panel";
      }
    }
  }
}

// Whole words of a title; std::regex's \b is unreliable here ("duration" must not match "ratio").
bool HasWord(const std::string& title, const std::set<std::string>& words) {
  std::string word;
  for (char c : title + " ") {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += c;
    } else {
      if (words.count(word) > 0) return true;
      word.clear();
    }
  }
  return false;
}

TEST(GrafanaDashboardTest, RatioAndSecondsPanelsCarryUnits) {
  const std::set<std::string> ratio_words = {"ASR", "NER", "Share", "share", "Ratio", "ratio"};
  const std::set<std::string> seconds_words = {"PDD",     "ACD",      "Latency",
                                               "latency", "Duration", "duration"};
  for (const auto& dashboard : LoadDashboards()) {
    if (dashboard.doc.is_discarded()) continue;
    for (const auto& panel : AllPanels(dashboard.doc)) {
      const std::string type = panel.value("type", std::string());
      if (type == "row" || type == "heatmap" || type == "table" || !panel.contains("fieldConfig")) {
        continue;
      }
      const std::string title = panel.value("title", std::string());
      const std::string unit = panel["fieldConfig"]["defaults"].value("unit", std::string());
      if (HasWord(title, ratio_words)) {
        EXPECT_EQ(unit, "percentunit") << Where(dashboard, panel);
      } else if (HasWord(title, seconds_words)) {
        EXPECT_EQ(unit, "s") << Where(dashboard, panel);
      }
    }
  }
}

}  // namespace
}  // namespace bird_exporter
