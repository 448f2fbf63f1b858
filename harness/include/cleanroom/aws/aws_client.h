// AwsClient: signed calls to AWS-compatible endpoints (ECS, ELBv2, STS, S3)
// in the three wire protocols those services use, with AWS errors mapped to
// cleanroom::Error kinds.
//
//   callJson   JSON 1.1 (ECS): POST / with X-Amz-Target; returns the JSON body
//   callQuery  query protocol (ELBv2, STS): form-encoded POST /; returns the
//              XML body (read it with parseXml, cleanroom/aws/xml.h)
//   callRest   REST (S3): the caller's request, signed with
//              x-amz-content-sha256 = sha256 of the body; returns the response
//
// Every call is one HTTP request (no retries here: the error kind is the
// retry decision; wrap calls in a RetryPolicy), signed with SigV4 at the
// moment it is sent, and blocks for at most `timeout` connecting and at most
// `timeout` between bytes of the answer. Error mapping:
//   Retryable  transport failures, HTTP 5xx and 429, and throttling codes
//              (Throttling, ThrottlingException, SlowDown, RequestLimitExceeded,
//              TooManyRequestsException, ...) whatever their status
//   Permanent  everything else, including auth failures (SignatureDoesNotMatch,
//              InvalidClientTokenId, UnrecognizedClientException, AccessDenied*,
//              ExpiredToken, ...: the message then names AWS_ACCESS_KEY_ID /
//              AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN) and not-found codes
//              (HTTP 400 ClusterNotFoundException, 404 NoSuchKey, ...): no AWS
//              error is Gone, because whether "not found" means "already
//              cleaned up" depends on the call — branch on awsErrorCode().
// Messages read "<service> <Operation>: <Code>: <AWS message> (HTTP <status>)",
// e.g. "ecs StopTask: InvalidParameterException: The referenced task was not
// found. (HTTP 400)"; they never contain the secret or the session token.
// Safe to use from several threads at once.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/aws/aws_config.h"
#include "cleanroom/clock.h"
#include "cleanroom/http_client.h"
#include "cleanroom/result.h"

namespace cleanroom::aws {

// An AWS error answer as the client decoded it.
struct AwsError {
  std::string service;    // "ecs"
  std::string operation;  // "StopTask", "DescribeTargetHealth", "PUT /bucket/key"
  std::string code;       // "InvalidParameterException"; "404" for an S3 HEAD without body
  std::string message;    // the service's message ("" when none)
  int httpStatus = 0;
};

// Returns the AWS error code carried by an Error that AwsClient returned
// (e.g. "ClusterNotFoundException", "NoSuchKey", "TargetGroupNotFound"), or ""
// for a transport failure or an error that did not come from AwsClient.
std::string awsErrorCode(const Error& error);

// Returns the Error for a decoded AWS error: kind by the rules above, the
// message format above, httpStatus set, Retry-After taken from `response`.
Error toError(const AwsError& error, const HttpResponse& response);

// Decodes an error answer of each protocol (code and message from the body,
// or the x-amzn-ErrorType header for JSON; the status number when the body
// has none).
AwsError decodeJsonError(const HttpResponse& response, std::string service, std::string operation);
AwsError decodeXmlError(const HttpResponse& response, std::string service, std::string operation);

class AwsClient {
 public:
  // HTTP clients by service name ("ecs", "s3", "elasticloadbalancing",
  // "sts"); services without one get makeHttpClient(config.endpointFor(...))
  // on first use.
  using HttpClients = std::map<std::string, std::shared_ptr<HttpClient>>;

  // `clock` gives X-Amz-Date (wallNow) and must outlive the client.
  explicit AwsClient(AwsConfig config, HttpClients injected = {}, Clock& clock = Clock::system());

  // JSON 1.1: POSTs `body` to `service` with X-Amz-Target `target` (e.g.
  // "AmazonEC2ContainerServiceV20141113.ListTasks") and returns the parsed
  // answer ({} for an empty body). A 2xx answer that is not JSON is a
  // Permanent error.
  Result<nlohmann::json> callJson(std::string_view service, std::string_view target, const nlohmann::json& body,
                                  milliseconds timeout);

  // Query protocol: POSTs the form-encoded `params` (Action, Version, and the
  // operation's parameters, in the given order) and returns the XML body.
  Result<std::string> callQuery(std::string_view service, const std::vector<std::pair<std::string, std::string>>& params,
                                milliseconds timeout);

  // REST: signs and sends `request` (target = percent-encoded path and query,
  // as it goes on the wire; contentType, when set, is sent and signed) and
  // returns a 2xx answer; other statuses become errors decoded from the S3
  // XML error body.
  Result<HttpResponse> callRest(std::string_view service, HttpRequest request, milliseconds timeout);

  const AwsConfig& config() const { return config_; }

 private:
  Result<std::shared_ptr<HttpClient>> clientFor(const std::string& service);
  Result<HttpResponse> sendSigned(const std::string& service, const std::string& operation, HttpRequest request,
                                  milliseconds timeout);

  AwsConfig config_;
  Clock& clock_;
  std::mutex mutex_;  // guards clients_
  HttpClients clients_;
};

// Returns the form encoding of `params` ("Action=ListTasks&Version=..."),
// values percent-encoded as SigV4 expects.
std::string formEncode(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace cleanroom::aws
