// A user's suite against an installed cleanroom: the mock agent API as a
// suite-wide Environment, a CleanroomTest fixture per test, and the CLI
// target exported by the package.
#include <unistd.h>

#include <chrono>

#include <gtest/gtest.h>

#include <cleanroom/engine.h>
#include <cleanroom/fixtures.h>
#include <cleanroom/run.h>

namespace {

class ConsumerAgentsTest : public cleanroom::gtest::CleanroomTest {};

TEST_F(ConsumerAgentsTest, AgentRunsToCompletion) {
  cleanroom::AgentSpec spec;
  spec.name = "consumer-agent";
  spec.prompt = "say hello";
  spec.behavior = {{"runMs", 20}};
  cleanroom::Resource agent = createAgent(spec);

  EXPECT_EQ(cleanroom::waitForAgentTerminalState(agents(), agent.id, std::chrono::seconds(30)), "completed");
}

TEST_F(ConsumerAgentsTest, RunningAgentIsOwnedByThisRunAndCleanedInTearDown) {
  cleanroom::AgentSpec spec;
  spec.prompt = "keep running";
  spec.behavior = {{"exitDelayMs", 50}};
  cleanroom::Resource agent = createAgent(spec);

  EXPECT_EQ(agent.runId, cleanroom::run::id());
  cleanroom::Inventory inventory = engine().list(cleanroom::Selector::thisRun().activeOnly());
  ASSERT_TRUE(inventory.ok());
  EXPECT_EQ(inventory.resources.size(), 1u);
}

TEST(ConsumerPackage, ExportsTheCli) {
  EXPECT_EQ(access(CLEANROOM_CLI, X_OK), 0) << CLEANROOM_CLI;
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new cleanroom::gtest::MockAgentsEnvironment());
  return RUN_ALL_TESTS();
}
