// EcsStore: the ECS state model of cleanroom-mock-aws — task lifecycle on the
// scheduler, ListTasks filters and pagination, idempotent RunTask, errors.
#include "cleanroom/mocks/aws/ecs_store.h"

#include <gtest/gtest.h>

#include <set>

#include "cleanroom/clock.h"
#include "cleanroom/wait.h"

namespace cleanroom::mocks::aws {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class EcsStoreTest : public ::testing::Test {
 protected:
  explicit EcsStoreTest(std::chrono::milliseconds start = 0ms, std::chrono::milliseconds stop = 0ms,
                        std::chrono::milliseconds linger = 60s)
      : store_(EcsStoreOptions{"us-east-1", "123456789012", start, stop, linger}) {}

  void SetUp() override {
    ok("CreateCluster", {{"clusterName", "c1"}});
    ok("RegisterTaskDefinition",
       {{"family", "agent"}, {"cpu", 256}, {"memory", "512"}, {"networkMode", "awsvpc"},
        {"containerDefinitions", json::array({{{"name", "main"}, {"image", "busybox"}}})}});
  }

  json ok(const std::string& operation, const json& request) {
    auto result = store_.call(operation, request);
    EXPECT_TRUE(result.ok()) << operation << ": " << (result.ok() ? "" : result.error().code + " " + result.error().message);
    return result.ok() ? result.value() : json();
  }

  AwsError fails(const std::string& operation, const json& request) {
    auto result = store_.call(operation, request);
    EXPECT_FALSE(result.ok()) << operation << " unexpectedly succeeded: " << (result.ok() ? result.value().dump() : "");
    return result.ok() ? AwsError{} : result.error();
  }

  json run(json extra = json::object()) {
    json request = {{"cluster", "c1"}, {"taskDefinition", "agent"}, {"launchType", "FARGATE"}};
    request.update(extra);
    return ok("RunTask", request)["tasks"][0];
  }

  json describe(const std::string& arn) {
    return ok("DescribeTasks", {{"cluster", "c1"}, {"tasks", {arn}}, {"include", {"TAGS"}}});
  }

  std::string lastStatus(const std::string& arn) {
    json tasks = describe(arn)["tasks"];
    return tasks.empty() ? "" : tasks[0]["lastStatus"].get<std::string>();
  }

  bool waitForStatus(const std::string& arn, const std::string& status) {
    Clock& clock = Clock::system();
    return waitUntil(clock, clock.now() + 10s, AdaptiveWait{}, [&] { return lastStatus(arn) == status; }).met;
  }

  EcsStore store_;
};

class EcsStoreTimedTest : public EcsStoreTest {
 protected:
  EcsStoreTimedTest() : EcsStoreTest(40ms, 60ms, 150ms) {}
};

TEST_F(EcsStoreTest, RunTaskAnswersTheTaskWithEniIpTagsAndArns) {
  json task = run({{"startedBy", "cr-run1"}, {"tags", {{{"key", "cleanroom.run"}, {"value", "run1"}}}}});
  const std::string arn = task["taskArn"];
  EXPECT_EQ(arn.rfind("arn:aws:ecs:us-east-1:123456789012:task/c1/", 0), 0u) << arn;
  EXPECT_EQ(arn.size(), std::string("arn:aws:ecs:us-east-1:123456789012:task/c1/").size() + 32);
  EXPECT_EQ(task["clusterArn"], "arn:aws:ecs:us-east-1:123456789012:cluster/c1");
  EXPECT_EQ(task["taskDefinitionArn"], "arn:aws:ecs:us-east-1:123456789012:task-definition/agent:1");
  EXPECT_EQ(task["lastStatus"], "RUNNING");  // zero start delay
  EXPECT_EQ(task["desiredStatus"], "RUNNING");
  EXPECT_EQ(task["startedBy"], "cr-run1");
  EXPECT_EQ(task["group"], "family:agent");
  EXPECT_EQ(task["cpu"], "256");
  EXPECT_TRUE(task["createdAt"].is_number_float());
  EXPECT_EQ(task["tags"], json::array({{{"key", "cleanroom.run"}, {"value", "run1"}}}));
  const std::string ip = task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"];
  EXPECT_EQ(ip.rfind("10.0.", 0), 0u);
  bool found = false;
  for (const auto& detail : task["attachments"][0]["details"]) {
    if (detail["name"] == "privateIPv4Address") found = detail["value"] == ip;
  }
  EXPECT_TRUE(found) << task["attachments"].dump();
  EXPECT_EQ(task["attachments"][0]["type"], "ElasticNetworkInterface");
}

TEST_F(EcsStoreTest, EveryTaskGetsItsOwnIp) {
  json tasks = ok("RunTask", {{"cluster", "c1"}, {"taskDefinition", "agent:1"}, {"count", 10}})["tasks"];
  ASSERT_EQ(tasks.size(), 10u);
  std::set<std::string> ips;
  for (const auto& task : tasks) ips.insert(task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"].get<std::string>());
  EXPECT_EQ(ips.size(), 10u);
}

TEST_F(EcsStoreTimedTest, TaskWalksTheLifecycleToStoppedAndIsForgottenAfterTheLinger) {
  json task = run();
  const std::string arn = task["taskArn"];
  EXPECT_EQ(task["lastStatus"], "PROVISIONING");
  EXPECT_EQ(task["attachments"][0]["status"], "PRECREATED");
  ASSERT_TRUE(waitForStatus(arn, "RUNNING"));
  json running = describe(arn)["tasks"][0];
  EXPECT_TRUE(running.contains("startedAt"));
  EXPECT_EQ(running["attachments"][0]["status"], "ATTACHED");

  json stopped = ok("StopTask", {{"cluster", "c1"}, {"task", arn}, {"reason", "cleanup"}})["task"];
  EXPECT_EQ(stopped["desiredStatus"], "STOPPED");
  EXPECT_EQ(stopped["lastStatus"], "DEACTIVATING");
  EXPECT_EQ(stopped["stopCode"], "UserInitiated");
  EXPECT_EQ(stopped["stoppedReason"], "cleanup");
  EXPECT_TRUE(stopped.contains("stoppingAt"));
  ASSERT_TRUE(waitForStatus(arn, "STOPPED"));
  json final = describe(arn)["tasks"][0];
  EXPECT_TRUE(final.contains("stoppedAt"));
  EXPECT_EQ(final["containers"][0]["lastStatus"], "STOPPED");
  EXPECT_EQ(final["attachments"][0]["status"], "DELETED");
  EXPECT_EQ(ok("ListTasks", {{"cluster", "c1"}, {"desiredStatus", "STOPPED"}})["taskArns"], json::array({arn}));

  Clock& clock = Clock::system();
  EXPECT_TRUE(waitUntil(clock, clock.now() + 10s, AdaptiveWait{}, [&] {
                return describe(arn)["failures"].size() == 1;
              }).met);
  EXPECT_EQ(describe(arn)["failures"][0]["reason"], "MISSING");
}

TEST_F(EcsStoreTimedTest, StoppingBeforeRunningNeverReachesRunning) {
  const std::string arn = run({{"tags", {{{"key", "cleanroom.mock.startMs"}, {"value", "60000"}}}}})["taskArn"];
  EXPECT_EQ(lastStatus(arn), "PROVISIONING");
  ok("StopTask", {{"cluster", "c1"}, {"task", arn}});
  ASSERT_TRUE(waitForStatus(arn, "STOPPED"));
  EXPECT_FALSE(describe(arn)["tasks"][0].contains("startedAt"));
}

TEST_F(EcsStoreTimedTest, RunMsTagMakesTheTaskExitByItself) {
  const std::string arn = run({{"tags", {{{"key", "cleanroom.mock.runMs"}, {"value", "30"}}}}})["taskArn"];
  ASSERT_TRUE(waitForStatus(arn, "STOPPED"));
  json task = describe(arn)["tasks"][0];
  EXPECT_EQ(task["stopCode"], "EssentialContainerExited");
  EXPECT_EQ(task["containers"][0]["exitCode"], 0);
}

TEST_F(EcsStoreTest, StopTaskIsIdempotentAndUnknownTasksAreInvalidParameters) {
  const std::string arn = run()["taskArn"];
  ok("StopTask", {{"cluster", "c1"}, {"task", arn}, {"reason", "first"}});
  json again = ok("StopTask", {{"cluster", "c1"}, {"task", arn}, {"reason", "second"}})["task"];
  EXPECT_EQ(again["stoppedReason"], "first");
  AwsError error = fails("StopTask", {{"cluster", "c1"}, {"task", "0123456789abcdef0123456789abcdef"}});
  EXPECT_EQ(error.code, "InvalidParameterException");
  EXPECT_EQ(error.message, "The referenced task was not found.");
}

TEST_F(EcsStoreTest, ListTasksFiltersByStartedByFamilyAndDesiredStatus) {
  ok("RegisterTaskDefinition", {{"family", "other"}, {"containerDefinitions", json::array({{{"name", "x"}}})}});
  const std::string mine = run({{"startedBy", "cr-a"}})["taskArn"];
  const std::string theirs = run({{"startedBy", "cr-b"}})["taskArn"];
  const std::string other = ok("RunTask", {{"cluster", "c1"}, {"taskDefinition", "other"}, {"startedBy", "cr-a"}})["tasks"][0]["taskArn"];
  EXPECT_EQ(ok("ListTasks", {{"cluster", "c1"}, {"startedBy", "cr-a"}})["taskArns"], json::array({mine, other}));
  EXPECT_EQ(ok("ListTasks", {{"cluster", "c1"}, {"family", "agent"}})["taskArns"], json::array({mine, theirs}));
  ok("StopTask", {{"cluster", "c1"}, {"task", mine}});
  EXPECT_EQ(ok("ListTasks", {{"cluster", "c1"}, {"startedBy", "cr-a"}})["taskArns"], json::array({other}));
  EXPECT_EQ(ok("ListTasks", {{"cluster", "c1"}, {"startedBy", "cr-a"}, {"desiredStatus", "STOPPED"}})["taskArns"],
            json::array({mine}));
  EXPECT_EQ(fails("ListTasks", {{"cluster", "c1"}, {"startedBy", "x"}, {"serviceName", "s"}}).code,
            "InvalidParameterException");
}

TEST_F(EcsStoreTest, ListTasksPaginatesWithNextToken) {
  std::vector<std::string> all;
  const json ran = ok("RunTask", {{"cluster", "c1"}, {"taskDefinition", "agent"}, {"count", 5}});
  for (const auto& task : ran["tasks"]) all.push_back(task["taskArn"]);
  std::vector<std::string> seen;
  json request = {{"cluster", "c1"}, {"maxResults", 2}};
  int pages = 0;
  while (true) {
    json page = ok("ListTasks", request);
    ++pages;
    for (const auto& arn : page["taskArns"]) seen.push_back(arn);
    if (!page.contains("nextToken")) break;
    request["nextToken"] = page["nextToken"];
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, all);
  EXPECT_EQ(fails("ListTasks", {{"cluster", "c1"}, {"nextToken", "garbage"}}).code, "InvalidParameterException");
  EXPECT_EQ(fails("ListTasks", {{"cluster", "c1"}, {"maxResults", 101}}).code, "InvalidParameterException");
}

TEST_F(EcsStoreTest, RunTaskWithTheSameClientTokenReturnsTheSameTasks) {
  const std::string first = run({{"clientToken", "tok-1"}})["taskArn"];
  const std::string second = run({{"clientToken", "tok-1"}})["taskArn"];
  EXPECT_EQ(first, second);
  EXPECT_EQ(ok("ListTasks", {{"cluster", "c1"}})["taskArns"].size(), 1u);
}

TEST_F(EcsStoreTest, DescribeTasksReportsMissingTasksAndTagsOnlyWhenAsked) {
  const std::string arn = run({{"tags", {{{"key", "k"}, {"value", "v"}}}}})["taskArn"];
  json plain = ok("DescribeTasks", {{"cluster", "c1"}, {"tasks", {arn, "ffffffffffffffffffffffffffffffff"}}});
  EXPECT_FALSE(plain["tasks"][0].contains("tags"));
  ASSERT_EQ(plain["failures"].size(), 1u);
  EXPECT_EQ(plain["failures"][0]["arn"], "arn:aws:ecs:us-east-1:123456789012:task/c1/ffffffffffffffffffffffffffffffff");
  EXPECT_EQ(plain["failures"][0]["reason"], "MISSING");
  EXPECT_EQ(describe(arn)["tasks"][0]["tags"], json::array({{{"key", "k"}, {"value", "v"}}}));
}

TEST_F(EcsStoreTest, TagsCanBeListedAddedAndRemoved) {
  const std::string arn = run({{"tags", {{{"key", "a"}, {"value", "1"}}}}})["taskArn"];
  ok("TagResource", {{"resourceArn", arn}, {"tags", {{{"key", "b"}, {"value", "2"}}, {{"key", "a"}, {"value", "3"}}}}});
  EXPECT_EQ(ok("ListTagsForResource", {{"resourceArn", arn}})["tags"],
            json::array({{{"key", "a"}, {"value", "3"}}, {{"key", "b"}, {"value", "2"}}}));
  ok("UntagResource", {{"resourceArn", arn}, {"tagKeys", {"a"}}});
  EXPECT_EQ(ok("ListTagsForResource", {{"resourceArn", arn}})["tags"], json::array({{{"key", "b"}, {"value", "2"}}}));
  EXPECT_EQ(fails("ListTagsForResource", {{"resourceArn", "arn:aws:ecs:us-east-1:1:task/c1/nope"}}).code,
            "InvalidParameterException");
}

TEST_F(EcsStoreTest, ErrorsUseEcsCodes) {
  EXPECT_EQ(fails("ListTasks", {{"cluster", "nope"}}).code, "ClusterNotFoundException");
  EXPECT_EQ(fails("ListTasks", json::object()).code, "ClusterNotFoundException");  // no "default" cluster
  EXPECT_EQ(fails("RunTask", {{"cluster", "c1"}, {"taskDefinition", "missing"}}).code, "ClientException");
  EXPECT_EQ(fails("RunTask", {{"cluster", "c1"}, {"taskDefinition", "agent"}, {"count", 11}}).code,
            "InvalidParameterException");
  EXPECT_EQ(fails("RunTask", {{"cluster", "c1"}, {"taskDefinition", "agent"}, {"launchType", "X"}}).code,
            "InvalidParameterException");
  EXPECT_EQ(fails("RunTask", {{"cluster", 3}, {"taskDefinition", "agent"}}).code, "SerializationException");
  EXPECT_EQ(fails("CreateService", json::object()).code, "UnknownOperationException");
  run();
  EXPECT_EQ(fails("DeleteCluster", {{"cluster", "c1"}}).code, "ClusterContainsTasksException");
}

TEST_F(EcsStoreTest, TaskDefinitionsRegisterRevisionsAndDeregister) {
  json second = ok("RegisterTaskDefinition", {{"family", "agent"}, {"containerDefinitions", json::array({{{"name", "m"}}})}});
  EXPECT_EQ(second["taskDefinition"]["revision"], 2);
  json gone = ok("DeregisterTaskDefinition", {{"taskDefinition", "agent:2"}})["taskDefinition"];
  EXPECT_EQ(gone["status"], "INACTIVE");
  EXPECT_EQ(run()["taskDefinitionArn"], "arn:aws:ecs:us-east-1:123456789012:task-definition/agent:1");
  EXPECT_EQ(fails("DeregisterTaskDefinition", {{"taskDefinition", "agent"}}).code, "ClientException");
}

TEST_F(EcsStoreTest, ClustersAreCreatedIdempotentlyListedAndDeleted) {
  ok("CreateCluster", {{"clusterName", "c1"}});
  ok("CreateCluster", {{"clusterName", "c2"}});
  EXPECT_EQ(ok("ListClusters", json::object())["clusterArns"].size(), 2u);
  EXPECT_EQ(ok("DeleteCluster", {{"cluster", "c2"}})["cluster"]["status"], "INACTIVE");
  EXPECT_EQ(fails("DeleteCluster", {{"cluster", "c2"}}).code, "ClusterNotFoundException");
}

TEST_F(EcsStoreTest, StateListsEverythingAndResetDropsIt) {
  run();
  json state = store_.state();
  EXPECT_EQ(state["clusters"].size(), 1u);
  EXPECT_EQ(state["taskDefinitions"].size(), 1u);
  EXPECT_EQ(state["tasks"].size(), 1u);
  store_.reset();
  state = store_.state();
  EXPECT_TRUE(state["tasks"].empty());
  EXPECT_TRUE(state["clusters"].empty());
}

}  // namespace
}  // namespace cleanroom::mocks::aws
