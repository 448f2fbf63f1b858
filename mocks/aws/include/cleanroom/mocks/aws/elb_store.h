// ElbStore: the in-memory ELBv2 target groups of cleanroom-mock-aws and the
// target health lifecycle on timers (one DeadlineScheduler thread).
// Thread-safe; no call blocks on a timer. Operations take the decoded form
// of a query-protocol request (Action=...&Version=2015-12-01&...) and return
// the inner XML of <OpResult> (protocol-notes §4.2), or an AwsError with the
// model's short codes (TargetGroupNotFound, InvalidTarget,
// DuplicateTargetGroupName, ValidationError, InvalidAction).
//
// Target health (no load balancers exist, health checks always pass):
//   RegisterTargets → initial (Elb.RegistrationInProgress) → (healthyDelay) healthy
//   DeregisterTargets → draining (Target.DeregistrationInProgress) →
//     (deregistrationDelay) gone
//   DescribeTargetHealth naming a target that is not registered → unused
//     (Target.NotRegistered)
// Mock-only target-group tag "cleanroom.mock.deregistrationDelayMs" overrides
// the deregistration delay of that group.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/aws/aws_wire.h"

namespace cleanroom::mocks::aws {

struct ElbStoreOptions {
  std::string region = "us-east-1";
  std::string accountId = "123456789012";
  std::chrono::milliseconds healthyDelay{200};          // initial → healthy
  std::chrono::milliseconds deregistrationDelay{300};   // draining → gone
};

class ElbStore {
 public:
  explicit ElbStore(ElbStoreOptions options = {});
  // Calls shutdown().
  ~ElbStore();
  ElbStore(const ElbStore&) = delete;
  ElbStore& operator=(const ElbStore&) = delete;

  // Runs one ELBv2 action on its decoded form. Returns the <ActionResult>
  // inner XML ("" for an empty result) or an error (InvalidAction for an
  // action the mock does not implement).
  AwsResult<std::string> call(const std::string& action, const std::multimap<std::string, std::string>& form);

  // Returns {"targetGroups": [{..., "tags": {...}, "targets": [{id, port,
  // state, reason}]}]} for the control API.
  nlohmann::json state() const;
  // Drops every target group and pending transition.
  void reset();
  // reset() and stops the timer thread. Idempotent.
  void shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cleanroom::mocks::aws
