#include "poller/window.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

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
  EXPECT_EQ(defaults.overlap, minutes(2));
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

TEST(NextWindowStartTest, OverlapsThePollStartWhenNoCallIsOpen) {
  const SystemTime poll_started = kNow - seconds(3);
  EXPECT_EQ(NextWindowStart(poll_started, std::nullopt, kNow, Settings()),
            poll_started - minutes(2));
}

TEST(NextWindowStartTest, ReachesBackToOldestOpenCall) {
  const SystemTime poll_started = kNow - seconds(3);
  EXPECT_EQ(NextWindowStart(poll_started, kNow - minutes(30), kNow, Settings()),
            kNow - minutes(30));
  EXPECT_EQ(NextWindowStart(poll_started, kNow - hours(5) - milliseconds(250), kNow, Settings()),
            kNow - hours(5) - milliseconds(250));
}

TEST(NextWindowStartTest, KeepsOverlapWhenOpenCallIsRecent) {
  const SystemTime poll_started = kNow - seconds(3);
  EXPECT_EQ(NextWindowStart(poll_started, kNow - minutes(1), kNow, Settings()),
            poll_started - minutes(2));
  EXPECT_EQ(NextWindowStart(poll_started, poll_started - minutes(2), kNow, Settings()),
            poll_started - minutes(2));
}

TEST(NextWindowStartTest, BoundsOldestOpenCallByMaxCallAge) {
  const SystemTime poll_started = kNow - seconds(3);
  EXPECT_EQ(NextWindowStart(poll_started, kNow - hours(9), kNow, Settings()), kNow - hours(6));
  EXPECT_EQ(NextWindowStart(poll_started, kNow - hours(6) - milliseconds(1), kNow, Settings()),
            kNow - hours(6));
}

TEST(NextWindowStartTest, BoundsOverlapByMaxCallAge) {
  WindowSettings settings = Settings();
  settings.max_call_age = minutes(1);
  const SystemTime poll_started = kNow - seconds(3);
  EXPECT_EQ(NextWindowStart(poll_started, std::nullopt, kNow, settings), kNow - minutes(1));
}

TEST(NextWindowStartTest, MeasuresMaxCallAgeFromNowNotFromPollStart) {
  // A long poll: the bound moves with the clock.
  const SystemTime poll_started = kNow - minutes(20);
  EXPECT_EQ(NextWindowStart(poll_started, kNow - hours(8), kNow, Settings()), kNow - hours(6));
}

}  // namespace
}  // namespace bird_exporter
