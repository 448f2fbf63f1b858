// Clock: the one source of time for the engine, retries and waits.
//
// Production code uses Clock::system(). Unit tests pass a fake (gmock or a
// manual clock) so that backoff, deadlines and age filters are tested without
// real waiting. Steady time is for deadlines and durations; wall time is for
// resource ages (creation timestamps come from servers as wall-clock time).
#pragma once

#include <chrono>

namespace cleanroom {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Returns the current monotonic time.
  virtual SteadyTime now() const = 0;
  // Returns the current wall-clock time.
  virtual WallTime wallNow() const = 0;
  // Blocks the calling thread until `deadline` (returns at once if it passed).
  virtual void sleepUntil(SteadyTime deadline) = 0;

  // Returns the process-wide real clock.
  static Clock& system();
};

// Returns the milliseconds from `from` to `to` (negative when `to` is earlier).
inline milliseconds millisBetween(SteadyTime from, SteadyTime to) {
  return std::chrono::duration_cast<milliseconds>(to - from);
}

}  // namespace cleanroom
