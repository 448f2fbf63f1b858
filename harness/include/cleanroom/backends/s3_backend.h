// S3Backend ("s3"): the log uploads of a run — the objects EcsSessions put
// in the log bucket (aws/ecs_session.h, EcsSession::logKey) — spoken to over
// the S3 REST API (path-style) through aws::AwsClient (SigV4). It exists so
// that `cleanroom ls` shows what a run uploaded next to its tasks and
// targets; it never deletes anything.
//
// Configuration: the AWS settings of aws::AwsConfig (AWS_REGION,
// credentials, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL) plus
//   CLEANROOM_LOG_BUCKET  the bucket the logs go to; required
//   CLEANROOM_LOG_PREFIX  the key prefix (EcsSession::logKeyPrefix); optional,
//                         leading and trailing '/' ignored
//
// Ownership (DESIGN 3.5): the key layout is the owner —
//   <prefix>/<run id>/<session id>/<relative path>   ("<run id>/..." without
//   a prefix). An object whose run segment is not a valid run id (run.h) or
//   that has nothing below it belongs to nobody and is never listed.
//
//   list   one run (thisRun/forRun): ListObjectsV2 prefix "<prefix>/<run>/";
//          every run (allRuns): prefix "<prefix>/" (the whole bucket without
//          a prefix), the run read from the key's segment. Every
//          continuation page (options.pageSize keys a page): costs
//          ⌈n/pageSize⌉ ListObjectsV2 requests. Then Selector::matches
//          (labels below, namePrefix on the name, minAge from LastModified
//          with the backend's clock, states, ids). A bucket that does not
//          exist (NoSuchBucket) is a Permanent error naming it and
//          CLEANROOM_LOG_BUCKET.
//   stop   nothing to stop: a Permanent error saying uploads are kept
//          (cleanroom never deletes logs). The engine never asks, since
//          every upload is Terminal.
//   probe  HeadObject; 404 (the object or the bucket is gone) = Gone.
//
// Resource mapping: id = "s3://<bucket>/<key>"; name = the key below the run
// segment ("<session>/<file>"); labels = {"cleanroom.s3.bucket": bucket,
// "cleanroom.s3.key": key}; runId = the key's run segment; createdAt =
// LastModified; state = Terminal (an upload is a record, never a leak);
// status = "uploaded <size> bytes". stage() is Files: uploads are listed
// after the run's agents are finished.
//
// Single attempts only (backend.h): AwsClient maps SlowDown, 5xx, 429 and
// transport failures to Retryable; the engine retries. Each request blocks
// for at most options.requestTimeout. Safe from several threads (no mutable
// state of its own).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cleanroom/aws/aws_client.h"
#include "cleanroom/aws/aws_config.h"
#include "cleanroom/backend.h"

namespace cleanroom {

inline constexpr const char* kLogBucketVariable = "CLEANROOM_LOG_BUCKET";
inline constexpr const char* kLogPrefixVariable = "CLEANROOM_LOG_PREFIX";
inline constexpr const char* kS3BucketLabel = "cleanroom.s3.bucket";
inline constexpr const char* kS3KeyLabel = "cleanroom.s3.key";

struct S3BackendOptions {
  aws::AwsConfig aws;
  std::string bucket;                 // required
  std::string prefix;                 // "" = none; '/' at either end ignored
  int pageSize = 1000;                // ListObjectsV2 max-keys (1–1000)
  milliseconds requestTimeout{5000};  // connect, and between bytes

  // Returns options from AwsConfig::fromEnvironment(), CLEANROOM_LOG_BUCKET
  // (required) and CLEANROOM_LOG_PREFIX. A Permanent error names the
  // variable that is missing or malformed.
  static Result<S3BackendOptions> fromEnvironment();
  // Returns the options a locator (S3Backend::locator()) describes, the
  // credentials read from the environment. A Permanent error names what is
  // missing or malformed.
  static Result<S3BackendOptions> fromLocator(const std::map<std::string, std::string>& locator);
  // Returns "" when `bucket` is a valid S3 bucket name (3–63 of lower-case
  // letters, digits, '.' and '-', starting and ending with a letter or
  // digit), else what is wrong with it.
  static std::string bucketProblem(const std::string& bucket);
};

class S3Backend : public Backend {
 public:
  // Throws ConfigError when the options are unusable: a missing or invalid
  // bucket (naming CLEANROOM_LOG_BUCKET), a pageSize outside 1–1000. The S3
  // endpoint is AwsConfig::endpointFor("s3") (path-style addressing) unless
  // `injected` has an "s3" client. Does not connect. `clock` measures ages
  // and signs requests; it must outlive the backend.
  explicit S3Backend(S3BackendOptions options, Clock& clock = Clock::system(),
                     aws::AwsClient::HttpClients injected = {});

  std::string name() const override { return "s3"; }
  Result<std::vector<Resource>> list(const Selector& selector) override;
  // Always a Permanent error: uploads are kept.
  Status requestStop(const Resource& resource, StopMode mode) override;
  Result<ResourceStatus> probe(const Resource& resource) override;
  // aws.locator() plus "bucket" and "prefix". Never a credential.
  std::map<std::string, std::string> locator() const override;
  CleanupStage stage() const override { return CleanupStage::Files; }

  const S3BackendOptions& options() const { return options_; }
  // Returns the key prefix every upload of `runId` starts with:
  // "<prefix>/<runId>/" (EcsSession::logKey's layout).
  std::string runPrefix(const std::string& runId) const;

 private:
  struct Page;
  Result<Page> listPage(const std::string& prefix, const std::string& continuationToken);
  std::optional<Resource> toResource(const std::string& key, const std::string& lastModified,
                                     const std::string& size) const;
  std::string keyOf(const Resource& resource) const;

  S3BackendOptions options_;
  Clock& clock_;
  std::unique_ptr<aws::AwsClient> client_;
};

}  // namespace cleanroom
