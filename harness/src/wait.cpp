#include "cleanroom/wait.h"

#include <algorithm>
#include <cmath>

namespace cleanroom {

milliseconds AdaptiveWait::intervalAfter(int polls) const {
  const double grown = static_cast<double>(first.count()) * std::pow(std::max(1.0, factor), std::max(0, polls));
  const double capped = std::min(grown, static_cast<double>(cap.count()));
  return milliseconds(std::max<long long>(1, std::llround(capped)));
}

WaitOutcome waitUntil(Clock& clock, SteadyTime deadline, const AdaptiveWait& pacing,
                      const std::function<bool()>& condition) {
  const SteadyTime start = clock.now();
  WaitOutcome outcome;
  for (;;) {
    ++outcome.polls;
    if (condition()) {
      outcome.met = true;
      break;
    }
    const SteadyTime now = clock.now();
    if (now >= deadline) break;
    const SteadyTime next = std::min(deadline, now + pacing.intervalAfter(outcome.polls - 1));
    clock.sleepUntil(next);
  }
  outcome.waited = millisBetween(start, clock.now());
  return outcome;
}

}  // namespace cleanroom
