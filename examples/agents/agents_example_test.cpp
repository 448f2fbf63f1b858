// The agents example: a gtest suite for a system that starts agents — copy
// it and replace the agent specs with your own.
//
// What it shows:
//  - tests derive from CleanroomTest: SetUp checks that nothing of this run
//    is still alive, TearDown stops whatever the test left running (graceful,
//    then forced after cleanupOptions.processExitDelay) and fails the test if
//    anything survives;
//  - no sleeps anywhere: waits end when the agent finishes
//    (waitForAgentTerminalState), teardown ends when the agents are gone;
//  - main() registers MockAgentsEnvironment (runs cleanroom-mock-agents as a
//    real process for the whole suite, or uses the agent API that
//    CLEANROOM_AGENTS_URL names) and the listener that prints the
//    cleanroom trace of a failed test.
//
// Run: CLEANROOM_MOCK_AGENTS_BIN=path/to/cleanroom-mock-agents ./cleanroom_example_agents
// CLEANROOM_EXAMPLE_EXIT_DELAY_MS="1000,3000" makes agents take 1–3 s to exit
// after a graceful stop, like real CLI agents (default "200,400").
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cleanroom/fixtures.h"

namespace {

using namespace std::chrono_literals;
using cleanroom::AgentSpec;
using cleanroom::Resource;
using cleanroom::Selector;
using cleanroom::waitForAgentTerminalState;

constexpr const char* kExitDelayVariable = "CLEANROOM_EXAMPLE_EXIT_DELAY_MS";

// Returns the mock's exitDelayMs: "MIN,MAX" → [MIN, MAX] (random in
// between), "N" → N.
nlohmann::json exitDelayMs() {
  const char* text = std::getenv(kExitDelayVariable);
  const std::string value = text != nullptr && *text != '\0' ? text : "200,400";
  try {
    const auto comma = value.find(',');
    if (comma == std::string::npos) return std::stoi(value);
    return nlohmann::json::array({std::stoi(value.substr(0, comma)), std::stoi(value.substr(comma + 1))});
  } catch (const std::exception&) {
    throw std::invalid_argument(std::string(kExitDelayVariable) + "=" + value +
                                " is not valid: use milliseconds, e.g. 500 or 1000,3000");
  }
}

// Returns the longest exit delay exitDelayMs() allows.
std::chrono::milliseconds longestExitDelay() {
  const nlohmann::json delay = exitDelayMs();
  return std::chrono::milliseconds(delay.is_array() ? delay[1].get<int>() : delay.get<int>());
}

// An agent that runs until stopped and then takes a while to exit, backed
// by a real child process in the mock.
AgentSpec slowAgent(const std::string& name) {
  AgentSpec spec;
  spec.name = name;
  spec.prompt = "summarise the repository";
  spec.behavior = {{"exitDelayMs", exitDelayMs()}, {"realProcess", true}};
  return spec;
}

// An agent that finishes by itself after `runMs` with `outcome`, and stays
// listed for a while after it finished.
AgentSpec taskAgent(const std::string& name, int runMs, const std::string& outcome) {
  AgentSpec spec;
  spec.name = name;
  spec.prompt = "fix the failing test";
  spec.behavior = {{"runMs", runMs}, {"outcome", outcome}, {"realProcess", true}, {"lingerMs", 60000}};
  return spec;
}

class AgentsExample : public cleanroom::gtest::CleanroomTest {};

TEST_F(AgentsExample, SlowAgentIsStoppedByTearDown) {
  Resource agent = createAgent(slowAgent("slow-1"));
  EXPECT_FALSE(cleanroom::isFinished(agent.state)) << agent.status;
  // Nothing else to do: TearDown stops it and returns as soon as it exited.
}

TEST_F(AgentsExample, SeveralAgentsAtOnce) {
  for (int i = 1; i <= 5; ++i) createAgent(slowAgent("batch-" + std::to_string(i)));
  cleanroom::Inventory alive = engine().list(Selector::thisRun().activeOnly());
  ASSERT_TRUE(alive.ok()) << alive.errors.front();
  EXPECT_EQ(alive.resources.size(), 5u);
  // TearDown stops all five in parallel.
}

TEST_F(AgentsExample, AgentIgnoringSigtermIsForcedAfterTheGracePeriod) {
  // Give well-behaved agents just enough time to exit gracefully (an upper
  // bound, not a sleep); the stubborn one is forced when it runs out.
  cleanupOptions.processExitDelay = longestExitDelay() + 500ms;
  AgentSpec stubborn = slowAgent("ignores-sigterm");
  stubborn.behavior["ignoreSigterm"] = true;
  createAgent(stubborn);
  createAgent(slowAgent("well-behaved"));
}

TEST_F(AgentsExample, WaitForAnAgentToComplete) {
  Resource agent = createAgent(taskAgent("short-task", 100, "completed"));
  EXPECT_EQ(waitForAgentTerminalState(agents(), agent.id, 30s), "completed");
}

TEST_F(AgentsExample, WaitReportsAFailedAgent) {
  Resource agent = createAgent(taskAgent("doomed-task", 50, "failed"));
  EXPECT_EQ(waitForAgentTerminalState(agents(), agent.id, 30s), "failed");
}

TEST_F(AgentsExample, WaitReportsAStoppedAgent) {
  AgentSpec spec = slowAgent("stop-me");
  spec.behavior["lingerMs"] = 60000;
  Resource agent = createAgent(spec);
  cleanroom::Status stop = agents().requestStop(agent, cleanroom::StopMode::Graceful);
  ASSERT_TRUE(stop.ok()) << stop.error().describe();
  EXPECT_EQ(waitForAgentTerminalState(agents(), agent.id, 30s), "terminated");
}

TEST_F(AgentsExample, OneFinishesTheRestAreLeftForTearDown) {
  Resource task = createAgent(taskAgent("finishes", 100, "completed"));
  createAgent(slowAgent("left-running-1"));
  createAgent(slowAgent("left-running-2"));
  EXPECT_EQ(waitForAgentTerminalState(agents(), task.id, 30s), "completed");
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Runs against the agent API in CLEANROOM_AGENTS_URL when set (the demo
  // starts a mock and points this at it), else starts cleanroom-mock-agents.
  cleanroom::gtest::MockAgentsOptions options;
  options.useRunningApiFromEnvironment = true;
  // gtest owns the environment and deletes it after RUN_ALL_TESTS().
  ::testing::AddGlobalTestEnvironment(new cleanroom::gtest::MockAgentsEnvironment(options));
  cleanroom::gtest::installCleanupTraceListener();
  return RUN_ALL_TESTS();
}
