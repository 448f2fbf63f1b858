// EcsSessionSite (provisioning and launching sessions) and EcsSessionTasks
// (an engine cleanup that runs a session's cleanup before its task stops),
// against the in-process cleanroom-mock-aws.
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cleanroom/aws/aws_client.h"
#include "cleanroom/aws/ecs_session_site.h"
#include "cleanroom/aws/ecs_session_tasks.h"
#include "cleanroom/aws/ecs_sessions.h"
#include "cleanroom/engine.h"
#include "cleanroom/journal.h"
#include "cleanroom/mocks/aws/aws_mock.h"
#include "scoped_env.h"
#include "temp_dir.h"

namespace cleanroom::aws {
namespace {

using json = nlohmann::json;
using tests::ScopedEnv;
using tests::TempDir;
using ::testing::HasSubstr;

constexpr const char* kRun = "run-site-test";

mocks::aws::AwsMockOptions mockOptions() {
  mocks::aws::AwsMockOptions o;
  o.taskStart = milliseconds(20);
  o.taskStop = milliseconds(30);
  o.targetHealthy = milliseconds(10);
  o.deregistrationDelay = milliseconds(60000);  // deregistered targets stay draining: visible
  return o;
}

EcsSiteSpec siteSpec() {
  EcsSiteSpec spec;
  spec.cluster = "agents";
  spec.taskFamily = "agent";
  spec.targetGroupName = "agents";
  spec.logBucket = "session-logs";
  spec.logKeyPrefix = "logs";
  spec.requestTimeout = milliseconds(5000);
  return spec;
}

class EcsSessionSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mock_.start();
    AwsConfig config;
    config.region = "us-east-1";
    config.credentials = {"cleanroom", "cleanroom-secret", ""};
    config.endpoints[""] = mock_.url();
    client_ = std::make_shared<AwsClient>(config);
    EcsBackendOptions options;
    options.aws = config;
    options.clusters = {"agents"};
    tasks_ = std::make_shared<EcsBackend>(options);
  }
  void TearDown() override { mock_.stop(); }

  EcsSessionSite provisioned() {
    auto site = EcsSessionSite::provision(client_, siteSpec());
    if (!site.ok()) throw std::runtime_error(site.error().describe());
    return std::move(site).value();
  }

  json taskOf(const std::string& arn) {
    auto described = client_->callJson("ecs", "AmazonEC2ContainerServiceV20141113.DescribeTasks",
                                       {{"cluster", "agents"}, {"tasks", {arn}}, {"include", {"TAGS"}}},
                                       milliseconds(5000));
    if (!described.ok() || described.value()["tasks"].empty()) return json::object();
    return described.value()["tasks"][0];
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

  void addFault(const json& rule) {
    httplib::Client control(mock_.url());
    auto answer = control.Post("/__cleanroom/faults", rule.dump(), "application/json");
    ASSERT_TRUE(answer) << "fault injection failed";
    ASSERT_LT(answer->status, 300) << answer->body;
  }

  Result<std::string> object(const std::string& key) {
    HttpRequest get;
    get.target = s3ObjectTarget("session-logs", key);
    auto answer = client_->callRest("s3", get, milliseconds(5000));
    if (!answer) return answer.error();
    return answer->body;
  }

  std::shared_ptr<EcsSessions> sessions() {
    EcsSessionsOptions o;
    o.runId = kRun;
    o.failSafe = false;
    return std::make_shared<EcsSessions>(std::make_shared<AwsSessionApi>(client_), *tasks_, o);
  }

  TempDir journals_{"cr-site-journal"};
  ScopedEnv journalDir_{kJournalDirVariable, journals_.path().string()};
  mocks::aws::AwsMock mock_{mockOptions()};
  std::shared_ptr<AwsClient> client_;
  std::shared_ptr<EcsBackend> tasks_;
};

TEST_F(EcsSessionSiteTest, ProvisionMakesEveryPieceAndIsIdempotent) {
  const EcsSessionSite first = provisioned();
  const EcsSessionSite second = provisioned();

  EXPECT_THAT(first.targetGroupArn(), HasSubstr(":targetgroup/agents/"));
  EXPECT_EQ(second.targetGroupArn(), first.targetGroupArn()) << "the existing group is reused";
  EXPECT_THAT(first.clusterArn(), HasSubstr(":cluster/agents"));
  HttpRequest head;
  head.method = "HEAD";
  head.target = "/session-logs";
  EXPECT_TRUE(client_->callRest("s3", head, milliseconds(5000)).ok()) << "the bucket exists";
}

TEST_F(EcsSessionSiteTest, AGroupOfThatNameWithOtherSettingsIsNamed) {
  auto other = client_->callQuery("elasticloadbalancing", {{"Action", "CreateTargetGroup"},
                                                           {"Version", "2015-12-01"},
                                                           {"Name", "agents"},
                                                           {"Protocol", "HTTP"},
                                                           {"Port", "9999"},
                                                           {"VpcId", "vpc-other"},
                                                           {"TargetType", "instance"}},
                                  milliseconds(5000));
  ASSERT_TRUE(other.ok()) << other.error().describe();

  auto site = EcsSessionSite::provision(client_, siteSpec());

  ASSERT_FALSE(site.ok());
  EXPECT_THAT(site.error().message, HasSubstr("target group \"agents\""));
  EXPECT_THAT(site.error().message, HasSubstr("DuplicateTargetGroupName"));
}

TEST_F(EcsSessionSiteTest, LaunchRunsATaskOfTheRunAndRegistersItsIp) {
  const EcsSessionSite site = provisioned();
  TempDir logs;

  auto session = site.launch(*tasks_, "req-1", logs.path(), milliseconds(10000), kRun);

  ASSERT_TRUE(session.ok()) << session.error().describe();
  EXPECT_EQ(session->problem(), "");
  EXPECT_EQ(session->runId, kRun);
  EXPECT_EQ(session->targetGroupArn, site.targetGroupArn());
  EXPECT_EQ(session->targetPort, 8080);
  EXPECT_EQ(session->logBucket, "session-logs");
  const json task = taskOf(session->taskArn);
  EXPECT_EQ(task.value("lastStatus", ""), "RUNNING");
  EXPECT_EQ(task.value("startedBy", ""), kRun);
  EXPECT_THAT(task["tags"], ::testing::Contains(json{{"key", "cleanroom.session"}, {"value", "req-1"}}));
  EXPECT_NE(targetState(session->targetIp), "unregistered");
  auto journal = Journal::read(Journal::pathFor(kRun), kRun);
  ASSERT_TRUE(journal.ok()) << journal.error().describe();
  const std::vector<Resource> outstanding = journal->outstanding();
  ASSERT_EQ(outstanding.size(), 1u);
  EXPECT_EQ(outstanding[0].backend, "ecs");
  EXPECT_EQ(outstanding[0].id, session->taskArn);
}

TEST_F(EcsSessionSiteTest, AFailedRegistrationNamesTheSessionAndLeavesTheTaskToTheRun) {
  const EcsSessionSite site = provisioned();
  addFault({{"match", {{"operation", "RegisterTargets"}}}, {"status", 400}, {"errorCode", "ValidationError"}});

  auto session = site.launch(*tasks_, "req-2", {}, milliseconds(10000), kRun);

  ASSERT_FALSE(session.ok());
  EXPECT_THAT(session.error().message, HasSubstr("session \"req-2\": RegisterTargets failed"));
  auto mine = tasks_->list(Selector::forRun(kRun).activeOnly());
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->size(), 1u) << "the task is the run's, for its cleanup to find";
}

TEST_F(EcsSessionSiteTest, AnEngineCleanupRunsTheSessionCleanupBeforeTheTaskStops) {
  const EcsSessionSite site = provisioned();
  TempDir logs;
  logs.write("agent.log", "the agent's last words");
  auto registry = sessions();
  auto session = site.launch(*tasks_, "req-3", logs.path(), milliseconds(10000), kRun);
  ASSERT_TRUE(session.ok()) << session.error().describe();
  ASSERT_TRUE(registry->open(*session).ok());
  CleanupEngine engine;
  engine.addBackend(std::make_shared<EcsSessionTasks>(tasks_, registry));

  const CleanupReport report = engine.cleanup(Selector::forRun(kRun));

  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_EQ(object("logs/run-site-test/req-3/agent.log").value(), "the agent's last words");
  EXPECT_EQ(targetState(session->targetIp), "draining");
  EXPECT_EQ(taskOf(session->taskArn).value("lastStatus", ""), "STOPPED");
  EXPECT_TRUE(registry->openSessions().empty()) << "the session's cleanup ran and ended it";
}

TEST_F(EcsSessionSiteTest, ATaskWithoutASessionIsStoppedPlainly) {
  const EcsSessionSite site = provisioned();
  auto registry = sessions();
  auto bare = site.launch(*tasks_, "not-opened", {}, milliseconds(10000), kRun);
  ASSERT_TRUE(bare.ok()) << bare.error().describe();
  EcsSessionTasks backend(tasks_, registry);
  EXPECT_EQ(backend.sessionOfTask(bare->taskArn), std::nullopt);

  auto listed = backend.list(Selector::forRun(kRun).activeOnly());
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  ASSERT_TRUE(backend.requestStop(listed->at(0), StopMode::Graceful).ok());

  EXPECT_EQ(taskOf(bare->taskArn).value("desiredStatus", ""), "STOPPED");
  EXPECT_NE(targetState(bare->targetIp), "draining") << "no session: only the task was asked to stop";
}

TEST_F(EcsSessionSiteTest, AFailedSessionCleanupIsRetryableAndKeepsTheSessionOpen) {
  const EcsSessionSite site = provisioned();
  auto registry = sessions();
  auto session = site.launch(*tasks_, "req-4", {}, milliseconds(10000), kRun);
  ASSERT_TRUE(session.ok()) << session.error().describe();
  ASSERT_TRUE(registry->open(*session).ok());
  addFault({{"match", {{"operation", "DeregisterTargets"}}}, {"status", 400}, {"errorCode", "ValidationError"}});
  EcsSessionTasks backend(tasks_, registry);
  auto listed = backend.list(Selector::forRun(kRun).activeOnly());
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);

  Status stopped = backend.requestStop(listed->at(0), StopMode::Force);

  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(stopped.error().message, HasSubstr("ECS session req-4"));
  EXPECT_THAT(stopped.error().message, HasSubstr("deregister-target"));
  EXPECT_EQ(registry->openSessions().size(), 1u);
}

}  // namespace
}  // namespace cleanroom::aws
