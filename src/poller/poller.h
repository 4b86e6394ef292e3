// The poll loop: list each channel's calls, fetch insights of ended calls not yet counted,
// make the newly counted calls durable, then record them. The one catch boundary of the daemon:
// nothing Bird answers stops it.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "bird/client.h"
#include "config/config.h"
#include "metrics/call_metrics.h"
#include "metrics/exporter_metrics.h"
#include "poller/window.h"
#include "state/state.h"
#include "state/state_file.h"

namespace bird_exporter {

struct PollerSettings {
  PollSettings poll;
  int max_concurrent_requests = 8;
  int max_pages_per_poll = 1000;  // per channel; a runaway cursor cannot loop forever
};

class Poller {
 public:
  using WallClock = std::function<SystemTime()>;

  // `state_file` may be null: the counted set then lives in memory only.
  Poller(PollerSettings settings, std::vector<ChannelRef> channels, BirdApi& api,
         CallMetrics& call_metrics, ExporterMetrics& exporter_metrics,
         const StateFile* state_file, WallClock clock = [] {
           return std::chrono::system_clock::now();
         });

  // Reads the state file; a missing file starts empty, a corrupt one is logged, counted and
  // replaced on the next save.
  void LoadState();

  // Writes the current state (a start-up check that the state file is writable).
  // Throws StateError.
  void SaveState() const;

  // One cycle over every channel. Returns false when stopped before the cycle was committed.
  bool PollOnce(std::stop_token stop);

  // PollOnce every poll.interval until stop is requested.
  void Run(std::stop_token stop);

  // New settings and channels (configuration reload), applied at the start of the next cycle:
  // removed channels stop being polled and their series disappear; counted calls are kept.
  void Reconfigure(PollerSettings settings, std::vector<ChannelRef> channels);

  // True once every channel has been listed successfully at least once.
  bool Ready() const;

  // Number of cycles committed so far (for tests and logs).
  int CompletedCycles() const { return completed_cycles_.load(); }

 private:
  struct ChannelCycle;
  struct InsightsJob;

  void ListChannel(ChannelCycle& cycle, std::stop_token stop, SystemTime now);
  void ApplyPendingConfiguration();
  void ApplySettings(PollerSettings settings);
  bool Commit(std::vector<ChannelCycle>& cycles, std::vector<InsightsJob>& jobs,
              SystemTime poll_started, SystemTime now);

  PollerSettings settings_;
  WindowSettings window_settings_;
  std::vector<ChannelRef> channels_;
  BirdApi& api_;
  CallMetrics& call_metrics_;
  ExporterMetrics& exporter_metrics_;
  const StateFile* state_file_;
  WallClock clock_;

  std::mutex pending_mutex_;
  std::optional<std::pair<PollerSettings, std::vector<ChannelRef>>> pending_;

  State state_;  // only touched by the polling thread
  mutable std::mutex ready_mutex_;
  std::set<ChannelKey> polled_ok_;
  std::atomic<int> completed_cycles_{0};
};

}  // namespace bird_exporter
