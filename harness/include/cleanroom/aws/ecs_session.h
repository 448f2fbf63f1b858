// EcsSession: one agent session of a cloud agent runtime — an ECS task
// registered as an ALB (ELBv2) target, whose logs are shipped to S3 when the
// session ends — and EcsSessionApi, the four cloud calls its cleanup makes.
//
// EcsSession is a plain value; the session cleanup (ecs_session_cleanup.h)
// and the run's registry of open sessions (ecs_sessions.h) work on it.
//
// EcsSessionApi is the seam between the cleanup's steps and AWS: the real
// one (AwsSessionApi) speaks ECS, ELBv2 and S3 through aws::AwsClient and
// maps "not found" answers to Error::gone where they mean "already done";
// tests put a fake behind it. Every call is one attempt (the pipeline's
// RetryPolicy retries Retryable errors) and blocks for at most `timeout`
// (pass StepContext::remaining()). Safe from several threads at once.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "cleanroom/aws/aws_client.h"
#include "cleanroom/clock.h"
#include "cleanroom/result.h"

namespace cleanroom::aws {

struct EcsSession {
  std::string id;                 // the session's id, unique within the run (e.g. the request id)
  std::string runId;              // owner run; "" = run::id() (filled in by EcsSessions::open)
  std::string cluster;            // cluster name or ARN; "" = the cluster in taskArn
  std::string taskArn;            // "arn:aws:ecs:<region>:<account>:task/<cluster>/<id>"
  std::string targetGroupArn;     // "" = the session has no ALB target
  std::string targetIp;           // the task's ENI private IP, as registered
  int targetPort = 0;             // 0 = the target group's port
  std::filesystem::path logDirectory;  // "" = nothing to upload
  std::string logBucket;          // required when logDirectory is set
  std::string logKeyPrefix;       // key = <prefix>/<runId>/<session id>/<relative path> ("" = no prefix)
  std::map<std::string, std::string> labels;

  // Returns the S3 key of the log file at `relativePath` below logDirectory.
  std::string logKey(const std::filesystem::path& relativePath) const;
  // Returns the cluster to address taskArn in: `cluster` when set, else the
  // one named in the ARN, else "default" (an old-format ARN).
  std::string clusterOfTask() const;
  // Returns "" when the session is usable, else what is wrong, naming the
  // field ("session 's1': taskArn is empty; set it to the ARN RunTask returned").
  std::string problem() const;
};

// The cloud calls of a session cleanup.
class EcsSessionApi {
 public:
  virtual ~EcsSessionApi() = default;

  // Uploads the local file `file` to s3://bucket/key (PutObject). A missing
  // bucket is a Permanent error naming it (NoSuchBucket).
  virtual Status putObject(const std::string& bucket, const std::string& key, const std::filesystem::path& file,
                           milliseconds timeout) = 0;
  // Deregisters ip:port from the target group. A target that is not
  // registered (InvalidTarget) is Gone; a target group that does not exist
  // or an ARN that is not one is a Permanent error naming the ARN;
  // throttling is Retryable.
  virtual Status deregisterTarget(const std::string& targetGroupArn, const std::string& ip, int port,
                                  milliseconds timeout) = 0;
  // Asks ECS to stop the task (StopTask with `reason`). A task ECS does not
  // know (any more) is Gone; stopping a stopped task succeeds.
  virtual Status stopTask(const std::string& cluster, const std::string& taskArn, const std::string& reason,
                          milliseconds timeout) = 0;
  // Returns the task's lastStatus ("RUNNING", "STOPPED", …), or Gone when
  // ECS does not know the task (any more).
  virtual Result<std::string> taskStatus(const std::string& cluster, const std::string& taskArn,
                                         milliseconds timeout) = 0;
};

// EcsSessionApi over aws::AwsClient (ECS JSON 1.1, ELBv2 query, S3 REST).
class AwsSessionApi : public EcsSessionApi {
 public:
  explicit AwsSessionApi(std::shared_ptr<AwsClient> client);

  Status putObject(const std::string& bucket, const std::string& key, const std::filesystem::path& file,
                   milliseconds timeout) override;
  Status deregisterTarget(const std::string& targetGroupArn, const std::string& ip, int port,
                          milliseconds timeout) override;
  Status stopTask(const std::string& cluster, const std::string& taskArn, const std::string& reason,
                  milliseconds timeout) override;
  Result<std::string> taskStatus(const std::string& cluster, const std::string& taskArn,
                                 milliseconds timeout) override;

 private:
  std::shared_ptr<AwsClient> client_;
};

// Returns the S3 REST target of an object: "/<bucket>/<key>" with the key's
// segments percent-encoded ('/' kept), path-style.
std::string s3ObjectTarget(const std::string& bucket, const std::string& key);

}  // namespace cleanroom::aws
