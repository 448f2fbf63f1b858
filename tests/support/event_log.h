// Thread-safe test doubles for ordering and concurrency checks:
//   Signal    counts events and lets threads wait for a number of them;
//   EventLog  records events ("start:x", "put:key", …) in the order they
//             happened, to assert what came before what.
// The real-time bound in Signal::waitFor only keeps a broken test from
// hanging the binary; it is not a timing assertion.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

namespace cleanroom::tests {

class Signal {
 public:
  void post() {
    {
      std::lock_guard lock(mutex_);
      ++count_;
    }
    changed_.notify_all();
  }
  // Returns true once `count` events were posted (false after 30 s).
  bool waitFor(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return count_ >= count; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
};

class EventLog {
 public:
  void add(std::string event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
  std::vector<std::string> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  // Returns the position of the first `event`, or -1.
  int indexOf(const std::string& event) const {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < events_.size(); ++i) {
      if (events_[i] == event) return static_cast<int>(i);
    }
    return -1;
  }
  // Returns how many events start with `prefix`.
  int count(const std::string& prefix) const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& e : events_) n += e.starts_with(prefix) ? 1 : 0;
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> events_;
};

}  // namespace cleanroom::tests
