// End-to-end tests of the `cleanroom` CLI on ECS sessions: the real binary
// against a real cleanroom-mock-aws process. Sessions are launched and
// cleaned in-process (EcsSessionSite, EcsSessions) the way an agent runtime
// would; the CLI then lists a run's ECS tasks, ALB targets and S3 log
// uploads (`ls`) and sweeps what is left (`sweep`) — stopping tasks and
// deregistering targets, never deleting an upload. Every assertion reads
// what the CLI printed and exited with and what the mock says happened.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/aws/aws_client.h"
#include "cleanroom/aws/ecs_session_site.h"
#include "cleanroom/aws/ecs_sessions.h"
#include "cleanroom/backends/ecs_backend.h"
#include "cleanroom/journal.h"
#include "mock_server_process.h"
#include "run_command.h"
#include "scoped_env.h"

namespace cleanroom::e2e {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using tests::MockServerProcess;

std::string uniqueRunId(const std::string& what) {
  static std::atomic<int> counter{0};
  return "cla-" + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

json parseJson(const CommandResult& result) {
  json parsed = json::parse(result.out, nullptr, false);
  if (parsed.is_discarded()) ADD_FAILURE() << "stdout is not JSON:\n" << result.describe();
  return parsed;
}

// "<backend> <state>" of every listed resource, sorted.
std::vector<std::string> backendsAndStates(const json& resources) {
  std::vector<std::string> found;
  for (const auto& r : resources) found.push_back(r.at("backend").get<std::string>() + " " + r.at("state").get<std::string>());
  std::sort(found.begin(), found.end());
  return found;
}

class CliAwsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/crcl-aws-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    directory_ = pattern;
    journals_ = std::make_unique<tests::ScopedEnv>(kJournalDirVariable, (directory_ / "journals").string());
    mock_ = std::make_unique<MockServerProcess>(
        CLEANROOM_MOCK_AWS_PATH, std::vector<std::string>{"--task-start-ms", "20", "--task-stop-ms", "200",
                                                          "--deregistration-delay-ms", "600000"});
    aws::AwsConfig config;
    config.region = "us-east-1";
    config.credentials = {"cleanroom", "cleanroom-secret", ""};
    config.endpoints[""] = mock_->url();
    client_ = std::make_shared<aws::AwsClient>(config);
    auto site = aws::EcsSessionSite::provision(client_, {});
    ASSERT_TRUE(site.ok()) << site.error().describe();
    site_ = std::make_unique<aws::EcsSessionSite>(std::move(site).value());
    EcsBackendOptions options;
    options.aws = config;
    options.clusters = {site_->spec().cluster};
    tasks_ = std::make_unique<EcsBackend>(options);
    run_ = uniqueRunId("a");
  }

  void TearDown() override {
    tasks_.reset();
    if (mock_) {
      const ChildProcess::Ending ending = mock_->process().stop(std::chrono::seconds(10));
      EXPECT_TRUE(ending.graceful) << "the mock did not stop on SIGTERM: " << ending.description;
    }
    journals_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  // The environment of a CLI run: the mock and the site configured, nothing
  // inherited that could point the CLI elsewhere.
  EnvironmentChanges environment() const {
    return {{"CLEANROOM_RUN_ID", std::nullopt},
            {"CLEANROOM_AGENTS_URL", std::nullopt},
            {"CLEANROOM_TMUX", std::nullopt},
            {"CLEANROOM_TMUX_SOCKET", std::nullopt},
            {"CLEANROOM_WORKSPACE", std::nullopt},
            {"CLEANROOM_LOG", std::nullopt},
            {"DOCKER_HOST", std::nullopt},
            {"DAYTONA_API_URL", std::nullopt},
            {"CLEANROOM_JOURNAL_DIR", (directory_ / "journals").string()},
            {"AWS_ENDPOINT_URL", mock_->url()},
            {"AWS_ENDPOINT_URL_ECS", std::nullopt},
            {"AWS_ENDPOINT_URL_S3", std::nullopt},
            {"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", std::nullopt},
            {"AWS_ACCESS_KEY_ID", "cleanroom"},
            {"AWS_SECRET_ACCESS_KEY", "cleanroom-secret"},
            {"AWS_SESSION_TOKEN", std::nullopt},
            {"AWS_REGION", "us-east-1"},
            {"CLEANROOM_ECS_CLUSTER", site_->spec().cluster},
            {"CLEANROOM_ALB_TARGET_GROUPS", site_->targetGroupArn()},
            {"CLEANROOM_LOG_BUCKET", site_->spec().logBucket},
            {"CLEANROOM_LOG_PREFIX", site_->spec().logKeyPrefix}};
  }

  CommandResult cli(const std::vector<std::string>& args, const EnvironmentChanges& changes = {}) {
    std::vector<std::string> argv{CLEANROOM_CLI_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    EnvironmentChanges env = environment();
    for (const auto& [name, value] : changes) env[name] = value;
    return runCommand(argv, env);
  }

  // Launches a session of `runId` (task + target) with one log file.
  aws::EcsSession launch(const std::string& runId, const std::string& id) {
    const std::filesystem::path logs = directory_ / runId / id;
    std::filesystem::create_directories(logs);
    std::ofstream(logs / "agent.log") << "session " << id << "\n";
    auto session = site_->launch(*tasks_, id, logs, std::chrono::seconds(10), runId);
    if (!session.ok()) throw std::runtime_error(session.error().describe());
    return *session;
  }

  // Runs the per-request cleanup of `session` (logs shipped, target
  // deregistered, task stopped).
  void finish(const aws::EcsSession& session) {
    aws::EcsSessionsOptions options;
    options.runId = session.runId;
    options.journal = false;
    options.failSafe = false;
    aws::EcsSessions sessions(std::make_shared<aws::AwsSessionApi>(client_), *tasks_, options);
    ASSERT_TRUE(sessions.open(session).ok());
    const PipelineReport report = sessions.cleanup(session.id);
    ASSERT_TRUE(report.ok) << report.summary();
  }

  std::string taskStatus(const std::string& arn) {
    auto task = tasks_->describeTask(arn);
    return task.ok() ? task->lastStatus : "gone";
  }

  std::string targetState(const std::string& ip) {
    const json state = mock_->get("/__cleanroom/state");
    for (const auto& group : state.at("targetGroups")) {
      for (const auto& target : group.at("targets")) {
        if (target.at("id") == ip) return target.at("state");
      }
    }
    return "unregistered";
  }

  std::vector<std::string> uploadedKeys() {
    std::vector<std::string> keys;
    const json buckets = mock_->get("/__cleanroom/state").at("s3").at("buckets");
    for (const auto& [key, object] : buckets.at(site_->spec().logBucket).at("objects").items()) keys.push_back(key);
    return keys;
  }

  std::filesystem::path directory_;
  std::unique_ptr<tests::ScopedEnv> journals_;
  std::unique_ptr<MockServerProcess> mock_;
  std::shared_ptr<aws::AwsClient> client_;
  std::unique_ptr<aws::EcsSessionSite> site_;
  std::unique_ptr<EcsBackend> tasks_;
  std::string run_;
};

TEST_F(CliAwsTest, LsListsTheRunsTasksTargetsAndUploads) {
  const aws::EcsSession done = launch(run_, "done");
  finish(done);
  const aws::EcsSession open = launch(run_, "open");
  const std::string other = uniqueRunId("b");
  launch(other, "theirs");

  CommandResult ls = cli({"ls", "--run-id", run_, "--json"});

  EXPECT_EQ(ls.exitCode, 1) << "a task and a target are still active\n" << ls.describe();
  const json listed = parseJson(ls);
  ASSERT_TRUE(listed.is_array()) << ls.describe();
  EXPECT_THAT(backendsAndStates(listed),
              ::testing::ElementsAre("alb running", "alb terminal", "ecs running", "ecs terminal", "s3 terminal"))
      << ls.out;
  for (const auto& r : listed) {
    EXPECT_EQ(r.at("runId"), run_) << r.dump();
    if (r.at("backend") == "s3") {
      EXPECT_EQ(r.at("name"), "done/agent.log");
    }
    if (r.at("backend") == "ecs" && r.at("state") == "running") {
      EXPECT_EQ(r.at("id"), open.taskArn);
    }
    if (r.at("backend") == "alb" && r.at("state") == "running") {
      EXPECT_THAT(r.at("id").get<std::string>(), HasSubstr(open.targetIp));
    }
  }
}

TEST_F(CliAwsTest, LsTableNamesEachBackend) {
  finish(launch(run_, "done"));
  launch(run_, "open");

  CommandResult ls = cli({"ls", "--run-id", run_});

  EXPECT_EQ(ls.exitCode, 1) << ls.describe();
  for (const char* backend : {"ecs", "alb", "s3"}) EXPECT_THAT(ls.out, HasSubstr(backend));
  EXPECT_THAT(ls.out, HasSubstr("done/agent.log"));
}

TEST_F(CliAwsTest, SweepStopsTasksDeregistersTargetsAndKeepsUploads) {
  const aws::EcsSession done = launch(run_, "done");
  finish(done);
  const aws::EcsSession left = launch(run_, "left");
  const aws::EcsSession theirs = launch(uniqueRunId("b"), "theirs");
  const std::vector<std::string> uploadsBefore = uploadedKeys();

  CommandResult sweep = cli({"sweep", "--run-id", run_, "--json"});

  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  const json report = parseJson(sweep);
  EXPECT_EQ(report.at("success"), true) << sweep.out;
  EXPECT_EQ(report.at("totals").at("cleaned"), 2) << "the left task and its target";
  EXPECT_EQ(taskStatus(left.taskArn), "STOPPED");
  EXPECT_EQ(targetState(left.targetIp), "draining");
  EXPECT_EQ(taskStatus(theirs.taskArn), "RUNNING") << "another run's task is untouched";
  EXPECT_NE(targetState(theirs.targetIp), "draining") << "another run's target is untouched";
  EXPECT_EQ(uploadedKeys(), uploadsBefore) << "logs are never deleted";

  CommandResult after = cli({"ls", "--run-id", run_});
  EXPECT_EQ(after.exitCode, 0) << "nothing active is left\n" << after.describe();
}

TEST_F(CliAwsTest, AMissingTargetGroupSettingIsAUsageErrorNamingIt) {
  CommandResult ls = cli({"ls", "--run-id", run_, "--backend", "alb"}, {{"CLEANROOM_ALB_TARGET_GROUPS", std::nullopt}});

  EXPECT_EQ(ls.exitCode, 2) << ls.describe();
  EXPECT_THAT(ls.err, HasSubstr("CLEANROOM_ALB_TARGET_GROUPS"));
}

TEST_F(CliAwsTest, AMissingBucketIsNamed) {
  CommandResult ls = cli({"ls", "--run-id", run_, "--backend", "s3"}, {{"CLEANROOM_LOG_BUCKET", "no-such-bucket"}});

  EXPECT_NE(ls.exitCode, 0) << ls.describe();
  EXPECT_THAT(ls.err, HasSubstr("no-such-bucket"));
}

}  // namespace
}  // namespace cleanroom::e2e
