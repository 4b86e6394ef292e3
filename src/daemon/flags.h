// Command-line flags, named like every Prometheus exporter's (--config.file, --web.listen-address,
// --log.level, ...). Pure parsing; no I/O besides what the caller prints.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace bird_exporter {

inline constexpr const char* kDefaultListenAddress = ":9842";

struct Flags {
  std::string config_file = "bird_call_exporter.yml";
  bool config_check = false;
  bool state_inspect = false;  // print a summary of the state database of state_file, exit
  std::string listen_address = kDefaultListenAddress;
  std::string telemetry_path = "/metrics";
  std::string web_config_file;    // --web.config.file: TLS and basic auth; empty: plain HTTP
  bool enable_lifecycle = false;  // --web.enable-lifecycle: POST /-/reload
  int max_requests = 40;          // --web.max-requests: concurrent scrapes (0: no limit)
  int max_connections = 4096;     // --web.max-connections: open HTTP connections
  std::string log_level = "info";
  std::string log_format = "logfmt";
  std::string shard_index = "0";  // a number, or "auto" (the StatefulSet ordinal of the host)
  std::string shard_count = "1";
  bool demo = false;  // poll the built-in Bird API simulator instead of Bird
  std::string demo_scenario = "healthy";
  bool version = false;
  bool help = false;
};

// Accepts --flag=value and --flag value. On error returns nullopt and sets `error`.
std::optional<Flags> ParseFlags(const std::vector<std::string>& args, std::string& error);

std::string HelpText();

}  // namespace bird_exporter
