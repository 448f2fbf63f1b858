// EcsSessionSite: where a run's ECS sessions live — an ECS cluster, a task
// definition, an ALB (ELBv2) target group and an S3 log bucket — and how one
// session is launched there: run a task owned by the run, wait until it is
// RUNNING with its ENI private IP, register that IP as a target. This is
// what an agent runtime does for each request; tests, examples and
// benchmarks use it to make real sessions against cleanroom-mock-aws (or an
// AWS account) that EcsSessions (ecs_sessions.h) then cleans up.
//
//   auto site = aws::EcsSessionSite::provision(client, {});   // idempotent
//   auto session = site->launch(ecsBackend, "req-1", logDirectory);
//   sessions.open(*session);
//
// provision() makes each piece unless it exists, so calling it from every
// test program of a suite is fine:
//   CreateCluster (ECS returns the existing cluster of that name),
//   RegisterTaskDefinition (one new revision of the family per call),
//   CreateTargetGroup (ELBv2 returns the existing group when the name and
//     settings match; a group of that name with other settings is an error
//     naming it), CreateBucket (BucketAlreadyOwnedByYou is success).
// Each is one request of at most spec.requestTimeout; no retries (a
// Retryable error is returned as such).
// Safe from several threads once provisioned (launch only reads the site).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cleanroom/aws/aws_client.h"
#include "cleanroom/aws/ecs_session.h"
#include "cleanroom/backends/ecs_backend.h"
#include "cleanroom/result.h"

namespace cleanroom::aws {

struct EcsSiteSpec {
  std::string cluster = "cleanroom-agents";        // cluster name
  std::string taskFamily = "cleanroom-agent";      // task definition family (awsvpc, FARGATE)
  std::string image = "cleanroom/agent:latest";    // its one container's image
  std::string targetGroupName = "cleanroom-agents";  // ≤32 characters: letters, digits, '-'
  int targetPort = 8080;                            // the group's port and the targets'
  std::string vpcId = "vpc-cleanroom";
  std::vector<std::string> subnets{"subnet-cleanroom"};
  std::string logBucket = "cleanroom-logs";
  std::string logKeyPrefix = "sessions";           // logs go to <prefix>/<run id>/<session>/...
  milliseconds requestTimeout{10000};
};

class EcsSessionSite {
 public:
  // Provisions the site described by `spec` (above) and returns it. A
  // Permanent error names the piece that could not be made and why.
  static Result<EcsSessionSite> provision(std::shared_ptr<AwsClient> client, EcsSiteSpec spec);

  // Launches session `sessionId` owned by `runId` ("" = run::id()): runs a
  // task of the site's family through `tasks` (EcsBackend::runTask: startedBy
  // and tag cleanroom.run, journaled, plus tag cleanroom.session = id),
  // waits up to `runningTimeout` for it to be RUNNING with a private IP,
  // registers ip:port in the target group, and returns the session ready
  // for EcsSessions::open (logs in `logDirectory`, "" = nothing to upload,
  // to the site's bucket and prefix). `tasks` must look in the site's
  // cluster. When a later step fails the task is left running — it is the
  // run's and journaled, so cleanup finds it — and the error names the
  // session and the step. Blocks for at most runningTimeout plus three
  // requests.
  Result<EcsSession> launch(EcsBackend& tasks, const std::string& sessionId,
                            const std::filesystem::path& logDirectory = {},
                            milliseconds runningTimeout = milliseconds(30000), const std::string& runId = "") const;

  const EcsSiteSpec& spec() const { return spec_; }
  // The target group's ARN as ELBv2 returned it.
  const std::string& targetGroupArn() const { return targetGroupArn_; }
  // The cluster's ARN as ECS returned it.
  const std::string& clusterArn() const { return clusterArn_; }

 private:
  EcsSessionSite(std::shared_ptr<AwsClient> client, EcsSiteSpec spec) : client_(std::move(client)), spec_(std::move(spec)) {}
  Status createCluster();
  Status registerTaskDefinition();
  Status createTargetGroup();
  Status createBucket();

  std::shared_ptr<AwsClient> client_;
  EcsSiteSpec spec_;
  std::string clusterArn_;
  std::string targetGroupArn_;
};

}  // namespace cleanroom::aws
