#include "daemon/flags.h"

#include <charconv>
#include <map>

#include "log/logging.h"

namespace bird_exporter {
namespace {

bool WholeNumber(const std::string& name, const std::string& text, int min, int& out,
                 std::string& error) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || out < min) {
    error = name + ": expected a whole number of at least " + std::to_string(min) + ", got \"" +
            text + "\"";
    return false;
  }
  return true;
}

}  // namespace

std::optional<Flags> ParseFlags(const std::vector<std::string>& args, std::string& error) {
  Flags flags;
  const std::map<std::string, std::string*> valued = {
      {"--config.file", &flags.config_file},
      {"--web.listen-address", &flags.listen_address},
      {"--web.telemetry-path", &flags.telemetry_path},
      {"--web.config.file", &flags.web_config_file},
      {"--log.level", &flags.log_level},
      {"--log.format", &flags.log_format},
      {"--demo.scenario", &flags.demo_scenario},
      {"--shard.index", &flags.shard_index},
      {"--shard.count", &flags.shard_count},
  };
  std::string max_requests = std::to_string(flags.max_requests);
  std::string max_connections = std::to_string(flags.max_connections);
  const std::map<std::string, std::string*> numbers = {
      {"--web.max-requests", &max_requests},
      {"--web.max-connections", &max_connections},
  };
  const std::map<std::string, bool*> switches = {
      {"--config.check", &flags.config_check},
      {"--web.enable-lifecycle", &flags.enable_lifecycle},
      {"--state.inspect", &flags.state_inspect},
      {"--demo", &flags.demo},
      {"--version", &flags.version},
      {"--help", &flags.help},
      {"-h", &flags.help},
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    if (auto it = switches.find(name); it != switches.end()) {
      if (eq != std::string::npos) {
        error = "flag " + name + " takes no value";
        return std::nullopt;
      }
      *it->second = true;
      continue;
    }
    std::string* value = nullptr;
    if (auto v = valued.find(name); v != valued.end()) value = v->second;
    if (auto n = numbers.find(name); n != numbers.end()) value = n->second;
    if (value == nullptr) {
      error = "unknown flag " + name + " (see --help)";
      return std::nullopt;
    }
    if (eq != std::string::npos) {
      *value = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      *value = args[++i];
    } else {
      error = "flag " + name + " needs a value";
      return std::nullopt;
    }
  }
  if (!WholeNumber("--web.max-requests", max_requests, 0, flags.max_requests, error) ||
      !WholeNumber("--web.max-connections", max_connections, 1, flags.max_connections, error)) {
    return std::nullopt;
  }
  spdlog::level::level_enum level;
  if (!ParseLogLevel(flags.log_level, level)) {
    error = "--log.level: expected debug, info, warn or error, got \"" + flags.log_level + "\"";
    return std::nullopt;
  }
  LogFormat format;
  if (!ParseLogFormat(flags.log_format, format)) {
    error = "--log.format: expected logfmt or json, got \"" + flags.log_format + "\"";
    return std::nullopt;
  }
  return flags;
}

std::string HelpText() {
  return std::string(
             "usage: bird_call_exporter [flags]\n"
             "\n"
             "Polls the Bird voice calls API and serves one event per ended call as Prometheus "
             "metrics.\n"
             "\n"
             "Flags:\n"
             "  --config.file=PATH          configuration file (default bird_call_exporter.yml)\n"
             "  --config.check              validate the configuration, print a summary, exit\n"
             "  --state.inspect             print what the state database of the configured\n"
             "                              state_file holds (read only; safe while running), "
             "exit\n"
             "  --web.listen-address=[HOST]:PORT\n"
             "                              address to serve metrics on (default ") +
         kDefaultListenAddress +
         ")\n"
         "  --web.telemetry-path=PATH   path of the metrics (default /metrics)\n"
         "  --web.config.file=PATH      TLS and basic authentication settings (exporter-toolkit\n"
         "                              format; default none: plain HTTP without authentication)\n"
         "  --web.enable-lifecycle      enable POST /-/reload (SIGHUP always reloads)\n"
         "  --web.max-requests=N        concurrent scrapes before 503s (default 40; 0: no limit)\n"
         "  --web.max-connections=N     open HTTP connections; more wait to be accepted\n"
         "                              (default 4096)\n"
         "  --log.level=LEVEL           debug, info, warn or error (default info)\n"
         "  --log.format=FORMAT         logfmt or json (default logfmt)\n"
         "  --shard.index=I|auto        poll only the channels of shard I (auto: the ordinal\n"
         "                              at the end of the hostname, as in StatefulSets)\n"
         "  --shard.count=N             number of shards the channels are split into (default 1)\n"
         "  --demo                      no account needed: poll a built-in Bird API simulator\n"
         "  --demo.scenario=NAME        healthy, degraded-carrier, slow-pdd, one-way-audio,\n"
         "                              api-trouble or contact-centre (default healthy)\n"
         "  --version                   print the version and exit\n"
         "  --help                      print this help and exit\n";
}

}  // namespace bird_exporter
