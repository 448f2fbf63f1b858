// The ECS sessions example: a gtest suite for a cloud agent runtime that
// serves each request in an ECS (Fargate) task registered as an ALB target
// and ships the session's logs to S3 — copy it and put your runtime where
// AgentRuntime is.
//
// What it shows:
//  - the per-request scope: the runtime ends a request with
//    sessions()->cleanup(id) — logs uploaded ∥ target deregistered ∥ local
//    state released → task stopped → request marked cleaned — and gets a
//    report with every step and its duration;
//  - the per-test scope: tests derive from CleanroomTest; a request the
//    runtime never finished is cleaned in TearDown by the SAME session
//    cleanup (the engine stops a session's task by running it), so its logs
//    are shipped before its task goes;
//  - faults: S3 failing does not keep a task running — the report says the
//    upload failed and which files stayed on disk;
//  - the process-exit scope: main() registers MockAwsEnvironment, whose
//    sessions are cleaned by the fail-safe on exit, SIGINT and SIGTERM (and
//    whose tasks the reaper stops after a SIGKILL);
//  - no sleeps: launching waits until the task is RUNNING, cleanup until it
//    is STOPPED (adaptive polling).
//
// MockAwsEnvironment runs cleanroom-mock-aws and points AWS_ENDPOINT_URL,
// the AWS credentials and region at it; nothing goes to a real account.
// With AWS_ENDPOINT_URL already set it attaches to that endpoint instead
// (scripts/demo.sh starts a mock with realistic delays that way).
// Run: CLEANROOM_MOCK_AWS_BIN=path/to/cleanroom-mock-aws ./cleanroom_example_ecs_sessions
// (CLEANROOM_LOG=debug shows every step of every session cleanup.)
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "cleanroom/fixtures.h"
#include "cleanroom/gtest/mock_aws_environment.h"
#include "cleanroom/http_client.h"

namespace {

namespace fs = std::filesystem;
using cleanroom::PipelineReport;
using cleanroom::Selector;
using cleanroom::StepReport;
using cleanroom::aws::EcsSession;

cleanroom::gtest::MockAwsEnvironment* cloud = nullptr;

// The system under test, reduced to what matters here: a request runs in
// its own ECS session and writes its agent's log locally until the request
// ends.
class AgentRuntime {
 public:
  explicit AgentRuntime(fs::path logRoot) : logRoot_(std::move(logRoot)) {}

  // Starts serving `requestId`: a task, its target, a log directory.
  EcsSession startRequest(const std::string& requestId) {
    const fs::path logs = logRoot_ / requestId;
    fs::create_directories(logs);
    std::ofstream(logs / "agent.log") << "request " << requestId << ": agent started\n";
    auto session = cloud->launchSession(requestId, logs);
    if (!session.ok()) throw std::runtime_error("cannot start " + requestId + ": " + session.error().describe());
    return *session;
  }

  // Ends `requestId`: the per-request cleanup.
  PipelineReport finishRequest(const std::string& requestId) { return cloud->sessions()->cleanup(requestId); }

 private:
  fs::path logRoot_;
};

class EcsSessionsExample : public cleanroom::gtest::CleanroomTest {
 protected:
  EcsSessionsExample() {
    std::string pattern = (fs::temp_directory_path() / "cr-ecs-example-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create " + pattern);
    logRoot_ = pattern;
  }
  ~EcsSessionsExample() override {
    std::error_code ignored;
    fs::remove_all(logRoot_, ignored);
  }

  // Returns this run's uploads of one request ("<request>/<file>").
  std::vector<std::string> uploadedLogs(const std::string& requestId) {
    Selector request = Selector::thisRun();
    request.namePrefix = requestId + "/";
    std::vector<std::string> names;
    auto uploads = cloud->uploads()->list(request);
    if (!uploads.ok()) throw std::runtime_error(uploads.error().describe());
    for (const auto& upload : *uploads) names.push_back(upload.name);
    return names;
  }

  // Makes the mock answer every S3 upload with a server error until the
  // test ends (fault injection; see the mock's README).
  void breakS3() {
    auto control = cleanroom::makeHttpClient(cloud->url(), "the AWS mock");
    ASSERT_TRUE(control.ok()) << control.error().describe();
    cleanroom::HttpRequest request;
    request.method = "POST";
    request.target = "/__cleanroom/faults";
    request.body = R"([{"match": {"operation": "s3:PutObject"}, "status": 500}])";
    request.contentType = "application/json";
    auto answer = (*control)->send(request, std::chrono::seconds(5));
    ASSERT_TRUE(answer.ok() && answer->status < 300) << "fault injection failed";
    faultsInjected_ = true;
  }

  void TearDown() override {
    CleanroomTest::TearDown();
    if (!faultsInjected_) return;
    auto control = cleanroom::makeHttpClient(cloud->url(), "the AWS mock");
    cleanroom::HttpRequest clear;
    clear.method = "DELETE";
    clear.target = "/__cleanroom/faults";
    if (control.ok()) (void)(*control)->send(clear, std::chrono::seconds(5));
  }

  fs::path logRoot_;
  AgentRuntime runtime_{logRoot_};
  bool faultsInjected_ = false;
};

TEST_F(EcsSessionsExample, ARequestShipsItsLogsThenItsTaskStops) {
  const EcsSession session = runtime_.startRequest("req-1");

  const PipelineReport report = runtime_.finishRequest("req-1");

  ASSERT_TRUE(report.ok) << report.summary();
  for (const StepReport& step : report.steps) {
    EXPECT_TRUE(step.ok()) << step.name << ": " << step.error;
  }
  // The task was stopped only after the upload had finished.
  const StepReport* upload = report.step("upload-logs");
  const StepReport* stop = report.step("stop-task");
  ASSERT_TRUE(upload && stop);
  EXPECT_GE(stop->startedAt, upload->startedAt + upload->duration);
  EXPECT_EQ(uploadedLogs("req-1"), std::vector<std::string>{"req-1/agent.log"});
  EXPECT_TRUE(engine().list(Selector::thisRun().activeOnly()).resources.empty())
      << "no task and no target of this run is left";
}

TEST_F(EcsSessionsExample, FinishingARequestTwiceIsHarmless) {
  runtime_.startRequest("req-twice");
  ASSERT_TRUE(runtime_.finishRequest("req-twice").ok);
  EXPECT_TRUE(runtime_.finishRequest("req-twice").ok) << "a second cleanup is a no-op success";
}

// A request the runtime never finished: CleanroomTest::TearDown cleans it,
// and the session's logs are shipped before its task is stopped.
class AbandonedRequest : public EcsSessionsExample {
 protected:
  void TearDown() override {
    EcsSessionsExample::TearDown();
    EXPECT_EQ(uploadedLogs("abandoned"), std::vector<std::string>{"abandoned/agent.log"});
    EXPECT_TRUE(cloud->sessions()->openSessions().empty());
  }
};

TEST_F(AbandonedRequest, IsCleanedByTearDownWithItsLogsFirst) {
  runtime_.startRequest("abandoned");
  // The runtime crashes here: finishRequest is never called.
}

TEST_F(EcsSessionsExample, AFailingUploadKeepsTheLogsAndStillStopsTheTask) {
  const EcsSession session = runtime_.startRequest("req-s3-down");
  breakS3();

  const PipelineReport report = runtime_.finishRequest("req-s3-down");

  const StepReport* upload = report.step("upload-logs");
  ASSERT_NE(upload, nullptr);
  EXPECT_FALSE(upload->ok()) << "S3 answered 500 to every attempt";
  EXPECT_NE(upload->detail.find("kept locally"), std::string::npos) << upload->detail;
  EXPECT_TRUE(fs::exists(session.logDirectory / "agent.log")) << "nothing is lost";
  EXPECT_TRUE(report.step("stop-task")->ok()) << "a failed upload never keeps a task running";
  EXPECT_TRUE(engine().list(Selector::thisRun().activeOnly()).resources.empty());
}

TEST_F(EcsSessionsExample, SeveralRequestsAtOnce) {
  for (const char* id : {"batch-1", "batch-2", "batch-3"}) runtime_.startRequest(id);
  EXPECT_EQ(cloud->sessions()->openSessions().size(), 3u);
  // TearDown cleans all three sessions in parallel, each logs first.
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  cleanroom::gtest::MockAwsOptions options;
  // Tasks start in 50 ms and take 300 ms to stop; targets drain for a minute.
  // (Use realistic delays, e.g. --task-stop-ms 3000, to see the pipeline's
  // parallelism in the traces.)
  options.extraArgs = {"--task-start-ms", "50", "--task-stop-ms", "300", "--deregistration-delay-ms", "60000"};
  // AWS_ENDPOINT_URL set (the demo's mock): use it instead of starting one.
  options.useRunningServicesFromEnvironment = true;
  cloud = new cleanroom::gtest::MockAwsEnvironment(options);
  ::testing::AddGlobalTestEnvironment(cloud);
  cleanroom::gtest::installCleanupTraceListener();
  return RUN_ALL_TESTS();
}
