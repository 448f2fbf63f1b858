// The Daytona example: a gtest suite for a harness that runs each task in a
// Daytona sandbox — copy it and replace the sandbox specs with your own.
//
// What it shows:
//  - tests derive from CleanroomTest: SetUp checks that no sandbox of this
//    run is left, TearDown deletes whatever the test left — a stopped
//    sandbox too (it still holds its disk and quota) — and fails the test if
//    anything survives;
//  - sweeps as selectors: stoppedSandboxes(run) and daytonaSweep(run, age);
//  - no sleeps: waits poll the sandbox's state, backing off;
//  - ScopedResource in code outside gtest (runInSandbox): the sandbox is
//    deleted on every path out;
//  - main() registers MockContainersEnvironment: it runs
//    cleanroom-mock-daytona with a generated key and sets DAYTONA_API_URL and
//    DAYTONA_API_KEY — or, when DAYTONA_API_URL is set already, uses that
//    Daytona with DAYTONA_API_KEY (only this run's sandboxes, label
//    cleanroom.run=<run id>, are ever touched).
//
// Run: CLEANROOM_MOCK_DAYTONA_BIN=path/to/cleanroom-mock-daytona ./cleanroom_example_daytona
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "cleanroom/fixtures.h"
#include "cleanroom/gtest/mock_containers_environment.h"
#include "cleanroom/run.h"
#include "cleanroom/scoped_resource.h"
#include "cleanroom/wait.h"

namespace {

using namespace std::chrono_literals;
using cleanroom::DaytonaBackend;
using cleanroom::DaytonaSandboxSpec;
using cleanroom::Resource;
using cleanroom::ResourceState;
using cleanroom::Result;
using cleanroom::Selector;

cleanroom::gtest::MockContainersEnvironment* containers = nullptr;

DaytonaSandboxSpec sandboxSpec(const std::string& name) {
  DaytonaSandboxSpec spec;
  spec.name = name;
  spec.labels["example.task"] = name;
  return spec;
}

// Waits until the sandbox is in `wanted` (or gone), at most `timeout`;
// returns whether it got there. Polls from a few ms, backing off.
bool waitForState(DaytonaBackend& daytona, const Resource& sandbox, ResourceState wanted,
                  std::chrono::milliseconds timeout = 60s) {
  cleanroom::Clock& clock = cleanroom::Clock::system();
  return cleanroom::waitUntil(clock, clock.now() + timeout, cleanroom::AdaptiveWait{}, [&] {
           Result<cleanroom::ResourceStatus> status = daytona.probe(sandbox);
           return status.ok() && (status->state == wanted || status->state == ResourceState::Gone);
         }).met;
}

// Code outside gtest — a harness's task runner: the ScopedResource deletes
// the sandbox when the function leaves, whichever way it leaves. Returns the
// sandbox it used.
Result<Resource> runInSandbox(const std::shared_ptr<DaytonaBackend>& daytona, const std::string& name) {
  Result<Resource> created = daytona->createSandbox(sandboxSpec(name));
  if (!created) return created.error();
  cleanroom::ScopedResource guard(daytona, *created);
  // ... run the task in guard.resource().id ...
  cleanroom::CleanupReport report = guard.cleanNow();  // or leave it to the destructor
  if (!report.success) return cleanroom::Error::permanent("sandbox " + name + " was not deleted: " + report.summary());
  return guard.resource();
}

class DaytonaExample : public cleanroom::gtest::CleanroomTest {
 protected:
  DaytonaExample() { cleanupOptions.processExitDelay = 30s; }  // an upper bound: deletes are awaited

  DaytonaBackend& daytona() { return *containers->daytona(); }

  Resource create(const std::string& name) {
    Result<Resource> created = daytona().createSandbox(sandboxSpec(name));
    if (!created) throw std::runtime_error("cannot create " + name + ": " + created.error().describe());
    return *created;
  }
};

TEST_F(DaytonaExample, SandboxIsDeletedByTearDown) {
  Resource sandbox = create("task-sandbox");
  EXPECT_FALSE(cleanroom::isFinished(sandbox.state)) << sandbox.status;
}

TEST_F(DaytonaExample, StoppedSandboxIsStillDeleted) {
  Resource sandbox = create("stopped-sandbox");
  ASSERT_TRUE(daytona().stopSandbox(sandbox.id).ok());
  ASSERT_TRUE(waitForState(daytona(), sandbox, ResourceState::Stopped));
  cleanroom::Inventory stopped = engine().list(cleanroom::stoppedSandboxes(cleanroom::run::id()));
  ASSERT_TRUE(stopped.ok()) << stopped.errors.front();
  ASSERT_EQ(stopped.resources.size(), 1u);
  EXPECT_EQ(stopped.resources.front().status, "stopped");
  // Stopped is not gone: it holds disk and quota, so TearDown deletes it.
}

TEST_F(DaytonaExample, SweepOnlyTheStoppedOnes) {
  Resource stopped = create("sweep-stopped");
  create("sweep-running");
  ASSERT_TRUE(daytona().stopSandbox(stopped.id).ok());
  ASSERT_TRUE(waitForState(daytona(), stopped, ResourceState::Stopped));
  cleanroom::CleanupReport report = engine().cleanup(cleanroom::stoppedSandboxes(cleanroom::run::id()));
  EXPECT_TRUE(report.success) << report.summary();
  cleanroom::Inventory left = engine().list(cleanroom::daytonaSweep(cleanroom::run::id()));
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left.resources.size(), 1u);
  EXPECT_EQ(left.resources.front().name, "sweep-running");
}

TEST_F(DaytonaExample, SeveralSandboxesAtOnce) {
  for (int i = 1; i <= 4; ++i) create("batch-" + std::to_string(i));
  cleanroom::Inventory alive = engine().list(Selector::thisRun().activeOnly());
  ASSERT_TRUE(alive.ok()) << alive.errors.front();
  EXPECT_EQ(alive.resources.size(), 4u);
}

TEST_F(DaytonaExample, ScopedSandboxOutsideGtestIsDeleted) {
  Result<Resource> used = runInSandbox(containers->daytona(), "scoped-sandbox");
  ASSERT_TRUE(used.ok()) << used.error().describe();
  Result<cleanroom::ResourceStatus> after = daytona().probe(*used);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state, ResourceState::Gone);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  cleanroom::gtest::MockContainersOptions options;
  options.docker = false;  // containers_example_test.cpp
  options.useRunningServicesFromEnvironment = true;  // DAYTONA_API_URL set: that Daytona
  containers = new cleanroom::gtest::MockContainersEnvironment(options);
  // gtest owns the environment and deletes it after RUN_ALL_TESTS().
  ::testing::AddGlobalTestEnvironment(containers);
  cleanroom::gtest::installCleanupTraceListener();
  return RUN_ALL_TESTS();
}
