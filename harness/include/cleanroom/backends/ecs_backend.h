// EcsBackend ("ecs"): Amazon ECS tasks (Fargate or EC2), spoken to over the
// ECS JSON 1.1 API (protocol-notes §3) through aws::AwsClient (SigV4) — an
// AWS-compatible endpoint such as cleanroom-mock-aws.
//
// Configuration: the AWS settings of aws::AwsConfig (AWS_REGION,
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN],
// AWS_ENDPOINT_URL_ECS or AWS_ENDPOINT_URL) plus CLEANROOM_ECS_CLUSTER: the
// clusters to look in, comma-separated names or cluster ARNs (default
// "default").
//
// Ownership (DESIGN 3.5): a task started through cleanroom (runTask) carries
//   startedBy = <run id>            (ECS filters ListTasks by it on the
//                                    server; ≤128 characters, and run ids are
//                                    at most 64 — run.h)
//   tag cleanroom.run = <run id>    (plus the spec's labels as tags)
// A task belongs to run R when its tag cleanroom.run is R, or — without that
// tag — when its startedBy is R. The tag wins when both are present.
//
//   list   per configured cluster:
//            one run (Selector::thisRun/forRun): ListTasks startedBy=<run>
//              for desiredStatus RUNNING and STOPPED (ECS returns only
//              RUNNING when desiredStatus is omitted; STOPPED shows tasks
//              being stopped and recently stopped), every nextToken page,
//              then DescribeTasks (100 ARNs a call, include ["TAGS"]).
//              Costs 2 ListTasks + ⌈n/100⌉ DescribeTasks per cluster.
//            every run (Selector::allRuns), and one run when
//              options.scanAllTasks is set (tasks other tools started with
//              only the tag): ListTasks without startedBy — every task of the
//              cluster — then DescribeTasks of all of them, keeping those
//              whose owner is the run (allRuns: those with a cleanroom.run
//              tag; a task without it is never listed, so never touched).
//              Costs ⌈N/100⌉ ListTasks + ⌈N/100⌉ DescribeTasks per status per
//              cluster, N = every task in the cluster, other users' too.
//          Then Selector::matches (labels = tags, namePrefix = name below,
//          minAge from createdAt with the backend's clock, states, ids).
//          A cluster that does not exist is a Permanent error naming it and
//          CLEANROOM_ECS_CLUSTER.
//   probe  DescribeTasks of the one task; failure reason MISSING, no such
//          task, or ClusterNotFoundException = Gone (a deleted cluster has
//          no tasks left).
//   stop   StopTask {cluster, task, reason "cleanroom: run <run id>"}. ECS has
//          no force: Graceful and Force are the same call (ECS sends SIGTERM,
//          then SIGKILL after each container's stopTimeout). Stopping a
//          stopped task succeeds. InvalidParameterException "...not found"
//          and ClusterNotFoundException = Error::gone.
//   await  awaitFinished polls DescribeTasks adaptively (options.pacing,
//          wait.h) until the task is STOPPED or gone, at most `timeout` —
//          `aws ecs wait tasks-stopped`, adaptive instead of every 6 s.
//
// Resource mapping: id = task ARN (its cluster is read from the ARN
// "arn:aws:ecs:R:A:task/<cluster>/<id>"; an old-format ARN without one means
// the first configured cluster); name = the task's group when it was set
// explicitly, else the task definition "family:revision" (the default group
// "family:<family>" is not a name); labels = tags; runId as above; createdAt
// = createdAt; status = lastStatus, or "<lastStatus>→<desiredStatus>" when
// ECS is moving the task somewhere else (e.g. "RUNNING→STOPPED").
// State (lastStatus; desiredStatus STOPPED turns any live state into Stopping):
//   PROVISIONING, PENDING, ACTIVATING           → Pending
//   RUNNING                                     → Running
//   DEACTIVATING, STOPPING, DEPROVISIONING      → Stopping
//   STOPPED                                     → Terminal (nothing left to
//                                                 stop; never a leftover)
//   DELETED                                     → Gone
//   anything else                               → Unknown
//
// Single attempts only (backend.h): AwsClient maps throttling
// (ThrottlingException), 5xx, 429 and transport failures to Retryable and the
// engine's RetryPolicy retries. Each call blocks for at most
// options.requestTimeout per request it makes (list: the requests above;
// awaitFinished: its timeout plus one request). Safe from several threads.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/aws/aws_client.h"
#include "cleanroom/aws/aws_config.h"
#include "cleanroom/backend.h"
#include "cleanroom/wait.h"

namespace cleanroom {

// The variable naming the clusters the ecs backend looks in.
inline constexpr const char* kEcsClusterVariable = "CLEANROOM_ECS_CLUSTER";

struct EcsBackendOptions {
  aws::AwsConfig aws;
  std::vector<std::string> clusters{"default"};  // names or cluster ARNs
  milliseconds requestTimeout{5000};              // connect, and between bytes
  int listConcurrency = 4;    // clusters listed at once
  int stopConcurrency = 16;   // StopTask calls in flight at once (stopConcurrency())
  bool scanAllTasks = false;  // one-run lists also scan every task for the tag (above)
  // awaitFinished's DescribeTasks pacing: 10 ms, ×1.5, at most 500 ms apart.
  AdaptiveWait pacing{milliseconds(10), 1.5, milliseconds(500)};

  // Returns options from AwsConfig::fromEnvironment() and
  // CLEANROOM_ECS_CLUSTER (unset or empty = "default"). A Permanent error
  // names the variable: AWS ones as AwsConfig says, CLEANROOM_ECS_CLUSTER
  // when an entry is empty or not a cluster name / cluster ARN.
  static Result<EcsBackendOptions> fromEnvironment();
  // Returns the options a locator (EcsBackend::locator()) describes, the
  // credentials read from the environment. A Permanent error names what is
  // missing or malformed.
  static Result<EcsBackendOptions> fromLocator(const std::map<std::string, std::string>& locator);
  // Parses a CLEANROOM_ECS_CLUSTER value ("a,b , arn:aws:ecs:...:cluster/c");
  // `what` names where it came from in the error.
  static Result<std::vector<std::string>> parseClusters(const std::string& text, const std::string& what);
};

// What EcsBackend::runTask starts (tests, examples, the session layer).
struct EcsTaskSpec {
  std::string cluster;          // "" = the first configured cluster; must be a configured one
  std::string taskDefinition;   // family, family:revision or ARN; required
  std::string launchType = "FARGATE";  // FARGATE, EC2 or EXTERNAL ("" = omit)
  std::vector<std::string> subnets{"subnet-cleanroom"};  // awsvpc; empty = no networkConfiguration
  std::vector<std::string> securityGroups;
  bool assignPublicIp = false;
  std::string group;                          // "" = ECS's default "family:<family>"
  std::map<std::string, std::string> labels;  // tags; cleanroom.run is added
  std::string runId;                          // owner; "" = run::id()
  // containerOverrides: container name → environment variables.
  std::map<std::string, std::map<std::string, std::string>> environment;
  std::string clientToken;                    // idempotency token; "" = a fresh one
};

// A task runTask started (or describeTask read).
struct EcsTask {
  Resource resource;       // backend "ecs", id = taskArn
  std::string taskArn;
  std::string cluster;     // cluster name
  std::string privateIp;   // ENI private IPv4 ("" until ECS has assigned it)
  std::string lastStatus;
  std::string desiredStatus;
};

class EcsBackend : public Backend {
 public:
  // Throws ConfigError when the options are unusable: no cluster, a
  // malformed cluster (naming CLEANROOM_ECS_CLUSTER), non-positive
  // concurrency. The ECS endpoint is AwsConfig::endpointFor("ecs") (the
  // public one when no variable names another) unless `injected` has an
  // "ecs" client. Does not connect. `clock` measures
  // ages, signs requests and paces awaitFinished; it must outlive the backend.
  // `injected` HTTP clients by service (tests), as for aws::AwsClient.
  explicit EcsBackend(EcsBackendOptions options, Clock& clock = Clock::system(),
                      aws::AwsClient::HttpClients injected = {});

  std::string name() const override { return "ecs"; }
  Result<std::vector<Resource>> list(const Selector& selector) override;
  Status requestStop(const Resource& resource, StopMode mode) override;
  Result<ResourceStatus> probe(const Resource& resource) override;
  // aws.locator() ("region", "endpoint_url", "endpoint_url_ecs", …) plus
  // "clusters" (comma-separated, as configured). Never a credential.
  std::map<std::string, std::string> locator() const override;
  int stopConcurrency() const override { return options_.stopConcurrency; }
  bool canAwait() const override { return true; }
  // Polls DescribeTasks (options.pacing) until the task is Terminal or Gone
  // or `timeout` passes; returns the last state seen. A failed poll ends the
  // wait with its error.
  Result<ResourceStatus> awaitFinished(const Resource& resource, milliseconds timeout) override;

  // Starts one task owned by spec.runId (default: this run) with startedBy
  // and tags as above and a clientToken, records it in the run's journal
  // (journal::recordCreated) as soon as ECS has answered, and returns it.
  // One attempt; blocks for at most one request timeout. Errors: Permanent
  // naming the field for a bad spec (no taskDefinition, a cluster not
  // configured, a run id that is invalid); RunTask failures (e.g.
  // "RESOURCE:MEMORY" is Retryable, others Permanent) name the reason.
  Result<EcsTask> runTask(const EcsTaskSpec& spec);
  // DescribeTasks of one task (ARN); Gone when ECS no longer knows it.
  Result<EcsTask> describeTask(const std::string& taskArn);
  // Polls describeTask (options.pacing) until the task is RUNNING — with its
  // private IP, when it has an ENI — and returns it. Permanent error when it
  // stops first, Retryable when `timeout` passes. Blocks at most `timeout`
  // plus one request.
  Result<EcsTask> awaitRunning(const std::string& taskArn, milliseconds timeout);

  // Returns every task of `cluster` (a name) that ListTasks shows under
  // desiredStatus RUNNING and STOPPED (every page), described with tags
  // (DescribeTasks, 100 a call): other users' tasks too, unfiltered (the alb
  // backend decides target ownership from them). Costs ⌈N/100⌉ ListTasks per
  // status + ⌈N/100⌉ DescribeTasks. A cluster that does not exist is a
  // Permanent error naming it and CLEANROOM_ECS_CLUSTER.
  Result<std::vector<EcsTask>> listTasks(const std::string& cluster);

  const EcsBackendOptions& options() const { return options_; }
  // Maps lastStatus (and desiredStatus) to a ResourceState (table above).
  static ResourceState classify(const std::string& lastStatus, const std::string& desiredStatus = "");
  // Parses one Task object of RunTask/DescribeTasks; a Permanent error names
  // the missing field.
  Result<EcsTask> parseTask(const nlohmann::json& task) const;
  // Returns the cluster name of a task ARN ("" for an old-format ARN).
  static std::string clusterOfTask(const std::string& taskArn);
  // Returns the cluster name of a cluster name or cluster ARN.
  static std::string clusterName(const std::string& nameOrArn);

 private:
  Result<nlohmann::json> call(const std::string& operation, const nlohmann::json& body);
  Result<std::vector<std::string>> listArns(const std::string& cluster, const std::string& desiredStatus,
                                            const std::string& startedBy);
  Result<std::vector<EcsTask>> describe(const std::string& cluster, const std::vector<std::string>& arns);
  Result<std::vector<EcsTask>> tasksIn(const std::string& cluster, const std::string& startedBy);
  Result<std::vector<Resource>> listCluster(const std::string& cluster, const Selector& selector);
  std::string clusterFor(const std::string& taskArn) const;
  Result<ResourceStatus> describeState(const Resource& resource);

  EcsBackendOptions options_;
  Clock& clock_;
  std::unique_ptr<aws::AwsClient> client_;
};

// ECS's X-Amz-Target for an operation: "AmazonEC2ContainerServiceV20141113.<op>".
std::string ecsTarget(const std::string& operation);

}  // namespace cleanroom
