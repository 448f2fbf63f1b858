// Integration tests of the ECS session cleanup against the in-process
// cleanroom-mock-aws (real HTTP, SigV4, fault injection) and the ecs backend
// for the run's leftover tasks.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cleanroom/aws/aws_client.h"
#include "cleanroom/aws/ecs_session.h"
#include "cleanroom/aws/ecs_session_cleanup.h"
#include "cleanroom/aws/ecs_session_site.h"
#include "cleanroom/aws/ecs_sessions.h"
#include "cleanroom/backends/ecs_backend.h"
#include "cleanroom/journal.h"
#include "cleanroom/mocks/aws/aws_mock.h"
#include "scoped_env.h"
#include "temp_dir.h"

namespace cleanroom::aws {
namespace {

using tests::ScopedEnv;
using ::testing::HasSubstr;
using Outcome = StepReport::Outcome;
using json = nlohmann::json;

constexpr const char* kRun = "run-f-sessions";
constexpr const char* kOtherRun = "run-f-other";

using tests::TempDir;

mocks::aws::AwsMockOptions mockOptions() {
  mocks::aws::AwsMockOptions o;
  o.taskStart = milliseconds(10);
  o.taskStop = milliseconds(30);
  o.targetHealthy = milliseconds(10);
  o.deregistrationDelay = milliseconds(60000);  // targets stay draining: visible to the test
  return o;
}

class EcsSessionMockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mock_.start();
    AwsConfig config;
    config.region = "us-east-1";
    config.credentials = {"cleanroom", "cleanroom-secret", ""};
    config.endpoints[""] = mock_.url();
    client_ = std::make_shared<AwsClient>(config);
    EcsSiteSpec spec;
    spec.cluster = "agents";
    spec.taskFamily = "agent";
    spec.targetGroupName = "agents";
    spec.logBucket = "session-logs";
    spec.requestTimeout = milliseconds(5000);
    auto site = EcsSessionSite::provision(client_, spec);
    ASSERT_TRUE(site.ok()) << site.error().describe();
    targetGroup_ = site->targetGroupArn();

    EcsBackendOptions backendOptions;
    backendOptions.aws = config;
    backendOptions.clusters = {"agents"};
    tasks_ = std::make_unique<EcsBackend>(backendOptions);
  }

  void TearDown() override {
    tasks_.reset();
    mock_.stop();
  }

  Result<json> ecs(const std::string& operation, const json& body) {
    return client_->callJson("ecs", "AmazonEC2ContainerServiceV20141113." + operation, body, milliseconds(5000));
  }

  // Runs a task of `runId` (startedBy and tag) and returns {arn, private IP}.
  std::pair<std::string, std::string> runTask(const std::string& runId) {
    auto run = ecs("RunTask",
                   {{"cluster", "agents"},
                    {"taskDefinition", "agent"},
                    {"launchType", "FARGATE"},
                    {"startedBy", runId},
                    {"tags", {{{"key", "cleanroom.run"}, {"value", runId}}}},
                    {"networkConfiguration", {{"awsvpcConfiguration", {{"subnets", {"subnet-cleanroom"}}}}}}});
    EXPECT_TRUE(run.ok()) << run.error().describe();
    const json task = run.value()["tasks"][0];
    std::string ip;
    for (const auto& detail : task["attachments"][0]["details"]) {
      if (detail["name"] == "privateIPv4Address") ip = detail["value"];
    }
    return {task["taskArn"], ip};
  }

  EcsSession openTask(const std::string& id, const std::filesystem::path& logs = {}) {
    auto [arn, ip] = runTask(kRun);
    auto registered = client_->callQuery("elasticloadbalancing", {{"Action", "RegisterTargets"},
                                                                  {"Version", "2015-12-01"},
                                                                  {"TargetGroupArn", targetGroup_},
                                                                  {"Targets.member.1.Id", ip},
                                                                  {"Targets.member.1.Port", "8080"}},
                                         milliseconds(5000));
    EXPECT_TRUE(registered.ok()) << registered.error().describe();
    EcsSession s;
    s.id = id;
    s.taskArn = arn;
    s.targetGroupArn = targetGroup_;
    s.targetIp = ip;
    s.targetPort = 8080;
    s.logDirectory = logs;
    s.logBucket = logs.empty() ? "" : "session-logs";
    s.logKeyPrefix = "agents";
    return s;
  }

  std::unique_ptr<EcsSessions> sessions(EcsSessionsOptions o = {}) {
    o.runId = kRun;
    o.journal = false;
    return std::make_unique<EcsSessions>(std::make_shared<AwsSessionApi>(client_), *tasks_, o);
  }

  void addFault(const json& rule) {
    httplib::Client control(mock_.url());
    auto answer = control.Post("/__cleanroom/faults", rule.dump(), "application/json");
    ASSERT_TRUE(answer) << "fault injection failed";
    ASSERT_LT(answer->status, 300) << answer->body;
  }

  std::string lastStatus(const std::string& arn) {
    auto described = ecs("DescribeTasks", {{"cluster", "agents"}, {"tasks", {arn}}});
    if (!described.ok() || described.value()["tasks"].empty()) return "MISSING";
    return described.value()["tasks"][0]["lastStatus"];
  }

  std::string desiredStatus(const std::string& arn) {
    auto described = ecs("DescribeTasks", {{"cluster", "agents"}, {"tasks", {arn}}});
    return described.value()["tasks"][0]["desiredStatus"];
  }

  std::string targetState(const std::string& ip) {
    const json state = mock_.state();
    for (const auto& group : state["targetGroups"]) {
      for (const auto& target : group["targets"]) {
        if (target["id"] == ip) return target["state"];
      }
    }
    return "unregistered";
  }

  Result<std::string> object(const std::string& key) {
    HttpRequest get;
    get.target = s3ObjectTarget("session-logs", key);
    auto answer = client_->callRest("s3", get, milliseconds(5000));
    if (!answer) return answer.error();
    return answer->body;
  }

  mocks::aws::AwsMock mock_{mockOptions()};
  std::shared_ptr<AwsClient> client_;
  std::string targetGroup_;
  std::unique_ptr<EcsBackend> tasks_;
};

TEST_F(EcsSessionMockTest, CleanupShipsLogsDeregistersTheTargetAndStopsTheTask) {
  TempDir logs;
  logs.write("agent.log", "agent says hi");
  logs.write("tools/shell.log", "ls -la");
  auto registry = sessions();
  const EcsSession s = openTask("req-1", logs.path());
  ASSERT_TRUE(registry->open(s).ok());

  const PipelineReport report = registry->cleanup("req-1");

  ASSERT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(object("agents/run-f-sessions/req-1/agent.log").value(), "agent says hi");
  EXPECT_EQ(object("agents/run-f-sessions/req-1/tools/shell.log").value(), "ls -la");
  EXPECT_FALSE(std::filesystem::exists(logs.path() / "agent.log"));
  EXPECT_EQ(targetState(s.targetIp), "draining");
  EXPECT_EQ(lastStatus(s.taskArn), "STOPPED");
  EXPECT_TRUE(registry->openSessions().empty());
}

TEST_F(EcsSessionMockTest, S3FailingKeepsTheLogsWhileTheTargetIsDeregisteredAndTheTaskStopped) {
  TempDir logs;
  const auto agentLog = logs.write("agent.log", "kept");
  addFault({{"match", {{"operation", "s3:*"}}}, {"status", 500}});
  EcsSessionsOptions o;
  o.cleanup.uploadLogs.retry.maxAttempts = 2;
  auto registry = sessions(o);
  const EcsSession s = openTask("req-1", logs.path());
  ASSERT_TRUE(registry->open(s).ok());

  const PipelineReport report = registry->cleanup("req-1");

  EXPECT_TRUE(report.ok) << report.summary();  // upload-logs is informational
  const StepReport* upload = report.step(kUploadLogsStep);
  EXPECT_EQ(upload->outcome, Outcome::Failed);
  EXPECT_EQ(upload->attempts, 2);
  EXPECT_THAT(upload->error, HasSubstr("kept locally: " + agentLog.string()));
  EXPECT_TRUE(std::filesystem::exists(agentLog));
  EXPECT_EQ(targetState(s.targetIp), "draining");
  EXPECT_EQ(lastStatus(s.taskArn), "STOPPED");
}

TEST_F(EcsSessionMockTest, ThrottledDeregistrationSucceedsOnTheThirdAttempt) {
  addFault({{"match", {{"operation", "DeregisterTargets"}}}, {"status", 400}, {"count", 2}});
  auto registry = sessions();
  const EcsSession s = openTask("req-1");
  ASSERT_TRUE(registry->open(s).ok());

  const PipelineReport report = registry->cleanup("req-1");

  ASSERT_TRUE(report.ok) << report.summary();
  const StepReport* deregister = report.step(kDeregisterTargetStep);
  EXPECT_EQ(deregister->attempts, 3);
  ASSERT_EQ(deregister->failures.size(), 2u);
  EXPECT_THAT(deregister->failures[0], HasSubstr("Throttling"));
  EXPECT_EQ(targetState(s.targetIp), "draining");
}

TEST_F(EcsSessionMockTest, AStepSlowerThanItsTimeoutTimesOutAndTheRestGoesOn) {
  addFault({{"match", {{"operation", "DeregisterTargets"}}}, {"delayMs", 3000}, {"count", 1}});
  EcsSessionsOptions o;
  o.cleanup.deregisterTarget.timeout = milliseconds(300);
  auto registry = sessions(o);
  const EcsSession s = openTask("req-1");
  ASSERT_TRUE(registry->open(s).ok());

  const PipelineReport report = registry->cleanup("req-1");

  EXPECT_FALSE(report.ok);
  const Outcome deregister = report.step(kDeregisterTargetStep)->outcome;
  EXPECT_TRUE(deregister == Outcome::TimedOut || deregister == Outcome::Failed) << report.summary();
  EXPECT_EQ(report.step(kStopTaskStep)->outcome, Outcome::Ok);
  EXPECT_EQ(report.step(kMarkCleanedStep)->outcome, Outcome::Skipped);
  EXPECT_EQ(lastStatus(s.taskArn), "STOPPED");
  EXPECT_EQ(registry->openSessions().size(), 1u);
  EXPECT_TRUE(registry->pipeline().waitForAbandonedSteps(std::chrono::seconds(30)));

  // Run again (the fault is used up): the target is deregistered, the rest is already done.
  const PipelineReport again = registry->cleanup("req-1");
  EXPECT_TRUE(again.ok) << again.summary();
  EXPECT_EQ(targetState(s.targetIp), "draining");
}

TEST_F(EcsSessionMockTest, CleanupIsIdempotentAndATaskThatStoppedByItselfIsAlreadyDone) {
  auto registry = sessions();
  const EcsSession first = openTask("req-1");
  ASSERT_TRUE(registry->open(first).ok());
  ASSERT_TRUE(registry->cleanup("req-1").ok);
  const PipelineReport second = registry->cleanup("req-1");
  EXPECT_TRUE(second.ok) << second.summary();

  // A task that died by itself and a target deregistered by someone else.
  const EcsSession died = openTask("req-2");
  ASSERT_TRUE(ecs("StopTask", {{"cluster", "agents"}, {"task", died.taskArn}}).ok());
  auto deregistered = client_->callQuery("elasticloadbalancing", {{"Action", "DeregisterTargets"},
                                                                  {"Version", "2015-12-01"},
                                                                  {"TargetGroupArn", targetGroup_},
                                                                  {"Targets.member.1.Id", died.targetIp},
                                                                  {"Targets.member.1.Port", "8080"}},
                                         milliseconds(5000));
  ASSERT_TRUE(deregistered.ok());
  ASSERT_TRUE(registry->open(died).ok());
  const PipelineReport report = registry->cleanup("req-2");
  EXPECT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(lastStatus(died.taskArn), "STOPPED");
}

TEST_F(EcsSessionMockTest, AMissingBucketAndAWrongTargetGroupAreNamed) {
  TempDir logs;
  const auto agentLog = logs.write("agent.log", "kept");
  auto registry = sessions();
  EcsSession s = openTask("req-1", logs.path());
  s.logBucket = "no-such-bucket";
  const std::string wrongGroup =
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/missing/0000000000000000";
  s.targetGroupArn = wrongGroup;
  ASSERT_TRUE(registry->open(s).ok());

  const PipelineReport report = registry->cleanup("req-1");

  EXPECT_FALSE(report.ok);
  const StepReport* upload = report.step(kUploadLogsStep);
  EXPECT_EQ(upload->outcome, Outcome::Failed);
  EXPECT_EQ(upload->attempts, 1);  // permanent: not retried
  EXPECT_THAT(upload->error, HasSubstr("S3 bucket 'no-such-bucket' does not exist (NoSuchBucket)"));
  EXPECT_THAT(upload->error, HasSubstr("kept locally: " + agentLog.string()));
  EXPECT_TRUE(std::filesystem::exists(agentLog));
  const StepReport* deregister = report.step(kDeregisterTargetStep);
  EXPECT_EQ(deregister->outcome, Outcome::Failed);
  EXPECT_THAT(deregister->error, HasSubstr("target group '" + wrongGroup + "' does not exist"));
  EXPECT_EQ(report.step(kStopTaskStep)->outcome, Outcome::Ok);  // the task is stopped all the same
  EXPECT_EQ(lastStatus(s.taskArn), "STOPPED");
  EXPECT_EQ(report.step(kMarkCleanedStep)->outcome, Outcome::Skipped);
}

TEST_F(EcsSessionMockTest, CleanupAllCleansSessionsForceStopsThisRunsLeftoverAndLeavesAnotherRunAlone) {
  TempDir logs;
  logs.write("agent.log", "one");
  auto registry = sessions();
  const EcsSession s1 = openTask("req-1", logs.path());
  const EcsSession s2 = openTask("req-2");
  const EcsSession s3 = openTask("req-3");
  for (const auto& s : {s1, s2, s3}) ASSERT_TRUE(registry->open(s).ok());
  const std::string leftover = runTask(kRun).first;       // this run's, no session
  const std::string foreign = runTask(kOtherRun).first;   // another run's

  const EcsSessionsReport report = registry->cleanupAll(2);

  EXPECT_TRUE(report.ok) << report.summary() << "\n" << report.toJson().dump(2);
  ASSERT_EQ(report.sessions.size(), 3u);
  for (const auto& r : report.sessions) EXPECT_TRUE(r.ok) << r.summary();
  ASSERT_EQ(report.leftovers.size(), 1u);
  EXPECT_EQ(report.leftovers[0].task.id, leftover);
  EXPECT_EQ(report.leftovers[0].outcome, "stopped");
  for (const auto& s : {s1, s2, s3}) EXPECT_EQ(lastStatus(s.taskArn), "STOPPED") << s.id;
  EXPECT_EQ(lastStatus(leftover), "STOPPED");
  EXPECT_EQ(desiredStatus(foreign), "RUNNING");
  EXPECT_EQ(object("agents/run-f-sessions/req-1/agent.log").value(), "one");
  EXPECT_TRUE(registry->openSessions().empty());

  ASSERT_TRUE(ecs("StopTask", {{"cluster", "agents"}, {"task", foreign}}).ok());  // the other run's own cleanup
}

TEST_F(EcsSessionMockTest, OpenJournalsTheTaskAndCleanupMarksItCleaned) {
  TempDir journals;
  ScopedEnv journalDir("CLEANROOM_JOURNAL_DIR", journals.path().string());
  EcsSessionsOptions o;
  o.runId = kRun;
  EcsSessions registry(std::make_shared<AwsSessionApi>(client_), *tasks_, o);
  const EcsSession s = openTask("req-1");
  ASSERT_TRUE(registry.open(s).ok());
  auto journal = Journal::read(Journal::pathFor(kRun), std::string(kRun));
  ASSERT_TRUE(journal.ok()) << journal.error().describe();
  ASSERT_EQ(journal->outstanding().size(), 1u);
  EXPECT_EQ(journal->outstanding()[0].id, s.taskArn);
  EXPECT_EQ(journal->outstanding()[0].backend, "ecs");

  ASSERT_TRUE(registry.cleanup("req-1").ok);

  journal = Journal::read(Journal::pathFor(kRun), std::string(kRun));
  ASSERT_TRUE(journal.ok());
  EXPECT_TRUE(journal->outstanding().empty());
}

}  // namespace
}  // namespace cleanroom::aws
