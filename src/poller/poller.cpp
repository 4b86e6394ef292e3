#include "poller/poller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <thread>
#include <unordered_set>
#include "log/logging.h"

namespace bird_exporter {
namespace {

// Runs fn(0..count-1) on at most `max_threads` threads; every HTTP request of a cycle runs on
// one of these, so they also bound the number of requests in flight.
template <typename Fn>
void ParallelFor(std::size_t count, int max_threads, Fn&& fn) {
  const std::size_t threads = std::min<std::size_t>(count, std::max(1, max_threads));
  if (threads <= 1) {
    for (std::size_t i = 0; i < count; ++i) fn(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::vector<std::jthread> workers;
  workers.reserve(threads);
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < count; i = next++) fn(i);
    });
  }
}

ChannelLabels LabelsOf(const ChannelRef& ref) { return {ref.workspace_name, ref.channel_name}; }

SystemTime EndOf(const Call& call, SystemTime fallback) {
  if (call.ended_at) return *call.ended_at;
  if (call.updated_at) return *call.updated_at;
  if (call.created_at) return *call.created_at;
  return fallback;
}

}  // namespace

struct Poller::ChannelCycle {
  const ChannelRef* ref = nullptr;
  ChannelKey key;
  bool list_ok = false;
  std::atomic<bool> unauthorized_logged{false};
  std::vector<Call> ended_uncounted;
  ActiveCallCounts active;
  std::optional<SystemTime> oldest_active_created;
};

struct Poller::InsightsJob {
  std::size_t channel_index = 0;
  Call call;
  InsightsResult result;
};

Poller::Poller(PollerSettings settings, std::vector<ChannelRef> channels, BirdApi& api,
               CallMetrics& call_metrics, ExporterMetrics& exporter_metrics,
               const StateFile* state_file, WallClock clock)
    : settings_(std::move(settings)),
      channels_(std::move(channels)),
      api_(api),
      call_metrics_(call_metrics),
      exporter_metrics_(exporter_metrics),
      state_file_(state_file),
      clock_(std::move(clock)) {
  ApplySettings(settings_);
}

void Poller::ApplySettings(PollerSettings settings) {
  settings_ = std::move(settings);
  window_settings_.initial_lookback = settings_.poll.initial_lookback;
  window_settings_.max_call_age = settings_.poll.max_call_age;
  window_settings_.overlap =
      std::max<std::chrono::milliseconds>(std::chrono::minutes(2), settings_.poll.interval);
}

void Poller::Reconfigure(PollerSettings settings, std::vector<ChannelRef> channels) {
  std::lock_guard lock(pending_mutex_);
  pending_.emplace(std::move(settings), std::move(channels));
}

void Poller::ApplyPendingConfiguration() {
  std::optional<std::pair<PollerSettings, std::vector<ChannelRef>>> pending;
  {
    std::lock_guard lock(pending_mutex_);
    pending.swap(pending_);
  }
  if (!pending) return;
  ApplySettings(std::move(pending->first));
  std::vector<ChannelRef>& next = pending->second;
  auto same_channel = [](const ChannelRef& a, const ChannelRef& b) {
    return a.workspace_id == b.workspace_id && a.channel_id == b.channel_id &&
           a.workspace_name == b.workspace_name && a.channel_name == b.channel_name;
  };
  for (const ChannelRef& old : channels_) {
    const bool kept = std::any_of(next.begin(), next.end(),
                                  [&](const ChannelRef& n) { return same_channel(old, n); });
    if (kept) continue;
    const bool workspace_kept = std::any_of(next.begin(), next.end(), [&](const ChannelRef& n) {
      return n.workspace_name == old.workspace_name;
    });
    call_metrics_.RemoveChannel(LabelsOf(old));
    exporter_metrics_.RemoveChannel(LabelsOf(old), !workspace_kept);
    const bool id_kept = std::any_of(next.begin(), next.end(), [&](const ChannelRef& n) {
      return n.workspace_id == old.workspace_id && n.channel_id == old.channel_id;
    });
    if (!id_kept) state_.window_start.erase({old.workspace_id, old.channel_id});
    std::lock_guard lock(ready_mutex_);
    polled_ok_.erase({old.workspace_id, old.channel_id});
    spdlog::info("channel removed from polling workspace={} channel={}", old.workspace_name,
                 old.channel_name);
  }
  for (const ChannelRef& n : next) {
    const bool existed = std::any_of(channels_.begin(), channels_.end(),
                                     [&](const ChannelRef& old) { return same_channel(old, n); });
    if (!existed) {
      spdlog::info("channel added to polling workspace={} channel={}", n.workspace_name,
                   n.channel_name);
    }
  }
  std::lock_guard lock(ready_mutex_);
  channels_ = std::move(next);
}

void Poller::LoadState() {
  if (state_file_ == nullptr) return;
  try {
    if (auto loaded = state_file_->Load()) {
      state_ = std::move(*loaded);
      spdlog::info("state loaded path={} counted_calls={} channels={}", state_file_->path(),
                   state_.counted.size(), state_.window_start.size());
    } else {
      spdlog::info("no state file yet, starting fresh path={}", state_file_->path());
    }
  } catch (const StateError& e) {
    exporter_metrics_.StateError("load");
    spdlog::error("state file unreadable, starting fresh; it is replaced at the next save "
                  "path={} error={}",
                  state_file_->path(), LogQuote(e.what()));
    state_ = State{};
  }
  exporter_metrics_.SetStateCalls(static_cast<double>(state_.counted.size()));
}

void Poller::SaveState() const {
  if (state_file_ != nullptr) state_file_->Save(state_);
}

bool Poller::Ready() const {
  std::lock_guard lock(ready_mutex_);
  for (const auto& ref : channels_) {
    if (polled_ok_.count({ref.workspace_id, ref.channel_id}) == 0) return false;
  }
  return true;
}

void Poller::ListChannel(ChannelCycle& cycle, std::stop_token stop, SystemTime now) {
  const ChannelRef& ref = *cycle.ref;
  std::optional<SystemTime> saved;
  if (auto it = state_.window_start.find(cycle.key); it != state_.window_start.end()) {
    saved = it->second;
  }
  const SystemTime window_start = ListWindowStart(saved, now, window_settings_);

  std::unordered_set<std::string> seen;
  std::string token;
  for (int page = 0; page < settings_.max_pages_per_poll; ++page) {
    ListCallsResult result = api_.ListCalls(ref, token, stop);
    if (result.outcome == ApiOutcome::kStopped) return;
    if (result.outcome == ApiOutcome::kUnauthorized) {
      spdlog::error("bird refused the access key: check bird.access_key / access_key_file and "
                    "that the key may view /workspaces/{}/channels/** workspace={} channel={} "
                    "code={}",
                    ref.workspace_id, ref.workspace_name, ref.channel_name, result.http_status);
      cycle.unauthorized_logged = true;
      return;
    }
    if (result.outcome != ApiOutcome::kOk) {
      spdlog::warn("listing calls failed, channel skipped this poll workspace={} channel={} "
                   "error={}",
                   ref.workspace_name, ref.channel_name, LogQuote(result.error));
      return;
    }
    // The list is newest first, so the first call older than the window ends the walk.
    bool reached_window_start = false;
    for (Call& call : result.page.calls) {
      if (call.created_at && *call.created_at < window_start) {
        reached_window_start = true;
        continue;
      }
      if (!seen.insert(call.id).second) continue;
      if (!IsTerminal(call.status)) {
        ++cycle.active[{std::string(ToString(call.direction)), std::string(ToString(call.status))}];
        const SystemTime created = call.created_at.value_or(now);
        if (!cycle.oldest_active_created || created < *cycle.oldest_active_created) {
          cycle.oldest_active_created = created;
        }
      } else if (!state_.IsCounted(call.id)) {
        cycle.ended_uncounted.push_back(std::move(call));
      }
    }
    token = result.page.next_page_token;
    if (token.empty() || reached_window_start) {
      cycle.list_ok = true;
      return;
    }
  }
  spdlog::warn("page limit reached while listing calls workspace={} channel={} pages={}",
               ref.workspace_name, ref.channel_name, settings_.max_pages_per_poll);
  cycle.list_ok = true;
}

bool Poller::PollOnce(std::stop_token stop) {
  ApplyPendingConfiguration();
  const auto steady_started = std::chrono::steady_clock::now();
  const SystemTime poll_started = clock_();

  std::vector<ChannelCycle> cycles(channels_.size());
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    cycles[i].ref = &channels_[i];
    cycles[i].key = {channels_[i].workspace_id, channels_[i].channel_id};
  }
  ParallelFor(cycles.size(), settings_.max_concurrent_requests, [&](std::size_t i) {
    try {
      ListChannel(cycles[i], stop, poll_started);
    } catch (const std::exception& e) {
      cycles[i].list_ok = false;
      spdlog::error("unexpected error while listing calls workspace={} channel={} error={}",
                    cycles[i].ref->workspace_name, cycles[i].ref->channel_name, LogQuote(e.what()));
    }
  });
  if (stop.stop_requested()) return false;

  std::vector<InsightsJob> jobs;
  for (std::size_t i = 0; i < cycles.size(); ++i) {
    if (!cycles[i].list_ok) continue;
    for (Call& call : cycles[i].ended_uncounted) {
      jobs.push_back({i, std::move(call), {}});
    }
    cycles[i].ended_uncounted.clear();
  }
  ParallelFor(jobs.size(), settings_.max_concurrent_requests, [&](std::size_t j) {
    InsightsJob& job = jobs[j];
    ChannelCycle& cycle = cycles[job.channel_index];
    if (cycle.unauthorized_logged) {
      job.result.outcome = ApiOutcome::kUnauthorized;
      return;
    }
    try {
      job.result = api_.GetInsights(*cycle.ref, job.call.id, stop);
    } catch (const std::exception& e) {
      job.result.outcome = ApiOutcome::kFailed;
      job.result.error = e.what();
    }
    if (job.result.outcome == ApiOutcome::kUnauthorized && !cycle.unauthorized_logged.exchange(true)) {
      spdlog::error("bird refused the access key for call insights: check bird.access_key / "
                    "access_key_file and the key's permissions workspace={} channel={} code={}",
                    cycle.ref->workspace_name, cycle.ref->channel_name, job.result.http_status);
    }
  });
  if (stop.stop_requested()) return false;

  const SystemTime now = clock_();
  if (!Commit(cycles, jobs, poll_started, now)) return true;
  exporter_metrics_.SetPollDuration(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - steady_started).count());
  ++completed_cycles_;
  return true;
}

bool Poller::Commit(std::vector<ChannelCycle>& cycles, std::vector<InsightsJob>& jobs,
                    SystemTime poll_started, SystemTime now) {
  struct Counted {
    std::size_t channel_index;
    CallObservation obs;
  };
  std::vector<Counted> counted;
  std::vector<std::string> added_ids;
  std::map<std::size_t, double> unavailable;
  std::map<std::string, double> pending_by_workspace;
  std::map<std::size_t, std::optional<SystemTime>> oldest_open;
  for (const auto& cycle : cycles) pending_by_workspace[cycle.ref->workspace_name] += 0;

  for (std::size_t i = 0; i < cycles.size(); ++i) {
    oldest_open[i] = cycles[i].oldest_active_created;
  }
  for (InsightsJob& job : jobs) {
    const bool have_insights = job.result.outcome == ApiOutcome::kOk;
    const bool grace_over = now - EndOf(job.call, now) >= settings_.poll.insights_grace_period;
    if (!have_insights && !grace_over) {
      // Not countable yet: the next window must reach back to it.
      const SystemTime created = job.call.created_at.value_or(now);
      auto& oldest = oldest_open[job.channel_index];
      if (!oldest || created < *oldest) oldest = created;
      pending_by_workspace[cycles[job.channel_index].ref->workspace_name] += 1;
      continue;
    }
    if (state_.IsCounted(job.call.id)) continue;
    state_.counted.emplace(job.call.id, job.call.created_at.value_or(now));
    added_ids.push_back(job.call.id);
    if (!have_insights) {
      unavailable[job.channel_index] += 1;
      spdlog::warn("insights unavailable after the grace period, counting the call from the "
                   "call list workspace={} channel={} call_id={} last_error={}",
                   cycles[job.channel_index].ref->workspace_name,
                   cycles[job.channel_index].ref->channel_name, job.call.id, LogQuote(job.result.error));
    }
    counted.push_back(
        {job.channel_index, MapCall(job.call, have_insights ? &job.result.insights : nullptr)});
  }

  std::map<ChannelKey, SystemTime> previous_windows = state_.window_start;
  for (std::size_t i = 0; i < cycles.size(); ++i) {
    if (!cycles[i].list_ok) continue;
    state_.window_start[cycles[i].key] =
        NextWindowStart(poll_started, oldest_open[i], now, window_settings_);
  }
  // Entries older than any window can ever reach again; one overlap of margin for clock moves.
  PruneState(state_, now - settings_.poll.max_call_age - window_settings_.overlap);

  // A call becomes visible only after it is durably recorded as counted: if the process dies
  // after this point it is never counted again, and before it, it is counted after restart.
  bool saved = true;
  if (state_file_ != nullptr) {
    try {
      state_file_->Save(state_);
    } catch (const StateError& e) {
      exporter_metrics_.StateError("write");
      spdlog::error("cannot save state, calls of this poll are counted later path={} error={}",
                    state_file_->path(), LogQuote(e.what()));
      for (const auto& id : added_ids) state_.counted.erase(id);
      state_.window_start = std::move(previous_windows);
      counted.clear();
      unavailable.clear();
      saved = false;
    }
  }

  for (const Counted& c : counted) {
    const ChannelRef& ref = *cycles[c.channel_index].ref;
    call_metrics_.Record(LabelsOf(ref), c.obs);
    spdlog::debug("call counted workspace={} channel={} status={} insights={}", ref.workspace_name,
                  ref.channel_name, c.obs.status, c.obs.from_insights);
  }
  for (const auto& [index, count] : unavailable) {
    exporter_metrics_.AddInsightsUnavailable(LabelsOf(*cycles[index].ref), count);
  }
  const double now_seconds = ToUnixSeconds(now);
  for (auto& cycle : cycles) {
    const ChannelLabels labels = LabelsOf(*cycle.ref);
    exporter_metrics_.SetChannelUp(labels, cycle.list_ok);
    if (!cycle.list_ok) continue;
    call_metrics_.SetActive(labels, cycle.active);
    exporter_metrics_.SetLastPollSuccess(labels, now_seconds);
    std::lock_guard lock(ready_mutex_);
    polled_ok_.insert(cycle.key);
  }
  for (const auto& [workspace, pending] : pending_by_workspace) {
    exporter_metrics_.SetInsightsPending(workspace, pending);
  }
  exporter_metrics_.SetStateCalls(static_cast<double>(state_.counted.size()));
  spdlog::debug("poll committed counted={} pending_insights={}", counted.size(),
                jobs.size() - counted.size());
  return saved;
}

void Poller::Run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    const auto next = std::chrono::steady_clock::now() + settings_.poll.interval;
    try {
      PollOnce(stop);
    } catch (const std::exception& e) {
      spdlog::error("poll failed unexpectedly, trying again next interval error={}", LogQuote(e.what()));
    }
    SleepFor(stop, next - std::chrono::steady_clock::now());
  }
}

}  // namespace bird_exporter
