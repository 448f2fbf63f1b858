// AwsMock: cleanroom-mock-aws as a library — ECS (JSON 1.1), ELBv2 and STS
// (query protocol, XML) and S3 (REST-XML) on one port (DESIGN 3.2), for tests
// that start it in-process on port 0.
//
// Dispatch (protocol-notes §2.1), every request but the control API:
//   X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>  → ECS (ecs_store.h)
//   form body Action=<Op>&Version=2015-12-01               → ELBv2 (elb_store.h)
//   form body Action=GetCallerIdentity&Version=2011-06-15  → STS
//   (another Version: the credential scope's service decides)
//   anything else → S3, path-style or virtual-hosted (Host "<bucket>.<domain>",
//   see bucketFromHost in aws_wire.h) — the S3 part (s3_api.h).
//
// Authentication: SigV4 (cleanroom/aws/sigv4.h) is verified on every request
// against `credentials` (access key id → secret); any session token is
// accepted. Failures in each protocol's own shape:
//   no Authorization   ECS 400 MissingAuthenticationTokenException,
//                      query 403 MissingAuthenticationToken, S3 403 AccessDenied
//   unknown key id     ECS 400 UnrecognizedClientException,
//                      query 403 InvalidClientTokenId, S3 403 InvalidAccessKeyId
//   wrong signature    ECS 400 InvalidSignatureException,
//                      query/S3 403 SignatureDoesNotMatch
//   malformed header   ECS 400 IncompleteSignatureException, query 400
//                      IncompleteSignature, S3 400 AuthorizationHeaderMalformed
//   stale X-Amz-Date   ECS 400 InvalidSignatureException, query 400
//                      RequestExpired, S3 403 RequestTimeTooSkewed
// verifySignatures=false accepts everything (still needs no header).
//
// Faults: each request's operation is named "<service>:<Op>" ("ecs:StopTask",
// "elasticloadbalancing:DeregisterTargets", "sts:GetCallerIdentity",
// "s3:PutObject") for fault rules' "match.operation" and the request log. A
// status fault without "body" answers in the service's error shape with
// "errorCode" if given, else: 4xx → the throttling code (ECS
// ThrottlingException, query Throttling, S3 SlowDown), 5xx → ECS
// ServerException / query ServiceUnavailable / S3 SlowDown (503) or
// InternalError.
//
// Control API: GET /__cleanroom/state → {"clusters", "taskDefinitions",
// "tasks", "targetGroups", "s3"}; POST /__cleanroom/reset drops all of it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace cleanroom::mocks::aws {

struct AwsMockOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = pick a free port
  std::string region = "us-east-1";
  std::string accountId = "123456789012";
  // Accepted access key ids and their secrets.
  std::map<std::string, std::string> credentials = {{"cleanroom", "cleanroom-secret"}};
  bool verifySignatures = true;
  std::chrono::milliseconds taskStart{200};         // ECS RunTask → RUNNING
  std::chrono::milliseconds taskStop{300};          // ECS StopTask → STOPPED
  std::chrono::milliseconds stoppedLinger{60000};   // STOPPED tasks stay listed/described
  std::chrono::milliseconds targetHealthy{200};     // ELBv2 initial → healthy
  std::chrono::milliseconds deregistrationDelay{300};  // ELBv2 draining → gone
};

class AwsMock {
 public:
  explicit AwsMock(AwsMockOptions options = {});
  // Calls stop().
  ~AwsMock();
  AwsMock(const AwsMock&) = delete;
  AwsMock& operator=(const AwsMock&) = delete;

  // Binds and starts serving; returns once requests are accepted. Throws
  // std::system_error if the address cannot be bound.
  void start();
  // Cancels every timer, closes every connection and joins all threads.
  // Blocks until done (milliseconds). Idempotent.
  void stop();

  // Returns "http://HOST:PORT" (the value for AWS_ENDPOINT_URL); valid after start().
  std::string url() const;
  // Returns the bound port; valid after start().
  std::uint16_t port() const;
  // Returns what GET /__cleanroom/state returns.
  nlohmann::json state() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cleanroom::mocks::aws
