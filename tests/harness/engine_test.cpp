#include "cleanroom/engine.h"

#include <gmock/gmock.h>
#include <condition_variable>
#include <mutex>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fakes.h"

namespace cleanroom {
namespace {

using ::testing::_;
using ::testing::AtLeast;
using ::testing::Field;
using ::testing::NiceMock;
using ::testing::Return;
using tests::makeResource;
using tests::ManualClock;
using tests::MockBackend;

constexpr const char* kRun = "run-a";

ResourceStatus terminating() { return {ResourceState::Stopping, "terminating"}; }
ResourceStatus terminated() { return {ResourceState::Terminal, "terminated"}; }

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() {
    options.retry.jitter = 0;
    options.gracePeriod = milliseconds(1000);
    options.forceTimeout = milliseconds(1000);
    engine = std::make_unique<CleanupEngine>(options, clock);
    ON_CALL(*backend, canAwait()).WillByDefault(Return(false));
    engine->addBackend(backend);
  }

  // The backend lists `first` once, then `after` (the verifying listing).
  void listTwice(std::vector<Resource> first, std::vector<Resource> after = {}) {
    EXPECT_CALL(*backend, list(_)).WillOnce(Return(first)).WillRepeatedly(Return(after));
  }

  ManualClock clock;
  CleanupOptions options;
  std::shared_ptr<NiceMock<MockBackend>> backend = std::make_shared<NiceMock<MockBackend>>();
  std::unique_ptr<CleanupEngine> engine;
};

TEST_F(EngineTest, NothingToCleanIsSuccess) {
  listTwice({});
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_TRUE(report.success);
  EXPECT_EQ(report.totals.found, 0);
  EXPECT_TRUE(report.resources.empty());
}

TEST_F(EngineTest, StopsGracefullyAndReturnsWhenTheResourceExits) {
  listTwice({makeResource("a", kRun)});
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "a"), StopMode::Graceful)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, requestStop(_, StopMode::Force)).Times(0);
  EXPECT_CALL(*backend, probe(_))
      .WillOnce(Return(terminating()))
      .WillOnce(Return(terminating()))
      .WillOnce(Return(terminated()));

  CleanupReport report = engine->cleanup(Selector::forRun(kRun));

  ASSERT_EQ(report.resources.size(), 1u);
  const auto& r = report.resources[0];
  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_TRUE(r.cleaned);
  EXPECT_FALSE(r.forced);
  EXPECT_EQ(r.finalStatus, "terminated");
  ASSERT_EQ(r.actions.size(), 2u);
  EXPECT_EQ(r.actions[0].name, "stop");
  EXPECT_EQ(r.actions[1].name, "await");
  EXPECT_EQ(r.actions[1].attempts, 3);
  EXPECT_LT(report.elapsed, options.gracePeriod);
}

TEST_F(EngineTest, ForcesAResourceThatIgnoresTheGracefulStop) {
  listTwice({makeResource("stubborn", kRun)});
  bool forced = false;
  EXPECT_CALL(*backend, requestStop(_, StopMode::Graceful)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, requestStop(_, StopMode::Force)).WillOnce([&](const Resource&, StopMode) {
    forced = true;
    return Status::success();
  });
  EXPECT_CALL(*backend, probe(_)).WillRepeatedly([&](const Resource&) { return forced ? terminated() : terminating(); });

  CleanupReport report = engine->cleanup(Selector::forRun(kRun));

  ASSERT_EQ(report.resources.size(), 1u);
  EXPECT_TRUE(report.resources[0].cleaned);
  EXPECT_TRUE(report.resources[0].forced);
  EXPECT_EQ(report.totals.forced, 1);
  EXPECT_TRUE(report.success);
  EXPECT_GE(clock.elapsed(), options.gracePeriod);
}

TEST_F(EngineTest, WithoutEscalationAStubbornResourceRemains) {
  engine->options().escalateToForce = false;
  listTwice({makeResource("stubborn", kRun)}, {makeResource("stubborn", kRun)});
  EXPECT_CALL(*backend, requestStop(_, StopMode::Graceful)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, requestStop(_, StopMode::Force)).Times(0);
  EXPECT_CALL(*backend, probe(_)).WillRepeatedly(Return(terminating()));

  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_FALSE(report.success);
  EXPECT_EQ(report.totals.remaining, 1);
  EXPECT_NE(report.summary().find("fake/stubborn"), std::string::npos);
}

TEST_F(EngineTest, AlreadyGoneIsSuccess) {
  listTwice({makeResource("a", kRun)});
  EXPECT_CALL(*backend, requestStop(_, StopMode::Graceful)).WillOnce(Return(Error::gone("404")));
  EXPECT_CALL(*backend, probe(_)).Times(0);
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_TRUE(report.success);
  EXPECT_TRUE(report.resources[0].cleaned);
  EXPECT_EQ(report.resources[0].finalState, ResourceState::Gone);
}

TEST_F(EngineTest, RetriesTransientStopFailuresAndCountsAttempts) {
  listTwice({makeResource("a", kRun)});
  EXPECT_CALL(*backend, requestStop(_, StopMode::Graceful))
      .WillOnce(Return(Error::retryable("503")))
      .WillOnce(Return(Error::retryable("503")))
      .WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, probe(_)).WillOnce(Return(terminated()));
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_TRUE(report.success);
  EXPECT_EQ(report.resources[0].actions[0].attempts, 3);
  EXPECT_EQ(report.resources[0].attempts, 4);  // 3 stops + 1 probe
}

TEST_F(EngineTest, TheOverallDeadlineBoundsTheRetriesOfEveryPhase) {
  engine->options().deadline = milliseconds(5000);
  engine->options().retry.maxAttempts = 1000;
  engine->options().retry.deadline = milliseconds(60000);
  EXPECT_CALL(*backend, list(_))
      .WillOnce(Return(std::vector<Resource>{makeResource("a", kRun)}))
      .WillRepeatedly(Return(Error::retryable("503")));
  EXPECT_CALL(*backend, requestStop(_, StopMode::Graceful)).WillRepeatedly(Return(Error::retryable("503")));
  EXPECT_CALL(*backend, requestStop(_, StopMode::Force)).WillRepeatedly(Return(Error::retryable("503")));
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_FALSE(report.success);
  EXPECT_LE(report.elapsed, milliseconds(5000));  // the manual clock only moves by the engine's own waits
  EXPECT_THAT(report.summary(), ::testing::HasSubstr("graceful stop failed"));
  EXPECT_THAT(report.errors, ::testing::Contains(::testing::HasSubstr("verify: fake: list failed")));
}

TEST_F(EngineTest, TheOverallDeadlineCutsTheGracePeriodAndForcesAtOnce) {
  engine->options().gracePeriod = milliseconds(10000);
  engine->options().deadline = milliseconds(2000);
  listTwice({makeResource("a", kRun)}, {makeResource("a", kRun)});
  EXPECT_CALL(*backend, requestStop(_, StopMode::Graceful)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, requestStop(_, StopMode::Force)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, probe(_)).WillRepeatedly(Return(terminating()));
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_FALSE(report.success);
  EXPECT_EQ(report.totals.remaining, 1);
  EXPECT_TRUE(report.resources.at(0).forced);
  EXPECT_LE(report.elapsed, milliseconds(2000));
  EXPECT_THAT(report.summary(), ::testing::HasSubstr("deadline (2000 ms) passed while it was terminating"));
}

TEST_F(EngineTest, AGracefulStopThatKeepsFailingIsForced) {
  engine->options().retry.maxAttempts = 2;
  listTwice({makeResource("a", kRun)});
  EXPECT_CALL(*backend, requestStop(_, StopMode::Graceful)).WillRepeatedly(Return(Error::retryable("stop timed out")));
  EXPECT_CALL(*backend, requestStop(_, StopMode::Force)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, probe(_)).WillOnce(Return(terminated()));
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_TRUE(report.resources.at(0).forced);
  EXPECT_EQ(report.resources.at(0).actions.at(0).failures.size(), 2u);
}

TEST_F(EngineTest, AForcedStopAfterAFailedGracefulOneNamesBothFailures) {
  engine->options().retry.maxAttempts = 1;
  listTwice({makeResource("a", kRun)}, {makeResource("a", kRun)});
  EXPECT_CALL(*backend, requestStop(_, StopMode::Graceful)).WillOnce(Return(Error::retryable("stop timed out")));
  EXPECT_CALL(*backend, requestStop(_, StopMode::Force)).WillOnce(Return(Error::retryable("kill timed out")));
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_FALSE(report.success);
  EXPECT_THAT(report.summary(), ::testing::HasSubstr("graceful stop failed: "));
  EXPECT_THAT(report.summary(), ::testing::HasSubstr("stop timed out"));
  EXPECT_THAT(report.summary(), ::testing::HasSubstr("kill timed out"));
}

TEST_F(EngineTest, FailuresARetryOvercameAreStillNamedInTheReport) {
  EXPECT_CALL(*backend, list(_))
      .WillOnce(Return(Error::retryable("list answered 429")))
      .WillOnce(Return(std::vector<Resource>{makeResource("a", kRun)}))
      .WillRepeatedly(Return(std::vector<Resource>{}));
  EXPECT_CALL(*backend, requestStop(_, StopMode::Graceful))
      .WillOnce(Return(Error::retryable("stop answered 503")))
      .WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, probe(_))
      .WillOnce(Return(Error::retryable("connection dropped")))
      .WillOnce(Return(terminated()));
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_TRUE(report.success) << report.summary();
  ASSERT_EQ(report.retried.size(), 1u);
  EXPECT_THAT(report.retried[0], ::testing::HasSubstr("fake: list attempt 1"));
  EXPECT_THAT(report.retried[0], ::testing::HasSubstr("429"));
  const auto& actions = report.resources.at(0).actions;
  ASSERT_GE(actions.size(), 2u);
  ASSERT_EQ(actions[0].failures.size(), 1u);
  EXPECT_THAT(actions[0].failures[0], ::testing::HasSubstr("503"));
  ASSERT_EQ(actions[1].failures.size(), 1u);
  EXPECT_THAT(actions[1].failures[0], ::testing::HasSubstr("connection dropped"));
  EXPECT_EQ(report.failedAttempts(), 3);
  EXPECT_THAT(report.summary(), ::testing::HasSubstr("3 failed attempts"));
  const auto json = report.toJson();
  EXPECT_EQ(json["retried"].size(), 1u);
  EXPECT_EQ(json["resources"][0]["actions"][0]["failures"].size(), 1u);
}

TEST_F(EngineTest, ContinueAndReportCollectsEveryFailure) {
  engine->options().concurrency = 1;
  listTwice({makeResource("bad", kRun), makeResource("good", kRun)}, {makeResource("bad", kRun)});
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "bad"), _)).WillOnce(Return(Error::permanent("403 forbidden")));
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "good"), _)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, probe(Field(&Resource::id, "good"))).WillOnce(Return(terminated()));

  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_FALSE(report.success);
  EXPECT_EQ(report.totals.cleaned, 1);
  EXPECT_EQ(report.totals.failed, 1);
  EXPECT_THAT(report.resources[0].errors[0], ::testing::HasSubstr("403 forbidden"));
}

TEST_F(EngineTest, FailFastStartsNothingAfterTheFirstFailure) {
  engine->options().concurrency = 1;
  engine->options().failureMode = FailureMode::FailFast;
  listTwice({makeResource("bad", kRun), makeResource("next", kRun)});
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "bad"), _)).WillOnce(Return(Error::permanent("400")));
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "next"), _)).Times(0);

  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_FALSE(report.success);
  EXPECT_TRUE(report.failFast);
  ASSERT_EQ(report.resources.size(), 2u);
  EXPECT_TRUE(report.resources[1].skipped);
  EXPECT_THAT(report.resources[1].errors[0], ::testing::HasSubstr("fail-fast after fake/bad"));
}

TEST_F(EngineTest, DryRunPlansWithoutTouchingAnything) {
  engine->options().dryRun = true;
  EXPECT_CALL(*backend, list(_)).WillOnce(Return(std::vector<Resource>{makeResource("a", kRun)}));
  EXPECT_CALL(*backend, requestStop(_, _)).Times(0);
  EXPECT_CALL(*backend, probe(_)).Times(0);
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_TRUE(report.dryRun);
  EXPECT_TRUE(report.success);
  EXPECT_EQ(report.totals.remaining, 1);
  EXPECT_EQ(report.resources[0].actions[0].name, "plan");
}

TEST_F(EngineTest, NeverTouchesAnotherRunsResources) {
  listTwice({makeResource("mine", kRun), makeResource("theirs", "run-b")});
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "mine"), _)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "theirs"), _)).Times(0);
  EXPECT_CALL(*backend, probe(_)).WillRepeatedly(Return(terminated()));
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  ASSERT_EQ(report.resources.size(), 1u);
  EXPECT_EQ(report.resources[0].id, "mine");
}

TEST_F(EngineTest, CleaningTwiceIsANoOp) {
  Resource finished = makeResource("a", kRun, ResourceState::Terminal);
  EXPECT_CALL(*backend, list(_)).WillRepeatedly(Return(std::vector<Resource>{finished}));
  EXPECT_CALL(*backend, requestStop(_, _)).Times(0);
  for (int i = 0; i < 2; ++i) {
    CleanupReport report = engine->cleanup(Selector::forRun(kRun));
    EXPECT_TRUE(report.success);
    EXPECT_EQ(report.totals.found, 0);
  }
}

TEST_F(EngineTest, AListingFailureIsReportedNotHidden) {
  engine->options().retry.maxAttempts = 2;
  EXPECT_CALL(*backend, list(_)).WillRepeatedly(Return(Error::retryable("connection refused")));
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_FALSE(report.success);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_THAT(report.errors[0], ::testing::HasSubstr("fake: list failed"));
  EXPECT_THAT(report.errors[0], ::testing::HasSubstr("connection refused"));
}

TEST_F(EngineTest, VerificationCatchesWhatIsStillListed) {
  listTwice({makeResource("a", kRun)}, {makeResource("a", kRun), makeResource("new", kRun)});
  EXPECT_CALL(*backend, requestStop(_, _)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, probe(_)).WillOnce(Return(terminated()));
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_FALSE(report.success);
  ASSERT_EQ(report.resources.size(), 2u);
  EXPECT_THAT(report.resources[0].errors[0], ::testing::HasSubstr("still listed"));
  EXPECT_EQ(report.resources[1].id, "new");
  EXPECT_THAT(report.resources[1].errors[0], ::testing::HasSubstr("appeared during cleanup"));
}

TEST_F(EngineTest, UsesServerPushWhenTheBackendOffersIt) {
  listTwice({makeResource("a", kRun)});
  ON_CALL(*backend, canAwait()).WillByDefault(Return(true));
  EXPECT_CALL(*backend, requestStop(_, _)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, awaitFinished(_, _)).WillOnce(Return(terminated()));
  EXPECT_CALL(*backend, probe(_)).Times(0);
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_TRUE(report.success);
  EXPECT_EQ(clock.sleeps(), 0);
}

TEST_F(EngineTest, PacesLongPollRetriesWhenTheServerIsDown) {
  listTwice({makeResource("a", kRun)});
  ON_CALL(*backend, canAwait()).WillByDefault(Return(true));
  EXPECT_CALL(*backend, requestStop(_, _)).WillRepeatedly(Return(Status::success()));
  EXPECT_CALL(*backend, awaitFinished(_, _)).WillRepeatedly(Return(Error::retryable("connection refused")));
  EXPECT_CALL(*backend, probe(_)).WillRepeatedly(Return(Error::retryable("connection refused")));
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_FALSE(report.success);
  EXPECT_GT(clock.sleeps(), 0);
  EXPECT_LE(clock.elapsed(), options.gracePeriod + options.forceTimeout + options.retry.deadline * 2);
}

TEST_F(EngineTest, ListAppliesTheSelectorsAgeFilter) {
  Resource old = makeResource("old", kRun);
  old.createdAt = clock.wallNow() - std::chrono::hours(25);
  Resource young = makeResource("young", kRun);
  young.createdAt = clock.wallNow() - std::chrono::minutes(5);
  EXPECT_CALL(*backend, list(_)).WillOnce(Return(std::vector<Resource>{old, young}));
  Selector s = Selector::forRun(kRun);
  s.minAge = std::chrono::hours(24);
  Inventory inventory = engine->list(s);
  ASSERT_EQ(inventory.resources.size(), 1u);
  EXPECT_EQ(inventory.resources[0].id, "old");
}

TEST_F(EngineTest, ReportSerializesToJson) {
  listTwice({makeResource("a", kRun)});
  EXPECT_CALL(*backend, requestStop(_, _)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, probe(_)).WillOnce(Return(terminated()));
  nlohmann::json j = engine->cleanup(Selector::forRun(kRun)).toJson();
  EXPECT_EQ(j["runId"], kRun);
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["totals"]["cleaned"], 1);
  EXPECT_EQ(j["resources"][0]["id"], "a");
  EXPECT_EQ(j["resources"][0]["finalStatus"], "terminated");
  EXPECT_EQ(j["resources"][0]["actions"][0]["name"], "stop");
}

TEST_F(EngineTest, CleansManyResourcesInParallel) {
  std::vector<Resource> many;
  for (int i = 0; i < 40; ++i) many.push_back(makeResource("r" + std::to_string(i), kRun));
  listTwice(many);
  EXPECT_CALL(*backend, requestStop(_, StopMode::Graceful)).Times(40).WillRepeatedly(Return(Status::success()));
  EXPECT_CALL(*backend, probe(_)).WillRepeatedly(Return(terminated()));
  CleanupReport report = engine->cleanup(Selector::forRun(kRun));
  EXPECT_TRUE(report.success);
  EXPECT_EQ(report.totals.cleaned, 40);
}

TEST_F(EngineTest, ABackendMayAskForMoreConcurrentStopsThanTheOptions) {
  // Every stop waits until all eight are in flight: only possible when the
  // engine runs them at once, as the backend asks (the options say 1).
  engine->options().concurrency = 1;
  ON_CALL(*backend, stopConcurrency()).WillByDefault(Return(8));
  std::vector<Resource> resources;
  for (int i = 0; i < 8; ++i) resources.push_back(makeResource("r" + std::to_string(i), kRun));
  listTwice(resources);
  std::mutex mutex;
  std::condition_variable allIn;
  int inFlight = 0;
  int sawAll = 0;
  EXPECT_CALL(*backend, requestStop(_, StopMode::Graceful)).Times(8).WillRepeatedly([&](const Resource&, StopMode) {
    std::unique_lock lock(mutex);
    ++inFlight;
    allIn.notify_all();
    if (allIn.wait_for(lock, std::chrono::seconds(10), [&] { return inFlight == 8; })) ++sawAll;
    return Status::success();
  });
  EXPECT_CALL(*backend, probe(_)).WillRepeatedly(Return(terminated()));

  CleanupReport report = engine->cleanup(Selector::forRun(kRun));

  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_EQ(sawAll, 8);
}

TEST_F(EngineTest, EachResourceIsStoppedByTheBackendThatListedIt) {
  // Two backends of one name (two tmux servers): names do not say which.
  auto second = std::make_shared<NiceMock<MockBackend>>("fake");
  ON_CALL(*second, canAwait()).WillByDefault(Return(false));
  engine->addBackend(second);
  listTwice({makeResource("on-first", kRun)});
  EXPECT_CALL(*second, list(_))
      .WillOnce(Return(std::vector<Resource>{makeResource("on-second", kRun)}))
      .WillRepeatedly(Return(std::vector<Resource>{}));
  EXPECT_CALL(*backend, requestStop(Field(&Resource::id, "on-first"), _)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*second, requestStop(Field(&Resource::id, "on-second"), _)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, probe(_)).WillRepeatedly(Return(terminated()));
  EXPECT_CALL(*second, probe(_)).WillRepeatedly(Return(terminated()));

  CleanupReport report = engine->cleanup(Selector::forRun(kRun));

  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_EQ(report.totals.cleaned, 2);
}

// Stages and the per-agent teardown record: an agents backend ("tmux") and a
// files backend ("files") whose resources belong to agents by label.
class EngineStagesTest : public EngineTest {
 protected:
  EngineStagesTest() {
    ON_CALL(*files, stage()).WillByDefault(Return(CleanupStage::Files));
    ON_CALL(*files, canAwait()).WillByDefault(Return(false));
    engine->addBackend(files);
  }

  static Resource ofAgent(Resource r, const std::string& agentId) {
    r.labels[kAgentLabel] = agentId;
    return r;
  }
  static Resource session(const std::string& agentId) {
    return ofAgent(makeResource("cr-" + std::string(kRun) + "-" + agentId, kRun), agentId);
  }
  static Resource filesOf(const std::string& agentId) {
    return ofAgent(makeResource(agentId, kRun, ResourceState::Running, "files"), agentId);
  }

  std::shared_ptr<NiceMock<MockBackend>> files = std::make_shared<NiceMock<MockBackend>>("files");
};

TEST_F(EngineStagesTest, FilesAreListedAndCleanedOnlyAfterEveryAgentIsGone) {
  bool agentExited = false;
  EXPECT_CALL(*backend, list(_)).WillOnce(Return(std::vector<Resource>{session("a1")}))
      .WillRepeatedly(Return(std::vector<Resource>{}));
  EXPECT_CALL(*backend, requestStop(_, StopMode::Graceful)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, probe(_)).WillOnce(Return(terminating())).WillOnce([&](const Resource&) {
    agentExited = true;
    return ResourceStatus{ResourceState::Gone, "no session"};
  });
  EXPECT_CALL(*files, list(_))
      .WillOnce([&](const Selector&) {
        EXPECT_TRUE(agentExited) << "files listed while the agent was still running";
        return std::vector<Resource>{filesOf("a1")};
      })
      .WillRepeatedly(Return(std::vector<Resource>{}));
  EXPECT_CALL(*files, requestStop(_, _)).WillOnce([&](const Resource&, StopMode) {
    EXPECT_TRUE(agentExited) << "files cleaned while the agent was still running";
    return Status::success();
  });
  EXPECT_CALL(*files, probe(_)).WillOnce(Return(ResourceStatus{ResourceState::Gone, "no files"}));

  CleanupReport report = engine->cleanup(Selector::forRun(kRun));

  EXPECT_TRUE(report.success) << report.summary();
  ASSERT_EQ(report.resources.size(), 2u);
  EXPECT_EQ(report.resources[0].backend, "fake");
  EXPECT_EQ(report.resources[1].backend, "files");
}

TEST_F(EngineStagesTest, OneRecordPerAgentCombinesItsResourcesAndTheBackendsDetails) {
  EXPECT_CALL(*backend, list(_)).WillOnce(Return(std::vector<Resource>{session("a1"), session("a2")}))
      .WillRepeatedly(Return(std::vector<Resource>{}));
  EXPECT_CALL(*backend, requestStop(_, _)).WillRepeatedly(Return(Status::success()));
  EXPECT_CALL(*backend, probe(_)).WillRepeatedly(Return(ResourceStatus{ResourceState::Gone, "no session"}));
  EXPECT_CALL(*files, list(_)).WillOnce(Return(std::vector<Resource>{filesOf("a1")}))
      .WillRepeatedly(Return(std::vector<Resource>{}));
  EXPECT_CALL(*files, requestStop(_, _)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*files, probe(_)).WillOnce(Return(ResourceStatus{ResourceState::Gone, "no files"}));
  EXPECT_CALL(*files, describeTeardown(Field(&Resource::id, "a1"), _))
      .WillOnce([](const Resource&, AgentTeardown& record) {
        record.archivedFiles.push_back("archive/a1_stream.jsonl");
        record.deletedFiles.push_back("agent_prompt_a1.txt");
      });

  CleanupReport report = engine->cleanup(Selector::forRun(kRun));

  EXPECT_TRUE(report.success) << report.summary();
  ASSERT_EQ(report.agents.size(), 2u);
  const AgentTeardown& a1 = report.agents[0];
  EXPECT_EQ(a1.agentId, "a1");
  EXPECT_TRUE(a1.success());
  EXPECT_TRUE(a1.sessionKilled);
  EXPECT_THAT(a1.resources, ::testing::ElementsAre("fake/cr-run-a-a1", "files/a1"));
  EXPECT_THAT(a1.archivedFiles, ::testing::ElementsAre("archive/a1_stream.jsonl"));
  EXPECT_EQ(report.agents[1].agentId, "a2");
  EXPECT_TRUE(report.agents[1].archivedFiles.empty());
  const nlohmann::json json = report.toJson();
  EXPECT_EQ(json["agents"][0]["agentId"], "a1");
  EXPECT_EQ(json["agents"][0]["archivedFiles"][0], "archive/a1_stream.jsonl");
  EXPECT_EQ(json["agents"][0]["success"], true);
}

TEST_F(EngineStagesTest, AnAgentStillRunningFailsItsRecordAndTheReport) {
  engine->options().escalateToForce = false;
  EXPECT_CALL(*backend, list(_)).WillRepeatedly(Return(std::vector<Resource>{session("stuck")}));
  EXPECT_CALL(*backend, requestStop(_, _)).WillOnce(Return(Status::success()));
  EXPECT_CALL(*backend, probe(_)).WillRepeatedly(Return(terminating()));
  EXPECT_CALL(*files, list(_)).WillRepeatedly(Return(std::vector<Resource>{}));

  CleanupReport report = engine->cleanup(Selector::forRun(kRun));

  EXPECT_FALSE(report.success);
  ASSERT_EQ(report.agents.size(), 1u);
  EXPECT_FALSE(report.agents[0].sessionKilled);
  EXPECT_FALSE(report.agents[0].success());
  EXPECT_THAT(report.summary(), ::testing::HasSubstr("agent stuck: STILL RUNNING"));
}

TEST_F(EngineStagesTest, ZombiesAreReportedButFailOnlyWhenCritical) {
  for (bool critical : {false, true}) {
    engine->options().zombiesAreCritical = critical;
    EXPECT_CALL(*backend, list(_)).WillOnce(Return(std::vector<Resource>{session("z")}))
        .WillRepeatedly(Return(std::vector<Resource>{}));
    EXPECT_CALL(*backend, requestStop(_, _)).WillOnce(Return(Status::success()));
    EXPECT_CALL(*backend, probe(_)).WillOnce(Return(ResourceStatus{ResourceState::Gone, "no session"}));
    EXPECT_CALL(*files, list(_)).WillRepeatedly(Return(std::vector<Resource>{}));
    EXPECT_CALL(*backend, describeTeardown(_, _)).WillOnce([](const Resource&, AgentTeardown& record) {
      record.noZombies = false;
      record.zombies.push_back("4243 [sh] (zombie, parent 1)");
    });

    CleanupReport report = engine->cleanup(Selector::forRun(kRun));

    ASSERT_EQ(report.agents.size(), 1u);
    EXPECT_FALSE(report.agents[0].noZombies);
    EXPECT_EQ(report.agents[0].zombiesCritical, critical);
    EXPECT_EQ(report.success, !critical) << report.summary();
    EXPECT_THAT(report.summary(), ::testing::HasSubstr("zombies: 4243 [sh] (zombie, parent 1)"));
    ::testing::Mock::VerifyAndClearExpectations(backend.get());
    ::testing::Mock::VerifyAndClearExpectations(files.get());
    ON_CALL(*files, stage()).WillByDefault(Return(CleanupStage::Files));
  }
}

TEST_F(EngineStagesTest, FailFastInTheAgentsStageSkipsTheFiles) {
  engine->options().failureMode = FailureMode::FailFast;
  EXPECT_CALL(*backend, list(_)).WillRepeatedly(Return(std::vector<Resource>{session("a1")}));
  EXPECT_CALL(*backend, requestStop(_, _)).WillOnce(Return(Error::permanent("tmux: permission denied")));
  EXPECT_CALL(*files, list(_)).WillRepeatedly(Return(std::vector<Resource>{filesOf("a1")}));
  EXPECT_CALL(*files, requestStop(_, _)).Times(0);

  CleanupReport report = engine->cleanup(Selector::forRun(kRun));

  EXPECT_FALSE(report.success);
  ASSERT_EQ(report.resources.size(), 2u);
  EXPECT_TRUE(report.resources[1].skipped);
  EXPECT_THAT(report.resources[1].errors[0], ::testing::HasSubstr("fail-fast after fake/cr-run-a-a1"));
}

TEST_F(EngineStagesTest, ADryRunHasNoTeardownRecords) {
  engine->options().dryRun = true;
  EXPECT_CALL(*backend, list(_)).WillOnce(Return(std::vector<Resource>{session("a1")}));
  EXPECT_CALL(*files, list(_)).WillOnce(Return(std::vector<Resource>{filesOf("a1")}));
  EXPECT_CALL(*backend, describeTeardown(_, _)).Times(0);

  CleanupReport report = engine->cleanup(Selector::forRun(kRun));

  EXPECT_EQ(report.resources.size(), 2u);
  EXPECT_TRUE(report.agents.empty());
}

}  // namespace
}  // namespace cleanroom
