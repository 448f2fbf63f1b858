// SandboxStore: the lifecycle of mock sandboxes on their timers.
#include "cleanroom/mocks/daytona/sandbox_store.h"

#include <gtest/gtest.h>

#include "cleanroom/clock.h"
#include "cleanroom/wait.h"

namespace cleanroom::mocks::daytona {
namespace {

using namespace std::chrono_literals;

// Blocks until the sandbox is in `state` (or gone for nullopt), at most 5 s.
bool awaitState(const SandboxStore& store, const std::string& id, std::optional<SandboxState> state) {
  Clock& clock = Clock::system();
  return waitUntil(clock, clock.now() + 5s, AdaptiveWait{}, [&] {
           auto sandbox = store.find(id);
           if (!state) return !sandbox.has_value();
           return sandbox && sandbox->state == *state;
         }).met;
}

SandboxStoreOptions fast() {
  SandboxStoreOptions options;
  options.stopDelay = 30ms;
  options.deleteDelay = 30ms;
  options.archiveDelay = 30ms;
  options.linger = 30ms;
  return options;
}

TEST(SandboxStoreTest, CreatesStartedSandboxesWithTheirNameAndLabels) {
  SandboxStore store(fast());
  SandboxSpec spec;
  spec.name = "box";
  spec.labels = {{"cleanroom.run", "r1"}};
  SandboxChange created = store.create(spec);
  ASSERT_EQ(created.kind, SandboxChange::Kind::ok);
  EXPECT_EQ(created.sandbox->state, SandboxState::started);
  EXPECT_EQ(store.find("box")->id, created.sandbox->id);
  EXPECT_EQ(store.find(created.sandbox->id)->spec.labels.at("cleanroom.run"), "r1");
  EXPECT_EQ(store.create(spec).kind, SandboxChange::Kind::conflict);
}

TEST(SandboxStoreTest, StopTakesItsDelayThenTheSandboxIsStopped) {
  SandboxStore store(fast());
  SandboxSpec spec;
  spec.behavior.stopDelayMs = 80;
  const std::string id = store.create(spec).sandbox->id;
  SandboxChange stopping = store.stop(id);
  ASSERT_EQ(stopping.kind, SandboxChange::Kind::ok);
  EXPECT_EQ(stopping.sandbox->state, SandboxState::stopping);
  EXPECT_EQ(stopping.sandbox->desiredState, "stopped");
  EXPECT_TRUE(awaitState(store, id, SandboxState::stopped));
  SandboxChange again = store.stop(id);
  EXPECT_EQ(again.kind, SandboxChange::Kind::invalid);
  EXPECT_NE(again.message.find("is stopped"), std::string::npos) << again.message;
}

TEST(SandboxStoreTest, StartArchiveAndInvalidTransitions) {
  SandboxStore store(fast());
  SandboxSpec spec;
  spec.behavior.state = SandboxState::stopped;
  const std::string id = store.create(spec).sandbox->id;
  EXPECT_EQ(store.archive(id).sandbox->state, SandboxState::archiving);
  EXPECT_TRUE(awaitState(store, id, SandboxState::archived));
  EXPECT_EQ(store.stop(id).kind, SandboxChange::Kind::invalid);
  EXPECT_EQ(store.start(id).sandbox->state, SandboxState::starting);
  EXPECT_TRUE(awaitState(store, id, SandboxState::started));
  EXPECT_EQ(store.archive(id).kind, SandboxChange::Kind::invalid);
}

TEST(SandboxStoreTest, DeleteGoesThroughDestroyingAndDestroyedToGone) {
  SandboxStore store(fast());
  const std::string id = store.create({}).sandbox->id;
  EXPECT_EQ(store.remove(id, false).sandbox->state, SandboxState::destroying);
  EXPECT_EQ(store.remove(id, false).kind, SandboxChange::Kind::ok);  // again: no-op
  EXPECT_TRUE(awaitState(store, id, SandboxState::destroyed));
  EXPECT_EQ(store.remove(id, false).kind, SandboxChange::Kind::notFound);
  EXPECT_TRUE(store.list().empty());  // destroyed: only with includeErroredDeleted
  EXPECT_TRUE(awaitState(store, id, std::nullopt));
  EXPECT_EQ(store.remove(id, true).kind, SandboxChange::Kind::notFound);
}

TEST(SandboxStoreTest, StuckSandboxIsDestroyedOnlyWhenForced) {
  SandboxStoreOptions options = fast();
  options.linger = 10s;
  SandboxStore store(options);
  SandboxSpec spec;
  spec.behavior.stuck = true;
  const std::string id = store.create(spec).sandbox->id;
  EXPECT_EQ(store.stop(id).sandbox->state, SandboxState::stopping);
  EXPECT_EQ(store.remove(id, false).sandbox->state, SandboxState::destroying);
  EXPECT_EQ(store.find(id)->state, SandboxState::destroying);  // no timer: stays until forced
  EXPECT_EQ(store.remove(id, true).kind, SandboxChange::Kind::ok);
  EXPECT_TRUE(awaitState(store, id, SandboxState::destroyed));
}

TEST(SandboxStoreTest, ListFiltersLabelsAndHidesErroredUnlessAsked) {
  SandboxStore store(fast());
  SandboxSpec mine;
  mine.labels = {{"cleanroom.run", "r1"}, {"team", "qa"}};
  store.create(mine);
  SandboxSpec broken = mine;
  broken.behavior.state = SandboxState::error;
  store.create(broken);
  SandboxSpec other;
  other.labels = {{"cleanroom.run", "r2"}};
  store.create(other);

  SandboxFilter filter;
  filter.labels = {{"cleanroom.run", "r1"}};
  EXPECT_EQ(store.list(filter).size(), 1u);
  filter.includeErroredDeleted = true;
  EXPECT_EQ(store.list(filter).size(), 2u);
  EXPECT_EQ(store.list(filter)[1].errorReason, "injected by the mock");
  filter.labels["team"] = "ops";
  EXPECT_TRUE(store.list(filter).empty());
}

TEST(SandboxStoreTest, ResetDropsEverythingAndShutdownRefusesChanges) {
  SandboxStore store(fast());
  SandboxSpec spec;
  spec.behavior.stuck = true;
  const std::string id = store.create(spec).sandbox->id;
  store.stop(id);
  store.reset();
  EXPECT_FALSE(store.find(id).has_value());
  store.shutdown();
  EXPECT_EQ(store.create({}).kind, SandboxChange::Kind::shutDown);
}

}  // namespace
}  // namespace cleanroom::mocks::daytona
