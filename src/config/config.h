// The exporter's YAML configuration and the small settings structs handed to each part.
// ParseConfig is pure: the environment and file reads are injected.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/duration.h"

namespace bird_exporter {

struct BirdSettings {
  std::string base_url = "https://api.bird.com";
  std::string access_key;       // resolved secret (from access_key or access_key_file)
  std::string access_key_file;  // path, when the key came from a file
  // The environment variables `access_key` was expanded from (${NAME}), to be scrubbed.
  std::vector<std::string> access_key_variables;
  Duration request_timeout = std::chrono::seconds(10);
  double max_requests_per_second = 20;  // per workspace: the ceiling of the adaptive budget
  int max_concurrent_requests = 8;
  int max_retries = 3;                          // retries after the first attempt, per request
  int page_size = 1000;                         // `limit` sent on list requests (1-1000)
  std::size_t max_list_body_size = 4u << 20;    // bytes of one list page, at most
  std::size_t max_call_body_size = 256u << 10;  // bytes of one call or its insights, at most
  bool operator==(const BirdSettings&) const = default;
};

// Which ended calls get an insights request: every call, only answered calls whose list MOS is
// below poll.poor_mos_threshold or missing, or none (counted from the call list alone).
enum class InsightsMode { kAll, kPoor, kNone };
std::string_view ToString(InsightsMode mode);

struct PollSettings {
  Duration interval = std::chrono::seconds(30);
  // Each poll lists back to shortly before the newest call the previous poll saw: late list
  // entries and clock differences within this margin are still found.
  Duration list_overlap = std::chrono::seconds(10);
  InsightsMode insights = InsightsMode::kAll;
  double poor_mos_threshold = 3.6;
  Duration initial_lookback = std::chrono::minutes(10);
  Duration insights_grace_period = std::chrono::minutes(15);
  Duration max_call_age = std::chrono::hours(6);
  bool operator==(const PollSettings&) const = default;
};

// The optional labels of each group of call families, besides workspace, channel and direction
// (docs/metrics.md lists the families of each group). Label names: call_type, country,
// provider, edge_region, codec (codec only where insights media metrics are observed).
struct MetricDimensions {
  std::vector<std::string> outcome = {"country", "provider"};
  std::vector<std::string> setup = {"country", "provider"};
  std::vector<std::string> answer = {};
  std::vector<std::string> duration = {};
  std::vector<std::string> quality = {"codec"};
  std::vector<std::string> media = {};
  std::vector<std::string> poor = {"provider"};
  bool operator==(const MetricDimensions&) const = default;

  // Each group with its name in metrics.dimensions, in the order of the section.
  template <typename Self>
  static auto Groups(Self& d) {
    return std::array{std::pair{std::string_view("outcome"), &d.outcome},
                      std::pair{std::string_view("setup"), &d.setup},
                      std::pair{std::string_view("answer"), &d.answer},
                      std::pair{std::string_view("duration"), &d.duration},
                      std::pair{std::string_view("quality"), &d.quality},
                      std::pair{std::string_view("media"), &d.media},
                      std::pair{std::string_view("poor"), &d.poor}};
  }
};

// When an answered call counts as poor, and for which reason (kpis.md, after Twilio's tags).
struct PoorCallThresholds {
  double mos_below = 3.5;
  double packet_loss_above = 0.05;  // ratio
  Duration jitter_above = std::chrono::milliseconds(30);
  Duration pdd_above = std::chrono::seconds(5);
  // One-way audio or no media are told only on calls answered at least this long.
  Duration media_min_duration = std::chrono::seconds(5);
  bool operator==(const PoorCallThresholds&) const = default;
};

struct MetricsSettings {
  MetricDimensions dimensions;
  PoorCallThresholds poor_call;
  bool operator==(const MetricsSettings&) const = default;
};

struct ChannelConfig {
  std::string id;
  std::string name;  // label value; defaults to id
  bool operator==(const ChannelConfig&) const = default;
};

struct WorkspaceConfig {
  std::string id;
  std::string name;  // label value; defaults to id
  std::vector<ChannelConfig> channels;
  bool operator==(const WorkspaceConfig&) const = default;
};

struct Config {
  BirdSettings bird;
  PollSettings poll;
  MetricsSettings metrics;
  std::string state_file;  // empty: no persistence
  std::vector<WorkspaceConfig> workspaces;
};

// Startup error naming the key and the line, e.g.
// "config: bird.request_timeout (line 4): invalid duration \"10 seconds\"".
// Never contains a secret value.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Returns the value of an environment variable, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
// Returns the contents of a file, or throws std::runtime_error with a reason.
using FileReader = std::function<std::string(const std::string&)>;

// Parses and validates YAML text: defaults applied, unknown keys rejected, ${VAR} expanded,
// access_key_file read through `read_file`. Throws ConfigError.
Config ParseConfig(std::string_view yaml_text, const EnvLookup& env, const FileReader& read_file);

// Reads `path` and parses it with the process environment. Throws ConfigError.
Config LoadConfigFile(const std::string& path);

// Wipes the values of the access key's environment variables where they lie in memory (also
// what /proc/<pid>/environ shows) and removes them from the environment. LoadConfigFile still
// expands them to the same values, for reloads.
void ScrubAccessKeyEnvironment(const BirdSettings& bird);

// One line, secrets redacted: "base_url=https://api.bird.com access_key=<redacted> ...".
std::string SummarizeConfig(const Config& config);

}  // namespace bird_exporter
