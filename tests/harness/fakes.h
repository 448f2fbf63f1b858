// Test doubles shared by the harness unit tests: a manual clock whose sleeps
// advance time instantly, and a gmock Backend.
#pragma once

#include <gmock/gmock.h>

#include <mutex>

#include "cleanroom/backend.h"
#include "cleanroom/clock.h"

namespace cleanroom::testing {

// A clock that never blocks: sleepUntil jumps to the deadline. Thread-safe.
class ManualClock : public Clock {
 public:
  SteadyTime now() const override {
    std::lock_guard lock(mutex_);
    return steady_;
  }
  WallTime wallNow() const override {
    std::lock_guard lock(mutex_);
    return wall_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(steady_ - SteadyTime{});
  }
  void sleepUntil(SteadyTime deadline) override {
    std::lock_guard lock(mutex_);
    ++sleeps_;
    if (deadline > steady_) steady_ = deadline;
  }
  void advance(milliseconds d) {
    std::lock_guard lock(mutex_);
    steady_ += d;
  }
  int sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }
  milliseconds elapsed() const { return millisBetween(SteadyTime{}, now()); }

 private:
  mutable std::mutex mutex_;
  SteadyTime steady_{};
  WallTime wall_{std::chrono::sys_days{std::chrono::year{2026} / 11 / 25}};
  int sleeps_ = 0;
};

class MockBackend : public Backend {
 public:
  explicit MockBackend(std::string name = "fake") : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  MOCK_METHOD(Result<std::vector<Resource>>, list, (const Selector&), (override));
  MOCK_METHOD(Status, requestStop, (const Resource&, StopMode), (override));
  MOCK_METHOD(Result<ResourceStatus>, probe, (const Resource&), (override));
  MOCK_METHOD(bool, canAwait, (), (const, override));
  MOCK_METHOD(Result<ResourceStatus>, awaitFinished, (const Resource&, milliseconds), (override));

 private:
  std::string name_;
};

// Returns a resource of `backend` owned by `runId`.
inline Resource makeResource(std::string id, std::string runId, ResourceState state = ResourceState::Running,
                             std::string backend = "fake") {
  Resource r;
  r.backend = std::move(backend);
  r.id = std::move(id);
  r.name = "agent-" + r.id;
  r.runId = std::move(runId);
  r.labels["cleanroom.run"] = r.runId;
  r.state = state;
  r.status = state == ResourceState::Running ? "running" : "completed";
  return r;
}

}  // namespace cleanroom::testing
