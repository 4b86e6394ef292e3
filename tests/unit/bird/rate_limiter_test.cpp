#include "bird/rate_limiter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <future>
#include <stop_token>
#include <thread>
#include <vector>

namespace bird_exporter {
namespace {

using Clock = TokenBucket::Clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

const Clock::time_point kStart = Clock::time_point(seconds(1000));
constexpr Clock::duration kTaken = Clock::duration::zero();

// Start times of greedy takes over [kStart, kStart + span): each caller takes a token as soon
// as it may, checking again after exactly the wait it was given (or after `poll` if set).
std::vector<Clock::time_point> GreedyTakes(TokenBucket& bucket, Clock::duration span,
                                           Clock::duration poll = Clock::duration::zero()) {
  std::vector<Clock::time_point> taken;
  for (Clock::time_point now = kStart; now < kStart + span;) {
    const Clock::duration wait = bucket.TryTake(now);
    if (wait == kTaken) {
      taken.push_back(now);
      continue;
    }
    EXPECT_GT(wait, Clock::duration::zero());
    now += poll == Clock::duration::zero() ? wait : poll;
  }
  return taken;
}

// The most takes that started within any window [t, t + 1 s).
std::size_t MaxTakesInAnySecond(const std::vector<Clock::time_point>& taken) {
  std::size_t most = 0;
  std::size_t first = 0;
  for (std::size_t last = 0; last < taken.size(); ++last) {
    while (taken[last] - taken[first] >= seconds(1)) ++first;
    most = std::max(most, last - first + 1);
  }
  return most;
}

// --- Token bucket -----------------------------------------------------------------------------

TEST(TokenBucketTest, TakesFirstTokenAtOnce) {
  TokenBucket bucket(5, 1);
  EXPECT_EQ(bucket.TryTake(kStart), kTaken);
}

TEST(TokenBucketTest, ReturnsExactWaitUntilNextToken) {
  TokenBucket bucket(5, 1);
  ASSERT_EQ(bucket.TryTake(kStart), kTaken);
  EXPECT_EQ(bucket.TryTake(kStart), milliseconds(200));
  EXPECT_EQ(bucket.TryTake(kStart + milliseconds(50)), milliseconds(150));
  EXPECT_EQ(bucket.TryTake(kStart + milliseconds(100)), milliseconds(100));
  EXPECT_EQ(bucket.TryTake(kStart + milliseconds(200)), kTaken);
  EXPECT_EQ(bucket.TryTake(kStart + milliseconds(200)), milliseconds(200));
}

TEST(TokenBucketTest, SpacesRequestsAtBirdDefaultRate) {
  TokenBucket bucket(50, 1);  // Bird's documented GET limit per workspace
  ASSERT_EQ(bucket.TryTake(kStart), kTaken);
  EXPECT_EQ(bucket.TryTake(kStart), milliseconds(20));
  EXPECT_EQ(bucket.TryTake(kStart + milliseconds(20)), kTaken);
}

TEST(TokenBucketTest, DoesNotSaveUpBeyondCapacity) {
  TokenBucket bucket(5, 1);
  ASSERT_EQ(bucket.TryTake(kStart), kTaken);
  // An idle minute still leaves only one token.
  EXPECT_EQ(bucket.TryTake(kStart + seconds(60)), kTaken);
  EXPECT_EQ(bucket.TryTake(kStart + seconds(60)), milliseconds(200));
}

TEST(TokenBucketTest, AllowsBurstUpToCapacity) {
  TokenBucket bucket(5, 3);
  EXPECT_EQ(bucket.TryTake(kStart), kTaken);
  EXPECT_EQ(bucket.TryTake(kStart), kTaken);
  EXPECT_EQ(bucket.TryTake(kStart), kTaken);
  EXPECT_EQ(bucket.TryTake(kStart), milliseconds(200));
}

TEST(TokenBucketTest, IgnoresTimeGoingBackwards) {
  TokenBucket bucket(5, 1);
  ASSERT_EQ(bucket.TryTake(kStart + seconds(1)), kTaken);
  EXPECT_EQ(bucket.TryTake(kStart), milliseconds(200));
  EXPECT_EQ(bucket.TryTake(kStart + seconds(1) + milliseconds(200)), kTaken);
}

TEST(TokenBucketTest, StartsFiftyGreedyRequestsInTenSecondsAtFivePerSecond) {
  TokenBucket bucket(5, 1);
  const auto taken = GreedyTakes(bucket, seconds(10));
  ASSERT_EQ(taken.size(), 50u);
  for (std::size_t i = 0; i < taken.size(); ++i) {
    EXPECT_EQ(taken[i], kStart + static_cast<int>(i) * milliseconds(200)) << i;
  }
  EXPECT_EQ(MaxTakesInAnySecond(taken), 5u);
}

TEST(TokenBucketTest, NeverStartsMoreThanRateInAnySecondWhenPolledOffGrid) {
  TokenBucket bucket(5, 1);
  // Callers that look again every 7 ms take a token at the first look after it refilled.
  const auto taken = GreedyTakes(bucket, seconds(10), milliseconds(7));
  EXPECT_EQ(taken.size(), 50u);  // at 0, 203, 406, ... 9947 ms
  EXPECT_LE(MaxTakesInAnySecond(taken), 5u);
  for (std::size_t i = 1; i < taken.size(); ++i) {
    EXPECT_EQ(taken[i] - taken[i - 1], milliseconds(203)) << i;
  }
}

// --- Sleeping -------------------------------------------------------------------------------

TEST(SleepForTest, SleepsWhenNotStopped) {
  std::stop_source source;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(SleepFor(source.get_token(), milliseconds(5)));
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(5));
}

TEST(SleepForTest, ReturnsAtOnceForNonPositiveDuration) {
  std::stop_source source;
  EXPECT_TRUE(SleepFor(source.get_token(), Clock::duration::zero()));
  EXPECT_TRUE(SleepFor(source.get_token(), milliseconds(-5)));
  source.request_stop();
  EXPECT_FALSE(SleepFor(source.get_token(), Clock::duration::zero()));
}

TEST(SleepForTest, ReturnsFalseAtOnceWhenAlreadyStopped) {
  std::stop_source source;
  source.request_stop();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(SleepFor(source.get_token(), seconds(30)));
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5));
}

TEST(SleepForTest, WakesPromptlyWhenStoppedFromAnotherThread) {
  std::stop_source source;
  std::atomic<bool> sleeping{false};
  auto sleeper = std::async(std::launch::async, [&] {
    sleeping = true;
    return SleepFor(source.get_token(), seconds(30));
  });
  while (!sleeping) std::this_thread::yield();
  source.request_stop();
  ASSERT_EQ(sleeper.wait_for(seconds(5)), std::future_status::ready);
  EXPECT_FALSE(sleeper.get());
}

// --- Workspace limiter -------------------------------------------------------------------------

TEST(WorkspaceRateLimiterTest, KeepsOneBucketPerWorkspace) {
  WorkspaceRateLimiter limiter(0.001);  // one request per 1000 s
  std::stop_source source;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(limiter.Acquire("ws-a", source.get_token()));
  EXPECT_TRUE(limiter.Acquire("ws-b", source.get_token()));
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5));
}

TEST(WorkspaceRateLimiterTest, WaitsForNextToken) {
  WorkspaceRateLimiter limiter(100);
  std::stop_source source;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(limiter.Acquire("ws", source.get_token()));
  EXPECT_TRUE(limiter.Acquire("ws", source.get_token()));
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(10));
}

TEST(WorkspaceRateLimiterTest, GivesUpWhenStoppedWhileWaiting) {
  WorkspaceRateLimiter limiter(0.001);
  std::stop_source source;
  ASSERT_TRUE(limiter.Acquire("ws", source.get_token()));
  std::atomic<bool> waiting{false};
  auto acquirer = std::async(std::launch::async, [&] {
    waiting = true;
    return limiter.Acquire("ws", source.get_token());
  });
  while (!waiting) std::this_thread::yield();
  source.request_stop();
  ASSERT_EQ(acquirer.wait_for(seconds(5)), std::future_status::ready);
  EXPECT_FALSE(acquirer.get());
}

TEST(WorkspaceRateLimiterTest, RefusesWhenAlreadyStopped) {
  WorkspaceRateLimiter limiter(5);
  std::stop_source source;
  source.request_stop();
  EXPECT_FALSE(limiter.Acquire("ws", source.get_token()));
}

// --- Adaptive budget (AIMD) --------------------------------------------------------------------

TEST(AdaptiveRateTest, HalvesOnARateLimitAndRecoversLinearlyToTheCeiling) {
  const auto t0 = TokenBucket::Clock::time_point{} + seconds(100);
  AdaptiveRate rate(20);
  EXPECT_EQ(rate.Rate(t0), 20);
  EXPECT_EQ(rate.Decrease(t0), 10);
  EXPECT_DOUBLE_EQ(rate.Rate(t0 + seconds(5)), 15);  // a twentieth of the ceiling per second
  EXPECT_DOUBLE_EQ(rate.Rate(t0 + seconds(10)), 20);
  EXPECT_DOUBLE_EQ(rate.Rate(t0 + seconds(60)), 20);
}

TEST(AdaptiveRateTest, CountsABurstOfRateLimitsWithinASecondAsOne) {
  const auto t0 = TokenBucket::Clock::time_point{} + seconds(100);
  AdaptiveRate rate(20);
  EXPECT_EQ(rate.Decrease(t0), 10);
  EXPECT_NEAR(rate.Decrease(t0 + milliseconds(100)), 10.1, 1e-9);
  EXPECT_NEAR(rate.Decrease(t0 + milliseconds(900)), 10.9, 1e-9);
  EXPECT_NEAR(rate.Decrease(t0 + milliseconds(1500)), 11.5 / 2, 1e-9);
}

TEST(AdaptiveRateTest, NeverDropsBelowHalfARequestPerSecond) {
  const auto t0 = TokenBucket::Clock::time_point{} + seconds(100);
  AdaptiveRate rate(2);
  for (int i = 0; i < 20; ++i) rate.Decrease(t0 + seconds(i));
  EXPECT_NEAR(rate.Rate(t0 + seconds(19)), 0.5, 1e-9);
  AdaptiveRate tiny(0.2);  // a ceiling below the floor is the floor
  EXPECT_NEAR(tiny.Decrease(t0), 0.2, 1e-9);
}

TEST(AdaptiveRateTest, ANewCeilingClampsTheCurrentRate) {
  const auto t0 = TokenBucket::Clock::time_point{} + seconds(100);
  AdaptiveRate rate(50);
  rate.SetCeiling(20, t0);
  EXPECT_EQ(rate.Rate(t0), 20);
  rate.Decrease(t0);
  rate.SetCeiling(50, t0);
  EXPECT_EQ(rate.Rate(t0), 10);  // a higher ceiling is reached by recovery, not at once
  EXPECT_DOUBLE_EQ(rate.Rate(t0 + seconds(4)), 20);
}

class FakeSteadyClock {
 public:
  TokenBucket::Clock::time_point now = TokenBucket::Clock::time_point{} + seconds(1000);
  std::function<TokenBucket::Clock::time_point()> Fn() {
    return [this] { return now; };
  }
};

TEST(WorkspaceRateLimiterTest, ARateLimitWithRetryAfterHoldsOnlyThatWorkspace) {
  FakeSteadyClock clock;
  WorkspaceRateLimiter limiter(10, clock.Fn());
  EXPECT_EQ(limiter.TryAcquire("ws"), TokenBucket::Clock::duration::zero());
  EXPECT_EQ(limiter.OnRateLimited("ws", milliseconds(2000)), 5);
  clock.now += seconds(1);
  EXPECT_EQ(limiter.TryAcquire("ws"), seconds(1));
  EXPECT_EQ(limiter.TryAcquire("other"), TokenBucket::Clock::duration::zero());
  EXPECT_EQ(limiter.CurrentRate("other"), 10);
  clock.now += seconds(1);
  EXPECT_EQ(limiter.TryAcquire("ws"), TokenBucket::Clock::duration::zero());
  EXPECT_DOUBLE_EQ(limiter.CurrentRate("ws"), 6);
}

TEST(WorkspaceRateLimiterTest, NeverStartsMoreThanTheCeilingInAnySecondThroughA429Storm) {
  FakeSteadyClock clock;
  const auto t0 = clock.now;
  WorkspaceRateLimiter limiter(20, clock.Fn());
  std::vector<double> starts;
  for (int ms = 0; ms < 40000; ++ms) {
    clock.now = t0 + milliseconds(ms);
    // Greedy: as many requests as the limiter lets through. Seconds 5-15 answer 429 to all.
    while (limiter.TryAcquire("ws") == TokenBucket::Clock::duration::zero()) {
      starts.push_back(ms / 1000.0);
      if (ms >= 5000 && ms < 15000) limiter.OnRateLimited("ws", std::nullopt);
    }
  }
  auto in_window = [&](double from) {
    return std::count_if(starts.begin(), starts.end(),
                         [&](double t) { return t >= from && t < from + 1; });
  };
  for (double from = 0; from < 39; from += 0.001) ASSERT_LE(in_window(from), 20) << from;
  EXPECT_LE(in_window(14), 2);     // the storm drove the budget down
  EXPECT_GE(in_window(38.5), 19);  // and it recovered to the ceiling afterwards
}

}  // namespace
}  // namespace bird_exporter
