// AwsConfig: region, credentials and endpoints for cleanroom's AWS clients,
// read from the same environment variables the aws CLI and boto3 read.
//
//   region       AWS_REGION, else AWS_DEFAULT_REGION
//   credentials  AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (both required),
//                AWS_SESSION_TOKEN (optional; temporary credentials)
//   endpoints    AWS_ENDPOINT_URL for every service; the service-specific
//                AWS_ENDPOINT_URL_ECS / _S3 / _ELASTIC_LOAD_BALANCING_V2 /
//                _STS win over it (http:// — an AWS-compatible server such
//                as cleanroom-mock-aws — or https://). Without either, the
//                service's public regional endpoint:
//                https://<service>.<region>.amazonaws.com (.com.cn in cn-*).
//
// Profiles (~/.aws/config), SSO and instance roles are not read. Secrets never leave this struct through cleanroom: locator() and
// every error message carry the access key id at most, never the secret or
// the session token. Nothing here blocks.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "cleanroom/aws/sigv4.h"
#include "cleanroom/result.h"

namespace cleanroom::aws {

struct AwsConfig {
  std::string region;
  Credentials credentials;
  // Service name ("ecs", "s3", "elasticloadbalancing", "sts") → http[s]:// URL;
  // key "" holds AWS_ENDPOINT_URL, the endpoint for every other service.
  std::map<std::string, std::string> endpoints;

  // Reads the variables above. Returns a Permanent error naming the variable
  // and what to set when the region or a credential is missing, the region is
  // malformed, or an endpoint variable is not an http:// or https:// URL.
  static Result<AwsConfig> fromEnvironment();

  // Rebuilds a config from locator() output (region and endpoints) with the
  // credentials read from the environment (as fromEnvironment does). Returns
  // a Permanent error like fromEnvironment's.
  static Result<AwsConfig> fromLocator(const std::map<std::string, std::string>& locator);

  // Returns the endpoint URL for `service` ("ecs", "s3", "elasticloadbalancing"
  // — "elbv2" is accepted as an alias — or "sts"): the service-specific one,
  // else the global one, else the public one (publicEndpoint). A Permanent
  // error lists the known services for an unknown name.
  Result<std::string> endpointFor(std::string_view service) const;

  // Returns {"region": ..., "endpoint_url": ..., "endpoint_url_ecs": ...}:
  // everything but the credentials, for journals and the reaper.
  std::map<std::string, std::string> locator() const;
};

// Returns AWS's public regional endpoint of `service` (a canonical name:
// "ecs", "s3", "elasticloadbalancing", "sts") in `region`, e.g.
// "https://ecs.eu-west-1.amazonaws.com".
std::string publicEndpoint(std::string_view service, const std::string& region);

// Returns the environment variable that configures `service`'s endpoint,
// e.g. "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", or "" for an unknown one.
std::string endpointVariable(std::string_view service);

}  // namespace cleanroom::aws
