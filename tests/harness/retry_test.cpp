#include "cleanroom/retry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fakes.h"

namespace cleanroom {
namespace {

using tests::ManualClock;

RetryPolicy noJitter() {
  RetryPolicy p;
  p.jitter = 0;
  p.initialDelay = milliseconds(20);
  p.multiplier = 2;
  p.maxDelay = milliseconds(100);
  p.maxAttempts = 6;
  p.deadline = milliseconds(10000);
  return p;
}

TEST(RetryPolicyTest, DelaysGrowExponentiallyUpToTheCap) {
  const RetryPolicy p = noJitter();
  const Error e = Error::retryable("503");
  EXPECT_EQ(p.delayBefore(2, e, 0.5), milliseconds(20));
  EXPECT_EQ(p.delayBefore(3, e, 0.5), milliseconds(40));
  EXPECT_EQ(p.delayBefore(4, e, 0.5), milliseconds(80));
  EXPECT_EQ(p.delayBefore(5, e, 0.5), milliseconds(100));
  EXPECT_EQ(p.delayBefore(9, e, 0.5), milliseconds(100));
}

TEST(RetryPolicyTest, JitterSpreadsDelaysAroundTheBase) {
  RetryPolicy p = noJitter();
  p.jitter = 0.5;
  const Error e = Error::retryable("503");
  EXPECT_EQ(p.delayBefore(2, e, 0.0), milliseconds(10));
  EXPECT_EQ(p.delayBefore(2, e, 0.5), milliseconds(20));
  EXPECT_EQ(p.delayBefore(2, e, 0.999), milliseconds(30));
}

TEST(RetryPolicyTest, RetryAfterWinsWhenLonger) {
  const RetryPolicy p = noJitter();
  Error e = Error::retryable("429");
  e.retryAfter = milliseconds(1000);
  EXPECT_EQ(p.delayBefore(2, e, 0.5), milliseconds(1000));
  e.retryAfter = milliseconds(1);
  EXPECT_EQ(p.delayBefore(2, e, 0.5), milliseconds(20));
}

TEST(RetryCallTest, RetriesRetryableErrorsUntilSuccess) {
  ManualClock clock;
  int calls = 0;
  RetryStats stats;
  Status s = retryCall(noJitter(), clock, "stop x", [&]() -> Status {
    return ++calls < 3 ? Status(Error::retryable("503")) : Status::success();
  }, &stats);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(stats.attempts, 3);
  EXPECT_EQ(stats.elapsed, milliseconds(20 + 40));
  ASSERT_EQ(stats.failures.size(), 2u);
  EXPECT_THAT(stats.failures[0], ::testing::HasSubstr("attempt 1"));
  EXPECT_THAT(stats.failures[1], ::testing::HasSubstr("attempt 2"));
  EXPECT_THAT(stats.failures[1], ::testing::HasSubstr("503"));
}

TEST(RetryCallTest, RecordsOnlyTheFirstFailuresOfALongRun) {
  ManualClock clock;
  RetryPolicy policy = noJitter();
  policy.maxAttempts = 20;
  policy.deadline = std::chrono::hours(1);
  RetryStats stats;
  Status s = retryCall(policy, clock, "stop x", [&]() -> Status { return Error::retryable("503"); }, &stats);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(stats.attempts, 20);
  EXPECT_EQ(stats.failures.size(), RetryStats::kMaxRecordedFailures);
}

TEST(RetryCallTest, PermanentAndGoneErrorsAreNotRetried) {
  ManualClock clock;
  for (auto error : {Error::permanent("400"), Error::gone("404")}) {
    int calls = 0;
    Status s = retryCall(noJitter(), clock, "stop x", [&]() -> Status { ++calls; return error; });
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, error.kind);
    EXPECT_EQ(calls, 1);
  }
  EXPECT_EQ(clock.sleeps(), 0);
}

TEST(RetryCallTest, StopsAtMaxAttempts) {
  ManualClock clock;
  RetryPolicy p = noJitter();
  p.maxAttempts = 3;
  int calls = 0;
  Status s = retryCall(p, clock, "x", [&]() -> Status { ++calls; return Error::retryable("timeout"); });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(calls, 3);
}

TEST(RetryCallTest, NeverWaitsPastTheDeadline) {
  ManualClock clock;
  RetryPolicy p = noJitter();
  p.maxAttempts = 100;
  p.deadline = milliseconds(250);
  int calls = 0;
  Status s = retryCall(p, clock, "x", [&]() -> Status { ++calls; return Error::retryable("503"); });
  EXPECT_FALSE(s.ok());
  // 20 + 40 + 80 = 140 fits; +100 = 240 fits; +100 = 340 does not.
  EXPECT_EQ(calls, 5);
  EXPECT_LE(clock.elapsed(), p.deadline);
}

TEST(RetryCallTest, GivesUpWhenRetryAfterExceedsTheDeadline) {
  ManualClock clock;
  RetryPolicy p = noJitter();
  p.deadline = milliseconds(500);
  int calls = 0;
  Status s = retryCall(p, clock, "x", [&]() -> Status {
    ++calls;
    Error e = Error::retryable("429");
    e.retryAfter = milliseconds(2000);
    return e;
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(clock.elapsed(), milliseconds(0));
}

TEST(RetryCallTest, HonoursRetryAfterThatFits) {
  ManualClock clock;
  int calls = 0;
  Status s = retryCall(noJitter(), clock, "x", [&]() -> Status {
    if (++calls > 1) return Status::success();
    Error e = Error::retryable("429");
    e.retryAfter = milliseconds(1000);
    return e;
  });
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(clock.elapsed(), milliseconds(1000));
}

TEST(RetryResultTest, ReturnsTheValueOfTheSuccessfulAttempt) {
  ManualClock clock;
  int calls = 0;
  Result<int> r = retryResult<int>(noJitter(), clock, "x", [&]() -> Result<int> {
    return ++calls < 2 ? Result<int>(Error::retryable("503")) : Result<int>(42);
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 42);
}

TEST(RetryPolicyTest, OnceMakesOneAttempt) {
  ManualClock clock;
  int calls = 0;
  Status s = retryCall(RetryPolicy::once(), clock, "x", [&]() -> Status { ++calls; return Error::retryable("503"); });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace cleanroom
