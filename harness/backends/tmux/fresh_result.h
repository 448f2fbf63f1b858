// FreshResult<T>: one expensive read (a tmux pane listing, a /proc scan)
// shared by every thread that asks for it at about the same time.
//
// get() returns the result of a run of `produce` that STARTED after get()
// was called, so a caller never sees a state older than its own request;
// but while one run is in progress, every caller that arrives meanwhile
// waits for it to finish and then shares the single next run. N concurrent
// callers cost at most two runs instead of N. get(maxAge) also accepts a
// run that started at most maxAge before the call.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

namespace cleanroom {

template <class T>
class FreshResult {
 public:
  explicit FreshResult(std::function<T()> produce) : produce_(std::move(produce)) {}

  // Returns the result of a run that started after this call began, or at
  // most `maxAge` before it. Blocks for at most the run in progress plus one
  // more run of `produce`.
  std::shared_ptr<const T> get(std::chrono::milliseconds maxAge = std::chrono::milliseconds(0)) {
    std::unique_lock lock(mutex_);
    const auto oldest = std::chrono::steady_clock::now() - maxAge;
    if (latest_ && maxAge.count() > 0 && latestStart_ >= oldest) return latest_;
    // The run in progress (if any) is too old, unless it started recently enough.
    const bool joinRunning = running_ && maxAge.count() > 0 && runStart_ >= oldest;
    const std::uint64_t wanted = joinRunning ? started_ : started_ + 1;
    while (finished_ < wanted) {
      if (running_) {
        changed_.wait(lock);
        continue;
      }
      running_ = true;
      const std::uint64_t generation = ++started_;
      const auto start = std::chrono::steady_clock::now();
      runStart_ = start;
      lock.unlock();
      std::shared_ptr<const T> value;
      try {
        value = std::make_shared<const T>(produce_());
      } catch (...) {
        lock.lock();
        running_ = false;
        changed_.notify_all();
        throw;
      }
      lock.lock();
      latest_ = std::move(value);
      latestStart_ = start;
      finished_ = generation;
      running_ = false;
      changed_.notify_all();
    }
    return latest_;
  }

 private:
  std::function<T()> produce_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t started_ = 0;   // generation of the last run started
  std::uint64_t finished_ = 0;  // generation of the last run finished
  bool running_ = false;
  std::chrono::steady_clock::time_point runStart_;     // of the run started last
  std::chrono::steady_clock::time_point latestStart_;  // of the run latest_ came from
  std::shared_ptr<const T> latest_;
};

}  // namespace cleanroom
