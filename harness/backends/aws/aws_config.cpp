// AwsConfig from the environment (cleanroom/aws/aws_config.h).
#include "cleanroom/aws/aws_config.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "cleanroom/env.h"

namespace cleanroom::aws {
namespace {

struct ServiceEndpoint {
  const char* service;
  const char* variable;
  const char* locatorKey;
};

constexpr std::array<ServiceEndpoint, 4> kServices{{
    {"ecs", "AWS_ENDPOINT_URL_ECS", "endpoint_url_ecs"},
    {"s3", "AWS_ENDPOINT_URL_S3", "endpoint_url_s3"},
    {"elasticloadbalancing", "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "endpoint_url_elastic_load_balancing_v2"},
    {"sts", "AWS_ENDPOINT_URL_STS", "endpoint_url_sts"},
}};
constexpr const char* kGlobalVariable = "AWS_ENDPOINT_URL";
constexpr const char* kGlobalLocatorKey = "endpoint_url";
constexpr const char* kCredentialHint =
    "cleanroom reads credentials from the environment only: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
    "(and AWS_SESSION_TOKEN for temporary credentials); for cleanroom-mock-aws use the keys it was started with";

const ServiceEndpoint* findService(std::string_view service) {
  if (service == "elbv2") service = "elasticloadbalancing";
  for (const auto& entry : kServices) {
    if (service == entry.service) return &entry;
  }
  return nullptr;
}

bool isRegionName(std::string_view region) {
  return std::all_of(region.begin(), region.end(), [](unsigned char c) {
    return std::islower(c) || std::isdigit(c) || c == '-';
  });
}

Result<std::string> readRegion() {
  const char* variable = "AWS_REGION";
  auto region = env::get(variable);
  if (!region) {
    variable = "AWS_DEFAULT_REGION";
    region = env::get(variable);
  }
  if (!region) {
    return Error::permanent("AWS_REGION is not set (nor AWS_DEFAULT_REGION): set AWS_REGION to the region to use, "
                            "e.g. AWS_REGION=us-east-1");
  }
  if (!isRegionName(*region)) {
    return Error::permanent(std::string(variable) + "=\"" + *region +
                            "\" is not a region name: use lower-case letters, digits and '-', e.g. us-east-1");
  }
  return *region;
}

Result<Credentials> readCredentials() {
  Credentials credentials;
  auto keyId = env::get("AWS_ACCESS_KEY_ID");
  if (!keyId) return Error::permanent(std::string("AWS_ACCESS_KEY_ID is not set: ") + kCredentialHint);
  auto secret = env::get("AWS_SECRET_ACCESS_KEY");
  if (!secret) {
    return Error::permanent("AWS_SECRET_ACCESS_KEY is not set (AWS_ACCESS_KEY_ID is " + *keyId + "): " +
                            kCredentialHint);
  }
  credentials.accessKeyId = *keyId;
  credentials.secretAccessKey = *secret;
  credentials.sessionToken = env::get("AWS_SESSION_TOKEN").value_or("");
  return credentials;
}

// Checks `url` (from `variable`) and stores it under `key`.
Status addEndpoint(std::map<std::string, std::string>& endpoints, const std::string& key, const std::string& url,
                   const char* variable) {
  auto checked = env::checkHttpUrl(url, variable);
  if (!checked) {
    Error error = checked.error();
    error.message += " (set " + std::string(variable) + " to the AWS-compatible endpoint, e.g. "
                     "http://127.0.0.1:4566, or unset it)";
    return error;
  }
  endpoints[key] = *checked;
  return Status::success();
}

Result<std::map<std::string, std::string>> readEndpoints() {
  std::map<std::string, std::string> endpoints;
  if (auto global = env::get(kGlobalVariable)) {
    if (auto status = addEndpoint(endpoints, "", *global, kGlobalVariable); !status) return status.error();
  }
  for (const auto& entry : kServices) {
    auto url = env::get(entry.variable);
    if (!url) continue;
    if (auto status = addEndpoint(endpoints, entry.service, *url, entry.variable); !status) return status.error();
  }
  return endpoints;
}

}  // namespace

std::string endpointVariable(std::string_view service) {
  const auto* entry = findService(service);
  return entry ? entry->variable : "";
}

Result<AwsConfig> AwsConfig::fromEnvironment() {
  auto region = readRegion();
  if (!region) return region.error();
  auto credentials = readCredentials();
  if (!credentials) return credentials.error();
  auto endpoints = readEndpoints();
  if (!endpoints) return endpoints.error();
  return AwsConfig{*region, *credentials, *endpoints};
}

Result<AwsConfig> AwsConfig::fromLocator(const std::map<std::string, std::string>& locator) {
  auto credentials = readCredentials();
  if (!credentials) return credentials.error();
  AwsConfig config;
  config.credentials = *credentials;
  auto region = locator.find("region");
  if (region == locator.end() || region->second.empty()) {
    return Error::permanent("AWS locator has no \"region\": the journal entry is incomplete; pass AWS_REGION");
  }
  config.region = region->second;
  if (auto global = locator.find(kGlobalLocatorKey); global != locator.end()) {
    if (auto status = addEndpoint(config.endpoints, "", global->second, kGlobalVariable); !status) {
      return status.error();
    }
  }
  for (const auto& entry : kServices) {
    auto url = locator.find(entry.locatorKey);
    if (url == locator.end()) continue;
    if (auto status = addEndpoint(config.endpoints, entry.service, url->second, entry.variable); !status) {
      return status.error();
    }
  }
  return config;
}

Result<std::string> AwsConfig::endpointFor(std::string_view service) const {
  const auto* entry = findService(service);
  if (!entry) {
    return Error::permanent("unknown AWS service \"" + std::string(service) +
                            "\": use one of ecs, s3, elasticloadbalancing, sts");
  }
  if (auto specific = endpoints.find(entry->service); specific != endpoints.end()) return specific->second;
  if (auto global = endpoints.find(""); global != endpoints.end()) return global->second;
  return publicEndpoint(entry->service, region);
}

std::string publicEndpoint(std::string_view service, const std::string& region) {
  // The China regions live under their own domain.
  const std::string domain = region.rfind("cn-", 0) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
  return "https://" + std::string(service) + "." + region + "." + domain;
}

std::map<std::string, std::string> AwsConfig::locator() const {
  std::map<std::string, std::string> out{{"region", region}};
  if (auto global = endpoints.find(""); global != endpoints.end()) out[kGlobalLocatorKey] = global->second;
  for (const auto& entry : kServices) {
    if (auto url = endpoints.find(entry.service); url != endpoints.end()) out[entry.locatorKey] = url->second;
  }
  return out;
}

}  // namespace cleanroom::aws
