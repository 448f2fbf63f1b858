#include "cleanroom/retry.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>

#include <spdlog/spdlog.h>

#include "cleanroom/trace.h"

namespace cleanroom {
namespace {

double jitterUnit() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

RetryPolicy RetryPolicy::once() {
  RetryPolicy p;
  p.maxAttempts = 1;
  return p;
}

milliseconds RetryPolicy::delayBefore(int nextAttempt, const Error& error, double unit) const {
  const int retries = std::max(0, nextAttempt - 2);
  double base = static_cast<double>(initialDelay.count()) * std::pow(multiplier, retries);
  base = std::min(base, static_cast<double>(maxDelay.count()));
  const double spread = std::clamp(jitter, 0.0, 1.0);
  const double factor = 1.0 + spread * (2.0 * unit - 1.0);
  auto delay = milliseconds(static_cast<long long>(std::llround(std::max(0.0, base * factor))));
  if (error.retryAfter && *error.retryAfter > delay) delay = *error.retryAfter;
  return delay;
}

Status retryCall(const RetryPolicy& policy, Clock& clock, const std::string& what,
                 const std::function<Status()>& attempt, RetryStats* stats) {
  const SteadyTime start = clock.now();
  const SteadyTime deadline = start + policy.deadline;
  const int maxAttempts = std::max(1, policy.maxAttempts);
  RetryStats local;
  RetryStats& counts = stats != nullptr ? *stats : local;
  counts = {};
  for (int n = 1;; ++n) {
    const SteadyTime attemptStart = clock.now();
    Status outcome = attempt();
    counts.attempts = n;
    counts.elapsed = millisBetween(start, clock.now());
    const auto ms = millisBetween(attemptStart, clock.now()).count();
    if (outcome.ok()) {
      logger().debug("step=attempt what=\"{}\" attempt={}/{} result=ok ms={}", what, n, maxAttempts, ms);
      return outcome;
    }
    const Error& error = outcome.error();
    if (counts.failures.size() < RetryStats::kMaxRecordedFailures) {
      counts.failures.push_back("attempt " + std::to_string(n) + ": " + error.describe());
    }
    logger().debug("step=attempt what=\"{}\" attempt={}/{} result={} ms={} error=\"{}\"", what, n, maxAttempts,
                   toString(error.kind), ms, error.message);
    if (!error.isRetryable()) return outcome;
    if (n >= maxAttempts) {
      logger().info("step=give-up what=\"{}\" attempts={} reason=max-attempts error=\"{}\"", what, n, error.message);
      return outcome;
    }
    const milliseconds delay = policy.delayBefore(n + 1, error, jitterUnit());
    if (clock.now() + delay > deadline) {
      logger().info("step=give-up what=\"{}\" attempts={} reason=deadline deadline_ms={} next_delay_ms={} error=\"{}\"",
                    what, n, policy.deadline.count(), delay.count(), error.message);
      return outcome;
    }
    logger().debug("step=backoff what=\"{}\" next_attempt={} delay_ms={}{}", what, n + 1, delay.count(),
                   error.retryAfter ? " retry_after=honoured" : "");
    clock.sleepUntil(clock.now() + delay);
  }
}

}  // namespace cleanroom
