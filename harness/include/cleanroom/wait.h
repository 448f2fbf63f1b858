// Adaptive waiting: poll a condition starting a few milliseconds after the
// request and back off to a cap, so a wait ends within one poll interval of
// the real event without hammering the server. Never a fixed sleep.
#pragma once

#include <functional>

#include "cleanroom/clock.h"

namespace cleanroom {

struct AdaptiveWait {
  milliseconds first{2};    // first poll this long after the start
  double factor = 1.5;      // interval growth per poll
  milliseconds cap{100};    // longest interval between polls

  // Returns the interval after `polls` polls (0-based): first × factor^polls, capped.
  milliseconds intervalAfter(int polls) const;
};

struct WaitOutcome {
  bool met = false;      // the condition became true before the deadline
  int polls = 0;         // how many times it was checked
  milliseconds waited{0};
};

// Checks `condition` at once, then at adaptive intervals, until it returns
// true or `deadline` passes (checked once more at the deadline). Blocks until
// then at most.
WaitOutcome waitUntil(Clock& clock, SteadyTime deadline, const AdaptiveWait& pacing,
                      const std::function<bool()>& condition);

}  // namespace cleanroom
