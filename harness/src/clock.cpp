#include "cleanroom/clock.h"

#include <thread>

namespace cleanroom {
namespace {

class SystemClock final : public Clock {
 public:
  SteadyTime now() const override { return std::chrono::steady_clock::now(); }
  WallTime wallNow() const override { return std::chrono::system_clock::now(); }
  void sleepUntil(SteadyTime deadline) override { std::this_thread::sleep_until(deadline); }
};

}  // namespace

Clock& Clock::system() {
  static SystemClock clock;
  return clock;
}

}  // namespace cleanroom
