#include "bird/rate_limiter.h"

#include <algorithm>

namespace bird_exporter {

TokenBucket::TokenBucket(double rate_per_second, double capacity)
    : rate_per_second_(rate_per_second), capacity_(capacity), tokens_(capacity) {}

TokenBucket::Clock::duration TokenBucket::TryTake(Clock::time_point now) {
  if (!started_) {
    started_ = true;
    last_ = now;
  }
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(capacity_, tokens_ + elapsed * rate_per_second_);
    last_ = now;
  }
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return Clock::duration::zero();
  }
  const double missing_seconds = (1.0 - tokens_) / rate_per_second_;
  const auto wait = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(missing_seconds));
  return std::max(wait, Clock::duration(1));
}

bool SleepFor(std::stop_token stop, std::chrono::steady_clock::duration duration) {
  if (duration <= std::chrono::steady_clock::duration::zero()) return !stop.stop_requested();
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  cv.wait_for(lock, stop, duration, [] { return false; });
  return !stop.stop_requested();
}

WorkspaceRateLimiter::WorkspaceRateLimiter(double rate_per_second)
    : rate_per_second_(rate_per_second) {}

void WorkspaceRateLimiter::SetRate(double rate_per_second) {
  std::lock_guard lock(mutex_);
  rate_per_second_ = rate_per_second;
  buckets_.clear();
}

bool WorkspaceRateLimiter::Acquire(const std::string& workspace_id, std::stop_token stop) {
  while (!stop.stop_requested()) {
    TokenBucket::Clock::duration wait;
    {
      std::lock_guard lock(mutex_);
      auto& bucket = buckets_[workspace_id];
      if (!bucket) bucket = std::make_unique<TokenBucket>(rate_per_second_, 1.0);
      wait = bucket->TryTake(TokenBucket::Clock::now());
    }
    if (wait == TokenBucket::Clock::duration::zero()) return true;
    if (!SleepFor(stop, wait)) return false;
  }
  return false;
}

}  // namespace bird_exporter
