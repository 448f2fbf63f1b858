#include "cleanroom/mocks/agents/agent_store.h"

#include <future>

#include <gtest/gtest.h>

#include "process_probe.h"

namespace cleanroom::mocks {
namespace {

using namespace std::chrono_literals;
using testing::childrenOfThisProcess;
using testing::processIsGone;

// Waits return on the event; this bound only keeps a broken store from hanging the run.
constexpr auto kEventually = 10s;

AgentSpec specWith(AgentBehavior behavior = {}, std::map<std::string, std::string> labels = {}) {
  AgentSpec spec;
  spec.type = "claude";
  spec.prompt = "do it";
  spec.labels = std::move(labels);
  spec.behavior = behavior;
  return spec;
}

AgentBehavior exitingAfter(std::int64_t exitDelayMs, bool realProcess = false) {
  AgentBehavior behavior;
  behavior.exitDelayMinMs = behavior.exitDelayMaxMs = exitDelayMs;
  behavior.realProcess = realProcess;
  return behavior;
}

class AgentStoreTest : public ::testing::Test {
 protected:
  Agent create(AgentBehavior behavior = {}, std::map<std::string, std::string> labels = {}) {
    auto agent = store_.create(specWith(behavior, std::move(labels)));
    EXPECT_TRUE(agent.has_value());
    return agent.value_or(Agent{});
  }

  Agent waitTerminal(const std::string& id) {
    auto agent = store_.waitUntilTerminal(id, kEventually);
    EXPECT_TRUE(agent.has_value());
    return agent.value_or(Agent{});
  }

  AgentStore store_;
};

TEST_F(AgentStoreTest, CreatesARunningAgentWithIdNameAndTimestamps) {
  auto agent = create();
  EXPECT_EQ(agent.id.rfind("ag-", 0), 0u);
  EXPECT_EQ(agent.id.size(), 19u);
  EXPECT_EQ(agent.spec.name, "claude-" + agent.id.substr(3, 6));
  EXPECT_EQ(agent.status, AgentStatus::running);
  EXPECT_LE(agent.createdAt, agent.updatedAt);
  EXPECT_FALSE(agent.pid);
}

TEST_F(AgentStoreTest, StaysPendingForStartMs) {
  AgentBehavior behavior;
  behavior.startMs = 60000;
  auto agent = create(behavior);
  EXPECT_EQ(agent.status, AgentStatus::pending);
  auto stopped = store_.stop(agent.id, StopMode::graceful);
  EXPECT_EQ(stopped.kind, StopResult::Kind::accepted);
  EXPECT_EQ(waitTerminal(agent.id).status, AgentStatus::terminated);
}

TEST_F(AgentStoreTest, EndsWithTheOutcomeWhenRunMsElapses) {
  AgentBehavior completes;
  completes.runMs = 20;
  AgentBehavior fails = completes;
  fails.outcome = AgentOutcome::failed;
  auto completed = waitTerminal(create(completes).id);
  auto failed = waitTerminal(create(fails).id);
  EXPECT_EQ(completed.status, AgentStatus::completed);
  EXPECT_EQ(completed.exitCode, 0);
  EXPECT_EQ(completed.statusReason, "runMs elapsed");
  EXPECT_EQ(failed.status, AgentStatus::failed);
  EXPECT_EQ(failed.exitCode, 1);
}

TEST_F(AgentStoreTest, GracefulStopTerminatesAfterTheExitDelay) {
  auto agent = create(exitingAfter(100));
  auto stopped = store_.stop(agent.id, StopMode::graceful);
  ASSERT_EQ(stopped.kind, StopResult::Kind::accepted);
  EXPECT_EQ(stopped.agent->status, AgentStatus::terminating);
  auto ended = waitTerminal(agent.id);
  EXPECT_EQ(ended.status, AgentStatus::terminated);
  EXPECT_EQ(ended.statusReason, "sigterm");
  EXPECT_EQ(ended.exitCode, 143);
}

TEST_F(AgentStoreTest, IgnoringSigtermKeepsTerminatingUntilForced) {
  AgentBehavior behavior;
  behavior.ignoreSigterm = true;
  auto agent = create(behavior);
  EXPECT_EQ(store_.stop(agent.id, StopMode::graceful).agent->status, AgentStatus::terminating);
  EXPECT_EQ(store_.stop(agent.id, StopMode::graceful).agent->status, AgentStatus::terminating);
  EXPECT_EQ(store_.waitUntilTerminal(agent.id, 100ms)->status, AgentStatus::terminating);
  auto forced = store_.stop(agent.id, StopMode::force);
  EXPECT_EQ(forced.kind, StopResult::Kind::accepted);
  auto ended = waitTerminal(agent.id);
  EXPECT_EQ(ended.status, AgentStatus::terminated);
  EXPECT_EQ(ended.statusReason, "sigkill");
  EXPECT_EQ(ended.exitCode, 137);
}

TEST_F(AgentStoreTest, StoppingATerminalAgentPurgesIt) {
  AgentBehavior behavior;
  behavior.runMs = 0;
  auto agent = create(behavior);
  waitTerminal(agent.id);
  auto purged = store_.stop(agent.id, StopMode::graceful);
  EXPECT_EQ(purged.kind, StopResult::Kind::purged);
  EXPECT_EQ(purged.agent->status, AgentStatus::completed);
  EXPECT_FALSE(store_.find(agent.id));
  EXPECT_EQ(store_.stop(agent.id, StopMode::graceful).kind, StopResult::Kind::notFound);
}

TEST_F(AgentStoreTest, TerminalAgentsDisappearAfterTheirLingerTime) {
  AgentBehavior behavior;
  behavior.runMs = 0;
  behavior.lingerMs = 50;
  auto agent = create(behavior);
  EXPECT_TRUE(store_.waitUntilGone(agent.id, kEventually));
  EXPECT_FALSE(store_.find(agent.id));
  EXPECT_FALSE(store_.waitUntilTerminal(agent.id, kEventually));
}

TEST(AgentStoreOptionsTest, DefaultLingerComesFromTheOptions) {
  AgentStore store(AgentStoreOptions{0ms});
  AgentBehavior behavior;
  behavior.runMs = 0;
  auto agent = store.create(specWith(behavior));
  ASSERT_TRUE(agent);
  EXPECT_TRUE(store.waitUntilGone(agent->id, kEventually));
}

TEST_F(AgentStoreTest, ListsOldestFirstAndFiltersByLabelsAndStatus) {
  auto a = create({}, {{"run", "r1"}, {"team", "x"}});
  auto b = create({}, {{"run", "r1"}});
  auto c = create({}, {{"run", "r2"}});
  store_.stop(c.id, StopMode::force);
  ASSERT_EQ(store_.list().size(), 3u);
  EXPECT_EQ(store_.list()[0].id, a.id);
  AgentFilter byRun{{{"run", "r1"}}, {}};
  EXPECT_EQ(store_.list(byRun).size(), 2u);
  AgentFilter byRunAndTeam{{{"run", "r1"}, {"team", "x"}}, {}};
  EXPECT_EQ(store_.list(byRunAndTeam).size(), 1u);
  AgentFilter terminated{{}, {AgentStatus::terminated, AgentStatus::failed}};
  ASSERT_EQ(store_.list(terminated).size(), 1u);
  EXPECT_EQ(store_.list(terminated)[0].id, c.id);
  EXPECT_EQ(b.status, AgentStatus::running);
}

TEST_F(AgentStoreTest, ShutdownWakesWaitersAndRefusesNewAgents) {
  auto agent = create();
  auto waiter = std::async(std::launch::async, [&] { return store_.waitUntilTerminal(agent.id, 60s); });
  store_.shutdown();
  waiter.get();  // returned: with the agent as it was, or nothing once shutdown dropped it
  EXPECT_FALSE(store_.create(specWith()));
  EXPECT_EQ(store_.stop(agent.id, StopMode::force).kind, StopResult::Kind::unavailable);
}

TEST_F(AgentStoreTest, RealProcessRunsInItsOwnProcessGroupUntilStopped) {
  auto agent = create(exitingAfter(100, /*realProcess=*/true));
  ASSERT_TRUE(agent.pid);
  const pid_t pid = *agent.pid;
  EXPECT_EQ(agent.status, AgentStatus::running);
  EXPECT_EQ(::kill(pid, 0), 0);
  EXPECT_EQ(::getpgid(pid), pid);
  store_.stop(agent.id, StopMode::graceful);
  auto ended = waitTerminal(agent.id);
  EXPECT_EQ(ended.status, AgentStatus::terminated);
  EXPECT_EQ(ended.statusReason, "sigterm");
  EXPECT_EQ(ended.exitCode, 143);
  EXPECT_TRUE(processIsGone(pid));  // reaped before the status changed
}

TEST_F(AgentStoreTest, RealProcessIgnoringSigtermDiesOnlyWhenForced) {
  AgentBehavior behavior;
  behavior.realProcess = true;
  behavior.ignoreSigterm = true;
  auto agent = create(behavior);
  ASSERT_TRUE(agent.pid);
  store_.stop(agent.id, StopMode::graceful);
  EXPECT_EQ(store_.waitUntilTerminal(agent.id, 150ms)->status, AgentStatus::terminating);
  EXPECT_EQ(::kill(*agent.pid, 0), 0);
  store_.stop(agent.id, StopMode::force);
  auto ended = waitTerminal(agent.id);
  EXPECT_EQ(ended.status, AgentStatus::terminated);
  EXPECT_EQ(ended.statusReason, "sigkill");
  EXPECT_EQ(ended.exitCode, 137);
  EXPECT_TRUE(processIsGone(*agent.pid));
}

TEST_F(AgentStoreTest, RealProcessExitsWithItsOutcomeAfterRunMs) {
  AgentBehavior behavior;
  behavior.realProcess = true;
  behavior.runMs = 30;
  behavior.outcome = AgentOutcome::failed;
  auto agent = create(behavior);
  auto ended = waitTerminal(agent.id);
  EXPECT_EQ(ended.status, AgentStatus::failed);
  EXPECT_EQ(ended.exitCode, 1);
  EXPECT_EQ(ended.statusReason, "runMs elapsed");
  EXPECT_TRUE(processIsGone(*agent.pid));
}

TEST_F(AgentStoreTest, ResetKillsAndReapsEveryChild) {
  std::vector<pid_t> pids;
  for (int i = 0; i < 3; ++i) pids.push_back(*create(exitingAfter(60000, true)).pid);
  store_.reset();
  for (pid_t pid : pids) EXPECT_TRUE(processIsGone(pid)) << pid;
  EXPECT_TRUE(store_.list().empty());
  EXPECT_TRUE(childrenOfThisProcess().empty());
  EXPECT_TRUE(create(exitingAfter(0, true)).pid.has_value());  // still usable after a reset
}

TEST(AgentStoreLifetimeTest, DestructionKillsAndReapsEveryChild) {
  pid_t pid = 0;
  {
    AgentStore store;
    AgentBehavior behavior;
    behavior.realProcess = true;
    behavior.ignoreSigterm = true;
    pid = *store.create(specWith(behavior))->pid;
  }
  EXPECT_TRUE(processIsGone(pid));
  EXPECT_TRUE(childrenOfThisProcess().empty());
}

}  // namespace
}  // namespace cleanroom::mocks
