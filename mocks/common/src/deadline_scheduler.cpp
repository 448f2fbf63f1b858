#include "cleanroom/mocks/deadline_scheduler.h"

#include <future>

#include "cleanroom/mocks/mock_logger.h"

namespace cleanroom::mocks {
namespace {

void runGuarded(const std::function<void()>& task) {
  try {
    task();
  } catch (const std::exception& error) {
    mockLogger()->error("scheduled task failed: {}", error.what());
  } catch (...) {
    mockLogger()->error("scheduled task failed with a non-standard exception");
  }
}

}  // namespace

DeadlineScheduler::DeadlineScheduler() : thread_([this] { run(); }) {}

DeadlineScheduler::~DeadlineScheduler() { stop(); }

DeadlineScheduler::TaskId DeadlineScheduler::at(Clock::time_point deadline,
                                                std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (stopping_) return 0;
  const TaskId id = nextId_++;
  queue_.emplace(std::make_pair(deadline, id), std::move(task));
  deadlines_.emplace(id, deadline);
  wake_.notify_one();
  return id;
}

DeadlineScheduler::TaskId DeadlineScheduler::after(std::chrono::milliseconds delay,
                                                   std::function<void()> task) {
  return at(Clock::now() + delay, std::move(task));
}

bool DeadlineScheduler::cancel(TaskId id) {
  std::lock_guard lock(mutex_);
  auto found = deadlines_.find(id);
  if (found == deadlines_.end()) return false;
  queue_.erase(std::make_pair(found->second, id));
  deadlines_.erase(found);
  return true;
}

bool DeadlineScheduler::runAndWait(std::function<void()> task) {
  if (onSchedulerThread()) {
    task();
    return true;
  }
  // The task owns the only reference to the promise: if the task is dropped by
  // stop(), the promise dies unset and the future reports broken_promise.
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  const TaskId id = at(Clock::now(), [task = std::move(task), done = std::move(done)] {
    try {
      task();
      done->set_value();
    } catch (...) {
      done->set_exception(std::current_exception());
    }
  });
  if (id == 0) return false;
  try {
    finished.get();
    return true;
  } catch (const std::future_error&) {
    return false;
  }
}

bool DeadlineScheduler::onSchedulerThread() const {
  return std::this_thread::get_id() == thread_.get_id();
}

void DeadlineScheduler::stop() {
  decltype(queue_) dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
    deadlines_.clear();
  }
  dropped.clear();
  wake_.notify_all();
  if (thread_.joinable() && !onSchedulerThread()) thread_.join();
}

void DeadlineScheduler::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (queue_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto next = queue_.begin();
    const auto deadline = next->first.first;
    if (Clock::now() < deadline) {
      wake_.wait_until(lock, deadline);
      continue;
    }
    {
      auto task = std::move(next->second);
      deadlines_.erase(next->first.second);
      queue_.erase(next);
      lock.unlock();
      runGuarded(task);
    }  // the task (and what it captured) is destroyed without the lock held
    lock.lock();
  }
}

}  // namespace cleanroom::mocks
