#include "poller/poller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <thread>

#include "log/logging.h"

namespace bird_exporter {
namespace {

using std::chrono::milliseconds;

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

// Bird timestamps in the future are clamped where they enter, so that no window, age or
// pruning decision is ever taken on them.
void ClampFuture(ListCallsResult& result, SystemTime now) {
  for (Call& call : result.page.calls) ClampFutureTimes(call, now, kFutureTolerance);
}

ChannelLabels LabelsOf(const ChannelRef& ref) { return {ref.workspace_name, ref.channel_name}; }

SystemTime EndOf(const Call& call, SystemTime fallback) {
  if (call.ended_at) return *call.ended_at;
  if (call.updated_at) return *call.updated_at;
  if (call.created_at) return *call.created_at;
  return fallback;
}

// Open statuses followed through a status-filtered list, the most common first.
constexpr CallStatus kFollowedStatuses[] = {CallStatus::kOngoing, CallStatus::kRinging,
                                            CallStatus::kStarting, CallStatus::kAccepted,
                                            CallStatus::kScheduled};

// Asking again for insights Bird has not published yet: 2 s, 4 s, ... up to a minute.
milliseconds InsightsRetryDelay(int attempts) {
  return std::min<milliseconds>(std::chrono::seconds(60),
                                std::chrono::seconds(2) * (1 << std::clamp(attempts, 0, 5)));
}

// Bounds of the learnt insights delay: a first attempt that finds nothing moves it up to a
// second past that call's age, one that finds the insights moves it down by 5 ms, so about
// one first attempt in 200 misses.
constexpr long long kInsightsDelayMaxMs = 60000;
constexpr long long kInsightsDelayUpMs = 1000;
constexpr long long kInsightsDelayDownMs = 5;

bool IsClientError(int status) { return status == 400 || status == 404 || status == 422; }

}  // namespace

struct Poller::Job {
  enum class Kind { kGetCall, kInsights };
  Kind kind = Kind::kGetCall;
  std::string call_id;
  CallResult call_result;
  InsightsResult insights_result;
};

struct Poller::ChannelCycle {
  struct Count {
    Call call;
    std::optional<CallInsights> insights;
  };

  const ChannelRef* ref = nullptr;
  ChannelKey key;
  ChannelState st;  // working copy, committed with the poll
  bool list_ok = false;
  bool filter_unsupported = false;
  bool range_unsupported = false;  // Bird did not bound a list by creation time
  std::atomic<bool> unauthorized_logged{false};
  // Why the head listing failed (see ExporterMetrics::ChannelError), empty when it did not.
  std::string list_error;
  long list_error_code = 0;
  std::set<std::string> seen;  // looked at this poll
  std::vector<Job> jobs;
  std::vector<Count> to_count;
  std::set<std::string> counting;
  double insights_unavailable = 0;
  double abandoned = 0;
  // How far this poll's list of ongoing calls reached: (complete, oldest creation listed).
  std::optional<std::pair<bool, std::optional<SystemTime>>> ongoing_listed;
};

Poller::Poller(PollerSettings settings, std::vector<ChannelRef> channels, BirdApi& api,
               CallMetrics& call_metrics, ExporterMetrics& exporter_metrics, StateStore* store,
               WallClock clock)
    : settings_(std::move(settings)),
      channels_(std::move(channels)),
      api_(api),
      call_metrics_(call_metrics),
      exporter_metrics_(exporter_metrics),
      memory_store_(store == nullptr ? std::make_unique<MemoryStateStore>() : nullptr),
      store_(store == nullptr ? memory_store_.get() : store),
      clock_(std::move(clock)) {
  ApplySettings(settings_);
}

void Poller::ApplySettings(PollerSettings settings) {
  settings_ = std::move(settings);
  window_settings_.initial_lookback = settings_.poll.initial_lookback;
  window_settings_.max_call_age = settings_.poll.max_call_age;
  window_settings_.overlap = settings_.poll.list_overlap;
  exporter_metrics_.SetInsightsMode(ToString(settings_.poll.insights));
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
    if (!id_kept) {
      std::lock_guard lock(state_mutex_);
      channel_state_.erase({old.workspace_id, old.channel_id});
      removed_channels_.insert({old.workspace_id, old.channel_id});
    }
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

bool Poller::LoadState() {
  std::size_t tracked = 0;
  try {
    OpenedState opened = store_->Open();
    if (!opened.moved_aside.empty()) {
      exporter_metrics_.StateError("load");
      spdlog::error("state unreadable, moved aside and started fresh path={} moved_to={} error={}",
                    store_->Where(), opened.moved_aside, LogQuote(opened.error));
    }
    std::lock_guard lock(state_mutex_);
    channel_state_ = std::move(opened.channels);
    for (const auto& [key, channel] : channel_state_) tracked += channel.tracked.size();
    state_open_ = true;
  } catch (const StateRefusedError&) {
    throw;
  } catch (const StateError& e) {
    exporter_metrics_.StateError("load");
    spdlog::error("cannot open the state, polling waits for it and tries again path={} error={}",
                  store_->Where(), LogQuote(e.what()));
    std::lock_guard lock(state_mutex_);
    state_open_ = false;
    return false;
  }
  if (memory_store_ == nullptr) {
    spdlog::info("state opened path={} counted_calls={} followed_calls={} channels={}",
                 store_->Where(), store_->CountedCalls(), tracked, channel_state_.size());
  }
  exporter_metrics_.SetStateCalls(static_cast<double>(store_->CountedCalls()));
  return true;
}

bool Poller::Ready() const {
  if (!StateOpen()) return false;
  std::lock_guard lock(ready_mutex_);
  for (const auto& ref : channels_) {
    if (polled_ok_.count({ref.workspace_id, ref.channel_id}) == 0) return false;
  }
  return true;
}

std::size_t Poller::TrackedCalls(const ChannelKey& channel) const {
  std::lock_guard lock(state_mutex_);
  auto it = channel_state_.find(channel);
  return it == channel_state_.end() ? 0 : it->second.tracked.size();
}

milliseconds Poller::InsightsDelay() const { return milliseconds(insights_delay_ms_.load()); }

void Poller::LearnInsightsDelay(bool first_attempt_found, milliseconds ended_ago) {
  const long long current = insights_delay_ms_.load();
  // A miss says the insights take longer than `ended_ago`: a second more than that, and never
  // more, so that several misses of the same poll do not add up.
  const long long next = first_attempt_found ? std::max(0LL, current - kInsightsDelayDownMs)
                                             : std::clamp(ended_ago.count() + kInsightsDelayUpMs,
                                                          current, kInsightsDelayMaxMs);
  insights_delay_ms_.store(next);
}

bool Poller::WantsInsights(const Call& call) const {
  switch (settings_.poll.insights) {
    case InsightsMode::kAll:
      return true;
    case InsightsMode::kNone:
      return false;
    case InsightsMode::kPoor:
      return call.status == CallStatus::kCompleted &&
             (!call.mos || *call.mos < settings_.poll.poor_mos_threshold);
  }
  return true;
}

SystemTime Poller::NextCheck(const Call& call, SystemTime now) const {
  return RecheckAt(now, RecheckDelay(call, now), settings_.poll.interval);
}

milliseconds Poller::RecheckDelay(const Call& call, SystemTime now) const {
  const SystemTime created = call.created_at.value_or(now);
  return bird_exporter::RecheckDelay(std::chrono::duration_cast<milliseconds>(now - created),
                                     settings_.poll.interval);
}

// A call known to have ended: counted at once from the list record when no insights are
// wanted (it is then in cycle.counting), else kept until its insights arrive.
void Poller::Ended(ChannelCycle& cycle, TrackedCall& t, SystemTime now) {
  if (!WantsInsights(t.call)) {
    if (cycle.counting.insert(t.call.id).second) cycle.to_count.push_back({t.call, std::nullopt});
    return;
  }
  const bool schedule = !t.ended;
  t.ended = true;
  t.confirmed = true;
  if (schedule) {
    t.ended_noticed = now;
    t.insights_attempts = 0;
    // From the call's end, but never later than one delay from now: an `endedAt` ahead of this
    // clock must not hold the call back.
    t.insights_due = std::clamp(EndOf(t.call, now) + InsightsDelay(), now, now + InsightsDelay());
  }
}

// The calls of a page whose country is still to be looked up: a call already counted, or
// followed with its country known from an earlier record, is listed again and again, and
// the lookup would be repeated each time for nothing.
CountryWanted Poller::CountryWantedFor(const ChannelCycle& cycle) const {
  return [this, &cycle](const std::string& id) {
    if (cycle.counting.count(id) > 0) return false;
    if (auto it = cycle.st.tracked.find(id); it != cycle.st.tracked.end()) {
      return it->second.call.remote_country.empty();
    }
    return !store_->IsCounted(id);
  };
}

void Poller::Observe(ChannelCycle& cycle, Call call, SystemTime now) {
  if (call.id.empty() || cycle.counting.count(call.id) > 0 || store_->IsCounted(call.id)) return;
  auto it = cycle.st.tracked.find(call.id);
  if (it == cycle.st.tracked.end()) {
    // Calls from before the channel was first polled, or too old to be remembered as counted,
    // are not ours; a call already followed is always.
    const SystemTime created = call.created_at.value_or(now);
    if (created < std::max(cycle.st.since, now - settings_.poll.max_call_age)) return;
    it = cycle.st.tracked.emplace(call.id, TrackedCall{}).first;
  }
  cycle.seen.insert(call.id);
  TrackedCall& t = it->second;
  if (IsTerminal(call.status)) {
    const bool already = t.ended && t.confirmed;
    // A record read without the country lookup (CountryWantedFor) keeps the one found before.
    if (call.remote_country.empty()) call.remote_country = std::move(t.call.remote_country);
    t.call = std::move(call);
    if (!already) Ended(cycle, t, now);
    if (cycle.counting.count(t.call.id) > 0) cycle.st.tracked.erase(it);
    return;
  }
  // Open (again): follow it.
  t.call = std::move(call);
  t.ended = false;
  t.confirmed = false;
  t.next_check = NextCheck(t.call, now);
}

// A list answer that is no page: the channel's error of this poll, logged here when it may pass
// and by Commit (once per change) when it is permanent. False for a page.
bool Poller::ListFailed(ChannelCycle& cycle, const ListCallsResult& result) const {
  if (result.outcome == ApiOutcome::kOk) return false;
  cycle.list_error_code = result.http_status;
  if (result.outcome == ApiOutcome::kUnauthorized) {
    cycle.list_error = result.http_status == 403 ? "forbidden" : "unauthorized";
    cycle.unauthorized_logged = true;
    return true;
  }
  if (result.http_status == 404) {
    cycle.list_error = "not_found";
    return true;
  }
  cycle.list_error = "failed";
  spdlog::warn(
      "listing calls failed, channel skipped this poll workspace={} channel={} "
      "error={}",
      cycle.ref->workspace_name, cycle.ref->channel_name, LogQuote(result.error));
  return true;
}

bool Poller::ListHead(ChannelCycle& cycle, std::stop_token stop, SystemTime now, int& pages) {
  const ChannelRef& ref = *cycle.ref;
  const SystemTime bound = ListWindowStart(cycle.st.window_start, now, window_settings_);
  std::optional<SystemTime> newest;
  std::string token;
  bool done = false;
  int in_window = 0;
  std::optional<SystemTime> oldest_in_window;
  std::optional<milliseconds> oldest_due_age;
  for (const auto& [id, t] : cycle.st.tracked) {
    if (t.ended || t.next_check > now || !t.call.created_at) continue;
    const auto age = std::chrono::duration_cast<milliseconds>(now - *t.call.created_at);
    if (!oldest_due_age || age > *oldest_due_age) oldest_due_age = age;
  }
  while (pages < settings_.max_pages_per_poll) {
    ListQuery query{token, {}, 0, CountryWantedFor(cycle)};
    if (token.empty()) {
      query.limit =
          FirstPageLimit(cycle.st.head_calls, cycle.st.head_calls_per_second, oldest_due_age);
    }
    ListCallsResult result = api_.ListCalls(ref, query, stop);
    ClampFuture(result, clock_());
    if (result.outcome == ApiOutcome::kStopped || ListFailed(cycle, result)) return false;
    ++pages;
    // The list is newest first, so the first call older than the window ends the walk.
    bool reached = false;
    for (Call& call : result.page.calls) {
      if (call.created_at) {
        if (!newest || *call.created_at > *newest) newest = call.created_at;
        if (*call.created_at < bound) reached = true;
      }
      if (!reached) {
        ++in_window;
        if (call.created_at && (!oldest_in_window || *call.created_at < *oldest_in_window)) {
          oldest_in_window = call.created_at;
        }
      }
      Observe(cycle, std::move(call), now);
    }
    token = result.page.next_page_token;
    if (token.empty() || reached) {
      done = true;
      break;
    }
  }
  if (!done) {
    cycle.st.gaps.push_back({token, bound});
    spdlog::warn(
        "page limit reached while listing calls, the channel is behind and the next "
        "polls resume from the cursor workspace={} channel={} pages={}",
        ref.workspace_name, ref.channel_name, settings_.max_pages_per_poll);
  }
  cycle.st.window_start = NextWindowStart(bound, newest, now, window_settings_);
  cycle.st.head_calls = done ? in_window : 0;
  cycle.st.head_calls_per_second = 0;
  if (done && newest && oldest_in_window) {
    const double span = std::chrono::duration<double>(*newest - *oldest_in_window).count();
    cycle.st.head_calls_per_second = in_window / std::max(span, 1.0);
  }
  return true;
}

void Poller::ListGaps(ChannelCycle& cycle, std::stop_token stop, SystemTime now, int& pages) {
  const ChannelRef& ref = *cycle.ref;
  auto& gaps = cycle.st.gaps;
  for (auto gap = gaps.begin(); gap != gaps.end() && pages < settings_.max_pages_per_poll;) {
    gap->lower = std::max(gap->lower, now - settings_.poll.max_call_age);
    bool done = false;
    bool failed = false;
    while (pages < settings_.max_pages_per_poll) {
      ListCallsResult result =
          api_.ListCalls(ref, ListQuery{gap->page_token, {}, 0, CountryWantedFor(cycle)}, stop);
      ClampFuture(result, clock_());
      if (result.outcome != ApiOutcome::kOk) {
        if (result.outcome == ApiOutcome::kFailed && IsClientError(result.http_status) &&
            !gap->page_token.empty()) {
          // A cursor Bird no longer accepts: list the gap again from the top.
          spdlog::warn(
              "bird refused a saved cursor, listing the missed calls again from the "
              "newest workspace={} channel={} code={}",
              ref.workspace_name, ref.channel_name, result.http_status);
          gap->page_token.clear();
        }
        failed = true;
        break;
      }
      ++pages;
      bool reached = false;
      for (Call& call : result.page.calls) {
        if (call.created_at && *call.created_at < gap->lower) reached = true;
        Observe(cycle, std::move(call), now);
      }
      gap->page_token = result.page.next_page_token;
      if (gap->page_token.empty() || reached) {
        done = true;
        break;
      }
    }
    if (done) {
      gap = gaps.erase(gap);
      continue;
    }
    if (failed) break;
    ++gap;
  }
}

void Poller::NoLongerOpen(TrackedCall& t, SystemTime now) const {
  // With insights wanted, they bring the final call fields too, so no request is spent on the
  // record; otherwise the record is asked for.
  t.ended = true;
  t.confirmed = false;
  t.ended_noticed = now;
  t.insights_attempts = 0;
  t.insights_due = now;
  if (settings_.poll.insights == InsightsMode::kAll) t.insights_due += InsightsDelay();
}

bool Poller::ListStatus(ChannelCycle& cycle, std::stop_token stop, SystemTime now,
                        CallStatus status, const std::vector<std::string>& due,
                        const std::vector<std::string>& reach) {
  const ChannelRef& ref = *cycle.ref;
  std::optional<SystemTime> oldest_due;
  for (const auto& id : reach) {
    auto it = cycle.st.tracked.find(id);
    if (it == cycle.st.tracked.end()) continue;
    const SystemTime created = it->second.call.created_at.value_or(now);
    if (!oldest_due || created < *oldest_due) oldest_due = created;
  }
  std::optional<SystemTime> covered;  // oldest creation time listed so far
  bool complete = false;
  std::string token;
  for (int pages = 0; pages < settings_.max_pages_per_poll; ++pages) {
    ListCallsResult result = api_.ListCalls(
        ref, ListQuery{token, std::string(ToString(status)), 0, CountryWantedFor(cycle)}, stop);
    ClampFuture(result, clock_());
    if (result.outcome != ApiOutcome::kOk) {
      if (result.outcome == ApiOutcome::kFailed && IsClientError(result.http_status)) {
        cycle.filter_unsupported = true;
      }
      return cycle.filter_unsupported ? false : true;  // a passing failure: next poll
    }
    bool honoured = true;
    for (Call& call : result.page.calls) {
      if (call.status != status) honoured = false;
      if (call.created_at && (!covered || *call.created_at < *covered)) covered = call.created_at;
      Observe(cycle, std::move(call), now);
    }
    if (!honoured) {
      cycle.filter_unsupported = true;
      return false;
    }
    token = result.page.next_page_token;
    if (token.empty()) {
      complete = true;
      break;
    }
    if (covered && oldest_due && *covered < *oldest_due) break;
  }
  auto reached = [&](bool list_complete, std::optional<SystemTime> list_covered, SystemTime c) {
    return list_complete || (list_covered && c > *list_covered);
  };
  if (status == CallStatus::kOngoing) cycle.ongoing_listed = {complete, covered};
  for (const auto& id : due) {
    if (cycle.seen.count(id) > 0) continue;
    auto it = cycle.st.tracked.find(id);
    if (it == cycle.st.tracked.end() || it->second.ended) continue;
    TrackedCall& t = it->second;
    const SystemTime created = t.call.created_at.value_or(now);
    if (!reached(complete, covered, created)) continue;  // not reached: next poll
    if (status == CallStatus::kOngoing) {
      NoLongerOpen(t, now);  // gone from the ongoing calls: it has ended
      continue;
    }
    // Gone from its status: ongoing now, or ended. In neither list, it has ended; else its
    // record tells.
    if (cycle.ongoing_listed &&
        reached(cycle.ongoing_listed->first, cycle.ongoing_listed->second, created)) {
      NoLongerOpen(t, now);
    } else {
      cycle.jobs.push_back({Job::Kind::kGetCall, id, {}, {}});
    }
  }
  return true;
}

// One list of the channel's calls created in [oldest, newest], every page of it (taken from
// `pages_left`); each record is observed (an ended call is settled, an open one followed).
// Incomplete: a page failed after its retries, or the pages ran out; if Bird refused the
// bounds or ignored them, cycle.range_unsupported is set as well.
Poller::RangeListed Poller::ListCreationRange(ChannelCycle& cycle, std::stop_token stop,
                                              SystemTime now, SystemTime oldest, SystemTime newest,
                                              int& pages_left) {
  // Bird does not say whether its bounds are inclusive: a millisecond of margin either way.
  ListQuery query{{},
                  {},
                  0,
                  CountryWantedFor(cycle),
                  oldest - std::chrono::milliseconds(1),
                  newest + std::chrono::milliseconds(1)};
  // A call out of bounds by more than a second means the bounds are not on the creation time.
  const SystemTime low = oldest - std::chrono::seconds(1);
  const SystemTime high = newest + std::chrono::seconds(1);
  while (pages_left > 0) {
    --pages_left;
    ListCallsResult result = api_.ListCalls(*cycle.ref, query, stop);
    ClampFuture(result, clock_());
    if (result.outcome == ApiOutcome::kStopped) return RangeListed::kStopped;
    if (result.outcome != ApiOutcome::kOk) {
      if (result.outcome == ApiOutcome::kFailed && IsClientError(result.http_status)) {
        cycle.range_unsupported = true;
      }
      return RangeListed::kIncomplete;
    }
    bool honoured = true;
    for (Call& call : result.page.calls) {
      if (call.created_at && (*call.created_at < low || *call.created_at > high)) honoured = false;
      Observe(cycle, std::move(call), now);
    }
    if (!honoured) {
      cycle.range_unsupported = true;
      return RangeListed::kIncomplete;
    }
    query.page_token = result.page.next_page_token;
    if (query.page_token.empty()) return RangeListed::kComplete;
  }
  return RangeListed::kIncomplete;
}

std::vector<std::string> Poller::ListEndedByCreation(ChannelCycle& cycle, std::stop_token stop,
                                                     SystemTime now, std::vector<std::string> ids) {
  std::vector<std::string> by_id;
  // Creation times taken before any list: a list may settle (and drop) calls of later
  // stretches. A call without one cannot be placed in a stretch.
  std::vector<std::pair<SystemTime, std::string>> by_created;
  for (auto& id : ids) {
    auto it = cycle.st.tracked.find(id);
    if (it == cycle.st.tracked.end()) continue;
    if (!it->second.call.created_at) {
      by_id.push_back(std::move(id));
      continue;
    }
    by_created.emplace_back(*it->second.call.created_at, std::move(id));
  }
  std::sort(by_created.begin(), by_created.end());
  auto created = [&](std::size_t i) { return by_created[i].first; };
  // What a list of the calls created in [a, b] costs, from how densely the head listing saw
  // calls being created.
  const double rate = cycle.st.head_calls_per_second;
  const int calls_per_page = api_.CallsPerPage();
  const double page = calls_per_page > 0 ? calls_per_page : 1000;
  auto pages = [&](SystemTime a, SystemTime b) {
    return std::ceil((std::chrono::duration<double>(b - a).count() * rate + 1) / page);
  };
  // One page budget for all of this poll's stretches: the channel's share of a minute of its
  // workspace's request budget (at least 10 pages, at most the cap of any listing), so that a
  // backlog, after downtime say, is worked off over several polls that each commit.
  const auto sharing = std::count_if(channels_.begin(), channels_.end(), [&](const ChannelRef& c) {
    return c.workspace_id == cycle.ref->workspace_id;
  });
  const double minute = api_.RequestBudget(*cycle.ref) * 60 / std::max<double>(1, sharing);
  int pages_left = std::isfinite(minute) ? std::clamp(static_cast<int>(minute), 10,
                                                      std::max(10, settings_.max_pages_per_poll))
                                         : settings_.max_pages_per_poll;
  // From the newest down, the densest stretches first: a stretch of ended calls is listed
  // while its pages cost at most half as many requests as a GET for each of its calls.
  std::size_t end = by_created.size();
  while (end > 0) {
    const SystemTime newest = created(end - 1);
    std::size_t begin = end - 1;
    while (rate > 0 && begin > 0 &&
           2 * pages(created(begin - 1), newest) <= static_cast<double>(end - begin + 1)) {
      --begin;
    }
    const std::size_t count = end - begin;
    if (count < 2 || cycle.range_unsupported) {  // no list for it: by id
      for (std::size_t i = begin; i < end; ++i) {
        if (cycle.seen.count(by_created[i].second) == 0) by_id.push_back(by_created[i].second);
      }
      end = begin;
      continue;
    }
    const RangeListed listed =
        ListCreationRange(cycle, stop, now, created(begin), newest, pages_left);
    if (listed == RangeListed::kStopped) return by_id;
    if (listed == RangeListed::kIncomplete) {
      // The list failed or ran out of pages: every call still unsettled, of this stretch and
      // the older ones, is asked for by id, so no answer of Bird's can hold a call back.
      for (std::size_t i = 0; i < end; ++i) {
        if (cycle.seen.count(by_created[i].second) == 0) by_id.push_back(by_created[i].second);
      }
      break;
    }
    std::size_t missing = 0;
    for (std::size_t i = begin; i < end; ++i) {
      const std::string& id = by_created[i].second;
      if (cycle.seen.count(id) > 0) continue;
      by_id.push_back(id);  // missing from a list that reached it
      ++missing;
    }
    // Bounds that leave most of the calls out are not on the creation time.
    if (2 * missing > count) cycle.range_unsupported = true;
    end = begin;
  }
  return by_id;
}

void Poller::FollowTracked(ChannelCycle& cycle, std::stop_token stop, SystemTime now) {
  const ChannelRef& ref = *cycle.ref;
  auto& tracked = cycle.st.tracked;
  const auto give_up_age =
      std::max<milliseconds>(std::chrono::hours(24), settings_.poll.max_call_age * 4);
  std::map<CallStatus, std::vector<std::string>> due;
  for (auto it = tracked.begin(); it != tracked.end();) {
    TrackedCall& t = it->second;
    if (!t.ended && t.call.created_at && now - *t.call.created_at > give_up_age) {
      spdlog::warn(
          "call still open after {}h, no longer followed workspace={} channel={} "
          "call_id={} status={}",
          std::chrono::duration_cast<std::chrono::hours>(give_up_age).count(), ref.workspace_name,
          ref.channel_name, LogQuote(t.call.id), ToString(t.call.status));
      cycle.abandoned += 1;
      it = tracked.erase(it);
      continue;
    }
    if (!t.ended && t.next_check <= now && cycle.seen.count(it->first) == 0) {
      due[t.call.status].push_back(it->first);
    }
    ++it;
  }
  const bool filter_ok = status_filter_unsupported_.count(cycle.key) == 0;
  // The ongoing list reaches every due call: a call last seen ringing that is in neither the
  // ongoing nor the ringing list has ended, without a request of its own.
  std::vector<std::string> all_due;
  for (const auto& [status, ids] : due) all_due.insert(all_due.end(), ids.begin(), ids.end());
  for (CallStatus status : kFollowedStatuses) {
    auto found = due.find(status);
    const bool ongoing = status == CallStatus::kOngoing;
    const std::size_t count = found == due.end() ? 0 : found->second.size();
    // A list is worth it from two calls on; one call is cheaper by id.
    const bool worth = ongoing ? all_due.size() >= 2 : count >= 2;
    if (!filter_ok || cycle.filter_unsupported || !worth) continue;
    static const std::vector<std::string> kNone;
    const auto& ids = found == due.end() ? kNone : found->second;
    if (ListStatus(cycle, stop, now, status, ids, ongoing ? all_due : ids) && count > 0) {
      due.erase(found);
    }
  }
  if (cycle.filter_unsupported) {
    spdlog::warn(
        "bird did not filter the call list by status, following open calls one by "
        "one workspace={} channel={}",
        ref.workspace_name, ref.channel_name);
  }
  std::set<std::string> queued;
  for (const Job& job : cycle.jobs) queued.insert(job.call_id);
  for (const auto& [status, ids] : due) {
    for (const auto& id : ids) {
      if (cycle.seen.count(id) == 0 && tracked.count(id) > 0 && queued.insert(id).second) {
        cycle.jobs.push_back({Job::Kind::kGetCall, id, {}, {}});
      }
    }
  }
  // Ended calls whose final record is wanted (the insights mode needs it, or the insights
  // never came): through lists bounded by creation time where cheaper, else one by one.
  auto wants_record = [&](const TrackedCall& t) {
    return t.ended && t.insights_due <= now && !t.confirmed &&
           !(settings_.poll.insights == InsightsMode::kAll && t.insights_attempts < 2);
  };
  std::vector<std::string> records;
  for (const auto& [id, t] : tracked) {
    if (wants_record(t) && cycle.seen.count(id) == 0 && queued.count(id) == 0) {
      records.push_back(id);
    }
  }
  const std::set<std::string> listed(records.begin(), records.end());
  std::set<std::string> by_id;
  if (records.size() >= 2 && range_filter_unsupported_.count(cycle.key) == 0) {
    for (auto& id : ListEndedByCreation(cycle, stop, now, std::move(records))) by_id.insert(id);
    if (cycle.range_unsupported) {
      spdlog::warn(
          "bird did not bound the call list by creation time (startAt, endAt), asking for "
          "ended calls one by one workspace={} channel={}",
          ref.workspace_name, ref.channel_name);
    }
  } else {
    by_id = listed;
  }
  for (auto it = tracked.begin(); it != tracked.end();) {
    TrackedCall& t = it->second;
    if (!t.ended || t.insights_due > now ||
        (wants_record(t) && listed.count(it->first) > 0 && by_id.count(it->first) == 0)) {
      ++it;
      continue;
    }
    if (t.confirmed && !WantsInsights(t.call)) {
      // The insights mode changed on reload: what is there is counted now.
      if (cycle.counting.insert(it->first).second) cycle.to_count.push_back({t.call, std::nullopt});
      it = tracked.erase(it);
      continue;
    }
    if (t.confirmed && t.insights_attempts == 0) {
      // A first request waits for the delay learnt by now, not the one of when the end was
      // seen: once a miss has raised it, the calls scheduled before are not asked too early.
      const SystemTime wanted = std::clamp(EndOf(t.call, t.ended_noticed) + InsightsDelay(),
                                           t.ended_noticed, t.ended_noticed + InsightsDelay());
      if (wanted > now) {
        t.insights_due = wanted;
        ++it;
        continue;
      }
    }
    const bool insights =
        t.confirmed || (settings_.poll.insights == InsightsMode::kAll && t.insights_attempts < 2);
    if (queued.insert(it->first).second) {
      cycle.jobs.push_back(
          {insights ? Job::Kind::kInsights : Job::Kind::kGetCall, it->first, {}, {}});
    }
    ++it;
  }
}

void Poller::ListPhase(ChannelCycle& cycle, std::stop_token stop, SystemTime now) {
  if (auto it = channel_state_.find(cycle.key); it != channel_state_.end()) {
    cycle.st = it->second;
  } else {
    cycle.st.window_start = ListWindowStart(std::nullopt, now, window_settings_);
    cycle.st.since = cycle.st.window_start;
  }
  int pages = 0;
  if (!ListHead(cycle, stop, now, pages)) return;
  ListGaps(cycle, stop, now, pages);
  FollowTracked(cycle, stop, now);
  cycle.list_ok = true;
}

void Poller::RunJob(ChannelCycle& cycle, Job& job, std::stop_token stop) {
  const ChannelRef& ref = *cycle.ref;
  if (cycle.unauthorized_logged) {
    job.call_result.outcome = job.insights_result.outcome = ApiOutcome::kUnauthorized;
    return;
  }
  int http_status = 0;
  try {
    if (job.kind == Job::Kind::kGetCall) {
      job.call_result = api_.GetCall(ref, job.call_id, stop);
      ClampFutureTimes(job.call_result.call, clock_(), kFutureTolerance);
      http_status = job.call_result.http_status;
    } else {
      job.insights_result = api_.GetInsights(ref, job.call_id, stop);
      ClampFutureTimes(job.insights_result.insights.call, clock_(), kFutureTolerance);
      http_status = job.insights_result.http_status;
    }
  } catch (const std::exception& e) {
    job.call_result.outcome = job.insights_result.outcome = ApiOutcome::kFailed;
    job.call_result.error = job.insights_result.error = e.what();
  }
  const ApiOutcome outcome =
      job.kind == Job::Kind::kGetCall ? job.call_result.outcome : job.insights_result.outcome;
  if (outcome == ApiOutcome::kUnauthorized && !cycle.unauthorized_logged.exchange(true)) {
    spdlog::error(
        "bird refused the access key for a call or its insights: check "
        "bird.access_key / access_key_file and the key's permissions workspace={} "
        "channel={} code={}",
        ref.workspace_name, ref.channel_name, http_status);
  }
}

void Poller::ApplyJob(ChannelCycle& cycle, Job& job, SystemTime now) {
  auto it = cycle.st.tracked.find(job.call_id);
  if (it == cycle.st.tracked.end()) return;
  if (job.kind == Job::Kind::kGetCall) {
    ApplyGetCall(cycle, it->second, job, now);
  } else {
    ApplyInsights(cycle, it->second, job, now);
  }
}

// The call's own record (GET by id): ended, still open, or not known yet.
void Poller::ApplyGetCall(ChannelCycle& cycle, TrackedCall& t, Job& job, SystemTime now) {
  CallResult& r = job.call_result;
  if (r.outcome == ApiOutcome::kOk && r.call.id == job.call_id) {
    cycle.seen.insert(job.call_id);
    if (IsTerminal(r.call.status)) {
      t.call = std::move(r.call);
      Ended(cycle, t, now);
      if (cycle.counting.count(job.call_id) > 0) cycle.st.tracked.erase(job.call_id);
    } else {
      t.call = std::move(r.call);
      t.ended = false;
      t.confirmed = false;
      t.next_check = NextCheck(t.call, now);
    }
    return;
  }
  if (r.outcome == ApiOutcome::kStopped || r.outcome == ApiOutcome::kUnauthorized) return;
  // Not known to Bird, or no answer: look again later, within the same bounds.
  const auto later =
      r.outcome == ApiOutcome::kNotFound ? RecheckDelay(t.call, now) : settings_.poll.interval;
  t.next_check = now + later;
  if (t.ended) t.insights_due = now + later;
}

// The call's insights: counted with them, asked again later, or, after the grace period,
// counted from the call list alone.
void Poller::ApplyInsights(ChannelCycle& cycle, TrackedCall& t, Job& job, SystemTime now) {
  const auto grace = settings_.poll.insights_grace_period;
  InsightsResult& r = job.insights_result;
  if (r.outcome == ApiOutcome::kStopped || r.outcome == ApiOutcome::kUnauthorized) return;
  if (r.outcome == ApiOutcome::kOk) {
    const CallStatus status = r.insights.call.status;
    if (status != CallStatus::kUnknown && !IsTerminal(status)) {
      // Not over after all: follow it again.
      t.ended = false;
      t.confirmed = false;
      t.next_check = NextCheck(t.call, now);
      return;
    }
    if (!t.confirmed && status == CallStatus::kUnknown) {
      // Insights without a status, for a call whose end was never seen: its record decides.
      t.insights_attempts = std::max(t.insights_attempts, 2);
      t.insights_due = now;
      return;
    }
    if (t.insights_attempts == 0 && t.confirmed) LearnInsightsDelay(true, {});
    if (cycle.counting.insert(job.call_id).second) {
      cycle.to_count.push_back({t.call, std::move(r.insights)});
    }
    cycle.st.tracked.erase(job.call_id);
    return;
  }
  if (r.outcome == ApiOutcome::kNotFound && t.insights_attempts == 0 && t.confirmed) {
    const auto ended_ago = std::chrono::duration_cast<milliseconds>(now - EndOf(t.call, now));
    // Insights still missing longer than the longest delay after the end say nothing about
    // the usual delay (they may never come): only the others teach it.
    if (ended_ago.count() < kInsightsDelayMaxMs) LearnInsightsDelay(false, ended_ago);
    spdlog::debug(
        "insights not published yet at the first request call_id={} ended_ms_ago={} "
        "delay_ms={}",
        LogQuote(job.call_id), ended_ago.count(), insights_delay_ms_.load());
  }
  ++t.insights_attempts;
  // The grace period runs from when the exporter learnt of the end: a call found long after
  // it ended (at the first start, after downtime) still gets the whole period.
  const SystemTime ended =
      t.confirmed ? std::max(EndOf(t.call, t.ended_noticed), t.ended_noticed) : t.ended_noticed;
  // Asked at least twice, in two polls, before giving up: one poll's retries can all fail.
  if (now - ended < grace || t.insights_attempts < 2) {
    t.insights_due = now + InsightsRetryDelay(t.insights_attempts);
    return;
  }
  if (!t.confirmed) {
    t.insights_due = now;  // the final record first (attempts >= 2 asks for it)
    t.insights_attempts = std::max(t.insights_attempts, 2);
    return;
  }
  cycle.insights_unavailable += 1;
  spdlog::warn(
      "insights unavailable after the grace period, counting the call from the "
      "call list workspace={} channel={} call_id={} last_error={}",
      cycle.ref->workspace_name, cycle.ref->channel_name, LogQuote(job.call_id), LogQuote(r.error));
  if (cycle.counting.insert(job.call_id).second) cycle.to_count.push_back({t.call, std::nullopt});
  cycle.st.tracked.erase(job.call_id);
}

// At most what the workspace's request budget allows in one interval, so that a backlog
// (bird_exporter_insights_pending) is worked off over several polls, each committed on time,
// instead of one poll that runs for minutes. Calls looked up by id first, then insights, the
// longest waiting first.
std::vector<std::pair<std::size_t, std::size_t>> Poller::SelectJobs(
    std::vector<ChannelCycle>& cycles) {
  std::map<std::string, std::vector<std::pair<std::size_t, std::size_t>>> by_workspace;
  std::map<std::string, double> budget;
  for (std::size_t i = 0; i < cycles.size(); ++i) {
    if (!cycles[i].list_ok) continue;
    const std::string& workspace = cycles[i].ref->workspace_id;
    if (budget.count(workspace) == 0) budget[workspace] = api_.RequestBudget(*cycles[i].ref);
    for (std::size_t j = 0; j < cycles[i].jobs.size(); ++j)
      by_workspace[workspace].emplace_back(i, j);
  }
  std::vector<std::pair<std::size_t, std::size_t>> selected;
  const double interval_seconds = std::chrono::duration<double>(settings_.poll.interval).count();
  for (auto& [workspace, jobs] : by_workspace) {
    const double allowed = budget[workspace] * interval_seconds;
    if (std::isfinite(allowed) && allowed < static_cast<double>(jobs.size())) {
      auto rank = [&](const std::pair<std::size_t, std::size_t>& k) {
        const Job& job = cycles[k.first].jobs[k.second];
        const auto& tracked = cycles[k.first].st.tracked;
        const auto it = tracked.find(job.call_id);
        const SystemTime due = it == tracked.end() ? SystemTime{} : it->second.insights_due;
        return std::make_pair(job.kind == Job::Kind::kInsights, due);
      };
      std::stable_sort(jobs.begin(), jobs.end(),
                       [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
      jobs.resize(static_cast<std::size_t>(std::max(1.0, std::floor(allowed))));
    }
    selected.insert(selected.end(), jobs.begin(), jobs.end());
  }
  return selected;
}

void Poller::LogPermanentListError(const ChannelCycle& cycle) {
  std::string& logged = permanent_errors_logged_[cycle.key];
  if (logged == cycle.list_error) return;
  logged = cycle.list_error;
  const ChannelRef& ref = *cycle.ref;
  if (cycle.list_error == "not_found") {
    spdlog::error(
        "bird does not know this channel (404): check the workspace and channel ids in the "
        "configuration workspace={} channel={} workspace_id={} channel_id={}",
        ref.workspace_name, ref.channel_name, LogQuote(ref.workspace_id), LogQuote(ref.channel_id));
  } else {
    spdlog::error(
        "bird refused the access key: check bird.access_key / access_key_file and "
        "that the key may view /workspaces/{}/channels/** workspace={} channel={} "
        "code={}",
        ref.workspace_id, ref.workspace_name, ref.channel_name, cycle.list_error_code);
  }
}

bool Poller::StateOpen() const {
  std::lock_guard lock(state_mutex_);
  return state_open_;
}

bool Poller::PollOnce(std::stop_token stop) {
  // Nothing can be counted without the state: Bird is not asked until it opens.
  if (!StateOpen() && !LoadState()) return false;
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
      ListPhase(cycles[i], stop, poll_started);
    } catch (const std::exception& e) {
      cycles[i].list_ok = false;
      spdlog::error("unexpected error while listing calls workspace={} channel={} error={}",
                    cycles[i].ref->workspace_name, cycles[i].ref->channel_name, LogQuote(e.what()));
    }
  });
  if (stop.stop_requested()) return false;

  std::vector<std::pair<std::size_t, std::size_t>> jobs = SelectJobs(cycles);  // (channel, job)
  // Requests not started within one interval wait for the next poll, so that a budget cut
  // by 429s in the middle of a poll cannot hold its commit back for minutes.
  const auto deadline =
      steady_started + std::max<milliseconds>(settings_.poll.interval, std::chrono::seconds(1));
  // Each workspace has its own request budget: its requests run on threads of their own, so a
  // workspace held back by 429s never holds the others back.
  std::map<std::string, std::vector<std::pair<std::size_t, std::size_t>>> by_workspace;
  for (const auto& k : jobs) by_workspace[cycles[k.first].ref->workspace_id].push_back(k);
  std::vector<const std::vector<std::pair<std::size_t, std::size_t>>*> groups;
  for (const auto& [workspace, group] : by_workspace) groups.push_back(&group);
  const int max_threads = std::max(1, settings_.max_concurrent_requests);
  const int parallel_groups = std::min<int>(max_threads, static_cast<int>(groups.size()));
  const int threads_per_group = std::max(1, max_threads / std::max(1, parallel_groups));
  ParallelFor(groups.size(), max_threads, [&](std::size_t g) {
    const auto& group = *groups[g];
    ParallelFor(group.size(), threads_per_group, [&](std::size_t k) {
      auto [i, j] = group[k];
      Job& job = cycles[i].jobs[j];
      if (std::chrono::steady_clock::now() >= deadline) {
        job.call_result.outcome = job.insights_result.outcome = ApiOutcome::kStopped;
        return;
      }
      RunJob(cycles[i], job, stop);
    });
  });
  if (stop.stop_requested()) return false;

  const SystemTime now = clock_();
  for (const auto& [i, j] : jobs) ApplyJob(cycles[i], cycles[i].jobs[j], now);
  if (!Commit(cycles, now)) return true;
  exporter_metrics_.SetPollDuration(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - steady_started).count());
  ++completed_cycles_;
  return true;
}

// What one cycle's commit writes and publishes: the calls newly counted, the record for the
// state store, each channel's figures, and the channel states it replaced (for a rollback).
struct Poller::CommitPlan {
  struct Counted {
    std::size_t channel_index;
    CallObservation obs;
  };
  struct Summary {
    ActiveCallCounts active;
    double tracked = 0;
    double waiting = 0;
    double late = 0;
    bool behind = false;
  };
  std::vector<Counted> counted;
  PollRecord record;
  std::vector<Summary> summaries;
  std::map<ChannelKey, std::optional<ChannelState>> previous;
};

bool Poller::Commit(std::vector<ChannelCycle>& cycles, SystemTime now) {
  CommitPlan plan;
  std::unique_lock lock(state_mutex_);
  PlanCommit(cycles, now, plan);
  const bool saved = SaveCommit(plan);
  const double state_calls = static_cast<double>(store_->CountedCalls());
  lock.unlock();

  const std::unique_lock publishing = PublishLock();
  RecordCounted(cycles, plan);
  PublishChannels(cycles, plan, saved, now);
  exporter_metrics_.SetInsightsDelay(static_cast<double>(insights_delay_ms_.load()) / 1000);
  exporter_metrics_.SetStateCalls(state_calls);
  spdlog::debug("poll committed counted={}", plan.counted.size());
  return saved;
}

// Under state_mutex_: takes each listed channel's new state in, and picks the calls to count
// (once each, and never one the state already holds).
void Poller::PlanCommit(std::vector<ChannelCycle>& cycles, SystemTime now, CommitPlan& plan) {
  std::set<std::string> added_ids;
  plan.summaries.resize(cycles.size());
  const SystemTime late_before = now - settings_.poll.max_call_age;
  for (std::size_t i = 0; i < cycles.size(); ++i) {
    ChannelCycle& cycle = cycles[i];
    if (!cycle.list_ok) continue;
    CommitPlan::Summary& s = plan.summaries[i];
    for (const auto& [id, t] : cycle.st.tracked) {
      s.tracked += 1;
      if (t.ended) {
        s.waiting += 1;
      } else {
        ++s.active[{std::string(ToString(t.call.direction)), std::string(ToString(t.call.status))}];
      }
    }
    s.behind = !cycle.st.gaps.empty();
    for (auto& c : cycle.to_count) {
      if (!added_ids.insert(c.call.id).second || store_->IsCounted(c.call.id)) continue;
      const SystemTime created = c.call.created_at.value_or(now);
      plan.record.counted.push_back({cycle.key, c.call.id, created});
      if (created < late_before) s.late += 1;
      plan.counted.push_back(
          {i, MapCall(c.call, c.insights ? &*c.insights : nullptr, settings_.poor_call)});
    }
    auto existing = channel_state_.find(cycle.key);
    plan.previous[cycle.key] = existing == channel_state_.end()
                                   ? std::nullopt
                                   : std::optional<ChannelState>(std::move(existing->second));
    channel_state_[cycle.key] = std::move(cycle.st);
    if (cycle.filter_unsupported) status_filter_unsupported_.insert(cycle.key);
    if (cycle.range_unsupported) range_filter_unsupported_.insert(cycle.key);
  }
  for (const auto& [key, before] : plan.previous) {
    plan.record.channels.push_back({key, before ? &*before : nullptr, &channel_state_[key]});
  }
  for (const auto& key : removed_channels_) {
    if (channel_state_.count(key) == 0) plan.record.channels.push_back({key, nullptr, nullptr});
  }
  // Entries older than any window can ever reach again; one overlap of margin for clock moves.
  plan.record.prune_before = now - settings_.poll.max_call_age - window_settings_.overlap;
}

// Under state_mutex_. A call becomes visible only after it is durably recorded as counted: if
// the process dies after this point it is never counted again, and before it, it is counted
// after restart. A failed write puts the previous channel states back and counts nothing.
bool Poller::SaveCommit(CommitPlan& plan) {
  bool saved = true;
  const auto commit_started = std::chrono::steady_clock::now();
  try {
    store_->Commit(plan.record);
    removed_channels_.clear();
  } catch (const StateError& e) {
    exporter_metrics_.StateError("write");
    spdlog::error("cannot save state, calls of this poll are counted later path={} error={}",
                  store_->Where(), LogQuote(e.what()));
    for (auto& [key, channel] : plan.previous) {
      if (channel) {
        channel_state_[key] = std::move(*channel);
      } else {
        channel_state_.erase(key);
      }
    }
    plan.counted.clear();
    saved = false;
  }
  exporter_metrics_.ObserveStateCommit(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - commit_started).count());
  return saved;
}

void Poller::RecordCounted(const std::vector<ChannelCycle>& cycles, const CommitPlan& plan) {
  // A flood of bad values is summed up after a few lines, the counter has every one.
  constexpr int kAnomalyLinesPerPoll = 10;
  int anomalous_calls = 0;
  for (const CommitPlan::Counted& c : plan.counted) {
    const ChannelRef& ref = *cycles[c.channel_index].ref;
    call_metrics_.Record(LabelsOf(ref), c.obs);
    spdlog::debug("call counted workspace={} channel={} status={} insights={}", ref.workspace_name,
                  ref.channel_name, c.obs.status, c.obs.from_insights);
    if (c.obs.field_anomalies.empty() || ++anomalous_calls > kAnomalyLinesPerPoll) continue;
    std::string fields;
    for (const auto& field : c.obs.field_anomalies) fields += (fields.empty() ? "" : ",") + field;
    spdlog::warn(
        "call counted without values bird sent unreadable, out of range or in the future "
        "workspace={} channel={} call_id={} fields={}",
        ref.workspace_name, ref.channel_name, LogQuote(c.obs.call_id), LogQuote(fields));
  }
  if (anomalous_calls > kAnomalyLinesPerPoll) {
    spdlog::warn(
        "{} more calls of this poll counted without some of their values, see "
        "bird_exporter_field_anomalies_total",
        anomalous_calls - kAnomalyLinesPerPoll);
  }
}

// Each channel's up, errors, followed calls and readiness; the per-call counters of the
// exporter only when the state was saved (else the same calls come again).
void Poller::PublishChannels(std::vector<ChannelCycle>& cycles, const CommitPlan& plan, bool saved,
                             SystemTime now) {
  std::map<std::string, double> waiting_by_workspace;
  for (const auto& cycle : cycles) waiting_by_workspace[cycle.ref->workspace_name] += 0;
  const double now_seconds = ToUnixSeconds(now);
  for (std::size_t i = 0; i < cycles.size(); ++i) {
    ChannelCycle& cycle = cycles[i];
    const ChannelLabels labels = LabelsOf(*cycle.ref);
    exporter_metrics_.SetChannelUp(labels, cycle.list_ok);
    if (!cycle.list_ok) {
      if (!cycle.list_error.empty()) {
        exporter_metrics_.ChannelError(labels, cycle.list_error);
        // A permanent answer is the channel's answer: it is logged once per change and
        // counts as polled, so one wrong id cannot hold /-/ready at 503 for the others.
        if (cycle.list_error != "failed") {
          LogPermanentListError(cycle);
          std::lock_guard ready(ready_mutex_);
          polled_ok_.insert(cycle.key);
        }
      }
      continue;
    }
    if (auto it = permanent_errors_logged_.find(cycle.key); it != permanent_errors_logged_.end()) {
      spdlog::info("channel listed again workspace={} channel={}", cycle.ref->workspace_name,
                   cycle.ref->channel_name);
      permanent_errors_logged_.erase(it);
    }
    const CommitPlan::Summary& s = plan.summaries[i];
    waiting_by_workspace[cycle.ref->workspace_name] += s.waiting;
    if (saved) {
      exporter_metrics_.AddInsightsUnavailable(labels, cycle.insights_unavailable);
      exporter_metrics_.AddLateCalls(labels, s.late);
      exporter_metrics_.AddAbandonedCalls(labels, cycle.abandoned);
    }
    call_metrics_.SetActive(labels, s.active);
    exporter_metrics_.SetTrackedCalls(labels, s.tracked);
    exporter_metrics_.SetChannelBehind(labels, s.behind);
    exporter_metrics_.SetLastPollSuccess(labels, now_seconds);
    std::lock_guard ready(ready_mutex_);
    polled_ok_.insert(cycle.key);
  }
  for (const auto& [workspace, waiting] : waiting_by_workspace) {
    exporter_metrics_.SetInsightsPending(workspace, waiting);
  }
}

void Poller::Run(std::stop_token stop, std::function<void()> after_cycle) {
  while (!stop.stop_requested()) {
    const auto next = std::chrono::steady_clock::now() + settings_.poll.interval;
    try {
      PollOnce(stop);
    } catch (const std::exception& e) {
      spdlog::error("poll failed unexpectedly, trying again next interval error={}",
                    LogQuote(e.what()));
    }
    if (after_cycle) after_cycle();
    SleepFor(stop, next - std::chrono::steady_clock::now());
  }
}

}  // namespace bird_exporter
