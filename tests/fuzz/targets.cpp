#include "fuzz/targets.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>

#include "bird/model.h"
#include "bird/rfc3339.h"
#include "config/config.h"
#include "config/duration.h"
#include "config/web_config.h"
#include "metrics/call_mapping.h"
#include "metrics/openmetrics.h"
#include "server/basic_auth.h"
#include "server/exposition.h"
#include "state/state.h"

namespace bird_exporter::fuzz {
namespace {

namespace http = boost::beast::http;

std::string_view Text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

void Require(bool condition, const char* promise) {
  if (!condition) throw InvariantBroken(promise);
}

void RequireSortedUnique(const std::vector<std::string>& fields) {
  for (std::size_t i = 1; i < fields.size(); ++i) {
    Require(fields[i - 1] < fields[i], "anomalies are sorted and each field is named once");
  }
}

void RequireInRange(const std::optional<double>& v, double min, double max, const char* promise) {
  if (v) Require(std::isfinite(*v) && *v >= min && *v <= max, promise);
}

// What an observation promises whatever Bird sent: every value it keeps is finite and within
// its field's range, so no histogram or counter can be driven to NaN or +Inf.
void CheckObservation(const CallObservation& obs) {
  RequireSortedUnique(obs.field_anomalies);
  constexpr double kCount = 9007199254740992.0;
  RequireInRange(obs.mos, 1, 5, "mos within 1-5");
  RequireInRange(obs.quality_ratio, 0, 1, "quality within 0-1");
  RequireInRange(obs.packet_loss_ratio, 0, 1, "loss within 0-1");
  RequireInRange(obs.duration_seconds, 0, 86400, "duration within a day");
  RequireInRange(obs.pdd_seconds, 0, 86400, "pdd within a day");
  for (const auto* flow : {&obs.packets, &obs.media_packets, &obs.dtmf_packets, &obs.bytes}) {
    RequireInRange(flow->in, 0, kCount, "counts within 2^53");
    RequireInRange(flow->out, 0, kCount, "counts within 2^53");
  }
  RequireInRange(obs.flaws, 0, kCount, "flaws within 2^53");
  for (const auto& v : {obs.jitter_min_seconds, obs.jitter_max_seconds, obs.jitter_burst_rate,
                        obs.mean_interval_seconds}) {
    RequireInRange(v, 0, 1e300, "finite and not negative");
  }
  Require(!obs.codec.empty() && obs.codec.size() <= 32, "codec label bounded");
}

void CheckCall(const Call& call) {
  Require(!call.id.empty(), "a parsed call has an id");
  RequireSortedUnique(call.anomalies);
  CheckObservation(MapCall(call, nullptr));
}

int ListPage(const std::uint8_t* data, std::size_t size) {
  try {
    const CallPage page = ParseCallPage(Text(data, size));
    for (const Call& call : page.calls) CheckCall(call);
  } catch (const ParseError&) {
  }
  return 0;
}

int SingleCall(const std::uint8_t* data, std::size_t size) {
  try {
    CheckCall(ParseSingleCall(Text(data, size)));
  } catch (const ParseError&) {
  }
  return 0;
}

int Insights(const std::uint8_t* data, std::size_t size) {
  try {
    const CallInsights insights = ParseCallInsights(Text(data, size));
    RequireSortedUnique(insights.call.anomalies);
    CheckObservation(MapCall(insights.call, &insights));
  } catch (const ParseError&) {
  }
  return 0;
}

int Rfc3339(const std::uint8_t* data, std::size_t size) {
  const auto t = ParseRfc3339(Text(data, size));
  if (t) {
    const auto again = ParseRfc3339(FormatRfc3339(*t));
    Require(again.has_value(), "a formatted time parses");
    Require(FormatRfc3339(*again) == FormatRfc3339(*t), "formatting is stable");
  }
  return 0;
}

int DurationText(const std::uint8_t* data, std::size_t size) {
  const auto d = ParseDuration(Text(data, size));
  if (d) {
    const auto again = ParseDuration(FormatDuration(*d));
    Require(again && *again == *d, "a formatted duration parses to itself");
  }
  return 0;
}

int ConfigYaml(const std::uint8_t* data, std::size_t size) {
  const EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "BIRD_ACCESS_KEY") return "fuzz-access-key-0123456789";
    if (name == "EMPTY") return "";
    return std::nullopt;
  };
  const FileReader read = [](const std::string& path) -> std::string {
    if (path == "/run/secrets/bird") return "fuzz-file-key-0123456789\n";
    throw std::runtime_error("No such file or directory");
  };
  try {
    const Config config = ParseConfig(Text(data, size), env, read);
    Require(!config.bird.access_key.empty(), "a valid config has a key");
    Require(SummarizeConfig(config).find(config.bird.access_key) == std::string::npos,
            "the summary never shows the key");
  } catch (const ConfigError& e) {
    // A key written into the file itself (as a key name, say) is the file's text, not a secret
    // the exporter resolved.
    const std::string_view text = Text(data, size);
    const std::string what = e.what();
    for (const char* key : {"fuzz-access-key-0123456789", "fuzz-file-key-0123456789"}) {
      if (text.find(key) != std::string_view::npos) continue;
      Require(what.find(key) == std::string::npos, "errors never show the key");
    }
  }
  return 0;
}

int WebConfigYaml(const std::uint8_t* data, std::size_t size) {
  try {
    // Files are named, never opened: every certificate and key "exists".
    const WebConfig config =
        ParseWebConfig(Text(data, size), "/etc/bird",
                       [](const std::string&, std::string_view) { return std::string(); });
    (void)SummarizeWebConfig(config);
    (void)WebConfigWarnings(config);
  } catch (const WebConfigError&) {
  }
  return 0;
}

// The JSON state file of version 1 and 2 (read once, to migrate it into the database).
int StateFile(const std::uint8_t* data, std::size_t size) {
  try {
    const State state = ParseState(Text(data, size));
    const std::string text = SerializeState(state);
    Require(SerializeState(ParseState(text)) == text, "a written state reads back the same");
  } catch (const StateError&) {
  }
  return 0;
}

// The JSON columns of the database rows: a followed call and a channel's gaps. The first byte
// chooses which.
int StateRows(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text = Text(data + 1, size - 1);
  try {
    if (data[0] % 2 == 0) {
      const TrackedCall tracked = ParseTracked(text);
      Require(ParseTracked(SerializeTracked(tracked)) == tracked, "a followed call round-trips");
    } else {
      const std::vector<ListGap> gaps = ParseGaps(text);
      Require(ParseGaps(SerializeGaps(gaps)) == gaps, "gaps round-trip");
    }
  } catch (const StateError&) {
  }
  return 0;
}

// A request as the server reads it: Beast's parser with the server's limits, then what the
// server itself reads from it (the path, Accept, Accept-Encoding, Authorization).
int HttpRequest(const std::uint8_t* data, std::size_t size) {
  static const WebConfig auth = [] {
    WebConfig config;
    // bcrypt cost 4 (the minimum): each check of a well-formed header stays cheap.
    config.basic_auth_users["prometheus"] =
        "$2b$04$zx/xXGgMI7P0fbU467pvgueTX9A7sXsflLH9t.HqPLulxxI33XRgi";
    return config;
  }();
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  std::size_t used = 0;
  std::string_view rest = Text(data, size);
  while (!rest.empty() && !parser.is_done()) {
    used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    if (ec == http::error::need_more) break;
    if (ec) return 0;
    if (used == 0) break;
    rest.remove_prefix(used);
  }
  if (!parser.is_header_done()) return 0;
  const auto& request = parser.get();
  const std::string_view target(request.target().data(), request.target().size());
  Require(target.size() <= 16 * 1024, "the target is within the header limit");
  const auto field = [&request](http::field name) -> std::optional<std::string_view> {
    const auto it = request.find(name);
    if (it == request.end()) return std::nullopt;
    return std::string_view(it->value().data(), it->value().size());
  };
  if (const auto accept = field(http::field::accept)) (void)ChooseExpositionFormat(*accept);
  const auto encoding = field(http::field::accept_encoding);
  (void)ChooseContentCoding(encoding.has_value(), encoding.value_or(""));
  if (const auto authorization = field(http::field::authorization)) {
    const bool ok = CheckBasicAuth(auth, *authorization);
    Require(!ok || authorization->find("cHJvbWV0aGV1czpmdXp6") != std::string_view::npos,
            "only the password passes");
  }
  return 0;
}

}  // namespace

const std::vector<Target>& Targets() {
  static const std::vector<Target> targets = {
      {"list_page", &ListPage},       {"single_call", &SingleCall}, {"insights", &Insights},
      {"rfc3339", &Rfc3339},          {"duration", &DurationText},  {"config", &ConfigYaml},
      {"web_config", &WebConfigYaml}, {"state_file", &StateFile},   {"state_rows", &StateRows},
      {"http_request", &HttpRequest},
  };
  return targets;
}

const Target* FindTarget(const std::string& name) {
  for (const Target& t : Targets()) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

}  // namespace bird_exporter::fuzz
