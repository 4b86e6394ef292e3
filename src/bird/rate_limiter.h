// Request pacing for the Bird API: a token bucket per workspace (Bird limits GETs per workspace)
// shared by every request of that workspace, plus interruptible sleeps for shutdown.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
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

 private:
  double rate_per_second_;
  double capacity_;
  double tokens_;
  Clock::time_point last_;
  bool started_ = false;
};

// Sleeps up to `duration`; returns false early when stop is requested.
bool SleepFor(std::stop_token stop, std::chrono::steady_clock::duration duration);

class WorkspaceRateLimiter {
 public:
  explicit WorkspaceRateLimiter(double rate_per_second);

  // A new rate applies to every workspace from now on (configuration reload).
  void SetRate(double rate_per_second);

  // Blocks until the workspace may send one more request. False when stop was requested.
  bool Acquire(const std::string& workspace_id, std::stop_token stop);

 private:
  double rate_per_second_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<TokenBucket>> buckets_;
};

}  // namespace bird_exporter
