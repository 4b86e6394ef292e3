#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <utility>

#include "config/yaml_fields.h"

namespace bird_exporter {
namespace {

constexpr std::string_view kRedacted = "<redacted>";

std::string Quoted(const std::string& text) { return "\"" + text + "\""; }

// Every occurrence of `from` in `text` replaced by `to`, left to right.
std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

std::string Redact(const std::string& text, const std::string& secret) {
  return secret.empty() ? text : Replace(text, secret, std::string(kRedacted));
}

std::string Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return "";
  return std::string(text.substr(begin, text.find_last_not_of(kSpace) - begin + 1));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNameStart(char c) { return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsNameChar(char c) { return IsNameStart(c) || IsDigit(c); }

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  if (!host.starts_with("127.")) return false;
  int parts = 0;
  for (size_t pos = 0; pos <= host.size(); ++parts) {
    const size_t dot = std::min(host.find('.', pos), host.size());
    int octet = -1;
    const auto [end, ec] = std::from_chars(host.data() + pos, host.data() + dot, octet);
    if (ec != std::errc() || end != host.data() + dot || octet > 255) return false;
    pos = dot + 1;
  }
  return parts == 4;
}

using yaml::Field;
using yaml::Mapping;

const std::vector<std::string_view> kTopKeys = {"bird", "poll", "metrics", "state_file",
                                                "workspaces"};
const std::vector<std::string_view> kBirdKeys = {"base_url",
                                                 "access_key",
                                                 "access_key_file",
                                                 "request_timeout",
                                                 "max_requests_per_second",
                                                 "max_concurrent_requests",
                                                 "max_retries",
                                                 "page_size",
                                                 "max_list_body_size",
                                                 "max_call_body_size"};
const std::vector<std::string_view> kPollKeys = {
    "interval",     "initial_lookback", "insights_grace_period", "max_call_age",
    "list_overlap", "insights",         "poor_mos_threshold"};

const std::vector<std::string_view> kMetricsKeys = {"dimensions", "poor_call"};
const std::vector<std::string_view> kDimensionGroups = {"outcome", "setup", "answer", "duration",
                                                        "quality", "media", "poor"};
const std::vector<std::string_view> kPoorCallKeys = {
    "mos_below", "packet_loss_above", "jitter_above", "pdd_above", "media_min_duration"};
const std::vector<std::string_view> kDimensions = {"call_type", "country", "provider",
                                                   "edge_region", "codec"};
// The codec is what insights media metrics say; these groups are observed from them.
const std::vector<std::string_view> kCodecGroups = {"quality", "media"};

// The sections at a fixed place, for suggesting a key written in the wrong one.
const std::pair<std::string, const std::vector<std::string_view>&> kSections[] = {
    {"", kTopKeys},
    {"bird", kBirdKeys},
    {"poll", kPollKeys},
    {"metrics", kMetricsKeys},
    {"metrics.dimensions", kDimensionGroups},
    {"metrics.poor_call", kPoorCallKeys}};

// At most this many errors are listed; a file that broken needs a look from the top anyway.
constexpr std::size_t kMaxErrors = 20;

class Parser {
 public:
  Parser(const EnvLookup& env, const FileReader& read_file) : env_(env), read_file_(read_file) {}

  Config Parse(std::string_view text) {
    YAML::Node root;
    try {
      root = yaml::Load(text);
    } catch (const yaml::SyntaxError& e) {
      throw ConfigError(std::string("config: ") + e.what());
    }
    if (root.IsNull()) throw ConfigError("config: document is empty");
    const Field top = yaml::Root(root);
    if (!root.IsMap()) {
      throw ConfigError("config: line " + std::to_string(top.line) +
                        ": top level must be a mapping");
    }
    Config config;
    Check([&] {
      const Mapping m = MappingOf(top, kTopKeys);
      // Bird first: once the access key is known, every later message is scrubbed of it.
      Check([&] { ParseBird(Require(m, "bird"), config.bird); });
      Check([&] {
        if (const Field* f = m.Find("poll")) ParsePoll(*f, config.poll);
      });
      Check([&] {
        if (const Field* f = m.Find("metrics")) ParseMetrics(*f, config.metrics);
      });
      Check([&] {
        if (const Field* f = m.Find("state_file")) config.state_file = String(*f);
      });
      Check([&] { config.workspaces = ParseWorkspaces(Require(m, "workspaces")); });
    });
    if (!errors_.empty()) {
      // By line, as a reader goes through the file; the first error of a line first.
      std::stable_sort(errors_.begin(), errors_.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      std::string text;
      for (std::size_t i = 0; i < errors_.size() && i < kMaxErrors; ++i) {
        text += (i == 0 ? "" : "\n") + errors_[i].second;
      }
      if (errors_.size() > kMaxErrors) {
        text += "\nconfig: " + std::to_string(errors_.size() - kMaxErrors) + " more errors";
      }
      // A value quoted back names its variables rather than what they hold: a variable may
      // hold a secret (`${BIRD_ACCESS_KEY}` written under another key than access_key).
      for (const auto& [expanded, raw] : quoted_expansions_) text = Replace(text, expanded, raw);
      text = Redact(text, secret_);
      // Without a resolved access key (and no key file, where it would be instead), any
      // variable may have held it (`${BIRD_ACCESS_KEY}` written under another key): no
      // expanded value is quoted back.
      if (secret_.empty() && !key_in_file_) {
        for (const std::string& value : expanded_values_) text = Redact(text, value);
      }
      throw ConfigError(text);
    }
    return config;
  }

 private:
  void Note(const yaml::FieldError& e) const {
    errors_.push_back({e.line(), std::string("config: ") + e.what()});
  }
  void Note(int line, const std::string& path, const std::string& reason) const {
    Note(yaml::FieldError(line, path, reason));
  }
  [[noreturn]] static void Fail(int line, const std::string& path, const std::string& reason) {
    yaml::Fail(line, path, reason);
  }
  [[noreturn]] static void Fail(const Field& f, const std::string& reason) {
    yaml::Fail(f, reason);
  }

  // Runs one independent step (a key, a list item); its error is recorded and the parse goes
  // on, so that a check reports every error of the file at once.
  template <typename Step>
  void Check(Step step) const {
    try {
      step();
    } catch (const yaml::FieldError& e) {
      Note(e);
    }
  }

  // Unknown, repeated and non-string keys are reported and left out; the other keys are still
  // read.
  Mapping MappingOf(const Field& f, const std::vector<std::string_view>& allowed) const {
    return yaml::MappingOf(
        f, allowed, [this](const yaml::FieldError& e) { Note(e); }, {},
        [&allowed](const std::string& parent, std::string_view key) {
          return NearestKey(parent, key, allowed);
        });
  }

  // The valid key closest to `key`: among the keys of this mapping, or the same name in another
  // section (`interval` under bird: poll.interval). Empty when nothing is close.
  static std::string NearestKey(const std::string& parent, std::string_view key,
                                const std::vector<std::string_view>& allowed) {
    // A typo is at most a third of the name (and at least one edit); on a tie the key of this
    // mapping wins (it is tried first, and only a strictly closer key replaces the best).
    const std::size_t budget = std::max<std::size_t>(1, key.size() / 3);
    std::string_view best_section;
    std::string_view best_key;
    std::size_t best_distance = budget + 1;
    const auto consider = [&](std::string_view section, std::string_view candidate) {
      const std::size_t d = yaml::EditDistance(key, candidate, best_distance);
      if (d < best_distance) {
        best_section = section;
        best_key = candidate;
        best_distance = d;
      }
    };
    for (std::string_view k : allowed) consider(parent, k);
    for (const auto& [section, keys] : kSections) {
      if (section == parent) continue;
      for (std::string_view k : keys) consider(section, k);
    }
    if (best_key.empty()) return "";
    return yaml::Join(std::string(best_section), best_key);
  }

  static const Field& Require(const Mapping& m, std::string_view key) {
    return yaml::Require(m, key);
  }
  static std::vector<Field> Items(const Field& f) { return yaml::Items(f); }
  static std::string Join(const std::string& parent, std::string_view key) {
    return yaml::Join(parent, key);
  }

  // The scalar with ${VAR} expanded; `what` describes the expected kind for the error.
  std::string Scalar(const Field& f, const std::string& what) const {
    if (f.node.IsNull()) Fail(f, "is empty; expected " + what);
    if (!f.node.IsScalar()) Fail(f, "expected " + what);
    const std::string& raw = f.node.Scalar();
    std::string out;
    size_t pos = 0;
    for (size_t start; (start = raw.find("${", pos)) != std::string::npos;) {
      out.append(raw, pos, start - pos);
      const size_t close = raw.find('}', start);
      const std::string name =
          close == std::string::npos ? "" : raw.substr(start + 2, close - start - 2);
      // The text is not quoted back: it may be (part of) the access key.
      if (name.empty() || !IsNameStart(name[0]) ||
          !std::all_of(name.begin(), name.end(), IsNameChar)) {
        Fail(f, "invalid environment variable reference; expected ${NAME}");
      }
      const std::optional<std::string> value = env_(name);
      if (!value) Fail(f, "environment variable " + name + " is not set");
      expanded_.push_back(name);
      if (!value->empty()) expanded_values_.push_back(*value);
      out += *value;
      pos = close + 1;
    }
    out.append(raw, pos);
    if (pos != 0 && !out.empty()) quoted_expansions_.push_back({Quoted(out), Quoted(raw)});
    return out;
  }

  std::string String(const Field& f) const { return Scalar(f, "a string"); }

  std::string NonEmptyString(const Field& f) const {
    std::string value = String(f);
    if (value.empty()) Fail(f, "is empty");
    return value;
  }

  int Integer(const Field& f, int min, int max) const {
    return yaml::IntegerIn(f, Scalar(f, "an integer"), min, max);
  }

  double Number(const Field& f) const { return yaml::Number(f, Scalar(f, "a number")); }

  Duration DurationValue(const Field& f) const {
    const std::string text = Scalar(f, "a duration");
    const std::optional<Duration> d = ParseDuration(text);
    if (!d) {
      Fail(f, "invalid duration \"" + text +
                  "\"; use a whole number with a unit, largest first: 500ms, 30s, 5m, 1h30m, 7d");
    }
    return *d;
  }

  Duration PositiveDuration(const Field& f) const {
    const Duration d = DurationValue(f);
    if (d <= Duration::zero()) Fail(f, "must be greater than 0s");
    return d;
  }

  // Ids go into request paths, so anything that could change the path is refused.
  std::string Id(const Field& f) const {
    std::string id = NonEmptyString(f);
    if (!std::all_of(id.begin(), id.end(), [](char c) { return IsNameChar(c) || c == '-'; })) {
      Fail(f, "id \"" + id + "\" may contain only letters, digits, '-' and '_'");
    }
    return id;
  }

  void ParseBird(const Field& field, BirdSettings& bird) {
    const Mapping m = MappingOf(field, kBirdKeys);
    Check([&] { ResolveAccessKey(m, bird); });
    // Each key on its own: an error in one does not hide the next.
    const auto key = [&](std::string_view name, const auto& read) {
      if (const Field* f = m.Find(name)) Check([&] { read(*f); });
    };
    key("base_url", [&](const Field& f) { bird.base_url = BaseUrl(f); });
    key("request_timeout", [&](const Field& f) { bird.request_timeout = PositiveDuration(f); });
    key("max_requests_per_second", [&](const Field& f) {
      bird.max_requests_per_second = Number(f);
      // Bird allows 50 GET requests per second per workspace; more only earns 429s.
      if (!(bird.max_requests_per_second > 0 && bird.max_requests_per_second <= 50)) {
        Fail(f, "must be greater than 0 and at most 50");
      }
    });
    key("max_concurrent_requests",
        [&](const Field& f) { bird.max_concurrent_requests = Integer(f, 1, 64); });
    key("max_retries", [&](const Field& f) { bird.max_retries = Integer(f, 0, 10); });
    key("page_size", [&](const Field& f) { bird.page_size = Integer(f, 1, 1000); });
    key("max_list_body_size",
        [&](const Field& f) { bird.max_list_body_size = Size(f, 64u << 10, 256u << 20); });
    key("max_call_body_size",
        [&](const Field& f) { bird.max_call_body_size = Size(f, 16u << 10, 64u << 20); });
  }

  // A size in bytes, or with a binary unit: 262144, 256KiB, 4MiB.
  std::size_t Size(const Field& f, std::size_t min, std::size_t max) const {
    const std::string text = Scalar(f, "a size");
    unsigned long long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    unsigned long long factor = 0;
    if (unit.empty() || unit == "B") factor = 1;
    if (unit == "KiB") factor = 1ull << 10;
    if (unit == "MiB") factor = 1ull << 20;
    if (ec != std::errc() || end == text.data() || factor == 0) {
      Fail(f, "expected a size such as 4MiB, 256KiB or 262144 (bytes)");
    }
    if (value > max / factor || value * factor < min || value * factor > max) {
      Fail(f, "must be between " + std::to_string(min >> 10) + "KiB and " +
                  std::to_string(max >> 20) + "MiB");
    }
    return static_cast<std::size_t>(value * factor);
  }

  void ResolveAccessKey(const Mapping& m, BirdSettings& bird) {
    const Field* key = m.Find("access_key");
    const Field* file = m.Find("access_key_file");
    if (key && file) Fail(*file, "cannot be combined with access_key");
    if (key) {
      expanded_.clear();
      bird.access_key = String(*key);
      bird.access_key_variables = expanded_;
      if (bird.access_key.empty()) Fail(*key, "is empty");
    } else if (file) {
      key_in_file_ = true;
      bird.access_key_file = NonEmptyString(*file);
      std::string contents;
      try {
        contents = read_file_(bird.access_key_file);
      } catch (const std::exception& e) {
        Fail(*file, "cannot read " + Quoted(bird.access_key_file) + ": " + e.what());
      }
      bird.access_key = Trim(contents);
      if (bird.access_key.empty()) Fail(*file, Quoted(bird.access_key_file) + " is empty");
    } else {
      Fail(m.self.line, Join(m.self.path, "access_key"),
           "required key missing (or set access_key_file)");
    }
    secret_ = bird.access_key;
  }

  // The access key travels in a header, so plain http is only for a local proxy or test server.
  std::string BaseUrl(const Field& f) const {
    std::string url = String(f);
    const auto bad = [&](const std::string& why) {
      Fail(f, "invalid URL \"" + url + "\": " + why);
    };
    const bool https = url.starts_with("https://");
    if (!https && !url.starts_with("http://")) bad("must start with http:// or https://");
    const std::string_view rest = std::string_view(url).substr(https ? 8 : 7);
    const std::string_view authority = rest.substr(0, rest.find('/'));
    // Not quoted back: credentials would also end up in logs and the startup summary.
    if (authority.find('@') != std::string_view::npos) Fail(f, "must not contain credentials");
    if (rest.find_first_of("?#") != std::string_view::npos) {
      bad("must not have a query or fragment");
    }
    // The port follows the last ':' unless that ':' is inside an IPv6 literal's brackets.
    const size_t colon = authority.rfind(':');
    const bool has_port =
        colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos;
    std::string host(has_port ? authority.substr(0, colon) : authority);
    const std::string_view port = has_port ? authority.substr(colon + 1) : "";
    if (host.empty()) bad("missing host");
    if (has_port && (port.empty() || !std::all_of(port.begin(), port.end(), IsDigit))) {
      bad("invalid port");
    }
    for (char& c : host) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (!https && !IsLoopbackHost(host)) {
      Fail(f,
           "plain http:// is only allowed for a loopback host (localhost, 127.0.0.0/8, [::1]); "
           "use https://");
    }
    while (url.ends_with('/')) url.pop_back();
    return url;
  }

  void ParseMetrics(const Field& field, MetricsSettings& metrics) const {
    const Mapping m = MappingOf(field, kMetricsKeys);
    if (const Field* f = m.Find("dimensions")) {
      const Mapping groups = MappingOf(*f, kDimensionGroups);
      for (const auto& group : MetricDimensions::Groups(metrics.dimensions)) {
        // A pair, not a structured binding: clang before 16 cannot capture one in a lambda.
        if (const Field* g = groups.Find(group.first)) {
          Check([&] { *group.second = Dimensions(*g, group.first); });
        }
      }
    }
    if (const Field* f = m.Find("poor_call")) {
      const Mapping p = MappingOf(*f, kPoorCallKeys);
      PoorCallThresholds& t = metrics.poor_call;
      const auto key = [&](std::string_view name, const auto& read) {
        if (const Field* k = p.Find(name)) Check([&] { read(*k); });
      };
      key("mos_below", [&](const Field& k) {
        t.mos_below = Number(k);
        if (!(t.mos_below >= 1 && t.mos_below <= 5)) Fail(k, "must be between 1 and 5");
      });
      key("packet_loss_above", [&](const Field& k) {
        t.packet_loss_above = Number(k);
        if (!(t.packet_loss_above >= 0 && t.packet_loss_above < 1)) {
          Fail(k, "must be a ratio from 0 to below 1 (0.05 is 5%)");
        }
      });
      key("jitter_above", [&](const Field& k) { t.jitter_above = PositiveDuration(k); });
      key("pdd_above", [&](const Field& k) { t.pdd_above = PositiveDuration(k); });
      key("media_min_duration", [&](const Field& k) { t.media_min_duration = DurationValue(k); });
    }
  }

  // A list of distinct dimension names that the group can carry.
  std::vector<std::string> Dimensions(const Field& f, std::string_view group) const {
    std::vector<std::string> labels;
    for (const Field& item : Items(f)) {
      Check([&] {
        const std::string name = String(item);
        if (std::find(kDimensions.begin(), kDimensions.end(), name) == kDimensions.end()) {
          Fail(item, "unknown dimension " + Quoted(name) +
                         "; expected call_type, country, provider, edge_region or codec");
        }
        if (name == "codec" &&
            std::find(kCodecGroups.begin(), kCodecGroups.end(), group) == kCodecGroups.end()) {
          Fail(item,
               "codec is known only from insights media metrics; it can be a dimension "
               "of quality and media, not of " +
                   std::string(group));
        }
        if (std::find(labels.begin(), labels.end(), name) != labels.end()) {
          Fail(item, "dimension " + Quoted(name) + " is listed twice");
        }
        labels.push_back(name);
      });
    }
    return labels;
  }

  void ParsePoll(const Field& field, PollSettings& poll) const {
    const Mapping m = MappingOf(field, kPollKeys);
    const auto key = [&](std::string_view name, const auto& read) {
      bool ok = false;
      if (const Field* f = m.Find(name)) {
        Check([&] {
          read(*f);
          ok = true;
        });
      }
      return ok;
    };
    const Field* interval = m.Find("interval");
    const Field* max_age = m.Find("max_call_age");
    bool timing_ok = key("interval", [&](const Field& f) { poll.interval = PositiveDuration(f); });
    timing_ok = interval == nullptr || timing_ok;
    key("initial_lookback", [&](const Field& f) { poll.initial_lookback = DurationValue(f); });
    key("insights_grace_period",
        [&](const Field& f) { poll.insights_grace_period = DurationValue(f); });
    const bool age_ok =
        key("max_call_age", [&](const Field& f) { poll.max_call_age = DurationValue(f); });
    timing_ok = timing_ok && (max_age == nullptr || age_ok);
    key("list_overlap", [&](const Field& f) {
      poll.list_overlap = DurationValue(f);
      if (poll.list_overlap > std::chrono::minutes(10)) Fail(f, "must be at most 10m");
    });
    key("insights", [&](const Field& f) {
      const std::string mode = String(f);
      if (mode == "all") {
        poll.insights = InsightsMode::kAll;
      } else if (mode == "poor") {
        poll.insights = InsightsMode::kPoor;
      } else if (mode == "none") {
        poll.insights = InsightsMode::kNone;
      } else {
        Fail(f, "must be one of all, poor, none (got \"" + mode + "\")");
      }
    });
    key("poor_mos_threshold", [&](const Field& f) {
      poll.poor_mos_threshold = Number(f);
      if (!(poll.poor_mos_threshold >= 1 && poll.poor_mos_threshold <= 5)) {
        Fail(f, "must be between 1 and 5");
      }
    });
    // Calls are followed for at most max_call_age; less than one interval would give them up
    // before the next poll could look at them again. Only checked when both are readable.
    if (timing_ok && poll.max_call_age < poll.interval) {
      if (max_age) {
        Note(max_age->line, max_age->path,
             "must be at least poll.interval (" + FormatDuration(poll.interval) + ")");
      } else {
        // Only reachable with interval set: the defaults satisfy the rule.
        Note(interval->line, interval->path,
             "must not exceed poll.max_call_age (" + FormatDuration(poll.max_call_age) + ")");
      }
    }
  }

  std::vector<WorkspaceConfig> ParseWorkspaces(const Field& field) const {
    const std::vector<Field> items = Items(field);
    if (items.empty()) Fail(field, "must list at least one workspace");
    std::vector<WorkspaceConfig> workspaces;
    std::map<std::string, std::string> workspace_ids;  // id -> path of its first use
    // Two channels with the same labels would write into the same series.
    std::map<std::pair<std::string, std::string>, std::string> label_pairs;
    for (const Field& item : items) {
      Check([&] {
        const Mapping m = MappingOf(item, {"id", "name", "channels"});
        WorkspaceConfig& ws = workspaces.emplace_back();
        bool named = true;
        Check([&] {
          const Field& id = Require(m, "id");
          ws.id = Id(id);
          if (const auto [it, added] = workspace_ids.emplace(ws.id, item.path); !added) {
            Fail(id, "duplicate workspace id \"" + ws.id + "\" (also used by " + it->second + ")");
          }
        });
        Check([&] {
          named = false;
          const Field* name = m.Find("name");
          ws.name = name ? NonEmptyString(*name) : ws.id;
          named = !ws.name.empty();
        });
        Check([&] { ParseChannels(Require(m, "channels"), ws, named, label_pairs); });
      });
    }
    return workspaces;
  }

  // `named`: the workspace has a usable name, so its label pairs can be compared.
  void ParseChannels(
      const Field& channels_field, WorkspaceConfig& ws, bool named,
      std::map<std::pair<std::string, std::string>, std::string>& label_pairs) const {
    const std::vector<Field> channels = Items(channels_field);
    if (channels.empty()) Fail(channels_field, "must list at least one channel");
    std::map<std::string, std::string> channel_ids;
    for (const Field& channel_item : channels) {
      Check([&] {
        const Mapping cm = MappingOf(channel_item, {"id", "name"});
        ChannelConfig& channel = ws.channels.emplace_back();
        Check([&] {
          const Field& channel_id = Require(cm, "id");
          channel.id = Id(channel_id);
          if (const auto [it, added] = channel_ids.emplace(channel.id, channel_item.path); !added) {
            Fail(channel_id,
                 "duplicate channel id \"" + channel.id + "\" (also used by " + it->second + ")");
          }
        });
        Check([&] {
          const Field* channel_name = cm.Find("name");
          channel.name = channel_name ? NonEmptyString(*channel_name) : channel.id;
          if (!named || channel.name.empty()) return;
          if (const auto [it, added] =
                  label_pairs.emplace(std::pair(ws.name, channel.name), channel_item.path);
              !added) {
            Fail(channel_item, "duplicate labels workspace=\"" + ws.name + "\" channel=\"" +
                                   channel.name + "\" (also used by " + it->second + ")");
          }
        });
      });
    }
  }

  const EnvLookup& env_;
  const FileReader& read_file_;
  std::string secret_;  // the resolved access key, scrubbed from every message once known
  mutable std::vector<std::string> expanded_;         // ${NAME}s of the scalar read last
  mutable std::vector<std::string> expanded_values_;  // every value a ${NAME} expanded to
  // "expanded" -> "raw" of every scalar with a ${NAME}, as an error message quotes it.
  mutable std::vector<std::pair<std::string, std::string>> quoted_expansions_;
  bool key_in_file_ = false;  // access_key_file is set: the key is never in a variable
  mutable std::vector<std::pair<int, std::string>> errors_;  // line, message
};

}  // namespace

Config ParseConfig(std::string_view yaml_text, const EnvLookup& env, const FileReader& read_file) {
  return Parser(env, read_file).Parse(yaml_text);
}

namespace {

// The access key's variables once scrubbed from the environment (ScrubAccessKeyEnvironment).
std::mutex scrubbed_mutex;
std::map<std::string, std::string> scrubbed_variables;

}  // namespace

void ScrubAccessKeyEnvironment(const BirdSettings& bird) {
  std::lock_guard lock(scrubbed_mutex);
  for (const std::string& name : bird.access_key_variables) {
    char* value = std::getenv(name.c_str());
    if (value == nullptr) continue;
    scrubbed_variables[name] = value;
    explicit_bzero(value, std::strlen(value));
    unsetenv(name.c_str());
  }
}

Config LoadConfigFile(const std::string& path) {
  std::string text;
  try {
    text = yaml::ReadWholeFile(path);
  } catch (const std::runtime_error& e) {
    throw ConfigError("config: cannot read " + path + ": " + e.what());
  }
  const EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    {
      std::lock_guard lock(scrubbed_mutex);
      const auto scrubbed = scrubbed_variables.find(name);
      if (scrubbed != scrubbed_variables.end()) return scrubbed->second;
    }
    const char* value = std::getenv(name.c_str());
    return value ? std::optional<std::string>(value) : std::nullopt;
  };
  return ParseConfig(text, env, yaml::ReadWholeFile);
}

std::string_view ToString(InsightsMode mode) {
  switch (mode) {
    case InsightsMode::kAll:
      return "all";
    case InsightsMode::kPoor:
      return "poor";
    case InsightsMode::kNone:
      return "none";
  }
  return "all";
}

std::string SummarizeConfig(const Config& config) {
  const BirdSettings& bird = config.bird;
  size_t channels = 0;
  for (const WorkspaceConfig& ws : config.workspaces) channels += ws.channels.size();
  std::ostringstream out;
  out << "base_url=" << bird.base_url << " access_key=" << kRedacted;
  if (!bird.access_key_file.empty()) out << " access_key_file=" << bird.access_key_file;
  out << " request_timeout=" << FormatDuration(bird.request_timeout)
      << " max_requests_per_second=" << bird.max_requests_per_second
      << " max_concurrent_requests=" << bird.max_concurrent_requests
      << " max_retries=" << bird.max_retries << " page_size=" << bird.page_size
      << " poll.interval=" << FormatDuration(config.poll.interval)
      << " poll.initial_lookback=" << FormatDuration(config.poll.initial_lookback)
      << " poll.insights_grace_period=" << FormatDuration(config.poll.insights_grace_period)
      << " poll.max_call_age=" << FormatDuration(config.poll.max_call_age)
      << " poll.list_overlap=" << FormatDuration(config.poll.list_overlap)
      << " poll.insights=" << ToString(config.poll.insights)
      << " poll.poor_mos_threshold=" << config.poll.poor_mos_threshold;
  for (const auto& [group, labels] : MetricDimensions::Groups(config.metrics.dimensions)) {
    out << " metrics.dimensions." << group << "=";
    for (std::size_t i = 0; i < labels->size(); ++i) out << (i ? "," : "") << (*labels)[i];
    if (labels->empty()) out << "(none)";
  }
  out << " state_file=" << (config.state_file.empty() ? "(none)" : config.state_file)
      << " workspaces=" << config.workspaces.size() << " channels=" << channels;
  // The key is never printed on purpose; this also covers it leaking in through another field.
  return Redact(out.str(), bird.access_key);
}

}  // namespace bird_exporter
