// A gtest program that is killed on purpose by reaper_e2e_test.cpp: with the
// MockAgentsEnvironment and LocalAgentsEnvironment (fail-safe and reaper
// armed, as any suite has them), its one test starts everything cleanroom
// can clean — agents behind the REST mock (real processes), tmux sessions
// (one with a process that escaped with setsid), a launched process, and an
// agent's prompt file and log — prints "holding <tmux socket> <workspace>"
// and waits to be killed. When DOCKER_HOST and DAYTONA_API_URL (+ key) are
// set, the MockContainersEnvironment attaches to those servers (started by
// the test, so they outlive this program like a real daemon would) and the
// test also holds two containers (one ignores SIGTERM) and two sandboxes
// (one slow to stop). When AWS_ENDPOINT_URL is set (an AWS mock the test
// started), the MockAwsEnvironment attaches to it and the test also holds
// two ECS sessions — tasks registered as ALB targets, one with a log file in
// $TMPDIR/doomed-logs-<run id>/ — and a task without a session.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <gtest/gtest.h>

#include "cleanroom/fixtures.h"
#include "cleanroom/run.h"

namespace {

cleanroom::gtest::MockAgentsEnvironment* agentsEnvironment = nullptr;
cleanroom::gtest::LocalAgentsEnvironment* localEnvironment = nullptr;
cleanroom::gtest::MockContainersEnvironment* containersEnvironment = nullptr;
cleanroom::gtest::MockAwsEnvironment* awsEnvironment = nullptr;

void holdEcsSessions() {
  const std::filesystem::path logs =
      std::filesystem::temp_directory_path() / ("doomed-logs-" + cleanroom::run::id()) / "s1";
  std::filesystem::create_directories(logs);
  std::ofstream(logs / "agent.log") << "session s1 of " << cleanroom::run::id() << "\n";
  auto withLogs = awsEnvironment->launchSession("s1", logs);
  ASSERT_TRUE(withLogs.ok()) << withLogs.error().describe();
  auto withoutLogs = awsEnvironment->launchSession("s2");
  ASSERT_TRUE(withoutLogs.ok()) << withoutLogs.error().describe();
  cleanroom::EcsTaskSpec bare;
  bare.taskDefinition = awsEnvironment->site().spec().taskFamily;
  auto task = awsEnvironment->ecs()->runTask(bare);
  ASSERT_TRUE(task.ok()) << task.error().describe();
}

void holdContainersAndSandboxes() {
  cleanroom::DockerContainerSpec slow;
  slow.name = "doomed-slow-" + cleanroom::run::id();
  slow.env["CLEANROOM_MOCK_EXIT_DELAY_MS"] = "200";
  ASSERT_TRUE(containersEnvironment->docker()->createContainer(slow).ok());
  cleanroom::DockerContainerSpec stubborn;
  stubborn.name = "doomed-stubborn-" + cleanroom::run::id();
  stubborn.env["CLEANROOM_MOCK_IGNORE_SIGTERM"] = "1";
  ASSERT_TRUE(containersEnvironment->docker()->createContainer(stubborn).ok());
  cleanroom::DaytonaSandboxSpec plain;
  plain.name = "doomed-sandbox-" + cleanroom::run::id();
  ASSERT_TRUE(containersEnvironment->daytona()->createSandbox(plain).ok());
  cleanroom::DaytonaSandboxSpec slowToStop;
  slowToStop.name = "doomed-slow-sandbox-" + cleanroom::run::id();
  slowToStop.extra = {{"cleanroom", {{"stopDelayMs", 300}}}};
  ASSERT_TRUE(containersEnvironment->daytona()->createSandbox(slowToStop).ok());
}

TEST(Doomed, HoldsEverythingUntilKilled) {
  for (int i = 0; i < 2; ++i) {
    cleanroom::AgentSpec spec;
    spec.behavior = {{"realProcess", true}, {"exitDelayMs", 200}};
    auto agent = agentsEnvironment->agents()->createAgent(spec);
    ASSERT_TRUE(agent.ok()) << agent.error().describe();
  }
  auto& tmux = *localEnvironment->tmux();
  cleanroom::TmuxSessionSpec plain;
  plain.suffix = "a1";
  plain.command = "sleep 600";
  ASSERT_TRUE(tmux.createSession(plain).ok());
  cleanroom::TmuxSessionSpec escaping;
  escaping.suffix = "a2";
  escaping.command = "(trap '' TERM HUP; exec setsid sleep 600) & sleep 600";
  ASSERT_TRUE(tmux.createSession(escaping).ok());
  cleanroom::LaunchOptions quiet;
  quiet.outputPath = "/dev/null";
  ASSERT_TRUE(localEnvironment->processes()->launch({"/bin/sleep", "600"}, quiet).ok());
  const std::filesystem::path workspace = localEnvironment->workspacePath();
  std::filesystem::create_directories(workspace / "logs");
  std::ofstream(workspace / "agent_prompt_a1.txt") << "do the task\n";
  std::ofstream(workspace / "logs" / "a1_stream.jsonl") << "{\"event\":\"start\"}\n";
  if (containersEnvironment != nullptr) {
    holdContainersAndSandboxes();
    if (HasFatalFailure()) return;
  }

  if (awsEnvironment != nullptr) {
    holdEcsSessions();
    if (HasFatalFailure()) return;
  }

  std::cout << "holding " << localEnvironment->socketPath() << " " << workspace.string() << std::endl;
  for (;;) ::pause();
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  cleanroom::gtest::MockAgentsOptions agents;
  agents.binary = CLEANROOM_MOCK_AGENTS_PATH;
  agentsEnvironment = new cleanroom::gtest::MockAgentsEnvironment(agents);
  localEnvironment = new cleanroom::gtest::LocalAgentsEnvironment();
  ::testing::AddGlobalTestEnvironment(agentsEnvironment);
  ::testing::AddGlobalTestEnvironment(localEnvironment);
  if (std::getenv("DOCKER_HOST") != nullptr && std::getenv("DAYTONA_API_URL") != nullptr) {
    cleanroom::gtest::MockContainersOptions containers;
    containers.useRunningServicesFromEnvironment = true;
    containersEnvironment = new cleanroom::gtest::MockContainersEnvironment(containers);
    ::testing::AddGlobalTestEnvironment(containersEnvironment);
  }
  if (std::getenv("AWS_ENDPOINT_URL") != nullptr) {
    cleanroom::gtest::MockAwsOptions aws;
    aws.useRunningServicesFromEnvironment = true;
    awsEnvironment = new cleanroom::gtest::MockAwsEnvironment(aws);
    ::testing::AddGlobalTestEnvironment(awsEnvironment);
  }
  return RUN_ALL_TESTS();
}
