// ContainerStore: the container state machine over real child processes.
// Every wait here is a blocking call that returns on the real event (the
// child's exit as waitid reports it); nothing sleeps.
#include "cleanroom/mocks/docker/container_store.h"

#include <signal.h>

#include <future>

#include <gtest/gtest.h>

#include "cleanroom/mocks/docker/docker_json.h"
#include "process_probe.h"

namespace cleanroom::mocks::docker {
namespace {

using testing::processIsGone;
using std::chrono::seconds;

ContainerSpec specWith(std::string name, std::vector<std::string> env = {},
                       std::map<std::string, std::string> labels = {}) {
  ContainerSpec spec;
  spec.name = std::move(name);
  spec.image = "alpine:3";
  spec.cmd = {"sleep", "300"};
  spec.env = std::move(env);
  spec.labels = std::move(labels);
  auto behavior = ContainerBehavior::fromEnv(spec.env);
  EXPECT_TRUE(behavior.ok()) << behavior.message();
  if (behavior.ok()) spec.behavior = behavior.value();
  return spec;
}

// Creates and starts a container; returns its id.
std::string run(ContainerStore& store, ContainerSpec spec) {
  Container created;
  EXPECT_TRUE(store.create(std::move(spec), &created).ok());
  EXPECT_TRUE(store.start(created.id).ok());
  return created.id;
}

TEST(ContainerStoreTest, CreatedContainerHasDockerZeroTimesAndNoProcess) {
  ContainerStore store;
  Container created;
  ASSERT_TRUE(store.create(specWith("fresh"), &created).ok());
  EXPECT_EQ(created.id.size(), 64u);
  EXPECT_EQ(created.status, ContainerStatus::created);
  EXPECT_EQ(created.pid, 0);
  EXPECT_EQ(formatTime(created.startedAt), "0001-01-01T00:00:00Z");
  EXPECT_EQ(store.find("/fresh")->id, created.id);
  EXPECT_EQ(store.find(created.id.substr(0, 12))->id, created.id);
  EXPECT_EQ(store.create(specWith("fresh")).kind, Outcome::Kind::conflict);
  EXPECT_EQ(store.create(specWith("bad name!")).kind, Outcome::Kind::badRequest);
}

TEST(ContainerStoreTest, AgeVariableBackDatesCreated) {
  ContainerStore store;
  Container young;
  Container old;
  ASSERT_TRUE(store.create(specWith("young"), &young).ok());
  ASSERT_TRUE(store.create(specWith("old", {"CLEANROOM_MOCK_AGE_MS=172800000"}), &old).ok());
  const auto gap = std::chrono::duration_cast<std::chrono::hours>(young.created - old.created);
  EXPECT_GE(gap.count(), 47);
  EXPECT_LE(gap.count(), 48);
}

TEST(ContainerStoreTest, StopSendsSigtermAndTheProcessExitsAfterItsDelayWith143) {
  ContainerStore store;
  const std::string id = run(store, specWith("slow", {"CLEANROOM_MOCK_EXIT_DELAY_MS=200"}));
  const auto running = store.find(id);
  ASSERT_EQ(running->status, ContainerStatus::running);
  ASSERT_GT(running->pid, 0);
  EXPECT_FALSE(processIsGone(running->pid));

  EXPECT_TRUE(store.stop(id, std::nullopt, seconds(30)).ok());
  const auto stopped = store.find(id);
  EXPECT_EQ(stopped->status, ContainerStatus::exited);
  EXPECT_EQ(stopped->exitCode, 143);
  EXPECT_EQ(stopped->pid, 0);
  EXPECT_GE(stopped->finishedAt, stopped->startedAt);
  EXPECT_TRUE(processIsGone(running->pid));  // exited and reaped
  EXPECT_EQ(store.stop(id, std::nullopt, seconds(1)).kind, Outcome::Kind::notModified);
}

TEST(ContainerStoreTest, StopTimeoutEndsAContainerThatIgnoresSigtermWithSigkill) {
  ContainerStore store;
  const std::string id = run(store, specWith("stubborn", {"CLEANROOM_MOCK_IGNORE_SIGTERM=1"}));
  const pid_t pid = store.find(id)->pid;
  EXPECT_TRUE(store.stop(id, std::nullopt, seconds(1)).ok());
  EXPECT_EQ(store.find(id)->exitCode, 137);
  EXPECT_TRUE(processIsGone(pid));
}

TEST(ContainerStoreTest, KillNeedsARunningContainer) {
  ContainerStore store;
  const std::string id = run(store, specWith("target"));
  EXPECT_TRUE(store.kill(id, SIGKILL).ok());
  EXPECT_EQ(store.find(id)->exitCode, 137);
  const Outcome again = store.kill(id, SIGKILL);
  EXPECT_EQ(again.kind, Outcome::Kind::conflict);
  EXPECT_EQ(again.message, "cannot kill container: " + id + ": container " + id + " is not running");
  EXPECT_EQ(store.kill("nope", SIGKILL).message, "No such container: nope");
}

TEST(ContainerStoreTest, NextExitWaitSentBeforeStartReturnsTheExitCode) {
  ContainerStore store;
  Container created;
  ASSERT_TRUE(store.create(specWith("job", {"CLEANROOM_MOCK_RUN_MS=50", "CLEANROOM_MOCK_EXIT_CODE=3",
                                            "CLEANROOM_MOCK_STDOUT=out line", "CLEANROOM_MOCK_STDERR=err line"}),
                           &created)
                  .ok());
  int exitCode = -1;
  const auto ticket = store.beginWait(created.id);  // as `docker run -d`: the wait begins before start
  ASSERT_TRUE(ticket);
  ASSERT_TRUE(store.start(created.id).ok());
  EXPECT_TRUE(store.wait(*ticket, WaitCondition::nextExit, &exitCode).ok());
  EXPECT_EQ(exitCode, 3);
  const auto finished = store.find(created.id);
  EXPECT_EQ(finished->status, ContainerStatus::exited);
  ASSERT_EQ(finished->logs.size(), 2u);
  LogsQuery both{true, true, false, false, std::nullopt};
  const std::string framed = renderLogs(*finished, both);
  EXPECT_EQ(framed.size(), 2 * 8 + std::string("out line\nerr line\n").size());
  EXPECT_EQ(framed[0], 1);
  EXPECT_EQ(framed[7], 9);  // big-endian size of "out line\n"
  EXPECT_EQ(framed.substr(8, 9), "out line\n");
}

TEST(ContainerStoreTest, NotRunningWaitReturnsAtOnceForACreatedContainer) {
  ContainerStore store;
  Container created;
  ASSERT_TRUE(store.create(specWith("idle"), &created).ok());
  int exitCode = -1;
  EXPECT_TRUE(store.wait(created.id, WaitCondition::notRunning, &exitCode).ok());
  EXPECT_EQ(exitCode, 0);
}

TEST(ContainerStoreTest, RemoveNeedsForceForARunningContainerAndWakesRemovedWaiters) {
  ContainerStore store;
  const std::string id = run(store, specWith("busy"));
  const pid_t pid = store.find(id)->pid;
  const auto ticket = store.beginWait(id);
  ASSERT_TRUE(ticket);
  auto removedWait = std::async(std::launch::async, [&] { return store.wait(*ticket, WaitCondition::removed, nullptr); });
  const Outcome refused = store.remove(id, false);
  EXPECT_EQ(refused.kind, Outcome::Kind::conflict);
  EXPECT_NE(refused.message.find("container is running"), std::string::npos);
  EXPECT_TRUE(store.remove(id, true).ok());
  EXPECT_TRUE(removedWait.get().ok());
  EXPECT_TRUE(processIsGone(pid));
  EXPECT_FALSE(store.find(id));
  EXPECT_EQ(store.remove(id, true).kind, Outcome::Kind::notFound);
}

TEST(ContainerStoreTest, ListsRunningByDefaultNewestFirstWithLimitAndFilters) {
  ContainerStore store;
  run(store, specWith("one", {}, {{"cleanroom.run", "r1"}}));
  const std::string two = run(store, specWith("two", {}, {{"cleanroom.run", "r1"}}));
  ASSERT_TRUE(store.create(specWith("three", {}, {{"cleanroom.run", "r2"}})).ok());
  ASSERT_TRUE(store.kill(two, SIGKILL).ok());

  EXPECT_EQ(store.list({}).size(), 1u);
  const auto all = store.list({true, -1, {}});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].spec.name, "three");
  EXPECT_EQ(store.list({false, 2, {}}).size(), 2u);
  const auto exitedR1 = store.list({false, -1, ContainerFilter::parse(R"({"status":["exited"],"label":["cleanroom.run=r1"]})").value()});
  ASSERT_EQ(exitedR1.size(), 1u);
  EXPECT_EQ(exitedR1[0].spec.name, "two");
  const auto pruned = store.prune(ContainerFilter::parse(R"({"label":["cleanroom.run=r1"]})").value());
  EXPECT_EQ(pruned, std::vector<std::string>{two});  // the running one stays
}

TEST(ContainerStoreTest, ResetKillsAndReapsEveryProcessAndWakesWaiters) {
  ContainerStore store;
  const std::string id = run(store, specWith("doomed", {"CLEANROOM_MOCK_IGNORE_SIGTERM=1"}));
  const pid_t pid = store.find(id)->pid;
  const auto ticket = store.beginWait(id);
  ASSERT_TRUE(ticket);
  auto waiting = std::async(std::launch::async, [&] { return store.wait(*ticket, WaitCondition::removed, nullptr); });
  store.reset();
  EXPECT_TRUE(waiting.get().ok());
  EXPECT_TRUE(processIsGone(pid));
  EXPECT_TRUE(store.all().empty());
}

TEST(ContainerStoreTest, ShutdownAnswersWaitersAndRefusesNewWork) {
  ContainerStore store;
  const std::string id = run(store, specWith("last"));
  const auto ticket = store.beginWait(id);
  ASSERT_TRUE(ticket);
  auto waiting = std::async(std::launch::async, [&] { return store.wait(*ticket, WaitCondition::nextExit, nullptr); });
  store.shutdown();
  waiting.get();  // returns (removed or unavailable) instead of hanging
  EXPECT_EQ(store.create(specWith("late")).kind, Outcome::Kind::unavailable);
}

TEST(ContainerBehaviorTest, ParsesMockVariablesAndNamesTheBadOne) {
  const auto behavior = ContainerBehavior::fromEnv({"PATH=/bin", "CLEANROOM_MOCK_RUN_MS=1500",
                                                    "CLEANROOM_MOCK_EXIT_CODE=7", "CLEANROOM_MOCK_EXIT_DELAY_MS=300",
                                                    "CLEANROOM_MOCK_IGNORE_SIGTERM=true", "CLEANROOM_MOCK_AGE_MS=172800000"});
  ASSERT_TRUE(behavior.ok()) << behavior.message();
  EXPECT_EQ(behavior.value().ageMs, 172800000);
  EXPECT_EQ(behavior.value().runMs, 1500);
  EXPECT_EQ(behavior.value().exitCode, 7);
  EXPECT_EQ(behavior.value().exitDelayMs, 300);
  EXPECT_TRUE(behavior.value().ignoreSigterm);
  const auto bad = ContainerBehavior::fromEnv({"CLEANROOM_MOCK_EXIT_DELAY_MS=soon"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("CLEANROOM_MOCK_EXIT_DELAY_MS"), std::string::npos);
  EXPECT_FALSE(ContainerBehavior::fromEnv({"CLEANROOM_MOCK_TYPO=1"}).ok());
  EXPECT_FALSE(ContainerBehavior::fromEnv({"CLEANROOM_MOCK_AGE_MS=-5"}).ok());
}

TEST(ParseSignalTest, AcceptsNamesWithOrWithoutSigAndNumbers) {
  EXPECT_EQ(parseSignal("SIGTERM"), SIGTERM);
  EXPECT_EQ(parseSignal("term"), SIGTERM);
  EXPECT_EQ(parseSignal("9"), SIGKILL);
  EXPECT_EQ(parseSignal("SIGBOGUS"), std::nullopt);
}

}  // namespace
}  // namespace cleanroom::mocks::docker
