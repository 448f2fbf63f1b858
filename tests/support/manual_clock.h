// ManualClock: a Clock whose time moves only when someone sleeps (or
// advance() is called), so backoff, deadlines and ages are tested without
// real waiting. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>

#include "cleanroom/clock.h"

namespace cleanroom::tests {

class ManualClock : public Clock {
 public:
  ManualClock() : wallBase_(std::chrono::sys_days{std::chrono::year{2026} / 11 / 25}) {}

  SteadyTime now() const override { return SteadyTime(std::chrono::nanoseconds(nanos_.load())); }
  WallTime wallNow() const override {
    return wallBase_ + std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(nanos_.load()));
  }
  // Jumps to `deadline` at once (never backwards).
  void sleepUntil(SteadyTime deadline) override {
    ++sleeps_;
    const long long target = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
    long long current = nanos_.load();
    while (current < target && !nanos_.compare_exchange_weak(current, target)) {
    }
  }
  void advance(milliseconds d) { nanos_ += std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); }
  // Returns how many times sleepUntil was called.
  int sleeps() const { return sleeps_.load(); }
  // Returns the time that passed since construction.
  milliseconds elapsed() const {
    return std::chrono::duration_cast<milliseconds>(std::chrono::nanoseconds(nanos_.load() - kStart));
  }

 private:
  static constexpr long long kStart = 1'000'000'000;
  WallTime wallBase_;
  std::atomic<long long> nanos_{kStart};
  std::atomic<int> sleeps_{0};
};

}  // namespace cleanroom::tests
