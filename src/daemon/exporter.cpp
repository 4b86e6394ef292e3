#include "daemon/exporter.h"

#include <string.h>

#include <chrono>
#include <utility>

#include "bird/rfc3339.h"
#include "log/logging.h"

namespace bird_exporter {
namespace {

std::vector<ChannelRef> ChannelsOf(const Config& config, const ShardSettings& shard) {
  std::vector<ChannelRef> channels;
  for (const auto& ws : config.workspaces) {
    for (const auto& ch : ws.channels) {
      if (InShard(ws.id, ch.id, shard)) channels.push_back({ws.id, ws.name, ch.id, ch.name});
    }
  }
  return channels;
}

PollerSettings PollerSettingsOf(const Config& config) {
  PollerSettings settings;
  settings.poll = config.poll;
  settings.max_concurrent_requests = config.bird.max_concurrent_requests;
  settings.poor_call = config.metrics.poor_call;
  return settings;
}

ClientSettings ClientSettingsOf(const BirdSettings& bird) {
  ClientSettings settings;
  settings.base_url = bird.base_url;
  settings.access_key = bird.access_key;
  settings.request_timeout = bird.request_timeout;
  settings.max_retries = bird.max_retries;
  settings.page_size = bird.page_size;
  settings.max_list_body_bytes = bird.max_list_body_size;
  settings.max_call_body_bytes = bird.max_call_body_size;
  return settings;
}

std::unique_ptr<SqliteStateStore> OpenStore(const std::string& path) {
  if (path.empty()) return nullptr;
  return std::make_unique<SqliteStateStore>(path);
}

std::vector<ChannelRef> LoggedChannels(const Config& config, const ShardSettings& shard) {
  std::vector<ChannelRef> channels = ChannelsOf(config, shard);
  if (shard.count > 1) {
    std::size_t total = 0;
    for (const auto& ws : config.workspaces) total += ws.channels.size();
    spdlog::info("shard index={} count={} channels={} of {}", shard.index, shard.count,
                 channels.size(), total);
    if (channels.empty()) spdlog::warn("this shard has no channels to poll");
  }
  return channels;
}

double Now() { return ToUnixSeconds(std::chrono::system_clock::now()); }

std::string JoinNames(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "" : ",") + name;
  return joined;
}

}  // namespace

Exporter::Exporter(ExporterOptions options)
    : config_file_(std::move(options.config_file)),
      web_config_file_(std::move(options.web_config_file)),
      shard_(options.shard),
      current_(std::move(options.config)),
      registry_(std::make_shared<prometheus::Registry>()),
      process_(std::make_shared<ProcessCollector>()),
      exporter_metrics_(*registry_),
      call_metrics_(*registry_, current_.metrics.dimensions),
      limiter_(current_.bird.max_requests_per_second),
      client_(ClientSettingsOf(current_.bird), transport_, limiter_, exporter_metrics_),
      store_(OpenStore(current_.state_file)),
      poller_(PollerSettingsOf(current_), LoggedChannels(current_, shard_), client_, call_metrics_,
              exporter_metrics_, store_.get()) {
  RegisterBuildInfo(*registry_);
  try {
    // A state that cannot be opened now (a missing or read-only directory) is retried by the
    // polls, with /-/ready answering 503 meanwhile; only a state held by another process, or
    // written by a newer release, stops the start.
    poller_.LoadState();
  } catch (const StateRefusedError& e) {
    throw StartError("refusing to start", e.what());
  }
  exporter_metrics_.ConfigReloaded(true, Now());

  ServerSettings server = std::move(options.server);
  server.reload = [this] { return Reload().error; };
  server.exemplars = [this] { return call_metrics_.Exemplars(); };
  server.collect_guard = [this] { return poller_.PublishLock(); };
  try {
    server_.emplace(
        std::move(server), std::vector<std::weak_ptr<prometheus::Collectable>>{registry_, process_},
        [this]() -> std::string {
          if (!poller_.StateOpen()) {
            return "the state database cannot be opened (see the log)";
          }
          return poller_.Ready() ? "" : "not every channel has been polled successfully yet";
        });
  } catch (const ServerError& e) {
    throw StartError("cannot start the HTTP server", e.what());
  }
  // Each cycle's counts reach /metrics in the snapshot the next scrape renders.
  poll_thread_ = std::jthread(
      [this](std::stop_token stop) { poller_.Run(stop, [this] { server_->RequestRender(); }); });
  std::lock_guard lock(mutex_);
  serving_ = true;
}

Exporter::~Exporter() {
  {
    // A reload under way finishes first; any later one is refused.
    std::lock_guard lock(mutex_);
    serving_ = false;
  }
  poll_thread_.request_stop();
  if (poll_thread_.joinable()) poll_thread_.join();
  server_.reset();
  explicit_bzero(current_.bird.access_key.data(), current_.bird.access_key.size());
}

std::vector<int> Exporter::ListeningPorts() const { return server_->ListeningPorts(); }

ReloadResult Exporter::Reload() {
  std::lock_guard lock(mutex_);
  if (!serving_) return {"the exporter is starting or shutting down", {}, {}, false};
  ReloadResult result = ReloadLocked();
  exporter_metrics_.ConfigReloaded(result.ok(), result.ok() ? Now() : 0);
  server_->RenderNow();
  return result;
}

ReloadResult Exporter::ReloadLocked() {
  ReloadResult result;
  std::optional<Config> loaded;
  try {
    if (!config_file_.empty()) loaded = LoadConfigFile(config_file_);
  } catch (const ConfigError& e) {
    spdlog::error("configuration reload failed, keeping the running configuration error={}",
                  LogQuote(e.what()));
    result.error = e.what();
    return result;
  }
  // The web config is checked and applied first: it is the only part that can still fail (a
  // key that does not match its certificate), and then nothing has changed yet.
  if (!web_config_file_.empty()) {
    try {
      const WebConfig web = LoadWebConfigFile(web_config_file_);
      server_->ReloadWebConfig(web);
      for (const auto& warning : WebConfigWarnings(web)) {
        spdlog::warn("web configuration warning={}", LogQuote(warning));
      }
      result.web_config_reloaded = true;
    } catch (const std::runtime_error& e) {
      spdlog::error("web configuration reload failed, keeping the running configuration error={}",
                    LogQuote(e.what()));
      result.error = e.what();
      return result;
    }
  }
  if (!loaded) {
    spdlog::info("web configuration reloaded file={}", LogQuote(web_config_file_));
    return result;
  }
  Apply(std::move(*loaded), result);
  spdlog::info("configuration reloaded file={} changed={} deferred={} {}", config_file_,
               JoinNames(result.changed), JoinNames(result.deferred), SummarizeConfig(current_));
  return result;
}

// Applies a checked configuration; what only a restart can change keeps its running value.
void Exporter::Apply(Config next, ReloadResult& result) {
  if (next.state_file != current_.state_file) {
    spdlog::warn("state_file changed; the new path is used after a restart");
    result.deferred.push_back("state_file");
    next.state_file = current_.state_file;
  }
  if (next.metrics.dimensions != current_.metrics.dimensions) {
    spdlog::warn("metrics.dimensions changed; the new labels are used after a restart");
    result.deferred.push_back("metrics.dimensions");
    next.metrics.dimensions = current_.metrics.dimensions;
  }
  if (!(next.bird == current_.bird)) result.changed.push_back("bird");
  if (!(next.poll == current_.poll)) result.changed.push_back("poll");
  if (!(next.metrics.poor_call == current_.metrics.poor_call)) {
    result.changed.push_back("metrics.poor_call");
  }
  if (!(next.workspaces == current_.workspaces)) result.changed.push_back("workspaces");
  client_.UpdateSettings(ClientSettingsOf(next.bird));
  limiter_.SetRate(next.bird.max_requests_per_second);
  poller_.Reconfigure(PollerSettingsOf(next), ChannelsOf(next, shard_));
  explicit_bzero(current_.bird.access_key.data(), current_.bird.access_key.size());
  current_ = std::move(next);
}

}  // namespace bird_exporter
