// S3Backend: a run's log uploads, found by the key layout of
// EcsSession::logKey. Lists and probes; never deletes.
#include "cleanroom/backends/s3_backend.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <set>

#include "cleanroom/aws/ecs_session.h"
#include "cleanroom/aws/xml.h"
#include "cleanroom/env.h"
#include "cleanroom/run.h"
#include "cleanroom/trace.h"

namespace cleanroom {
namespace {

constexpr const char* kBucketLocatorKey = "bucket";
constexpr const char* kPrefixLocatorKey = "prefix";
constexpr int kMaxPageSize = 1000;

std::string trimSlashes(std::string text) {
  while (!text.empty() && text.back() == '/') text.pop_back();
  while (!text.empty() && text.front() == '/') text.erase(0, 1);
  return text;
}

// Parses S3's "2026-11-26T09:48:16.000Z" (UTC).
std::optional<WallTime> parseLastModified(const std::string& text) {
  std::tm tm{};
  int millis = 0;
  const int fields = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                                 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis);
  if (fields < 6) return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm)) + milliseconds(millis);
}

Error withMessage(const Error& error, std::string message) {
  Error out = error;
  out.message = std::move(message);
  return out;
}

}  // namespace

struct S3Backend::Page {
  std::vector<Resource> resources;
  size_t keys = 0;
  std::string nextToken;  // "" = the last page
};

// ---- options -------------------------------------------------------------

std::string S3BackendOptions::bucketProblem(const std::string& bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return "must be 3-63 characters long";
  const bool allowed = std::all_of(bucket.begin(), bucket.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
           c == '-';
  });
  if (!allowed) return "may hold only lower-case letters, digits, '.' and '-'";
  const auto edge = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!edge(bucket.front()) || !edge(bucket.back())) return "must start and end with a letter or digit";
  return "";
}

Result<S3BackendOptions> S3BackendOptions::fromEnvironment() {
  std::optional<std::string> bucket = env::get(kLogBucketVariable);
  if (!bucket) {
    return Error::permanent(std::string(kLogBucketVariable) +
                            " is not set: set it to the S3 bucket the sessions' logs are uploaded to");
  }
  if (const std::string problem = bucketProblem(*bucket); !problem.empty()) {
    return Error::permanent(std::string(kLogBucketVariable) + " \"" + *bucket + "\" is not an S3 bucket name: it " +
                            problem);
  }
  Result<aws::AwsConfig> config = aws::AwsConfig::fromEnvironment();
  if (!config) return config.error();
  S3BackendOptions options;
  options.aws = std::move(config).value();
  options.bucket = *bucket;
  options.prefix = trimSlashes(env::get(kLogPrefixVariable).value_or(""));
  return options;
}

Result<S3BackendOptions> S3BackendOptions::fromLocator(const std::map<std::string, std::string>& locator) {
  Result<aws::AwsConfig> config = aws::AwsConfig::fromLocator(locator);
  if (!config) return config.error();
  auto bucket = locator.find(kBucketLocatorKey);
  if (bucket == locator.end() || !bucketProblem(bucket->second).empty()) {
    return Error::permanent(
        "the s3 backend's journal locator has no valid \"bucket\": the journal entry is incomplete");
  }
  S3BackendOptions options;
  options.aws = std::move(config).value();
  options.bucket = bucket->second;
  if (auto prefix = locator.find(kPrefixLocatorKey); prefix != locator.end()) {
    options.prefix = trimSlashes(prefix->second);
  }
  return options;
}

// ---- construction and mapping ------------------------------------------------

S3Backend::S3Backend(S3BackendOptions options, Clock& clock, aws::AwsClient::HttpClients injected)
    : options_(std::move(options)), clock_(clock) {
  if (const std::string problem = S3BackendOptions::bucketProblem(options_.bucket); !problem.empty()) {
    throw ConfigError(std::string("the s3 backend's bucket \"") + options_.bucket + "\" " + problem + ": set " +
                      kLogBucketVariable + " to the log bucket");
  }
  if (options_.pageSize < 1 || options_.pageSize > kMaxPageSize) {
    throw ConfigError("S3BackendOptions: pageSize must be 1-1000");
  }
  options_.prefix = trimSlashes(options_.prefix);
  if (injected.count("s3") == 0) {
    auto endpoint = options_.aws.endpointFor("s3");
    if (!endpoint) throw ConfigError(endpoint.error().message);
  }
  client_ = std::make_unique<aws::AwsClient>(options_.aws, std::move(injected), clock_);
}

std::string S3Backend::runPrefix(const std::string& runId) const {
  return (options_.prefix.empty() ? "" : options_.prefix + "/") + runId + "/";
}

// Returns the upload `key` describes, or nullopt for a key outside the layout.
std::optional<Resource> S3Backend::toResource(const std::string& key, const std::string& lastModified,
                                              const std::string& size) const {
  const std::string root = options_.prefix.empty() ? "" : options_.prefix + "/";
  if (key.rfind(root, 0) != 0) return std::nullopt;
  const std::string below = key.substr(root.size());
  const auto slash = below.find('/');
  if (slash == std::string::npos || slash + 1 == below.size()) return std::nullopt;
  const std::string runId = below.substr(0, slash);
  if (!run::validateId(runId).ok()) return std::nullopt;
  Resource resource;
  resource.backend = name();
  resource.id = "s3://" + options_.bucket + "/" + key;
  resource.name = below.substr(slash + 1);
  resource.labels = {{kS3BucketLabel, options_.bucket}, {kS3KeyLabel, key}};
  resource.runId = runId;
  resource.createdAt = parseLastModified(lastModified);
  resource.state = ResourceState::Terminal;
  resource.status = "uploaded " + (size.empty() ? std::string("?") : size) + " bytes";
  return resource;
}

// The key of a resource this backend listed (its label, else its id).
std::string S3Backend::keyOf(const Resource& resource) const {
  if (auto key = resource.labels.find(kS3KeyLabel); key != resource.labels.end()) return key->second;
  const std::string head = "s3://" + options_.bucket + "/";
  return resource.id.rfind(head, 0) == 0 ? resource.id.substr(head.size()) : "";
}

// ---- requests --------------------------------------------------------------

Result<S3Backend::Page> S3Backend::listPage(const std::string& prefix, const std::string& continuationToken) {
  HttpRequest request;
  request.method = "GET";
  request.target = "/" + urlEncode(options_.bucket) + "?list-type=2&max-keys=" + std::to_string(options_.pageSize) +
                   "&prefix=" + urlEncode(prefix);
  if (!continuationToken.empty()) request.target += "&continuation-token=" + urlEncode(continuationToken);
  Result<HttpResponse> answer = client_->callRest("s3", std::move(request), options_.requestTimeout);
  if (!answer) {
    if (aws::awsErrorCode(answer.error()) != "NoSuchBucket") return answer.error();
    return withMessage(answer.error(), "S3 bucket \"" + options_.bucket + "\" does not exist (check " +
                                           kLogBucketVariable + "): " + answer.error().message);
  }
  Result<aws::XmlElement> xml = aws::parseXml(answer->body, "s3 ListObjectsV2 response");
  if (!xml) return xml.error();
  Page page;
  for (const aws::XmlElement* object : xml->childrenNamed("Contents")) {
    ++page.keys;
    std::optional<Resource> upload =
        toResource(object->textAt("Key"), object->textAt("LastModified"), object->textAt("Size"));
    if (upload) page.resources.push_back(std::move(*upload));
  }
  if (xml->textAt("IsTruncated") == "true") {
    page.nextToken = xml->textAt("NextContinuationToken");
    if (page.nextToken.empty()) {
      return Error::permanent("s3 ListObjectsV2 of bucket \"" + options_.bucket +
                              "\": IsTruncated without NextContinuationToken");
    }
  }
  return page;
}

// ---- Backend ---------------------------------------------------------------

Result<std::vector<Resource>> S3Backend::list(const Selector& selector) {
  const std::string prefix = selector.runId ? runPrefix(*selector.runId)
                                            : (options_.prefix.empty() ? "" : options_.prefix + "/");
  std::vector<Resource> resources;
  std::set<std::string> tokens;
  std::string token;
  size_t pages = 0, keys = 0;
  const WallTime now = clock_.wallNow();
  do {
    Result<Page> page = listPage(prefix, token);
    if (!page) return page.error();
    ++pages;
    keys += page->keys;
    for (auto& resource : page->resources) {
      if (selector.matches(resource, now)) resources.push_back(std::move(resource));
    }
    token = page->nextToken;
    if (!token.empty() && !tokens.insert(token).second) {
      return Error::permanent("s3 ListObjectsV2: the server repeated continuation token \"" + token +
                              "\" (a paging loop)");
    }
  } while (!token.empty());
  logger().debug("step=list backend=s3 bucket={} prefix={} pages={} keys={} found={}", options_.bucket, prefix, pages,
                 keys, resources.size());
  return resources;
}

Status S3Backend::requestStop(const Resource& resource, StopMode mode) {
  (void)mode;
  return Error::permanent("s3 upload " + resource.id +
                          " is kept: uploads are records, not running things, and cleanroom never deletes logs");
}

Result<ResourceStatus> S3Backend::probe(const Resource& resource) {
  const std::string key = keyOf(resource);
  if (key.empty()) {
    return Error::permanent("\"" + resource.id + "\" is not an upload in s3://" + options_.bucket + "/");
  }
  HttpRequest request;
  request.method = "HEAD";
  request.target = aws::s3ObjectTarget(options_.bucket, key);
  Result<HttpResponse> answer = client_->callRest("s3", std::move(request), options_.requestTimeout);
  if (answer) {
    const std::string size = answer->header("content-length");
    return ResourceStatus{ResourceState::Terminal, "uploaded " + (size.empty() ? std::string("?") : size) + " bytes"};
  }
  if (answer.error().httpStatus == 404) return ResourceStatus{ResourceState::Gone, "not found"};
  return answer.error();
}

std::map<std::string, std::string> S3Backend::locator() const {
  std::map<std::string, std::string> out = options_.aws.locator();
  out[kBucketLocatorKey] = options_.bucket;
  out[kPrefixLocatorKey] = options_.prefix;
  return out;
}

}  // namespace cleanroom
