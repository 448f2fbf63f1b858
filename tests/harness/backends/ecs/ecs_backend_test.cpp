// EcsBackend against FakeEcs (an ECS answering in-process through the
// HttpClient interface): selection by startedBy and tag, paging, state
// mapping, stop/probe/await, runTask, locator and configuration errors.
#include "cleanroom/backends/ecs_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "cleanroom/journal.h"
#include "ecs_test_support.h"
#include "manual_clock.h"
#include "scoped_env.h"

namespace cleanroom {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using tests::ecsTask;
using tests::ecsTaskArn;
using tests::FakeEcs;

// An ECS cluster in memory: ListTasks honours cluster, desiredStatus,
// startedBy (unless ignoreStartedBy), maxResults (capped at pageSize) and
// nextToken; DescribeTasks answers MISSING for unknown ARNs.
struct TaskTable {
  std::vector<nlohmann::json> tasks;
  size_t pageSize = 100;
  bool ignoreStartedBy = false;

  HttpResponse answer(const std::string& operation, const nlohmann::json& body) const {
    if (operation == "ListTasks") return listTasks(body);
    if (operation == "DescribeTasks") return describeTasks(body);
    return FakeEcs::error(400, "UnknownOperationException", operation);
  }

  HttpResponse listTasks(const nlohmann::json& body) const {
    const std::string cluster = body.value("cluster", "default");
    const std::string desired = body.value("desiredStatus", "RUNNING");
    const std::string startedBy = ignoreStartedBy ? "" : body.value("startedBy", "");
    std::vector<std::string> arns;
    for (const auto& task : tasks) {
      if (task["clusterArn"].get<std::string>().ends_with("/" + cluster) && task["desiredStatus"] == desired &&
          (startedBy.empty() || task.value("startedBy", "") == startedBy)) {
        arns.push_back(task["taskArn"]);
      }
    }
    const size_t start = body.contains("nextToken") ? std::stoul(body["nextToken"].get<std::string>()) : 0;
    const size_t size = std::min<size_t>(pageSize, body.value("maxResults", 100));
    nlohmann::json out = {{"taskArns", nlohmann::json::array()}};
    for (size_t i = start; i < std::min(arns.size(), start + size); ++i) out["taskArns"].push_back(arns[i]);
    if (start + size < arns.size()) out["nextToken"] = std::to_string(start + size);
    return FakeEcs::ok(out);
  }

  HttpResponse describeTasks(const nlohmann::json& body) const {
    nlohmann::json out = {{"tasks", nlohmann::json::array()}, {"failures", nlohmann::json::array()}};
    if (body.value("tasks", nlohmann::json::array()).size() > 100) {
      return FakeEcs::error(400, "InvalidParameterException", "Tasks cannot be longer than 100.");
    }
    for (const auto& arn : body["tasks"]) {
      bool found = false;
      for (const auto& task : tasks) {
        if (task["taskArn"] == arn) {
          out["tasks"].push_back(task);
          found = true;
        }
      }
      if (!found) out["failures"].push_back({{"arn", arn}, {"reason", "MISSING"}});
    }
    return FakeEcs::ok(out);
  }
};

class EcsBackendTest : public ::testing::Test {
 protected:
  EcsBackendTest() {
    fake_->setHandler([this](const std::string& op, const nlohmann::json& body) { return table_.answer(op, body); });
  }

  EcsBackend& backend(std::vector<std::string> clusters = {"default"}, bool scanAllTasks = false) {
    EcsBackendOptions options;
    options.aws = tests::ecsTestConfig();
    options.clusters = std::move(clusters);
    options.scanAllTasks = scanAllTasks;
    backend_ = std::make_unique<EcsBackend>(options, clock_, aws::AwsClient::HttpClients{{"ecs", fake_}});
    return *backend_;
  }

  std::vector<std::string> ids(const std::vector<Resource>& resources) {
    std::vector<std::string> out;
    for (const auto& r : resources) out.push_back(r.id.substr(r.id.rfind('/') + 1));
    return out;
  }

  tests::ManualClock clock_;
  TaskTable table_;
  std::shared_ptr<FakeEcs> fake_ = std::make_shared<FakeEcs>();
  std::unique_ptr<EcsBackend> backend_;
};

// ---- selection -------------------------------------------------------------

TEST_F(EcsBackendTest, ARunsListAsksForItsStartedByTasksBothRunningAndStopped) {
  table_.tasks = {ecsTask("t-run", "RUNNING", "run-a"), ecsTask("t-stopping", "DEACTIVATING", "run-a", "default", "STOPPED"),
                  ecsTask("t-stopped", "STOPPED", "run-a", "default", "STOPPED")};

  auto listed = backend().list(Selector::forRun("run-a"));

  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_THAT(ids(*listed), UnorderedElementsAre("t-run", "t-stopping", "t-stopped"));
  const auto lists = fake_->calls("ListTasks");
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0].body.at("desiredStatus"), "RUNNING");
  EXPECT_EQ(lists[1].body.at("desiredStatus"), "STOPPED");
  for (const auto& call : lists) {
    EXPECT_EQ(call.body.at("startedBy"), "run-a");
    EXPECT_EQ(call.body.at("cluster"), "default");
  }
  const auto describes = fake_->calls("DescribeTasks");
  ASSERT_EQ(describes.size(), 1u);
  EXPECT_EQ(describes[0].body.at("include"), nlohmann::json::array({"TAGS"}));
}

TEST_F(EcsBackendTest, AStoppedTaskIsTerminalSoTheEnginesActiveScopeSkipsIt) {
  table_.tasks = {ecsTask("t-run", "RUNNING", "run-a"), ecsTask("t-stopped", "STOPPED", "run-a", "default", "STOPPED")};

  auto active = backend().list(Selector::forRun("run-a").activeOnly());

  ASSERT_TRUE(active.ok()) << active.error().describe();
  EXPECT_THAT(ids(*active), ElementsAre("t-run"));
  auto all = backend_->list(Selector::forRun("run-a"));
  ASSERT_TRUE(all.ok());
  for (const auto& r : *all) {
    if (r.id == ecsTaskArn("t-stopped")) {
      EXPECT_EQ(r.state, ResourceState::Terminal);
    }
  }
}

TEST_F(EcsBackendTest, ListFollowsNextTokenAndDescribesInBatchesOfAHundred) {
  for (int i = 0; i < 150; ++i) table_.tasks.push_back(ecsTask("t" + std::to_string(i), "RUNNING", "run-a"));
  table_.pageSize = 40;

  auto listed = backend().list(Selector::forRun("run-a"));

  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_EQ(listed->size(), 150u);
  const auto lists = fake_->calls("ListTasks");
  ASSERT_EQ(lists.size(), 5u) << "4 RUNNING pages (40+40+40+30) and 1 STOPPED page";
  EXPECT_FALSE(lists[0].body.contains("nextToken"));
  EXPECT_EQ(lists[1].body.at("nextToken"), "40");
  EXPECT_EQ(lists[3].body.at("nextToken"), "120");
  const auto describes = fake_->calls("DescribeTasks");
  ASSERT_EQ(describes.size(), 2u);
  EXPECT_EQ(describes[0].body.at("tasks").size(), 100u);
  EXPECT_EQ(describes[1].body.at("tasks").size(), 50u);
}

TEST_F(EcsBackendTest, AnotherRunsTasksAreNeverListedEvenWhenTheServerIgnoresStartedBy) {
  table_.tasks = {ecsTask("mine", "RUNNING", "run-a"), ecsTask("theirs", "RUNNING", "run-b"),
                  ecsTask("untagged", "RUNNING", "")};
  table_.ignoreStartedBy = true;

  auto listed = backend().list(Selector::forRun("run-a"));

  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_THAT(ids(*listed), ElementsAre("mine"));
  EXPECT_EQ((*listed)[0].runId, "run-a");
}

TEST_F(EcsBackendTest, AllRunsScansEveryTaskButKeepsOnlyTasksWithTheRunTag) {
  auto foreign = ecsTask("foreign", "RUNNING", "");
  foreign["startedBy"] = "ecs-svc/1234";
  table_.tasks = {ecsTask("a", "RUNNING", "run-a"), ecsTask("b", "PENDING", "run-b"), foreign};

  auto listed = backend().list(Selector::allRuns());

  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_THAT(ids(*listed), UnorderedElementsAre("a", "b"));
  for (const auto& call : fake_->calls("ListTasks")) EXPECT_FALSE(call.body.contains("startedBy"));
}

TEST_F(EcsBackendTest, ScanAllTasksFindsATaskAnotherToolStartedWithOnlyTheTag) {
  auto tagOnly = ecsTask("tag-only", "RUNNING", "run-a");
  tagOnly["startedBy"] = "deploy-bot";
  table_.tasks = {ecsTask("mine", "RUNNING", "run-a"), tagOnly, ecsTask("theirs", "RUNNING", "run-b")};

  auto byStartedBy = backend().list(Selector::forRun("run-a"));
  ASSERT_TRUE(byStartedBy.ok());
  EXPECT_THAT(ids(*byStartedBy), ElementsAre("mine"));

  auto scanned = backend({"default"}, true).list(Selector::forRun("run-a"));
  ASSERT_TRUE(scanned.ok()) << scanned.error().describe();
  EXPECT_THAT(ids(*scanned), UnorderedElementsAre("mine", "tag-only"));
}

TEST_F(EcsBackendTest, ATaskWithStartedByButNoTagBelongsToThatRun) {
  auto untagged = ecsTask("untagged", "RUNNING", "run-a");
  untagged["tags"] = nlohmann::json::array();
  table_.tasks = {untagged};

  auto listed = backend().list(Selector::forRun("run-a"));

  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].runId, "run-a");
}

TEST_F(EcsBackendTest, SelectorLabelsNamePrefixAndMinAgeFilter) {
  auto labelled = ecsTask("labelled", "RUNNING", "run-a");
  labelled["tags"].push_back({{"key", "team"}, {"value", "x"}});
  labelled["createdAt"] = std::chrono::duration<double>(clock_.wallNow().time_since_epoch()).count() - 120;
  auto young = ecsTask("young", "RUNNING", "run-a");
  young["tags"].push_back({{"key", "team"}, {"value", "x"}});
  young["createdAt"] = std::chrono::duration<double>(clock_.wallNow().time_since_epoch()).count() - 5;
  auto other = ecsTask("other", "RUNNING", "run-a");
  other["group"] = "batch-jobs";
  table_.tasks = {labelled, young, other};

  Selector byLabel = Selector::forRun("run-a");
  byLabel.labels = {{"team", "x"}};
  byLabel.minAge = milliseconds(60000);
  auto old = backend().list(byLabel);
  ASSERT_TRUE(old.ok());
  EXPECT_THAT(ids(*old), ElementsAre("labelled"));

  Selector byName = Selector::forRun("run-a");
  byName.namePrefix = "batch";
  auto named = backend_->list(byName);
  ASSERT_TRUE(named.ok());
  EXPECT_THAT(ids(*named), ElementsAre("other"));
}

TEST_F(EcsBackendTest, EveryConfiguredClusterIsListedAndAMissingOneIsNamed) {
  table_.tasks = {ecsTask("in-a", "RUNNING", "run-a", "ci-a"), ecsTask("in-b", "RUNNING", "run-a", "ci-b")};

  auto listed = backend({"ci-a", "arn:aws:ecs:us-east-1:123456789012:cluster/ci-b"}).list(Selector::forRun("run-a"));
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_THAT(ids(*listed), UnorderedElementsAre("in-a", "in-b"));

  fake_->setHandler([](const std::string&, const nlohmann::json&) {
    return FakeEcs::error(400, "ClusterNotFoundException", "Cluster not found.");
  });
  auto missing = backend({"gone-cluster"}).list(Selector::forRun("run-a"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(missing.error().message, HasSubstr("gone-cluster"));
  EXPECT_THAT(missing.error().message, HasSubstr("CLEANROOM_ECS_CLUSTER"));
}

TEST_F(EcsBackendTest, ThrottledListingIsRetryable) {
  fake_->setHandler([](const std::string&, const nlohmann::json&) {
    return FakeEcs::error(400, "ThrottlingException", "Rate exceeded");
  });

  auto listed = backend().list(Selector::forRun("run-a"));

  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(listed.error().message, HasSubstr("ThrottlingException"));
}

// ---- state mapping -----------------------------------------------------------

TEST(EcsClassify, MapsEveryLastStatus) {
  EXPECT_EQ(EcsBackend::classify("PROVISIONING", "RUNNING"), ResourceState::Pending);
  EXPECT_EQ(EcsBackend::classify("PENDING", "RUNNING"), ResourceState::Pending);
  EXPECT_EQ(EcsBackend::classify("ACTIVATING", "RUNNING"), ResourceState::Pending);
  EXPECT_EQ(EcsBackend::classify("RUNNING", "RUNNING"), ResourceState::Running);
  EXPECT_EQ(EcsBackend::classify("DEACTIVATING", "STOPPED"), ResourceState::Stopping);
  EXPECT_EQ(EcsBackend::classify("STOPPING", "STOPPED"), ResourceState::Stopping);
  EXPECT_EQ(EcsBackend::classify("DEPROVISIONING", "STOPPED"), ResourceState::Stopping);
  EXPECT_EQ(EcsBackend::classify("STOPPED", "STOPPED"), ResourceState::Terminal);
  EXPECT_EQ(EcsBackend::classify("DELETED", "STOPPED"), ResourceState::Gone);
  EXPECT_EQ(EcsBackend::classify("SOMETHING_NEW", "RUNNING"), ResourceState::Unknown);
}

TEST(EcsClassify, ALiveTaskThatIsToStopIsStopping) {
  EXPECT_EQ(EcsBackend::classify("RUNNING", "STOPPED"), ResourceState::Stopping);
  EXPECT_EQ(EcsBackend::classify("PENDING", "STOPPED"), ResourceState::Stopping);
}

TEST_F(EcsBackendTest, ParseTaskReadsIdNameOwnerTimeStatusAndPrivateIp) {
  auto json = ecsTask("t1", "RUNNING", "run-a", "ci", "STOPPED");
  json["attachments"] = {{{"id", "eni-att"},
                          {"type", "ElasticNetworkInterface"},
                          {"status", "ATTACHED"},
                          {"details", {{{"name", "subnetId"}, {"value", "subnet-1"}},
                                       {{"name", "privateIPv4Address"}, {"value", "10.0.1.7"}}}}}};

  auto task = backend().parseTask(json);

  ASSERT_TRUE(task.ok()) << task.error().describe();
  EXPECT_EQ(task->taskArn, ecsTaskArn("t1", "ci"));
  EXPECT_EQ(task->cluster, "ci");
  EXPECT_EQ(task->privateIp, "10.0.1.7");
  EXPECT_EQ(task->resource.backend, "ecs");
  EXPECT_EQ(task->resource.id, task->taskArn);
  EXPECT_EQ(task->resource.name, "web:3") << "the default group family:web is no name";
  EXPECT_EQ(task->resource.runId, "run-a");
  EXPECT_EQ(task->resource.labels.at("cleanroom.run"), "run-a");
  EXPECT_EQ(task->resource.state, ResourceState::Stopping);
  EXPECT_EQ(task->resource.status, "RUNNING→STOPPED");
  ASSERT_TRUE(task->resource.createdAt.has_value());
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(task->resource.createdAt->time_since_epoch()).count(),
            1795651200500);
}

TEST_F(EcsBackendTest, ParseTaskFallsBackToTheContainersNetworkInterface) {
  auto json = ecsTask("t1", "RUNNING", "run-a");
  json["containers"] = {{{"name", "app"}, {"networkInterfaces", {{{"privateIpv4Address", "10.0.2.9"}}}}}};

  auto task = backend().parseTask(json);

  ASSERT_TRUE(task.ok());
  EXPECT_EQ(task->privateIp, "10.0.2.9");
  json.erase("taskArn");
  auto broken = backend_->parseTask(json);
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.error().message, HasSubstr("taskArn"));
}

// ---- stop, probe, await -------------------------------------------------------

TEST_F(EcsBackendTest, StopSendsStopTaskWithTheRunAsReasonForBothModes) {
  fake_->setHandler([](const std::string&, const nlohmann::json& body) {
    return FakeEcs::ok({{"task", ecsTask("t1", "RUNNING", "run-a", "ci", "STOPPED")}, {"echo", body}});
  });
  Resource task;
  task.backend = "ecs";
  task.id = ecsTaskArn("t1", "ci");
  task.runId = "run-a";

  ASSERT_TRUE(backend({"ci"}).requestStop(task, StopMode::Graceful).ok());
  ASSERT_TRUE(backend_->requestStop(task, StopMode::Force).ok());

  const auto stops = fake_->calls("StopTask");
  ASSERT_EQ(stops.size(), 2u);
  EXPECT_EQ(stops[0].body, stops[1].body) << "ECS has no force: the same call";
  EXPECT_EQ(stops[0].body.at("cluster"), "ci");
  EXPECT_EQ(stops[0].body.at("task"), task.id);
  EXPECT_EQ(stops[0].body.at("reason"), "cleanroom: run run-a");
}

TEST_F(EcsBackendTest, StoppingAnUnknownTaskOrClusterIsGone) {
  fake_->setHandler([](const std::string&, const nlohmann::json& body) {
    if (body.at("cluster") == "ci") {
      return FakeEcs::error(400, "InvalidParameterException", "The referenced task was not found.");
    }
    return FakeEcs::error(400, "ClusterNotFoundException", "Cluster not found.");
  });
  Resource unknown;
  unknown.id = ecsTaskArn("nope", "ci");
  Resource noCluster;
  noCluster.id = ecsTaskArn("nope", "deleted-cluster");

  Status stopped = backend({"ci"}).requestStop(unknown, StopMode::Graceful);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().kind, ErrorKind::Gone);
  EXPECT_THAT(stopped.error().message, HasSubstr("not found"));
  Status clusterGone = backend_->requestStop(noCluster, StopMode::Force);
  ASSERT_FALSE(clusterGone.ok());
  EXPECT_EQ(clusterGone.error().kind, ErrorKind::Gone);
}

TEST_F(EcsBackendTest, OtherStopErrorsKeepTheirKind) {
  int calls = 0;
  fake_->setHandler([&calls](const std::string&, const nlohmann::json&) {
    return ++calls == 1 ? FakeEcs::error(400, "ThrottlingException", "Rate exceeded")
                        : FakeEcs::error(400, "InvalidParameterException", "Task must be an ARN or an id.");
  });
  Resource task;
  task.id = ecsTaskArn("t1");

  Status throttled = backend().requestStop(task, StopMode::Graceful);
  ASSERT_FALSE(throttled.ok());
  EXPECT_EQ(throttled.error().kind, ErrorKind::Retryable);
  Status invalid = backend_->requestStop(task, StopMode::Graceful);
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().kind, ErrorKind::Permanent);
}

TEST_F(EcsBackendTest, ProbeReportsStateAndMissingAsGone) {
  table_.tasks = {ecsTask("live", "RUNNING", "run-a"), ecsTask("done", "STOPPED", "run-a", "default", "STOPPED")};
  Resource live, done, missing;
  live.id = ecsTaskArn("live");
  done.id = ecsTaskArn("done");
  missing.id = ecsTaskArn("missing");

  auto liveState = backend().probe(live);
  auto doneState = backend_->probe(done);
  auto missingState = backend_->probe(missing);

  ASSERT_TRUE(liveState.ok() && doneState.ok() && missingState.ok());
  EXPECT_EQ(liveState->state, ResourceState::Running);
  EXPECT_EQ(liveState->status, "RUNNING");
  EXPECT_EQ(doneState->state, ResourceState::Terminal);
  EXPECT_EQ(doneState->status, "STOPPED");
  EXPECT_EQ(missingState->state, ResourceState::Gone);
  EXPECT_EQ(fake_->calls("DescribeTasks")[0].body.at("tasks"), nlohmann::json::array({live.id}));
}

TEST_F(EcsBackendTest, AwaitFinishedPollsAdaptivelyUntilStopped) {
  int polls = 0;
  fake_->setHandler([&polls](const std::string&, const nlohmann::json&) {
    static const char* walk[] = {"RUNNING", "DEACTIVATING", "DEPROVISIONING", "STOPPED"};
    const std::string status = walk[std::min(polls++, 3)];
    return FakeEcs::ok({{"tasks", {ecsTask("t1", status, "run-a", "default", "STOPPED")}}});
  });
  Resource task;
  task.id = ecsTaskArn("t1");
  ASSERT_TRUE(backend().canAwait());

  auto finished = backend_->awaitFinished(task, milliseconds(60000));

  ASSERT_TRUE(finished.ok()) << finished.error().describe();
  EXPECT_EQ(finished->state, ResourceState::Terminal);
  EXPECT_EQ(polls, 4);
  EXPECT_LT(clock_.elapsed(), milliseconds(1000)) << "adaptive: 10 ms, then 15, 22 — not a fixed 6 s";
}

TEST_F(EcsBackendTest, AwaitFinishedEndsAtItsTimeoutWithTheLastState) {
  fake_->setHandler([](const std::string&, const nlohmann::json&) {
    return FakeEcs::ok({{"tasks", {ecsTask("t1", "RUNNING", "run-a", "default", "STOPPED")}}});
  });
  Resource task;
  task.id = ecsTaskArn("t1");

  auto finished = backend().awaitFinished(task, milliseconds(3000));

  ASSERT_TRUE(finished.ok());
  EXPECT_EQ(finished->state, ResourceState::Stopping);
  EXPECT_EQ(clock_.elapsed(), milliseconds(3000));
}

// ---- runTask -------------------------------------------------------------------

class EcsRunTaskTest : public EcsBackendTest {
 protected:
  EcsRunTaskTest() {
    char pattern[] = "/tmp/cr-ecs-journal-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    directory_ = pattern;
    journals_ = std::make_unique<tests::ScopedEnv>(kJournalDirVariable, directory_.string());
  }
  ~EcsRunTaskTest() override {
    journals_.reset();
    std::filesystem::remove_all(directory_);
  }
  std::filesystem::path directory_;
  std::unique_ptr<tests::ScopedEnv> journals_;
};

TEST_F(EcsRunTaskTest, RunTaskSendsStartedByTagsAndATokenAndJournalsTheTask) {
  fake_->setHandler([](const std::string& op, const nlohmann::json&) {
    if (op != "RunTask") return FakeEcs::error(400, "UnknownOperationException", op);
    auto task = ecsTask("new1", "PROVISIONING", "run-ecs-journal", "ci");
    task["tags"].push_back({{"key", "session"}, {"value", "s1"}});
    task["attachments"] = {{{"type", "ElasticNetworkInterface"},
                            {"details", {{{"name", "privateIPv4Address"}, {"value", "10.0.0.5"}}}}}};
    return FakeEcs::ok({{"tasks", {task}}, {"failures", nlohmann::json::array()}});
  });
  EcsTaskSpec spec;
  spec.cluster = "ci";
  spec.taskDefinition = "web:3";
  spec.runId = "run-ecs-journal";
  spec.labels = {{"session", "s1"}};
  spec.environment = {{"app", {{"MODE", "test"}}}};

  auto started = backend({"default", "ci"}).runTask(spec);

  ASSERT_TRUE(started.ok()) << started.error().describe();
  EXPECT_EQ(started->privateIp, "10.0.0.5");
  EXPECT_EQ(started->cluster, "ci");
  EXPECT_EQ(started->resource.state, ResourceState::Pending);
  const auto runs = fake_->calls("RunTask");
  ASSERT_EQ(runs.size(), 1u);
  const auto& body = runs[0].body;
  EXPECT_EQ(body.at("cluster"), "ci");
  EXPECT_EQ(body.at("taskDefinition"), "web:3");
  EXPECT_EQ(body.at("launchType"), "FARGATE");
  EXPECT_EQ(body.at("startedBy"), "run-ecs-journal");
  EXPECT_THAT(body.at("tags"), ::testing::Contains(nlohmann::json{{"key", "cleanroom.run"}, {"value", "run-ecs-journal"}}));
  EXPECT_THAT(body.at("tags"), ::testing::Contains(nlohmann::json{{"key", "session"}, {"value", "s1"}}));
  EXPECT_FALSE(body.at("clientToken").get<std::string>().empty());
  EXPECT_LE(body.at("clientToken").get<std::string>().size(), 64u);
  EXPECT_EQ(body.at("networkConfiguration").at("awsvpcConfiguration").at("assignPublicIp"), "DISABLED");
  EXPECT_EQ(body.at("overrides").at("containerOverrides")[0].at("environment")[0].at("value"), "test");

  auto journal = Journal::read(Journal::pathFor("run-ecs-journal"), "run-ecs-journal");
  ASSERT_TRUE(journal.ok()) << journal.error().describe();
  const auto outstanding = journal->outstanding();
  ASSERT_EQ(outstanding.size(), 1u);
  EXPECT_EQ(outstanding[0].backend, "ecs");
  EXPECT_EQ(outstanding[0].id, ecsTaskArn("new1", "ci"));
  const auto locators = journal->backends().at("ecs");
  ASSERT_EQ(locators.size(), 1u);
  EXPECT_EQ(locators[0].at("clusters"), "default,ci");
  for (const auto& [key, value] : locators[0]) EXPECT_THAT(value, Not(HasSubstr("test-secret-key"))) << key;
}

TEST_F(EcsRunTaskTest, TwoRunTaskCallsUseDifferentClientTokens) {
  fake_->setHandler([](const std::string&, const nlohmann::json&) {
    return FakeEcs::ok({{"tasks", {ecsTask("n", "PENDING", "run-ecs-token")}}});
  });
  EcsTaskSpec spec;
  spec.taskDefinition = "web";
  spec.runId = "run-ecs-token";

  ASSERT_TRUE(backend().runTask(spec).ok());
  ASSERT_TRUE(backend_->runTask(spec).ok());
  spec.clientToken = "mine";
  ASSERT_TRUE(backend_->runTask(spec).ok());

  const auto runs = fake_->calls("RunTask");
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_NE(runs[0].body.at("clientToken"), runs[1].body.at("clientToken"));
  EXPECT_EQ(runs[2].body.at("clientToken"), "mine");
}

TEST_F(EcsRunTaskTest, RunTaskRefusesABadSpecNamingTheField) {
  EcsTaskSpec spec;
  auto noDefinition = backend({"ci"}).runTask(spec);
  ASSERT_FALSE(noDefinition.ok());
  EXPECT_THAT(noDefinition.error().message, HasSubstr("taskDefinition"));

  spec.taskDefinition = "web";
  spec.cluster = "elsewhere";
  auto unconfigured = backend_->runTask(spec);
  ASSERT_FALSE(unconfigured.ok());
  EXPECT_THAT(unconfigured.error().message, HasSubstr("CLEANROOM_ECS_CLUSTER"));
  EXPECT_THAT(unconfigured.error().message, HasSubstr("elsewhere"));
  EXPECT_TRUE(fake_->calls().empty()) << "nothing sent";
}

TEST_F(EcsRunTaskTest, RunTaskFailuresNameTheReason) {
  fake_->setHandler([](const std::string&, const nlohmann::json&) {
    return FakeEcs::ok({{"tasks", nlohmann::json::array()},
                        {"failures", {{{"arn", "x"}, {"reason", "RESOURCE:MEMORY"}}}}});
  });
  EcsTaskSpec spec;
  spec.taskDefinition = "web";
  spec.runId = "run-ecs-fail";

  auto started = backend().runTask(spec);

  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(started.error().message, HasSubstr("RESOURCE:MEMORY"));
}

TEST_F(EcsBackendTest, AwaitRunningReturnsTheTaskWithItsIpOrSaysWhyNot) {
  int polls = 0;
  fake_->setHandler([&polls](const std::string&, const nlohmann::json&) {
    auto task = ecsTask("t1", ++polls < 3 ? "PENDING" : "RUNNING", "run-a");
    task["containers"] = {{{"networkInterfaces", {{{"privateIpv4Address", "10.0.3.3"}}}}}};
    return FakeEcs::ok({{"tasks", {task}}});
  });

  auto running = backend().awaitRunning(ecsTaskArn("t1"), milliseconds(5000));
  ASSERT_TRUE(running.ok()) << running.error().describe();
  EXPECT_EQ(running->lastStatus, "RUNNING");
  EXPECT_EQ(running->privateIp, "10.0.3.3");

  fake_->setHandler([](const std::string&, const nlohmann::json&) {
    return FakeEcs::ok({{"tasks", {ecsTask("t1", "STOPPED", "run-a", "default", "STOPPED")}}});
  });
  auto stopped = backend_->awaitRunning(ecsTaskArn("t1"), milliseconds(5000));
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(stopped.error().message, HasSubstr("STOPPED"));
}

// ---- configuration and locator ----------------------------------------------------

class EcsConfigTest : public ::testing::Test {
 protected:
  EcsConfigTest() {
    for (const char* name : {"AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECS",
                             "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "AWS_ENDPOINT_URL_STS",
                             kEcsClusterVariable}) {
      set(name, std::nullopt);
    }
    set("AWS_REGION", "eu-west-1");
    set("AWS_ACCESS_KEY_ID", "AKIATEST");
    set("AWS_SECRET_ACCESS_KEY", "s3cr3t-never-shown");
    set("AWS_ENDPOINT_URL_ECS", "http://127.0.0.1:18081");
  }
  // Restores in reverse order, so a variable set twice ends as it was.
  ~EcsConfigTest() override {
    while (!env_.empty()) env_.pop_back();
  }
  void set(const char* name, std::optional<std::string> value) {
    env_.push_back(std::make_unique<tests::ScopedEnv>(name, std::move(value)));
  }
  std::vector<std::unique_ptr<tests::ScopedEnv>> env_;
};

TEST_F(EcsConfigTest, DefaultsToTheDefaultCluster) {
  auto options = EcsBackendOptions::fromEnvironment();
  ASSERT_TRUE(options.ok()) << options.error().describe();
  EXPECT_THAT(options->clusters, ElementsAre("default"));
  EXPECT_EQ(options->aws.region, "eu-west-1");
}

TEST_F(EcsConfigTest, ReadsCommaSeparatedClustersAndArns) {
  set(kEcsClusterVariable, "ci-a, arn:aws:ecs:eu-west-1:123456789012:cluster/ci-b");
  auto options = EcsBackendOptions::fromEnvironment();
  ASSERT_TRUE(options.ok()) << options.error().describe();
  EXPECT_THAT(options->clusters, ElementsAre("ci-a", "arn:aws:ecs:eu-west-1:123456789012:cluster/ci-b"));
}

TEST_F(EcsConfigTest, ErrorsNameTheVariable) {
  set(kEcsClusterVariable, "ci-a,,ci-b");
  auto empty = EcsBackendOptions::fromEnvironment();
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.error().message, HasSubstr("CLEANROOM_ECS_CLUSTER"));

  set(kEcsClusterVariable, "bad name!");
  auto malformed = EcsBackendOptions::fromEnvironment();
  ASSERT_FALSE(malformed.ok());
  EXPECT_THAT(malformed.error().message, HasSubstr("CLEANROOM_ECS_CLUSTER"));
  EXPECT_THAT(malformed.error().message, HasSubstr("bad name!"));

  set(kEcsClusterVariable, std::nullopt);
  set("AWS_REGION", std::nullopt);
  auto noRegion = EcsBackendOptions::fromEnvironment();
  ASSERT_FALSE(noRegion.ok());
  EXPECT_THAT(noRegion.error().message, HasSubstr("AWS_REGION"));
}

TEST_F(EcsConfigTest, WithoutAnEcsEndpointTheBackendUsesThePublicOne) {
  set("AWS_ENDPOINT_URL_ECS", std::nullopt);
  set("AWS_ENDPOINT_URL", std::nullopt);
  auto options = EcsBackendOptions::fromEnvironment();
  ASSERT_TRUE(options.ok()) << options.error().describe();
  EXPECT_EQ(options->aws.endpointFor("ecs").value(), "https://ecs." + options->aws.region + ".amazonaws.com");
  EXPECT_NO_THROW(EcsBackend backend(*options)) << "does not connect";
}

TEST_F(EcsConfigTest, LocatorRoundTripsWithoutSecrets) {
  set(kEcsClusterVariable, "ci-a,ci-b");
  auto options = EcsBackendOptions::fromEnvironment();
  ASSERT_TRUE(options.ok());
  EcsBackend original(*options);

  const auto locator = original.locator();
  EXPECT_EQ(locator.at("clusters"), "ci-a,ci-b");
  EXPECT_EQ(locator.at("region"), "eu-west-1");
  for (const auto& [key, value] : locator) {
    EXPECT_THAT(value, Not(HasSubstr("s3cr3t"))) << key;
    EXPECT_THAT(value, Not(HasSubstr("AKIATEST"))) << key;
  }

  auto rebuilt = EcsBackendOptions::fromLocator(locator);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().describe();
  EXPECT_EQ(rebuilt->clusters, options->clusters);
  EXPECT_EQ(*rebuilt->aws.endpointFor("ecs"), "http://127.0.0.1:18081");
  EXPECT_EQ(rebuilt->aws.credentials.secretAccessKey, "s3cr3t-never-shown") << "read from the environment";
  EXPECT_EQ(EcsBackend(*rebuilt).locator(), locator);

  auto incomplete = locator;
  incomplete.erase("clusters");
  auto refused = EcsBackendOptions::fromLocator(incomplete);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("clusters"));
}

TEST(EcsNames, ClusterOfTaskAndClusterName) {
  EXPECT_EQ(EcsBackend::clusterOfTask("arn:aws:ecs:us-east-1:1:task/ci/abc"), "ci");
  EXPECT_EQ(EcsBackend::clusterOfTask("arn:aws:ecs:us-east-1:1:task/abc"), "");
  EXPECT_EQ(EcsBackend::clusterName("arn:aws:ecs:us-east-1:1:cluster/ci"), "ci");
  EXPECT_EQ(EcsBackend::clusterName("ci"), "ci");
  EXPECT_EQ(ecsTarget("ListTasks"), "AmazonEC2ContainerServiceV20141113.ListTasks");
}

}  // namespace
}  // namespace cleanroom
