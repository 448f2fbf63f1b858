// Unit tests of the ECS session cleanup and registry with a fake
// EcsSessionApi (no network) and a ManualClock.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>

#include "cleanroom/aws/ecs_session.h"
#include "cleanroom/aws/ecs_session_cleanup.h"
#include "cleanroom/aws/ecs_sessions.h"
#include "cleanroom/trace.h"
#include "manual_clock.h"
#include "mock_backend.h"
#include "temp_dir.h"
#include "event_log.h"

namespace cleanroom::aws {
namespace {

using tests::ManualClock;
using tests::MockBackend;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::NiceMock;
using ::testing::Return;
using Outcome = StepReport::Outcome;

constexpr const char* kRun = "run-f1";
const std::string kTaskPrefix = "arn:aws:ecs:us-east-1:123456789012:task/agents/";
const std::string kGroup = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/agents/0123456789abcdef";

using tests::EventLog;
using tests::Signal;

// A fake cloud: every call is logged ("put:<key>", "deregister:<ip>",
// "stop:<arn>", "status:<arn>") and answered by a replaceable function.
class FakeApi : public EcsSessionApi {
 public:
  EventLog log;
  std::function<Status(const std::string& key)> onPut = [](const std::string&) { return Status::success(); };
  std::function<Status()> onDeregister = [] { return Status::success(); };
  std::function<Status()> onStop = [] { return Status::success(); };
  std::function<Result<std::string>()> onStatus = []() -> Result<std::string> { return std::string("STOPPED"); };

  Status putObject(const std::string& bucket, const std::string& key, const std::filesystem::path&,
                   milliseconds) override {
    log.add("put:" + bucket + "/" + key);
    return onPut(key);
  }
  Status deregisterTarget(const std::string&, const std::string& ip, int, milliseconds) override {
    log.add("deregister:" + ip);
    Status s = onDeregister();
    log.add("deregistered:" + ip);
    return s;
  }
  Status stopTask(const std::string&, const std::string& taskArn, const std::string&, milliseconds) override {
    log.add("stop:" + taskArn);
    return onStop();
  }
  Result<std::string> taskStatus(const std::string&, const std::string& taskArn, milliseconds) override {
    log.add("status:" + taskArn);
    return onStatus();
  }
};

using tests::TempDir;

EcsSession session(const std::string& id, const std::filesystem::path& logs = {}) {
  EcsSession s;
  s.id = id;
  s.taskArn = kTaskPrefix + "task-" + id;
  s.targetGroupArn = kGroup;
  s.targetIp = "10.0.0." + std::to_string(id.size());
  s.targetPort = 8080;
  s.logDirectory = logs;
  s.logBucket = logs.empty() ? "" : "logs";
  s.logKeyPrefix = "sessions";
  return s;
}

EcsSessionsOptions options() {
  EcsSessionsOptions o;
  o.runId = kRun;
  o.journal = false;
  return o;
}

struct Fixture {
  std::shared_ptr<FakeApi> api = std::make_shared<FakeApi>();
  NiceMock<MockBackend> tasks{"ecs"};
  ManualClock clock;
};

TEST(EcsSessionTest, LogKeysAreUnderPrefixRunAndSession) {
  EcsSession s = session("s1");
  s.runId = "r1";
  EXPECT_EQ(s.logKey("a/b.log"), "sessions/r1/s1/a/b.log");
  s.logKeyPrefix = "/";
  EXPECT_EQ(s.logKey("x.log"), "r1/s1/x.log");
  EXPECT_EQ(s.clusterOfTask(), "agents");
  EXPECT_EQ(s3ObjectTarget("logs", "p/r 1/a+b.log"), "/logs/p/r%201/a%2Bb.log");
}

TEST(EcsSessionTest, ProblemsNameTheField) {
  EcsSession s = session("s1");
  EXPECT_EQ(s.problem(), "");
  s.taskArn = "";
  EXPECT_THAT(s.problem(), HasSubstr("taskArn is empty"));
  s = session("s1");
  s.taskArn = "task-1";
  EXPECT_THAT(s.problem(), HasSubstr("'task-1' is not an ECS task ARN"));
  s = session("s1");
  s.targetIp = "";
  EXPECT_THAT(s.problem(), HasSubstr("targetIp is empty"));
  s = session("s1", "/tmp/x");
  s.logBucket = "";
  EXPECT_THAT(s.problem(), HasSubstr("logBucket is empty"));
}

TEST(EcsSessionsTest, UploadAndDeregisterFinishBeforeStopAndMarkIsLast) {
  Fixture f;
  TempDir logs;
  logs.write("agent.log", "a");
  logs.write("tools/shell.log", "b");
  EventLog& log = f.api->log;
  EcsSessionsOptions o = options();
  o.cleanup.releaseStateCallback = [&](const EcsSession&, const StepContext&) {
    log.add("release");
    return Status::success();
  };
  o.cleanup.markCleanedCallback = [&](const EcsSession&, const StepContext&) {
    log.add("mark");
    return Status::success();
  };
  EcsSessions sessions(f.api, f.tasks, o, f.clock);
  ASSERT_TRUE(sessions.open(session("s1", logs.path())).ok());

  const PipelineReport report = sessions.cleanup("s1");

  EXPECT_TRUE(report.ok) << report.summary();
  const int stop = log.indexOf("stop:" + kTaskPrefix + "task-s1");
  ASSERT_GE(stop, 0);
  EXPECT_LT(log.indexOf("put:logs/sessions/run-f1/s1/agent.log"), stop);
  EXPECT_LT(log.indexOf("put:logs/sessions/run-f1/s1/tools/shell.log"), stop);
  EXPECT_LT(log.indexOf("deregistered:10.0.0.2"), stop);
  EXPECT_EQ(log.events().back(), "mark");
  EXPECT_EQ(log.count("put:"), 2);
  EXPECT_FALSE(std::filesystem::exists(logs.path() / "agent.log"));  // shipped, so removed locally
  EXPECT_TRUE(sessions.openSessions().empty());
}

TEST(EcsSessionsTest, UploadDeregisterAndReleaseRunAtTheSameTime) {
  Fixture f;
  TempDir logs;
  logs.write("agent.log", "a");
  Signal arrived;
  // Each of the three ends only once all three are running.
  auto meet = [&]() -> Status {
    arrived.post();
    return arrived.waitFor(3) ? Status::success() : Error::permanent("the other steps never ran alongside");
  };
  f.api->onPut = [&](const std::string&) { return meet(); };
  f.api->onDeregister = meet;
  EcsSessionsOptions o = options();
  o.cleanup.releaseStateCallback = [&](const EcsSession&, const StepContext&) { return meet(); };
  EcsSessions sessions(f.api, f.tasks, o, f.clock);
  ASSERT_TRUE(sessions.open(session("s1", logs.path())).ok());

  const PipelineReport report = sessions.cleanup("s1");

  EXPECT_TRUE(report.ok) << report.summary();
  for (const char* name : {kUploadLogsStep, kDeregisterTargetStep, kReleaseStateStep}) {
    EXPECT_EQ(report.step(name)->outcome, Outcome::Ok) << name;
  }
}

TEST(EcsSessionsTest, AStepPastItsTimeoutIsTimedOutAndTheRestGoesOn) {
  Fixture f;
  Signal deregisterStarted;
  Signal release;
  f.api->onDeregister = [&] {
    deregisterStarted.post();
    release.waitFor(1);  // hangs until the test lets it go
    return Status::success();
  };
  int polls = 0;
  f.api->onStatus = [&]() -> Result<std::string> { return std::string(++polls < 40 ? "RUNNING" : "STOPPED"); };
  EcsSessionsOptions o = options();
  o.cleanup.deregisterTarget.timeout = milliseconds(1000);
  EcsSessions sessions(f.api, f.tasks, o, f.clock);
  ASSERT_TRUE(sessions.open(session("s1")).ok());

  auto cleaning = std::async(std::launch::async, [&] { return sessions.cleanup("s1"); });
  ASSERT_TRUE(deregisterStarted.waitFor(1));
  f.clock.advance(milliseconds(1001));  // past deregister-target's deadline
  const PipelineReport report = cleaning.get();

  EXPECT_EQ(report.step(kDeregisterTargetStep)->outcome, Outcome::TimedOut) << report.summary();
  EXPECT_THAT(report.step(kDeregisterTargetStep)->error, HasSubstr("timed out after 1000 ms"));
  EXPECT_EQ(report.step(kStopTaskStep)->outcome, Outcome::Ok) << "the task is stopped even so";
  EXPECT_EQ(report.step(kMarkCleanedStep)->outcome, Outcome::Skipped);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(sessions.openSessions().size(), 1u);  // kept for the fail-safe to try again
  release.post();
  EXPECT_TRUE(sessions.pipeline().waitForAbandonedSteps(std::chrono::seconds(30)));
}

TEST(EcsSessionsTest, FailedUploadKeepsAndNamesTheFilesAndTheTaskIsStillStopped) {
  Fixture f;
  TempDir logs;
  const auto agentLog = logs.write("agent.log", "a");
  const auto shellLog = logs.write("shell.log", "b");
  f.api->onPut = [](const std::string& key) -> Status {
    if (key.ends_with("agent.log")) return Status::success();
    return Error::permanent("s3 PUT /logs/x: NoSuchBucket: The specified bucket does not exist (HTTP 404)");
  };
  EcsSessions sessions(f.api, f.tasks, options(), f.clock);
  ASSERT_TRUE(sessions.open(session("s1", logs.path())).ok());

  const PipelineReport report = sessions.cleanup("s1");

  EXPECT_TRUE(report.ok) << report.summary();  // upload-logs is informational
  const StepReport* upload = report.step(kUploadLogsStep);
  EXPECT_EQ(upload->outcome, Outcome::Failed);
  EXPECT_THAT(upload->error, HasSubstr("NoSuchBucket"));
  EXPECT_THAT(upload->error, HasSubstr("kept locally: " + shellLog.string()));
  EXPECT_EQ(upload->detail, "kept locally: " + shellLog.string());
  EXPECT_FALSE(std::filesystem::exists(agentLog));
  EXPECT_TRUE(std::filesystem::exists(shellLog));
  EXPECT_EQ(report.step(kStopTaskStep)->outcome, Outcome::Ok);
  EXPECT_EQ(f.api->log.count("stop:"), 1);
  EXPECT_THAT(report.summary(), HasSubstr("upload-logs [informational] failed"));
}

TEST(EcsSessionsTest, ThrottledDeregistrationIsRetriedUntilItSucceeds) {
  Fixture f;
  int calls = 0;
  f.api->onDeregister = [&]() -> Status {
    if (++calls <= 2) return Error::retryable("elasticloadbalancing DeregisterTargets: Throttling: Rate exceeded (HTTP 400)");
    return Status::success();
  };
  EcsSessions sessions(f.api, f.tasks, options(), f.clock);
  ASSERT_TRUE(sessions.open(session("s1")).ok());

  const PipelineReport report = sessions.cleanup("s1");

  EXPECT_TRUE(report.ok) << report.summary();
  const StepReport* deregister = report.step(kDeregisterTargetStep);
  EXPECT_EQ(deregister->attempts, 3);
  ASSERT_EQ(deregister->failures.size(), 2u);
  EXPECT_THAT(deregister->failures[0], HasSubstr("Throttling"));
  EXPECT_GE(f.clock.sleeps(), 2);  // backed off between attempts
}

TEST(EcsSessionsTest, ASecondCleanupAndAnUnknownSessionAreAlreadyDone) {
  Fixture f;
  EcsSessions sessions(f.api, f.tasks, options(), f.clock);
  ASSERT_TRUE(sessions.open(session("s1")).ok());
  ASSERT_TRUE(sessions.cleanup("s1").ok);
  const auto callsAfterFirst = f.api->log.events().size();

  for (const std::string id : {"s1", "never-opened"}) {
    const PipelineReport again = sessions.cleanup(id);
    EXPECT_TRUE(again.ok) << again.summary();
    for (const auto& step : again.steps) {
      EXPECT_EQ(step.outcome, Outcome::Ok) << step.name;
      EXPECT_THAT(step.detail, HasSubstr("already done")) << step.name;
    }
  }
  EXPECT_EQ(f.api->log.events().size(), callsAfterFirst);  // no cloud call
}

TEST(EcsSessionsTest, ATaskThatStoppedByItselfAndAGoneTargetAreAlreadyDone) {
  Fixture f;
  f.api->onStop = [] { return Status(Error::gone("task is unknown to ECS (already gone)")); };
  f.api->onDeregister = [] { return Status(Error::gone("target 10.0.0.2:8080 is not registered")); };
  EcsSessions sessions(f.api, f.tasks, options(), f.clock);
  ASSERT_TRUE(sessions.open(session("s1")).ok());

  const PipelineReport report = sessions.cleanup("s1");

  EXPECT_TRUE(report.ok) << report.summary();
  EXPECT_THAT(report.step(kStopTaskStep)->detail, HasSubstr("already done"));
  EXPECT_THAT(report.step(kDeregisterTargetStep)->detail, HasSubstr("not registered"));
  EXPECT_EQ(f.api->log.count("status:"), 0);
}

TEST(EcsSessionsTest, StopWaitsAdaptivelyForStoppedWithinTheStepTimeout) {
  Fixture f;
  int polls = 0;
  f.api->onStatus = [&]() -> Result<std::string> { return std::string(++polls < 5 ? "DEPROVISIONING" : "STOPPED"); };
  EcsSessions sessions(f.api, f.tasks, options(), f.clock);
  ASSERT_TRUE(sessions.open(session("s1")).ok());

  const PipelineReport report = sessions.cleanup("s1");

  EXPECT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(polls, 5);
}

TEST(EcsSessionsTest, ATaskThatNeverStopsFailsTheCleanupNamingItsStatus) {
  Fixture f;
  f.api->onStatus = []() -> Result<std::string> { return std::string("RUNNING"); };
  EcsSessionsOptions o = options();
  o.cleanup.stopTask.timeout = milliseconds(2000);
  EcsSessions sessions(f.api, f.tasks, o, f.clock);
  ASSERT_TRUE(sessions.open(session("s1")).ok());

  const PipelineReport report = sessions.cleanup("s1");

  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.step(kStopTaskStep)->outcome, Outcome::Ok);
  EXPECT_EQ(report.step(kMarkCleanedStep)->outcome, Outcome::Skipped);
  EXPECT_TRUE(sessions.pipeline().waitForAbandonedSteps(std::chrono::seconds(30)));  // before the clock goes
}

TEST(EcsSessionsTest, OpenRefusesBadSessionsNamingTheProblem) {
  Fixture f;
  EcsSessions sessions(f.api, f.tasks, options(), f.clock);
  EcsSession other = session("s1");
  other.runId = "another-run";
  Status s = sessions.open(other);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().message, HasSubstr("belongs to run 'another-run'"));
  EcsSession noTask = session("s2");
  noTask.taskArn = "";
  EXPECT_THAT(sessions.open(noTask).error().message, HasSubstr("taskArn is empty"));
  ASSERT_TRUE(sessions.open(session("s3")).ok());
  EXPECT_THAT(sessions.open(session("s3")).error().message, HasSubstr("'s3' is already open"));
  EXPECT_EQ(sessions.openSessions().size(), 1u);
  EXPECT_EQ(sessions.openSessions()[0].runId, kRun);
}

Resource task(const std::string& arn, const std::string& runId, ResourceState state) {
  Resource r;
  r.backend = "ecs";
  r.id = arn;
  r.runId = runId;
  r.labels[kRunLabel] = runId;
  r.state = state;
  return r;
}

TEST(EcsSessionsTest, CleanupAllCleansEverySessionThenForceStopsOnlyThisRunsLeftovers) {
  Fixture f;
  EcsSessions sessions(f.api, f.tasks, options(), f.clock);
  ASSERT_TRUE(sessions.open(session("s1")).ok());
  ASSERT_TRUE(sessions.open(session("s2")).ok());
  const std::string leftover = kTaskPrefix + "leftover";
  const std::string foreign = kTaskPrefix + "foreign";
  EXPECT_CALL(f.tasks, list(_)).WillOnce([&](const Selector& selector) -> Result<std::vector<Resource>> {
    EXPECT_EQ(selector.runId, std::optional<std::string>(kRun));
    return std::vector<Resource>{task(kTaskPrefix + "task-s1", kRun, ResourceState::Stopping),
                                 task(leftover, kRun, ResourceState::Running),
                                 task(kTaskPrefix + "done", kRun, ResourceState::Terminal),
                                 task(foreign, "run-other", ResourceState::Running)};
  });
  EXPECT_CALL(f.tasks, requestStop(::testing::Field(&Resource::id, leftover), StopMode::Force))
      .WillOnce(Return(Status::success()));
  EXPECT_CALL(f.tasks, requestStop(::testing::Field(&Resource::id, ::testing::Ne(leftover)), _)).Times(0);
  EXPECT_CALL(f.tasks, awaitFinished(::testing::Field(&Resource::id, leftover), _))
      .WillOnce(Return(ResourceStatus{ResourceState::Terminal, "STOPPED"}));

  const EcsSessionsReport report = sessions.cleanupAll(4);

  EXPECT_TRUE(report.ok) << report.summary();
  ASSERT_EQ(report.sessions.size(), 2u);
  EXPECT_EQ(report.sessions[0].session, "s1");
  EXPECT_EQ(report.sessions[1].session, "s2");
  ASSERT_EQ(report.leftovers.size(), 1u);
  EXPECT_EQ(report.leftovers[0].task.id, leftover);
  EXPECT_EQ(report.leftovers[0].outcome, "stopped");
  EXPECT_THAT(report.summary(), HasSubstr("2 cleaned, 0 failed; leftovers: 1 stopped, 0 failed"));
  EXPECT_EQ(report.toJson()["leftovers"][0]["id"], leftover);
  EXPECT_TRUE(sessions.openSessions().empty());
}

TEST(EcsSessionsTest, CleanupAllReportsAListingFailure) {
  Fixture f;
  EcsSessions sessions(f.api, f.tasks, options(), f.clock);
  EXPECT_CALL(f.tasks, list(_)).WillOnce(Return(Result<std::vector<Resource>>(Error::retryable("connection refused"))));

  const EcsSessionsReport report = sessions.cleanupAll();

  EXPECT_FALSE(report.ok);
  EXPECT_THAT(report.listError, HasSubstr("connection refused"));
}

TEST(EcsSessionsTest, EachCleanupLogsItsOneLineSummary) {
  Fixture f;
  f.api->onStop = [] { return Status(Error::permanent("ecs StopTask: AccessDeniedException: no (HTTP 400)")); };
  EcsSessions sessions(f.api, f.tasks, options(), f.clock);
  ASSERT_TRUE(sessions.open(session("s1")).ok());
  TraceCapture trace;

  const PipelineReport report = sessions.cleanup("s1");

  EXPECT_FALSE(report.ok);
  EXPECT_THAT(trace.text(), HasSubstr("pipeline ecs-session-cleanup session=s1 FAILED"));
  EXPECT_THAT(trace.text(), HasSubstr("step=stop-task pipeline=ecs-session-cleanup session=s1"));
}

TEST(EcsSessionsTest, ABadTimeoutIsAConfigErrorNamingTheStep) {
  Fixture f;
  EcsSessionsOptions o = options();
  o.cleanup.stopTask.timeout = milliseconds(0);
  EXPECT_THROW(EcsSessions(f.api, f.tasks, o, f.clock), ConfigError);
}

}  // namespace
}  // namespace cleanroom::aws
