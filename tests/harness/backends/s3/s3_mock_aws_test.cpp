// S3Backend against cleanroom-mock-aws in-process (S3 REST over real HTTP,
// SigV4 verified): uploads laid out as EcsSession::logKey writes them, each
// run lists only its own, allRuns lists every run's, pagination, HeadObject
// probes, uploads are never deleted, a missing bucket and bad settings name
// the variable.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <string>

#include "cleanroom/aws/aws_client.h"
#include "cleanroom/aws/ecs_session.h"
#include "cleanroom/backends/s3_backend.h"
#include "cleanroom/engine.h"
#include "cleanroom/mocks/aws/aws_mock.h"
#include "scoped_env.h"

namespace cleanroom {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr milliseconds kTimeout{5000};
constexpr const char* kBucket = "session-logs";
constexpr const char* kRunA = "run-s3-a";
constexpr const char* kRunB = "run-s3-b";

class S3MockAwsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mock_.start();
    config_.region = "us-east-1";
    config_.credentials = {"cleanroom", "cleanroom-secret", ""};
    config_.endpoints[""] = mock_.url();
    client_ = std::make_unique<aws::AwsClient>(config_);
    HttpRequest bucket;
    bucket.method = "PUT";
    bucket.target = std::string("/") + kBucket;
    auto created = client_->callRest("s3", bucket, kTimeout);
    ASSERT_TRUE(created.ok()) << created.error().describe();
  }
  void TearDown() override { mock_.stop(); }

  // Uploads `content` where EcsSession of (runId, session) puts `file`.
  std::string upload(const std::string& runId, const std::string& session, const std::string& file,
                     const std::string& content, const std::string& prefix = "agents") {
    aws::EcsSession s;
    s.id = session;
    s.runId = runId;
    s.logKeyPrefix = prefix;
    const std::string key = s.logKey(file);
    put(key, content);
    return key;
  }
  void put(const std::string& key, const std::string& content) {
    HttpRequest request;
    request.method = "PUT";
    request.target = aws::s3ObjectTarget(kBucket, key);
    request.body = content;
    request.contentType = "text/plain";
    auto stored = client_->callRest("s3", request, kTimeout);
    ASSERT_TRUE(stored.ok()) << stored.error().describe();
  }

  S3BackendOptions options(const std::string& bucket = kBucket) const {
    S3BackendOptions o;
    o.aws = config_;
    o.bucket = bucket;
    o.prefix = "/agents/";
    return o;
  }

  int requestsFor(const std::string& operation) const {
    httplib::Client control(mock_.url());
    auto answer = control.Get("/__cleanroom/requests");
    if (!answer) return -1;
    int count = 0;
    for (const auto& entry : json::parse(answer->body)) count += entry.value("operation", "") == operation ? 1 : 0;
    return count;
  }

  void addFault(const json& rule) {
    httplib::Client control(mock_.url());
    auto answer = control.Post("/__cleanroom/faults", rule.dump(), "application/json");
    ASSERT_TRUE(answer) << "fault injection failed";
    ASSERT_LT(answer->status, 300) << answer->body;
  }

  static std::vector<std::string> names(const std::vector<Resource>& resources) {
    std::vector<std::string> out;
    for (const auto& r : resources) out.push_back(r.runId + ":" + r.name);
    return out;
  }

  mocks::aws::AwsMock mock_;
  aws::AwsConfig config_;
  std::unique_ptr<aws::AwsClient> client_;
};

TEST_F(S3MockAwsTest, EachRunListsOnlyItsOwnUploadsAndAllRunsListsBoth) {
  const std::string key = upload(kRunA, "s1", "agent.log", "hello\n");
  upload(kRunA, "s1", "trace/steps.jsonl", "{}\n");
  upload(kRunA, "s2", "agent.log", "x");
  upload(kRunB, "s1", "agent.log", "other run");
  put("agents/README", "no run segment");
  put("agents/Not A Run/s1/agent.log", "run segment is no run id");
  put("elsewhere/run-s3-a/s1/agent.log", "outside the prefix");
  S3Backend backend(options());
  const WallTime before = Clock::system().wallNow() - std::chrono::minutes(1);

  auto listedA = backend.list(Selector::forRun(kRunA));
  ASSERT_TRUE(listedA.ok()) << listedA.error().describe();
  EXPECT_THAT(names(*listedA), UnorderedElementsAre("run-s3-a:s1/agent.log", "run-s3-a:s1/trace/steps.jsonl",
                                                    "run-s3-a:s2/agent.log"));
  for (const Resource& r : *listedA) {
    EXPECT_EQ(r.backend, "s3");
    EXPECT_EQ(r.state, ResourceState::Terminal) << "an upload is a record, never a leak";
    EXPECT_EQ(r.labels.at(kS3BucketLabel), kBucket);
    EXPECT_EQ(r.id, std::string("s3://") + kBucket + "/" + r.labels.at(kS3KeyLabel));
    ASSERT_TRUE(r.createdAt.has_value());
    EXPECT_GT(*r.createdAt, before);
  }
  const Resource& first = *std::find_if(listedA->begin(), listedA->end(),
                                        [&](const Resource& r) { return r.labels.at(kS3KeyLabel) == key; });
  EXPECT_EQ(first.status, "uploaded 6 bytes");
  EXPECT_EQ(key, "agents/run-s3-a/s1/agent.log");

  auto listedB = backend.list(Selector::forRun(kRunB));
  ASSERT_TRUE(listedB.ok());
  EXPECT_THAT(names(*listedB), UnorderedElementsAre("run-s3-b:s1/agent.log"));

  auto all = backend.list(Selector::allRuns());
  ASSERT_TRUE(all.ok()) << all.error().describe();
  EXPECT_EQ(all->size(), 4u) << "keys outside the layout belong to nobody";

  Selector session = Selector::forRun(kRunA);
  session.namePrefix = "s2/";
  auto one = backend.list(session);
  ASSERT_TRUE(one.ok());
  EXPECT_THAT(names(*one), UnorderedElementsAre("run-s3-a:s2/agent.log"));
  auto active = backend.list(Selector::forRun(kRunA).activeOnly());
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(active->empty()) << "nothing to clean up";
}

TEST_F(S3MockAwsTest, ListingFollowsEveryContinuationPage) {
  for (int i = 0; i < 7; ++i) upload(kRunA, "s" + std::to_string(i), "agent.log", "line");
  upload(kRunB, "s1", "agent.log", "b");
  S3BackendOptions o = options();
  o.pageSize = 2;
  S3Backend backend(o);
  const int before = requestsFor("s3:ListObjectsV2");

  auto listed = backend.list(Selector::forRun(kRunA));

  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_EQ(listed->size(), 7u);
  EXPECT_EQ(requestsFor("s3:ListObjectsV2") - before, 4) << "7 keys, 2 a page";
  auto all = backend.list(Selector::allRuns());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 8u);
}

TEST_F(S3MockAwsTest, ProbeIsHeadObjectAndStopKeepsTheUpload) {
  upload(kRunA, "s1", "agent.log", "0123456789");
  S3Backend backend(options());
  auto listed = backend.list(Selector::forRun(kRunA));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  const Resource upload = listed->front();

  auto probed = backend.probe(upload);
  ASSERT_TRUE(probed.ok()) << probed.error().describe();
  EXPECT_EQ(probed->state, ResourceState::Terminal);
  EXPECT_EQ(probed->status, "uploaded 10 bytes");

  Status stopped = backend.requestStop(upload, StopMode::Force);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(stopped.error().message, HasSubstr("kept"));
  EXPECT_EQ(backend.probe(upload).value().state, ResourceState::Terminal) << "still there";

  Resource missing = upload;
  missing.id = std::string("s3://") + kBucket + "/agents/run-s3-a/s1/never.log";
  missing.labels[kS3KeyLabel] = "agents/run-s3-a/s1/never.log";
  auto gone = backend.probe(missing);
  ASSERT_TRUE(gone.ok()) << gone.error().describe();
  EXPECT_EQ(gone->state, ResourceState::Gone);
}

TEST_F(S3MockAwsTest, TheEngineHasNothingToDoForARunsUploads) {
  upload(kRunA, "s1", "agent.log", "done");
  auto backend = std::make_shared<S3Backend>(options());
  CleanupEngine engine;
  engine.addBackend(backend);
  CleanupReport report = engine.cleanup(Selector::forRun(kRunA));
  EXPECT_TRUE(report.success) << report.summary();
  auto listed = backend->list(Selector::forRun(kRunA));
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u) << "the upload is kept";
}

TEST_F(S3MockAwsTest, AMissingBucketIsAPermanentErrorNamingItAndTheVariable) {
  S3Backend backend(options("no-such-logs"));
  auto listed = backend.list(Selector::forRun(kRunA));
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(listed.error().message, HasSubstr("no-such-logs"));
  EXPECT_THAT(listed.error().message, HasSubstr(kLogBucketVariable));
}

TEST_F(S3MockAwsTest, ThrottlingIsRetryable) {
  upload(kRunA, "s1", "agent.log", "x");
  S3Backend backend(options());
  addFault({{"match", {{"operation", "s3:ListObjectsV2"}}}, {"status", 503}, {"errorCode", "SlowDown"}, {"count", 1}});
  auto throttled = backend.list(Selector::forRun(kRunA));
  ASSERT_FALSE(throttled.ok());
  EXPECT_EQ(throttled.error().kind, ErrorKind::Retryable) << throttled.error().describe();
  auto after = backend.list(Selector::forRun(kRunA));
  ASSERT_TRUE(after.ok()) << after.error().describe();
  EXPECT_EQ(after->size(), 1u);
}

TEST_F(S3MockAwsTest, WithoutAPrefixTheRunIsTheFirstKeySegment) {
  upload(kRunA, "s1", "agent.log", "x", "");
  upload(kRunB, "s1", "agent.log", "y", "");
  S3BackendOptions o = options();
  o.prefix = "";
  S3Backend backend(o);
  auto listed = backend.list(Selector::forRun(kRunA));
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_THAT(names(*listed), UnorderedElementsAre("run-s3-a:s1/agent.log"));
  EXPECT_EQ(listed->front().labels.at(kS3KeyLabel), "run-s3-a/s1/agent.log");
  auto all = backend.list(Selector::allRuns());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
}

// ---- settings --------------------------------------------------------------

class S3SettingsTest : public ::testing::Test {
 protected:
  tests::ScopedEnv region_{"AWS_REGION", "us-east-1"};
  tests::ScopedEnv key_{"AWS_ACCESS_KEY_ID", "cleanroom"};
  tests::ScopedEnv secret_{"AWS_SECRET_ACCESS_KEY", "cleanroom-secret"};
  tests::ScopedEnv token_{"AWS_SESSION_TOKEN", std::nullopt};
  tests::ScopedEnv endpoint_{"AWS_ENDPOINT_URL", "http://127.0.0.1:4566"};
  tests::ScopedEnv prefix_{kLogPrefixVariable, std::nullopt};
};

TEST_F(S3SettingsTest, AMissingOrInvalidBucketIsAnErrorNamingTheVariable) {
  for (std::optional<std::string> value : {std::optional<std::string>(), std::optional<std::string>("Session_Logs"),
                                           std::optional<std::string>("ab"), std::optional<std::string>("-logs")}) {
    tests::ScopedEnv bucket(kLogBucketVariable, value);
    auto options = S3BackendOptions::fromEnvironment();
    ASSERT_FALSE(options.ok()) << value.value_or("(unset)");
    EXPECT_EQ(options.error().kind, ErrorKind::Permanent);
    EXPECT_THAT(options.error().message, HasSubstr(kLogBucketVariable)) << value.value_or("(unset)");
  }
}

TEST_F(S3SettingsTest, TheLocatorRoundTripsWithoutSecrets) {
  tests::ScopedEnv bucket(kLogBucketVariable, "session-logs");
  tests::ScopedEnv prefix(kLogPrefixVariable, "/agents/");
  auto options = S3BackendOptions::fromEnvironment();
  ASSERT_TRUE(options.ok()) << options.error().describe();
  EXPECT_EQ(options->prefix, "agents");
  S3Backend backend(*options);
  EXPECT_EQ(backend.runPrefix("run-x"), "agents/run-x/");
  const auto locator = backend.locator();
  for (const auto& [key, value] : locator) EXPECT_THAT(value, ::testing::Not(HasSubstr("cleanroom-secret"))) << key;
  EXPECT_EQ(locator.at("bucket"), "session-logs");
  EXPECT_EQ(locator.at("prefix"), "agents");

  auto rebuilt = S3BackendOptions::fromLocator(locator);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().describe();
  EXPECT_EQ(rebuilt->bucket, "session-logs");
  EXPECT_EQ(rebuilt->prefix, "agents");
  EXPECT_EQ(S3Backend(*rebuilt).locator(), locator);
  EXPECT_FALSE(S3BackendOptions::fromLocator({{"region", "us-east-1"}}).ok());
}

TEST_F(S3SettingsTest, TheConstructorRejectsAnInvalidBucketNamingTheVariable) {
  S3BackendOptions options;
  options.aws.region = "us-east-1";
  options.aws.endpoints[""] = "http://127.0.0.1:4566";
  options.bucket = "";
  EXPECT_THROW(S3Backend{options}, ConfigError);
  try {
    S3Backend backend(options);
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr(kLogBucketVariable));
  }
}

}  // namespace
}  // namespace cleanroom
