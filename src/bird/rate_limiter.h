// Request pacing for the Bird API: an adaptive token bucket per workspace (Bird limits GETs per
// workspace) shared by every request of that workspace, plus interruptible sleeps for shutdown.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

namespace bird_exporter {

// Pure token bucket on an injected clock. Capacity 1 spaces requests evenly, so no window of
// one second ever holds more than `rate_per_second` requests started.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  TokenBucket(double rate_per_second, double capacity);

  // Takes a token if one is available at `now`; otherwise returns the wait until one is.
  // A zero duration means the token was taken.
  Clock::duration TryTake(Clock::time_point now);

  // Refills at the old rate up to `now`, then at the new one.
  void SetRate(double rate_per_second, Clock::time_point now);
  double rate() const { return rate_per_second_; }

 private:
  void Refill(Clock::time_point now);

  double rate_per_second_;
  double capacity_;
  double tokens_;
  Clock::time_point last_;
  bool started_ = false;
};

// AIMD on an injected clock: a rate-limit answer halves the rate (once per second at most, so
// a burst of 429s from requests already in flight counts as one signal), then the rate grows
// back linearly to the ceiling, by a twentieth of the ceiling per second.
class AdaptiveRate {
 public:
  using Clock = std::chrono::steady_clock;
  explicit AdaptiveRate(double ceiling);

  double Rate(Clock::time_point now);
  // Returns the rate after the decrease.
  double Decrease(Clock::time_point now);
  void SetCeiling(double ceiling, Clock::time_point now);
  double ceiling() const { return ceiling_; }

 private:
  double Floor() const;

  double ceiling_;
  double rate_;
  Clock::time_point updated_{};
  std::optional<Clock::time_point> last_decrease_;
};

// Sleeps up to `duration`; returns false early when stop is requested.
bool SleepFor(std::stop_token stop, std::chrono::steady_clock::duration duration);

class WorkspaceRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit WorkspaceRateLimiter(double ceiling_per_second,
                                std::function<Clock::time_point()> clock = Clock::now);

  // A new ceiling applies to every workspace from now on (configuration reload).
  void SetRate(double ceiling_per_second);

  // Blocks until the workspace may send one more request. False when stop was requested.
  bool Acquire(const std::string& workspace_id, std::stop_token stop);

  // Takes the workspace's next request slot if it is free now; else the wait until it may be.
  Clock::duration TryAcquire(const std::string& workspace_id);

  // Bird answered 429: the workspace's rate halves and, with a Retry-After, no request of the
  // workspace starts before it has passed. Returns the new rate.
  double OnRateLimited(const std::string& workspace_id,
                       std::optional<std::chrono::milliseconds> retry_after);

  // The workspace's current rate (the ceiling for a workspace not seen yet).
  double CurrentRate(const std::string& workspace_id);

 private:
  struct Workspace {
    Workspace(double ceiling, Clock::time_point now);
    AdaptiveRate rate;
    TokenBucket bucket;
    Clock::time_point hold_until{};
  };
  Workspace& Get(const std::string& workspace_id, Clock::time_point now);

  double ceiling_;
  std::function<Clock::time_point()> clock_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Workspace>> workspaces_;
};

}  // namespace bird_exporter
