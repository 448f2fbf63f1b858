// The containers example: a gtest suite for a benchmark harness that runs
// each task in a Docker container — copy it and replace the task specs with
// your own.
//
// What it shows:
//  - tests derive from CleanroomTest: SetUp checks that no container of this
//    run is left, TearDown stops and removes whatever the test left (docker
//    stop -t, then kill, then rm with its anonymous volumes) and fails the
//    test if anything survives;
//  - a task that finishes by itself, tasks slow to stop, one that ignores
//    SIGTERM (killed by the daemon after the stop timeout);
//  - no sleeps: waits end when the container has exited (waitForExit below
//    polls inspect, backing off), teardown ends when the containers are gone;
//  - ScopedResource in code outside gtest (runTask, as a harness would have
//    it): the container is removed on every path out, exceptions included;
//  - main() registers MockContainersEnvironment: it runs cleanroom-mock-docker
//    for the whole suite and sets DOCKER_HOST — or, when DOCKER_HOST is set
//    already, uses that daemon (a real one; only this run's containers, label
//    cleanroom.run=<run id>, are ever touched).
//
// The container specs work for both: against a real daemon the command runs
// in busybox; against the mock, CLEANROOM_MOCK_* in Env sets how the
// container's process behaves (the command is recorded, not run).
//
// Run: CLEANROOM_MOCK_DOCKER_BIN=path/to/cleanroom-mock-docker ./cleanroom_example_containers
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "cleanroom/fixtures.h"
#include "cleanroom/gtest/mock_containers_environment.h"
#include "cleanroom/scoped_resource.h"
#include "cleanroom/wait.h"

namespace {

using namespace std::chrono_literals;
using cleanroom::DockerBackend;
using cleanroom::DockerContainerSpec;
using cleanroom::Resource;
using cleanroom::ResourceState;
using cleanroom::Result;
using cleanroom::Selector;

cleanroom::gtest::MockContainersEnvironment* containers = nullptr;

// A task that runs until it is stopped and takes 300 ms to exit after SIGTERM.
DockerContainerSpec longTask(const std::string& name) {
  DockerContainerSpec spec;
  spec.name = name;
  spec.command = {"sh", "-c", "trap 'sleep 0.3; exit 0' TERM; while true; do sleep 1; done"};
  spec.env["CLEANROOM_MOCK_EXIT_DELAY_MS"] = "300";
  spec.labels["example.task"] = name;
  return spec;
}

// A task that finishes by itself after about 100 ms.
DockerContainerSpec shortTask(const std::string& name) {
  DockerContainerSpec spec;
  spec.name = name;
  spec.command = {"sh", "-c", "sleep 0.1"};
  spec.env["CLEANROOM_MOCK_RUN_MS"] = "100";
  return spec;
}

// Waits until `container` has exited (or is gone), at most `timeout`;
// returns its last status ("exited", …). Polls inspect from a few ms,
// backing off: no fixed sleep.
Result<cleanroom::ResourceStatus> waitForExit(DockerBackend& docker, const Resource& container,
                                              std::chrono::milliseconds timeout = 30s) {
  cleanroom::Clock& clock = cleanroom::Clock::system();
  Result<cleanroom::ResourceStatus> last = cleanroom::Error::retryable("not probed yet");
  const bool exited = cleanroom::waitUntil(clock, clock.now() + timeout, cleanroom::AdaptiveWait{}, [&] {
                        last = docker.probe(container);
                        return !last.ok() || last->state == ResourceState::Stopped ||
                               last->state == ResourceState::Gone;
                      }).met;
  if (!exited) return cleanroom::Error::retryable("container " + container.name + " still running after the wait");
  return last;
}

// Code outside gtest — a harness's task runner: the ScopedResource removes
// the container when the function leaves, whichever way it leaves.
struct TaskOutcome {
  Resource container;
  std::string status;
};

Result<TaskOutcome> runTask(const std::shared_ptr<DockerBackend>& docker, const DockerContainerSpec& spec,
                            bool failAfterStart = false) {
  Result<Resource> created = docker->createContainer(spec);
  if (!created) return created.error();
  cleanroom::ScopedResource guard(docker, *created);  // from here on it is always removed
  if (failAfterStart) throw std::runtime_error("the task runner failed after starting " + created->name);
  Result<cleanroom::ResourceStatus> finished = waitForExit(*docker, guard.resource());
  if (!finished) return finished.error();
  return TaskOutcome{guard.resource(), finished->status};
}  // guard: graceful stop → kill after the grace period → removed

class ContainersExample : public cleanroom::gtest::CleanroomTest {
 protected:
  ContainersExample() {
    // Longer than the backend's stop timeout (set in main): a graceful
    // docker stop kills a stubborn container itself by then.
    cleanupOptions.processExitDelay = 3s;
  }

  DockerBackend& docker() { return *containers->docker(); }

  Resource start(const DockerContainerSpec& spec) {
    Result<Resource> created = docker().createContainer(spec);
    if (!created) throw std::runtime_error("cannot start " + spec.name + ": " + created.error().describe());
    return *created;
  }
};

TEST_F(ContainersExample, FinishedTaskIsRemovedByTearDown) {
  Resource task = start(shortTask("short-task"));
  Result<cleanroom::ResourceStatus> finished = waitForExit(docker(), task);
  ASSERT_TRUE(finished.ok()) << finished.error().describe();
  EXPECT_EQ(finished->status, "exited");
  // An exited container still holds its disk: TearDown removes it.
}

TEST_F(ContainersExample, SeveralTasksAtOnce) {
  for (int i = 1; i <= 5; ++i) start(longTask("batch-" + std::to_string(i)));
  cleanroom::Inventory running = engine().list(Selector::thisRun().activeOnly());
  ASSERT_TRUE(running.ok()) << running.errors.front();
  EXPECT_EQ(running.resources.size(), 5u);
  // TearDown stops all five in parallel.
}

TEST_F(ContainersExample, TaskIgnoringSigtermIsKilled) {
  DockerContainerSpec stubborn = longTask("ignores-sigterm");
  stubborn.command = {"sh", "-c", "trap '' TERM; while true; do sleep 1; done"};
  stubborn.env["CLEANROOM_MOCK_IGNORE_SIGTERM"] = "1";
  start(stubborn);
  start(longTask("well-behaved"));
  // TearDown: docker stop -t 1 on both; the daemon kills the stubborn one
  // after a second, then both are removed.
}

TEST_F(ContainersExample, SelectByLabel) {
  start(longTask("labelled-a"));
  start(longTask("labelled-b"));
  Selector onlyA = Selector::thisRun();
  onlyA.labels["example.task"] = "labelled-a";
  cleanroom::CleanupReport report = engine().cleanup(onlyA);
  EXPECT_TRUE(report.success) << report.summary();
  cleanroom::Inventory left = engine().list(Selector::thisRun().activeOnly());
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left.resources.size(), 1u);
  EXPECT_EQ(left.resources.front().name, "labelled-b");
}

TEST_F(ContainersExample, ScopedTaskOutsideGtestIsAlwaysRemoved) {
  Result<TaskOutcome> outcome = runTask(containers->docker(), shortTask("scoped-task"));
  ASSERT_TRUE(outcome.ok()) << outcome.error().describe();
  EXPECT_EQ(outcome->status, "exited");
  Result<cleanroom::ResourceStatus> after = docker().probe(outcome->container);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state, ResourceState::Gone) << "removed when runTask returned";

  EXPECT_THROW(runTask(containers->docker(), longTask("scoped-throws"), /*failAfterStart=*/true), std::runtime_error);
  cleanroom::Inventory left = engine().list(Selector::thisRun());
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left.resources.empty()) << "removed when the exception left runTask";
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  cleanroom::gtest::MockContainersOptions options;
  options.daytona = false;  // daytona_example_test.cpp
  options.useRunningServicesFromEnvironment = true;  // DOCKER_HOST set: that daemon
  options.dockerOptions.stopTimeout = std::chrono::seconds(1);
  containers = new cleanroom::gtest::MockContainersEnvironment(options);
  // gtest owns the environment and deletes it after RUN_ALL_TESTS().
  ::testing::AddGlobalTestEnvironment(containers);
  cleanroom::gtest::installCleanupTraceListener();
  return RUN_ALL_TESTS();
}
