#include "cleanroom/mocks/deadline_scheduler.h"

#include <future>
#include <vector>

#include <gtest/gtest.h>

namespace cleanroom::mocks {
namespace {

using namespace std::chrono_literals;

TEST(DeadlineSchedulerTest, RunsTasksInDeadlineOrder) {
  DeadlineScheduler scheduler;
  std::vector<int> order;  // touched only on the scheduler thread until `done`
  std::promise<void> done;
  const auto now = DeadlineScheduler::Clock::now();
  scheduler.at(now + 30ms, [&] {
    order.push_back(3);
    done.set_value();
  });
  scheduler.at(now + 10ms, [&] { order.push_back(2); });
  scheduler.at(now, [&] { order.push_back(1); });
  done.get_future().get();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(DeadlineSchedulerTest, CancelledTasksNeverRun) {
  DeadlineScheduler scheduler;
  bool cancelledRan = false;
  const auto id = scheduler.after(20ms, [&] { cancelledRan = true; });
  EXPECT_TRUE(scheduler.cancel(id));
  EXPECT_FALSE(scheduler.cancel(id));
  // A later task runs after the cancelled one's deadline: it would have run by then.
  ASSERT_TRUE(scheduler.runAndWait([] {}));
  std::promise<void> later;
  scheduler.after(40ms, [&] { later.set_value(); });
  later.get_future().get();
  EXPECT_FALSE(cancelledRan);
}

TEST(DeadlineSchedulerTest, RunAndWaitRunsOnTheSchedulerThread) {
  DeadlineScheduler scheduler;
  bool onThread = false;
  ASSERT_TRUE(scheduler.runAndWait([&] { onThread = scheduler.onSchedulerThread(); }));
  EXPECT_TRUE(onThread);
  EXPECT_FALSE(scheduler.onSchedulerThread());
}

TEST(DeadlineSchedulerTest, StopDropsPendingTasksAndRefusesNewOnes) {
  DeadlineScheduler scheduler;
  bool ran = false;
  scheduler.after(std::chrono::hours(1), [&] { ran = true; });
  scheduler.stop();
  EXPECT_FALSE(ran);
  EXPECT_EQ(scheduler.after(0ms, [] {}), 0u);
  EXPECT_FALSE(scheduler.runAndWait([] {}));
}

TEST(DeadlineSchedulerTest, SurvivesAThrowingTask) {
  DeadlineScheduler scheduler;
  scheduler.after(0ms, [] { throw std::runtime_error("boom"); });
  bool ran = false;
  ASSERT_TRUE(scheduler.runAndWait([&] { ran = true; }));
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace cleanroom::mocks
