// EcsBackend against cleanroom-mock-aws as a real process (SigV4 verified):
// run tasks of two runs, list one run's, wait for RUNNING with the ENI IP,
// stop and await STOPPED, leave the other run's task alone; throttling
// injected through the control API is Retryable.
#ifdef CLEANROOM_MOCK_AWS_EXE

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "cleanroom/backends/ecs_backend.h"
#include "cleanroom/engine.h"
#include "cleanroom/journal.h"
#include "mock_server_process.h"
#include "scoped_env.h"

namespace cleanroom {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr milliseconds kWait{15000};

class EcsMockAwsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/cr-ecs-mock-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    directory_ = pattern;
    journals_ = std::make_unique<tests::ScopedEnv>(kJournalDirVariable, directory_.string());
    mock_ = std::make_unique<tests::MockServerProcess>(
        CLEANROOM_MOCK_AWS_EXE, std::vector<std::string>{"--log-level", "warn", "--task-start-ms", "60", "--task-stop-ms", "80"});

    EcsBackendOptions options;
    options.aws.region = "us-east-1";
    options.aws.credentials = {"cleanroom", "cleanroom-secret", ""};
    options.aws.endpoints["ecs"] = mock_->url();
    options.clusters = {"ci"};
    backend_ = std::make_unique<EcsBackend>(options);
    aws::AwsClient setup(options.aws);
    auto cluster = setup.callJson("ecs", ecsTarget("CreateCluster"), {{"clusterName", "ci"}}, kWait);
    ASSERT_TRUE(cluster.ok()) << cluster.error().describe();
    auto definition = setup.callJson("ecs", ecsTarget("RegisterTaskDefinition"),
                                     {{"family", "web"},
                                      {"networkMode", "awsvpc"},
                                      {"requiresCompatibilities", {"FARGATE"}},
                                      {"cpu", "256"},
                                      {"memory", "512"},
                                      {"containerDefinitions", {{{"name", "app"}, {"image", "busybox"}}}}},
                                     kWait);
    ASSERT_TRUE(definition.ok()) << definition.error().describe();
  }
  void TearDown() override {
    backend_.reset();
    mock_.reset();  // SIGTERM, reaped
    journals_.reset();
    std::filesystem::remove_all(directory_);
  }

  EcsTask run(const std::string& runId) {
    EcsTaskSpec spec;
    spec.taskDefinition = "web";
    spec.runId = runId;
    spec.labels = {{"session", "s-" + runId}};
    auto task = backend_->runTask(spec);
    if (!task.ok()) throw std::runtime_error(task.error().describe());
    return std::move(task).value();
  }

  std::filesystem::path directory_;
  std::unique_ptr<tests::ScopedEnv> journals_;
  std::unique_ptr<tests::MockServerProcess> mock_;
  std::unique_ptr<EcsBackend> backend_;
};

TEST_F(EcsMockAwsTest, StopsOneRunsTasksAndLeavesTheOtherRunsAlone) {
  const EcsTask first = run("run-mock-a");
  const EcsTask second = run("run-mock-a");
  const EcsTask foreign = run("run-mock-b");

  auto listed = backend_->list(Selector::forRun("run-mock-a"));
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  ASSERT_EQ(listed->size(), 2u);
  for (const auto& r : *listed) {
    EXPECT_EQ(r.runId, "run-mock-a");
    EXPECT_EQ(r.labels.at("session"), "s-run-mock-a");
  }

  auto running = backend_->awaitRunning(first.taskArn, kWait);
  ASSERT_TRUE(running.ok()) << running.error().describe();
  EXPECT_EQ(running->lastStatus, "RUNNING");
  EXPECT_FALSE(running->privateIp.empty()) << "the ENI's private IP, for the ALB target";

  for (const auto& r : *listed) ASSERT_TRUE(backend_->requestStop(r, StopMode::Graceful).ok());
  for (const auto& r : *listed) {
    auto finished = backend_->awaitFinished(r, kWait);
    ASSERT_TRUE(finished.ok()) << finished.error().describe();
    EXPECT_EQ(finished->state, ResourceState::Terminal) << r.ref() << " " << finished->status;
  }

  auto leftovers = backend_->list(Selector::forRun("run-mock-a").activeOnly());
  ASSERT_TRUE(leftovers.ok());
  EXPECT_TRUE(leftovers->empty()) << "STOPPED tasks are no leftovers";
  auto stoppedStillListed = backend_->list(Selector::forRun("run-mock-a"));
  ASSERT_TRUE(stoppedStillListed.ok());
  EXPECT_EQ(stoppedStillListed->size(), 2u) << "listed under desiredStatus=STOPPED, state Terminal";

  auto other = backend_->probe(foreign.resource);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->state, ResourceState::Terminal) << "another run's task is untouched";
  auto otherListed = backend_->list(Selector::forRun("run-mock-b"));
  ASSERT_TRUE(otherListed.ok());
  ASSERT_EQ(otherListed->size(), 1u);
  ASSERT_TRUE(backend_->requestStop(foreign.resource, StopMode::Force).ok());
  (void)second;
}

TEST_F(EcsMockAwsTest, TheEngineCleansARunThroughThrottlingAndLeavesNoLeftovers) {
  run("run-mock-engine");
  run("run-mock-engine");
  const EcsTask foreign = run("run-mock-other");
  mock_->addFault({{"match", {{"operation", "StopTask"}}}, {"status", 400}, {"errorCode", "ThrottlingException"},
                   {"count", 1}});
  CleanupEngine engine;
  std::shared_ptr<EcsBackend> backend = std::move(backend_);
  engine.addBackend(backend);

  CleanupReport report = engine.cleanup(Selector::forRun("run-mock-engine"));

  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_EQ(report.resources.size(), 2u);
  EXPECT_GE(report.failedAttempts(), 1) << "the throttled StopTask is recorded";
  auto leftovers = backend->list(Selector::forRun("run-mock-engine").activeOnly());
  ASSERT_TRUE(leftovers.ok());
  EXPECT_TRUE(leftovers->empty());
  auto other = backend->probe(foreign.resource);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(isFinished(other->state)) << "another run's task is untouched";
  ASSERT_TRUE(backend->requestStop(foreign.resource, StopMode::Force).ok());
}

TEST_F(EcsMockAwsTest, UnknownTasksAreGoneAndThrottlingIsRetryable) {
  Resource unknown;
  unknown.backend = "ecs";
  unknown.id = "arn:aws:ecs:us-east-1:123456789012:task/ci/00000000000000000000000000000000";
  auto probed = backend_->probe(unknown);
  ASSERT_TRUE(probed.ok()) << probed.error().describe();
  EXPECT_EQ(probed->state, ResourceState::Gone);
  Status stopped = backend_->requestStop(unknown, StopMode::Graceful);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().kind, ErrorKind::Gone) << stopped.error().describe();

  mock_->addFault({{"match", {{"operation", "ListTasks"}}}, {"status", 400}, {"errorCode", "ThrottlingException"},
                   {"count", 1}});
  auto throttled = backend_->list(Selector::forRun("run-mock-a"));
  ASSERT_FALSE(throttled.ok());
  EXPECT_EQ(throttled.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(throttled.error().message, HasSubstr("ThrottlingException"));
  auto after = backend_->list(Selector::forRun("run-mock-a"));
  EXPECT_TRUE(after.ok()) << after.error().describe();
}

TEST_F(EcsMockAwsTest, AWrongSecretIsAPermanentErrorNamingTheVariable) {
  EcsBackendOptions options = backend_->options();
  options.aws.credentials.secretAccessKey = "wrong";
  EcsBackend wrong(options);
  auto listed = wrong.list(Selector::forRun("run-mock-a"));
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(listed.error().message, HasSubstr("AWS_SECRET_ACCESS_KEY"));
}

}  // namespace
}  // namespace cleanroom

#endif  // CLEANROOM_MOCK_AWS_EXE
