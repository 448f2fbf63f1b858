// AlbBackend ("alb"): the ALB (ELBv2) targets that belong to a run — an ECS
// task's ENI address registered as an "ip" target — spoken to over the ELBv2
// query protocol through aws::AwsClient (SigV4), with the owner read from ECS
// (ecs_backend.h).
//
// Configuration: the AWS settings of aws::AwsConfig (AWS_REGION, credentials,
// AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 or AWS_ENDPOINT_URL for ELBv2,
// AWS_ENDPOINT_URL_ECS or AWS_ENDPOINT_URL for the ownership lookup) plus
//   CLEANROOM_ALB_TARGET_GROUPS  target group ARNs, comma-separated; required
//                                (arn:aws:elasticloadbalancing:R:A:targetgroup/NAME/ID)
//   CLEANROOM_ECS_CLUSTER        the clusters whose tasks decide ownership
//                                (as for the ecs backend; default "default")
//
// Ownership (DESIGN 3.5): targets carry no tags. A target ip:port in group G
// belongs to run R when the NEWEST ECS task (by createdAt) in the configured
// clusters whose ENI private IPv4 is the target's IP is owned by R — the ecs
// backend's rule: tag cleanroom.run, else startedBy. An IP an old task of R
// once had and a newer task of someone else has now is not R's. A target
// whose IP matches no known task (another tool's, an EC2 instance, a task
// stopped so long ago that ECS forgot it) belongs to nobody: it is never
// listed, so never deregistered, not even for Selector::allRuns().
//
//   list   per target group: DescribeTargetHealth (every registered and
//          draining target; ELBv2 does not page it), then — only when some
//          group has a target — per cluster: EcsBackend::listTasks (every
//          task of the cluster, other users' too: ⌈N/100⌉ ListTasks per
//          desiredStatus RUNNING and STOPPED + ⌈N/100⌉ DescribeTasks with
//          tags). Costs G DescribeTargetHealth + that ECS scan. Then the
//          ecs backend's selector semantics: one run (thisRun/forRun) keeps
//          targets whose owner is the run; every run (allRuns) keeps targets
//          whose owning task has a cleanroom.run tag; then Selector::matches
//          (labels = the owning task's tags + cleanroom.ecs.task, namePrefix
//          on the name below, minAge from the task's createdAt with the
//          backend's clock, states, ids). A target group that does not exist
//          is a Permanent error naming the ARN and CLEANROOM_ALB_TARGET_GROUPS.
//   stop   DeregisterTargets of the one target (Graceful and Force are the
//          same call). Not registered (InvalidTarget) = Error::gone; a
//          target group that does not exist = Permanent naming the ARN and
//          CLEANROOM_ALB_TARGET_GROUPS. ELBv2 then drains the target by
//          itself; cleanup does not wait the deregistration delay (300 s by
//          default on AWS): draining is Terminal.
//   probe  DescribeTargetHealth of the one target; a target group that does
//          not exist any more means the target is Gone.
//
// Resource mapping: id = "<ip>:<port>@<targetGroupArn>" (parseId reads it
// back; a malformed id is a Permanent error); name = "<target group
// name>/<ip>:<port>"; labels = the owning task's tags plus
// "cleanroom.ecs.task" = its ARN; runId = the owner; createdAt = the task's
// createdAt; status = the health state, "<state> (<reason>)" with a reason.
// State (TargetHealth.State, Reason):
//   initial, healthy, unhealthy, unavailable, unused (any reason but
//     Target.NotRegistered: registered, not in use)     → Running
//   draining (deregistered: no new traffic; ELBv2 ends the drain itself)
//                                                       → Terminal
//   unused with Target.NotRegistered, or not listed     → Gone
//   anything else                                       → Unknown
//
// Single attempts only (backend.h): AwsClient maps throttling (Throttling),
// 5xx, 429 and transport failures to Retryable and the engine retries. Each
// request blocks for at most options.requestTimeout. Safe from several
// threads (no mutable state of its own).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cleanroom/aws/aws_client.h"
#include "cleanroom/aws/aws_config.h"
#include "cleanroom/backend.h"
#include "cleanroom/backends/ecs_backend.h"

namespace cleanroom {

// The variable naming the target groups the alb backend looks in.
inline constexpr const char* kAlbTargetGroupsVariable = "CLEANROOM_ALB_TARGET_GROUPS";
// The label naming the task that owns a target.
inline constexpr const char* kAlbTaskLabel = "cleanroom.ecs.task";

struct AlbBackendOptions {
  aws::AwsConfig aws;
  std::vector<std::string> targetGroupArns;  // required
  std::vector<std::string> clusters{"default"};  // names or cluster ARNs, for ownership
  milliseconds requestTimeout{5000};              // connect, and between bytes
  int stopConcurrency = 16;  // DeregisterTargets calls in flight at once

  // Returns options from AwsConfig::fromEnvironment(),
  // CLEANROOM_ALB_TARGET_GROUPS (required) and CLEANROOM_ECS_CLUSTER. A
  // Permanent error names the variable that is missing or malformed.
  static Result<AlbBackendOptions> fromEnvironment();
  // Returns the options a locator (AlbBackend::locator()) describes, the
  // credentials read from the environment. A Permanent error names what is
  // missing or malformed.
  static Result<AlbBackendOptions> fromLocator(const std::map<std::string, std::string>& locator);
  // Parses a CLEANROOM_ALB_TARGET_GROUPS value ("arn:...:targetgroup/a/1,
  // arn:...:targetgroup/b/2"); `what` names where it came from in the error.
  static Result<std::vector<std::string>> parseTargetGroups(const std::string& text, const std::string& what);
};

// One target as an id names it.
struct AlbTargetRef {
  std::string ip;
  int port = 0;
  std::string targetGroupArn;
};

class AlbBackend : public Backend {
 public:
  // Throws ConfigError when the options are unusable: no or a malformed
  // target group (naming CLEANROOM_ALB_TARGET_GROUPS), a malformed cluster
  // (naming CLEANROOM_ECS_CLUSTER), a non-positive stopConcurrency. The
  // ELBv2 and ECS endpoints are AwsConfig::endpointFor's unless `injected`
  // has an "elasticloadbalancing" / "ecs" client. Does not connect. `clock`
  // measures ages and signs requests; it must outlive the backend.
  explicit AlbBackend(AlbBackendOptions options, Clock& clock = Clock::system(),
                      aws::AwsClient::HttpClients injected = {});

  std::string name() const override { return "alb"; }
  Result<std::vector<Resource>> list(const Selector& selector) override;
  Status requestStop(const Resource& resource, StopMode mode) override;
  Result<ResourceStatus> probe(const Resource& resource) override;
  // aws.locator() plus "target_groups" and "clusters" (comma-separated, as
  // configured). Never a credential.
  std::map<std::string, std::string> locator() const override;
  int stopConcurrency() const override { return options_.stopConcurrency; }

  const AlbBackendOptions& options() const { return options_; }
  // Maps a TargetHealth state and reason to a ResourceState (table above).
  static ResourceState classify(const std::string& state, const std::string& reason = "");
  // Returns "<ip>:<port>@<targetGroupArn>".
  static std::string idOf(const AlbTargetRef& target);
  // Parses an id idOf made; a Permanent error names the id and the format.
  static Result<AlbTargetRef> parseId(const std::string& id);
  // Returns the target group's name from its ARN ("" when it names none).
  static std::string targetGroupName(const std::string& targetGroupArn);

 private:
  struct Target;
  Result<std::vector<Target>> describeHealth(const std::string& targetGroupArn, const AlbTargetRef* only);
  Result<std::vector<Target>> listTargets();
  Result<std::map<std::string, EcsTask>> newestTaskByIp();
  Resource toResource(const Target& target, const EcsTask& owner) const;

  AlbBackendOptions options_;
  Clock& clock_;
  std::unique_ptr<aws::AwsClient> client_;
  std::unique_ptr<EcsBackend> tasks_;  // the ownership lookup
};

}  // namespace cleanroom
