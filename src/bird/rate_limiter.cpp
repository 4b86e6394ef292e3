#include "bird/rate_limiter.h"

#include <algorithm>

namespace bird_exporter {
namespace {

// Requests are paced 2% under the budget, so that jitter between taking a slot here and the
// request reaching Bird cannot put one request too many into any second there.
constexpr double kPacing = 0.98;

}  // namespace

TokenBucket::TokenBucket(double rate_per_second, double capacity)
    : rate_per_second_(rate_per_second), capacity_(capacity), tokens_(capacity) {}

void TokenBucket::Refill(Clock::time_point now) {
  if (!started_) {
    started_ = true;
    last_ = now;
  }
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(capacity_, tokens_ + elapsed * rate_per_second_);
    last_ = now;
  }
}

TokenBucket::Clock::duration TokenBucket::TryTake(Clock::time_point now) {
  Refill(now);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return Clock::duration::zero();
  }
  const double missing_seconds = (1.0 - tokens_) / rate_per_second_;
  const auto wait =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(missing_seconds));
  return std::max(wait, Clock::duration(1));
}

void TokenBucket::SetRate(double rate_per_second, Clock::time_point now) {
  Refill(now);
  rate_per_second_ = rate_per_second;
}

AdaptiveRate::AdaptiveRate(double ceiling) : ceiling_(ceiling), rate_(ceiling) {}

double AdaptiveRate::Floor() const { return std::min(ceiling_, 0.5); }

double AdaptiveRate::Rate(Clock::time_point now) {
  if (updated_ == Clock::time_point{}) updated_ = now;
  if (now > updated_) {
    const double elapsed = std::chrono::duration<double>(now - updated_).count();
    rate_ = std::min(ceiling_, rate_ + elapsed * ceiling_ / 20);
    updated_ = now;
  }
  return rate_;
}

double AdaptiveRate::Decrease(Clock::time_point now) {
  Rate(now);
  if (last_decrease_ && now - *last_decrease_ < std::chrono::seconds(1)) return rate_;
  last_decrease_ = now;
  rate_ = std::max(Floor(), rate_ / 2);
  return rate_;
}

void AdaptiveRate::SetCeiling(double ceiling, Clock::time_point now) {
  Rate(now);
  ceiling_ = ceiling;
  rate_ = std::clamp(rate_, Floor(), ceiling_);
}

bool SleepFor(std::stop_token stop, std::chrono::steady_clock::duration duration) {
  if (duration <= std::chrono::steady_clock::duration::zero()) return !stop.stop_requested();
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  cv.wait_for(lock, stop, duration, [] { return false; });
  return !stop.stop_requested();
}

WorkspaceRateLimiter::Workspace::Workspace(double ceiling, Clock::time_point now)
    : rate(ceiling), bucket(ceiling * kPacing, 1.0) {
  rate.Rate(now);
}

WorkspaceRateLimiter::WorkspaceRateLimiter(double ceiling_per_second,
                                           std::function<Clock::time_point()> clock)
    : ceiling_(ceiling_per_second), clock_(std::move(clock)) {}

WorkspaceRateLimiter::Workspace& WorkspaceRateLimiter::Get(const std::string& workspace_id,
                                                           Clock::time_point now) {
  auto& ws = workspaces_[workspace_id];
  if (!ws) ws = std::make_unique<Workspace>(ceiling_, now);
  return *ws;
}

void WorkspaceRateLimiter::SetRate(double ceiling_per_second) {
  std::lock_guard lock(mutex_);
  ceiling_ = ceiling_per_second;
  const auto now = clock_();
  for (auto& [id, ws] : workspaces_) {
    ws->rate.SetCeiling(ceiling_, now);
    ws->bucket.SetRate(ws->rate.Rate(now) * kPacing, now);
  }
}

WorkspaceRateLimiter::Clock::duration WorkspaceRateLimiter::TryAcquire(
    const std::string& workspace_id) {
  std::lock_guard lock(mutex_);
  const auto now = clock_();
  Workspace& ws = Get(workspace_id, now);
  if (now < ws.hold_until) return ws.hold_until - now;
  ws.bucket.SetRate(ws.rate.Rate(now) * kPacing, now);
  return ws.bucket.TryTake(now);
}

bool WorkspaceRateLimiter::Acquire(const std::string& workspace_id, std::stop_token stop) {
  while (!stop.stop_requested()) {
    const Clock::duration wait = TryAcquire(workspace_id);
    if (wait == Clock::duration::zero()) return true;
    if (!SleepFor(stop, wait)) return false;
  }
  return false;
}

double WorkspaceRateLimiter::OnRateLimited(const std::string& workspace_id,
                                           std::optional<std::chrono::milliseconds> retry_after) {
  std::lock_guard lock(mutex_);
  const auto now = clock_();
  Workspace& ws = Get(workspace_id, now);
  const double rate = ws.rate.Decrease(now);
  ws.bucket.SetRate(rate * kPacing, now);
  if (retry_after && *retry_after > std::chrono::milliseconds(0)) {
    ws.hold_until = std::max(ws.hold_until, now + *retry_after);
  }
  return rate;
}

double WorkspaceRateLimiter::CurrentRate(const std::string& workspace_id) {
  std::lock_guard lock(mutex_);
  const auto now = clock_();
  return Get(workspace_id, now).rate.Rate(now);
}

}  // namespace bird_exporter
