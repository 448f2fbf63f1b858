// RetryPolicy: exponential backoff with jitter, bounded by attempts and by an
// overall deadline.
//
// Only Retryable errors are retried (connection failures, timeouts, 5xx, 429);
// Permanent and Gone errors return at once. A server's Retry-After is honoured
// when it fits before the deadline; when it does not, the call gives up with
// the last error rather than wait past the deadline. Every attempt and every
// wait is traced (logger "cleanroom", debug).
#pragma once

#include <functional>
#include <string>
#include <vector>
#include <type_traits>

#include "cleanroom/clock.h"
#include "cleanroom/result.h"

namespace cleanroom {

struct RetryPolicy {
  int maxAttempts = 5;                 // including the first
  milliseconds initialDelay{20};       // before the 2nd attempt
  double multiplier = 2.0;             // delay growth per attempt
  milliseconds maxDelay{2000};         // cap of a single delay
  double jitter = 0.2;                 // ± fraction applied to each delay
  milliseconds deadline{30000};        // overall, first attempt to last

  // Returns a policy that makes exactly one attempt.
  static RetryPolicy once();

  // Returns the delay before attempt `nextAttempt` (2 = first retry) after
  // `error`: backoff with jitter drawn from `unit` in [0,1), or the error's
  // Retry-After when that is longer.
  milliseconds delayBefore(int nextAttempt, const Error& error, double unit) const;
};

// What one retried call did.
struct RetryStats {
  int attempts = 0;
  milliseconds elapsed{0};
  // Each failed attempt, "attempt N: <error>", also those a later attempt
  // overcame (the first kMaxRecordedFailures of them), so a report can name
  // every failure even when the call succeeded in the end.
  std::vector<std::string> failures;
  static constexpr std::size_t kMaxRecordedFailures = 8;
};

// Runs `attempt` (a callable taking no arguments and returning Status) under
// `policy`. Returns the last outcome; `stats` (optional) receives the attempts
// made and the time spent. `what` names the call in traces ("stop http/ag-1").
// Blocks for at most policy.deadline plus one attempt's own duration.
Status retryCall(const RetryPolicy& policy, Clock& clock, const std::string& what,
                 const std::function<Status()>& attempt, RetryStats* stats = nullptr);

// Same for calls returning Result<T>.
template <class T>
Result<T> retryResult(const RetryPolicy& policy, Clock& clock, const std::string& what,
                      const std::function<Result<T>()>& attempt, RetryStats* stats = nullptr) {
  std::optional<Result<T>> last;
  Status status = retryCall(policy, clock, what, [&]() -> Status {
    last.emplace(attempt());
    if (last->ok()) return Status::success();
    return last->error();
  }, stats);
  if (!last) return status.error();
  return std::move(*last);
}

}  // namespace cleanroom
