// DeadlineScheduler: one thread that runs tasks at their deadlines, for mock
// lifecycles (an agent finishing after runMs, exiting after a stop delay,
// disappearing after its linger time). A deadline queue and a condition
// variable: no sleeping loops, no polling. Tasks run one at a time on the
// scheduler thread, without any scheduler lock held.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace cleanroom::mocks {

class DeadlineScheduler {
 public:
  using Clock = std::chrono::steady_clock;
  using TaskId = std::uint64_t;

  // Starts the scheduler thread.
  DeadlineScheduler();
  // Calls stop().
  ~DeadlineScheduler();
  DeadlineScheduler(const DeadlineScheduler&) = delete;
  DeadlineScheduler& operator=(const DeadlineScheduler&) = delete;

  // Schedules `task` to run at `deadline` (now if past). Returns its id; after
  // stop() the task is dropped and 0 is returned. Never blocks on tasks.
  TaskId at(Clock::time_point deadline, std::function<void()> task);
  // Schedules `task` to run `delay` from now. Same as at().
  TaskId after(std::chrono::milliseconds delay, std::function<void()> task);
  // Removes a task that has not started. Returns true if and only if it was
  // still pending. Does not wait for a running task.
  bool cancel(TaskId id);
  // Runs `task` on the scheduler thread as soon as possible and blocks until it
  // has run (inline when called from the scheduler thread itself). Returns false
  // if the scheduler was stopped before running it.
  bool runAndWait(std::function<void()> task);
  // Returns true if and only if the caller is the scheduler thread.
  bool onSchedulerThread() const;

  // Drops every pending task, waits for a running one, joins the thread.
  // Idempotent. Must not be called from a task.
  void stop();

 private:
  void run();
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::pair<Clock::time_point, TaskId>, std::function<void()>> queue_;
  std::map<TaskId, Clock::time_point> deadlines_;
  TaskId nextId_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cleanroom::mocks
