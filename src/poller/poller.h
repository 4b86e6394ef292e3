// The poll loop. Each poll lists only the calls created since the previous one (down to a
// small overlap), follows the calls it saw open by id (through the list of calls in their
// status, or one by one), fetches insights of ended calls, makes the newly counted calls and
// the followed ones durable, then records them. The one catch boundary of the daemon: nothing
// Bird answers stops it.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "bird/client.h"
#include "config/config.h"
#include "metrics/call_metrics.h"
#include "metrics/exporter_metrics.h"
#include "poller/window.h"
#include "state/state.h"
#include "state/store.h"

namespace bird_exporter {

struct PollerSettings {
  PollSettings poll;
  int max_concurrent_requests = 8;
  int max_pages_per_poll = 1000;  // per channel and list; a runaway cursor cannot loop forever
  PoorCallThresholds poor_call;
};

class Poller {
 public:
  using WallClock = std::function<SystemTime()>;

  // `store` may be null: the state then lives in memory only.
  Poller(
      PollerSettings settings, std::vector<ChannelRef> channels, BirdApi& api,
      CallMetrics& call_metrics, ExporterMetrics& exporter_metrics, StateStore* store,
      WallClock clock = [] { return std::chrono::system_clock::now(); });

  // Opens the state: a missing one starts empty, an unreadable one is logged, counted, moved
  // aside and replaced. False when it cannot be opened now (logged and counted; the polls
  // wait for it, each trying again). Throws StateRefusedError when the state must not be used
  // (another process holds it).
  bool LoadState();

  // One cycle over every channel. Returns false when stopped before the cycle was committed.
  bool PollOnce(std::stop_token stop);

  // PollOnce every poll.interval until stop is requested; `after_cycle` (if set) runs after each.
  void Run(std::stop_token stop, std::function<void()> after_cycle = {});

  // New settings and channels (configuration reload), applied at the start of the next cycle:
  // removed channels stop being polled and their series disappear; counted calls are kept.
  void Reconfigure(PollerSettings settings, std::vector<ChannelRef> channels);

  // True once every channel has been listed successfully at least once, or has answered
  // permanently (401, 403, 404: a wrong id or key, which retrying does not change).
  bool Ready() const;

  // False while the state cannot be opened (nothing is polled then).
  bool StateOpen() const;

  // Held while a committed poll's counts are added to the metrics: whoever collects the
  // metrics under it sees all of a poll's counts or none.
  std::unique_lock<std::mutex> PublishLock() const { return std::unique_lock(publish_mutex_); }

  // Number of cycles committed so far (for tests and logs).
  int CompletedCycles() const { return completed_cycles_.load(); }

  // Calls followed by id on the channel (open, or ended and waiting), for tests.
  std::size_t TrackedCalls(const ChannelKey& channel) const;

  // Current estimate of how long after a call ends Bird publishes its insights.
  std::chrono::milliseconds InsightsDelay() const;

 private:
  struct ChannelCycle;
  struct Job;
  struct CommitPlan;

  void ListPhase(ChannelCycle& cycle, std::stop_token stop, SystemTime now);
  bool ListHead(ChannelCycle& cycle, std::stop_token stop, SystemTime now, int& pages);
  bool ListFailed(ChannelCycle& cycle, const ListCallsResult& result) const;
  void ListGaps(ChannelCycle& cycle, std::stop_token stop, SystemTime now, int& pages);
  void FollowTracked(ChannelCycle& cycle, std::stop_token stop, SystemTime now);
  // Lists the channel's calls in `status` far enough to reach every call of `reach`, and
  // settles the calls of `due` that are gone from it.
  bool ListStatus(ChannelCycle& cycle, std::stop_token stop, SystemTime now, CallStatus status,
                  const std::vector<std::string>& due, const std::vector<std::string>& reach);
  void NoLongerOpen(TrackedCall& t, SystemTime now) const;
  // Reads the final records of ended calls (`ids`, oldest first) through lists bounded by
  // creation time, where a list costs fewer requests than a GET per call; returns the calls
  // left for a GET (not reached by a list, or missing from one that reached them).
  std::vector<std::string> ListEndedByCreation(ChannelCycle& cycle, std::stop_token stop,
                                               SystemTime now, std::vector<std::string> ids);
  enum class RangeListed { kComplete, kStopped, kIncomplete };
  RangeListed ListCreationRange(ChannelCycle& cycle, std::stop_token stop, SystemTime now,
                                SystemTime oldest, SystemTime newest, int& pages_left);
  CountryWanted CountryWantedFor(const ChannelCycle& cycle) const;
  void Observe(ChannelCycle& cycle, Call call, SystemTime now);
  void Ended(ChannelCycle& cycle, TrackedCall& tracked, SystemTime now);
  std::vector<std::pair<std::size_t, std::size_t>> SelectJobs(std::vector<ChannelCycle>& cycles);
  void RunJob(ChannelCycle& cycle, Job& job, std::stop_token stop);
  void ApplyJob(ChannelCycle& cycle, Job& job, SystemTime now);
  void ApplyGetCall(ChannelCycle& cycle, TrackedCall& t, Job& job, SystemTime now);
  void ApplyInsights(ChannelCycle& cycle, TrackedCall& t, Job& job, SystemTime now);
  void ApplyPendingConfiguration();
  void ApplySettings(PollerSettings settings);
  bool Commit(std::vector<ChannelCycle>& cycles, SystemTime now);
  void PlanCommit(std::vector<ChannelCycle>& cycles, SystemTime now, CommitPlan& plan);
  bool SaveCommit(CommitPlan& plan);
  void RecordCounted(const std::vector<ChannelCycle>& cycles, const CommitPlan& plan);
  void PublishChannels(std::vector<ChannelCycle>& cycles, const CommitPlan& plan, bool saved,
                       SystemTime now);
  void LogPermanentListError(const ChannelCycle& cycle);
  bool WantsInsights(const Call& call) const;
  std::chrono::milliseconds RecheckDelay(const Call& call, SystemTime now) const;
  // When an open call is looked at next: RecheckDelay from now, on the grid of RecheckAt.
  SystemTime NextCheck(const Call& call, SystemTime now) const;
  void LearnInsightsDelay(bool first_attempt_found, std::chrono::milliseconds ended_ago);

  PollerSettings settings_;
  WindowSettings window_settings_;
  std::vector<ChannelRef> channels_;
  BirdApi& api_;
  CallMetrics& call_metrics_;
  ExporterMetrics& exporter_metrics_;
  std::unique_ptr<StateStore> memory_store_;  // when no store is given
  StateStore* store_;
  WallClock clock_;

  std::mutex pending_mutex_;
  std::optional<std::pair<PollerSettings, std::vector<ChannelRef>>> pending_;

  // Each channel's position and followed calls as last committed; only written by the polling
  // thread, in Commit.
  std::map<ChannelKey, ChannelState> channel_state_;
  std::set<ChannelKey> removed_channels_;  // to be forgotten by the next commit
  bool state_open_ = false;
  mutable std::mutex state_mutex_;    // guards reads of channel_state_ from other threads (tests)
  mutable std::mutex publish_mutex_;  // see PublishLock
  std::atomic<long long> insights_delay_ms_{5000};
  // Channels whose `status` list filter Bird did not honour: followed one call at a time.
  std::set<ChannelKey> status_filter_unsupported_;
  // Channels whose list Bird does not bound by creation time (startAt/endAt): their ended
  // calls' final records are asked for one by one.
  std::set<ChannelKey> range_filter_unsupported_;
  mutable std::mutex ready_mutex_;
  std::set<ChannelKey> polled_ok_;  // listed once, or answered permanently (401, 403, 404)
  // The permanent list error last logged per channel: logged again only when it changes.
  std::map<ChannelKey, std::string> permanent_errors_logged_;
  std::atomic<int> completed_cycles_{0};
};

}  // namespace bird_exporter
