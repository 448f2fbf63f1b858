#include "cleanroom/wait.h"

#include <gtest/gtest.h>

#include "fakes.h"

namespace cleanroom {
namespace {

using tests::ManualClock;

TEST(AdaptiveWaitTest, IntervalsStartSmallAndGrowToTheCap) {
  AdaptiveWait w{milliseconds(2), 2.0, milliseconds(50)};
  EXPECT_EQ(w.intervalAfter(0), milliseconds(2));
  EXPECT_EQ(w.intervalAfter(1), milliseconds(4));
  EXPECT_EQ(w.intervalAfter(4), milliseconds(32));
  EXPECT_EQ(w.intervalAfter(5), milliseconds(50));
  EXPECT_EQ(w.intervalAfter(50), milliseconds(50));
}

TEST(WaitUntilTest, ChecksAtOnceAndReturnsWithoutSleepingWhenAlreadyTrue) {
  ManualClock clock;
  auto outcome = waitUntil(clock, clock.now() + milliseconds(1000), {}, [] { return true; });
  EXPECT_TRUE(outcome.met);
  EXPECT_EQ(outcome.polls, 1);
  EXPECT_EQ(clock.sleeps(), 0);
}

TEST(WaitUntilTest, ReturnsOnThePollThatSeesTheEvent) {
  ManualClock clock;
  int polls = 0;
  AdaptiveWait pacing{milliseconds(2), 2.0, milliseconds(100)};
  auto outcome = waitUntil(clock, clock.now() + milliseconds(1000), pacing, [&] { return ++polls == 4; });
  EXPECT_TRUE(outcome.met);
  EXPECT_EQ(outcome.polls, 4);
  EXPECT_EQ(outcome.waited, milliseconds(2 + 4 + 8));
}

TEST(WaitUntilTest, GivesUpAtTheDeadlineAfterALastCheck) {
  ManualClock clock;
  AdaptiveWait pacing{milliseconds(10), 1.0, milliseconds(10)};
  auto outcome = waitUntil(clock, clock.now() + milliseconds(35), pacing, [] { return false; });
  EXPECT_FALSE(outcome.met);
  EXPECT_EQ(outcome.waited, milliseconds(35));
  EXPECT_EQ(outcome.polls, 5);  // at 0, 10, 20, 30, 35
}

}  // namespace
}  // namespace cleanroom
