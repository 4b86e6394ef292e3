#include "poller/window.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <set>

namespace bird_exporter {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// 2024-11-21T17:43:20Z
const SystemTime kNow =
    SystemTime(std::chrono::duration_cast<SystemTime::duration>(milliseconds(1'732'211'000'000)));

WindowSettings Settings() {
  WindowSettings settings;
  settings.initial_lookback = minutes(10);
  settings.max_call_age = hours(6);
  settings.overlap = minutes(2);
  return settings;
}

TEST(WindowTest, HasDocumentedDefaults) {
  const WindowSettings defaults;
  EXPECT_EQ(defaults.initial_lookback, minutes(10));
  EXPECT_EQ(defaults.max_call_age, hours(6));
  EXPECT_EQ(defaults.overlap, seconds(10));
}

// --- This poll's window -----------------------------------------------------------------------

TEST(ListWindowStartTest, LooksBackInitialLookbackOnFirstPoll) {
  EXPECT_EQ(ListWindowStart(std::nullopt, kNow, Settings()), kNow - minutes(10));
}

TEST(ListWindowStartTest, BoundsInitialLookbackByMaxCallAge) {
  WindowSettings settings = Settings();
  settings.initial_lookback = hours(8);
  EXPECT_EQ(ListWindowStart(std::nullopt, kNow, settings), kNow - hours(6));
}

TEST(ListWindowStartTest, ResumesAtSavedPosition) {
  EXPECT_EQ(ListWindowStart(kNow - minutes(47), kNow, Settings()), kNow - minutes(47));
  // A saved position older than the first-poll lookback is still honoured.
  EXPECT_EQ(ListWindowStart(kNow - hours(5), kNow, Settings()), kNow - hours(5));
}

TEST(ListWindowStartTest, BoundsSavedPositionByMaxCallAge) {
  EXPECT_EQ(ListWindowStart(kNow - hours(7), kNow, Settings()), kNow - hours(6));
  EXPECT_EQ(ListWindowStart(kNow - hours(6) - milliseconds(1), kNow, Settings()), kNow - hours(6));
  EXPECT_EQ(ListWindowStart(kNow - hours(6), kNow, Settings()), kNow - hours(6));
  EXPECT_EQ(ListWindowStart(kNow - hours(6) + milliseconds(1), kNow, Settings()),
            kNow - hours(6) + milliseconds(1));
}

// --- Next poll's window -----------------------------------------------------------------------

TEST(NextWindowStartTest, OverlapsTheNewestListedCall) {
  const SystemTime start = kNow - minutes(5);
  EXPECT_EQ(NextWindowStart(start, kNow - seconds(30), kNow, Settings()),
            kNow - seconds(30) - minutes(2));
}

TEST(NextWindowStartTest, StaysWhenNothingWasListed) {
  const SystemTime start = kNow - minutes(5);
  EXPECT_EQ(NextWindowStart(start, std::nullopt, kNow, Settings()), start);
}

TEST(NextWindowStartTest, NeverMovesBackward) {
  const SystemTime start = kNow - minutes(1);
  // The newest listed call is older than this poll's stop (a quiet channel).
  EXPECT_EQ(NextWindowStart(start, kNow - hours(2), kNow, Settings()), start);
}

TEST(NextWindowStartTest, DoesNotReachBackToOpenCallsAnyMore) {
  // Whatever is open is followed by id; the window only depends on the newest call.
  const SystemTime start = kNow - hours(5);
  EXPECT_EQ(NextWindowStart(start, kNow - seconds(1), kNow, Settings()),
            kNow - seconds(1) - minutes(2));
}

TEST(NextWindowStartTest, ACallDatedInTheFutureCountsAsNow) {
  const SystemTime start = kNow - minutes(5);
  EXPECT_EQ(NextWindowStart(start, kNow + hours(3), kNow, Settings()), kNow - minutes(2));
}

TEST(FirstPageLimitTest, IsAFullPageWhenNothingIsKnown) {
  EXPECT_EQ(FirstPageLimit(0, 0, std::nullopt), 0);
  EXPECT_EQ(FirstPageLimit(-3, 20, seconds(5)), 0);
}

TEST(FirstPageLimitTest, IsHalfAgainAndTwentyMoreThanThePreviousListing) {
  EXPECT_EQ(FirstPageLimit(1, 1, std::nullopt), 21);
  EXPECT_EQ(FirstPageLimit(220, 20, std::nullopt), 350);
  EXPECT_EQ(FirstPageLimit(220, 20, seconds(3)), 350);  // a young due call is on it anyway
}

TEST(FirstPageLimitTest, ReachesTheOldestOpenCallDueForALook) {
  // 20 calls a second and a call of 20 s due: its 400 calls, half again and 20 more.
  EXPECT_EQ(FirstPageLimit(220, 20, seconds(20)), 620);
  EXPECT_EQ(FirstPageLimit(220, 20, minutes(10)), 1000);
}

TEST(FirstPageLimitTest, NeverAsksForMoreThanBirdServes) {
  EXPECT_EQ(FirstPageLimit(700, 0, std::nullopt), 1000);
  EXPECT_EQ(FirstPageLimit(1 << 30, 1e9, hours(6)), 1000);
}

TEST(RecheckDelayTest, IsTheIntervalForYoungCalls) {
  EXPECT_EQ(RecheckDelay(seconds(5), seconds(1)), seconds(1));
  EXPECT_EQ(RecheckDelay(minutes(4), seconds(30)), seconds(30));
  EXPECT_EQ(RecheckDelay(milliseconds(-500), seconds(30)), seconds(30));
}

TEST(RecheckDelayTest, IsATenthOfTheAgeForOlderCalls) {
  EXPECT_EQ(RecheckDelay(minutes(20), seconds(30)), minutes(2));
  EXPECT_EQ(RecheckDelay(seconds(100), seconds(1)), seconds(10));
}

TEST(RecheckDelayTest, IsCappedAtTenMinutes) {
  EXPECT_EQ(RecheckDelay(hours(6), seconds(30)), minutes(10));
  EXPECT_EQ(RecheckDelay(hours(6), minutes(15)), minutes(15));  // never below the interval
}

TEST(RecheckDelayTest, ASixHourCallIsLookedAtTensOfTimes) {
  for (const auto interval : {seconds(1), seconds(30)}) {
    int looks = 0;
    for (milliseconds age(0); age < hours(6); age += RecheckDelay(age, interval)) ++looks;
    EXPECT_LE(looks, 110) << interval.count();
    EXPECT_GE(looks, 30) << interval.count();
  }
}

TEST(RecheckAtTest, IsNeverLaterThanTheDelayAndAlwaysLaterThanNow) {
  const SystemTime now = SystemTime{} + hours(490000) + milliseconds(123);
  for (const auto interval : {seconds(1), seconds(30)}) {
    for (const milliseconds delay :
         std::initializer_list<milliseconds>{milliseconds(1), seconds(1), seconds(7), seconds(30),
                                             seconds(45), minutes(3), minutes(10)}) {
      const SystemTime at = RecheckAt(now, delay, interval);
      EXPECT_GT(at, now) << delay.count();
      EXPECT_LE(at, now + delay) << delay.count();
    }
  }
}

TEST(RecheckAtTest, CallsSeenAtDifferentPollsWithLikeDelaysAreDueTogether) {
  const SystemTime base = SystemTime{} + hours(490000);
  std::set<SystemTime> due;
  // Calls of 60 to 70 s seen at five polls a second apart: due every 4 s, on the same instants.
  for (int poll = 0; poll < 5; ++poll) {
    const SystemTime now = base + seconds(poll) + milliseconds(300);
    for (int age = 60; age <= 70; ++age) {
      due.insert(RecheckAt(now, RecheckDelay(seconds(age), seconds(1)), seconds(1)));
    }
  }
  EXPECT_LE(due.size(), 3u);
}

TEST(RecheckAtTest, ASixHourCallIsStillLookedAtTensOfTimes) {
  for (const auto interval : {seconds(1), seconds(30)}) {
    const SystemTime created = SystemTime{} + hours(490000) + milliseconds(777);
    int looks = 0;
    for (SystemTime at = created; at < created + hours(6); ++looks) {
      at = RecheckAt(at,
                     RecheckDelay(std::chrono::duration_cast<milliseconds>(at - created), interval),
                     interval);
    }
    // 141 at 1 s and 90 at 30 s (104 and 68 off the grid): a look comes up to one grid step
    // early.
    EXPECT_LE(looks, 150) << interval.count();
    EXPECT_GE(looks, 30) << interval.count();
  }
}

}  // namespace
}  // namespace bird_exporter
