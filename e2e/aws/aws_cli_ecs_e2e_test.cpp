// The real aws CLI v1 against cleanroom-mock-aws: ECS (create-cluster,
// register-task-definition, run-task, list-tasks with filters and pagination,
// describe-tasks, stop-task, `aws ecs wait tasks-stopped`, tags), STS, the
// errors the CLI prints and throttling retried by the CLI.
#include <algorithm>
#include <future>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "aws_clients_test.h"

namespace cleanroom::e2e {
namespace {

const std::string kContainers = R"([{"name":"agent","image":"agent:1","essential":true}])";
const std::string kNetwork = "awsvpcConfiguration={subnets=[subnet-0a1b],securityGroups=[sg-1],assignPublicIp=DISABLED}";

std::set<std::string> arnSet(const nlohmann::json& arns) {
  std::set<std::string> out;
  for (const auto& a : arns) out.insert(a.get<std::string>());
  return out;
}

// The private IP from the task's ENI attachment details ("privateIPv4Address").
std::string attachmentIp(const nlohmann::json& task) {
  for (const auto& attachment : task.value("attachments", nlohmann::json::array())) {
    for (const auto& detail : attachment.value("details", nlohmann::json::array())) {
      if (detail.value("name", "") == "privateIPv4Address") return detail.value("value", "");
    }
  }
  return "";
}

std::string containerIp(const nlohmann::json& task) {
  for (const auto& container : task.value("containers", nlohmann::json::array())) {
    for (const auto& eni : container.value("networkInterfaces", nlohmann::json::array())) {
      return eni.value("privateIpv4Address", "");
    }
  }
  return "";
}

class AwsCliEcsTest : public AwsClientsTest {
 protected:
  void createClusterAndTaskDefinition(const std::string& cluster, const std::string& family) {
    const auto created = awsJson({"ecs", "create-cluster", "--cluster-name", cluster});
    EXPECT_EQ(created["cluster"].value("clusterName", ""), cluster) << created.dump();
    const auto registered = awsJson({"ecs", "register-task-definition", "--family", family, "--container-definitions",
                                     kContainers, "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
                                     "--cpu", "256", "--memory", "512"});
    EXPECT_EQ(registered["taskDefinition"].value("family", ""), family) << registered.dump();
  }

  // Runs `count` (<= 10) FARGATE tasks; returns their ARNs.
  std::vector<std::string> runTasks(const std::string& cluster, const std::string& family, int count,
                                    const std::string& startedBy) {
    const auto ran = awsJson({"ecs", "run-task", "--cluster", cluster, "--task-definition", family, "--count",
                              std::to_string(count), "--launch-type", "FARGATE", "--started-by", startedBy,
                              "--network-configuration", kNetwork, "--tags", "key=cleanroom.run,value=" + startedBy});
    std::vector<std::string> arns;
    for (const auto& task : ran.value("tasks", nlohmann::json::array())) arns.push_back(task.value("taskArn", ""));
    EXPECT_EQ(arns.size(), static_cast<std::size_t>(count)) << ran.dump();
    return arns;
  }

  nlohmann::json describeTask(const std::string& cluster, const std::string& arn, bool withTags = false) {
    std::vector<std::string> args = {"ecs", "describe-tasks", "--cluster", cluster, "--tasks", arn};
    if (withTags) args.insert(args.end(), {"--include", "TAGS"});
    const auto described = awsJson(args);
    EXPECT_EQ(described["tasks"].size(), 1u) << described.dump();
    return described["tasks"].empty() ? nlohmann::json::object() : described["tasks"][0];
  }
};

TEST_F(AwsCliEcsTest, RunTaskWithStartedByAndTagsWalksToRunningWithAnEniIp) {
  const auto created = awsJson({"ecs", "create-cluster", "--cluster-name", "sessions"});
  EXPECT_EQ(created["cluster"].value("clusterArn", ""), "arn:aws:ecs:us-east-1:123456789012:cluster/sessions");
  EXPECT_EQ(created["cluster"].value("status", ""), "ACTIVE");
  const auto registered = awsJson({"ecs", "register-task-definition", "--family", "agent", "--container-definitions",
                                   kContainers, "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
                                   "--cpu", "256", "--memory", "512"});
  const auto& definition = registered["taskDefinition"];
  EXPECT_EQ(definition.value("taskDefinitionArn", ""), "arn:aws:ecs:us-east-1:123456789012:task-definition/agent:1");
  EXPECT_EQ(definition.value("revision", 0), 1);
  EXPECT_EQ(definition.value("cpu", ""), "256");
  EXPECT_EQ(definition.value("status", ""), "ACTIVE");

  const auto ran = awsJson({"ecs", "run-task", "--cluster", "sessions", "--task-definition", "agent:1",
                            "--launch-type", "FARGATE", "--started-by", "cr-run-a", "--network-configuration", kNetwork,
                            "--tags", "key=cleanroom.run,value=run-a", "key=session,value=s1"});
  ASSERT_EQ(ran["tasks"].size(), 1u) << ran.dump();
  EXPECT_TRUE(ran["failures"].empty()) << ran.dump();
  const auto& started = ran["tasks"][0];
  const std::string arn = started.value("taskArn", "");
  EXPECT_TRUE(std::regex_match(arn, std::regex("arn:aws:ecs:us-east-1:123456789012:task/sessions/[0-9a-f]{32}"))) << arn;
  EXPECT_EQ(started.value("startedBy", ""), "cr-run-a");
  EXPECT_EQ(started.value("desiredStatus", ""), "RUNNING");
  EXPECT_EQ(started.value("group", ""), "family:agent");
  EXPECT_NE(started.value("lastStatus", ""), "RUNNING") << "a new task starts PROVISIONING/PENDING";

  // lastStatus walks to RUNNING; every status seen on the way is a start-up status.
  std::vector<std::string> seen;
  ASSERT_TRUE(eventually([&] {
    seen.push_back(describeTask("sessions", arn).value("lastStatus", ""));
    return seen.back() == "RUNNING";
  })) << "lastStatus never reached RUNNING";
  for (const auto& status : seen) {
    EXPECT_TRUE(status == "PROVISIONING" || status == "PENDING" || status == "ACTIVATING" || status == "RUNNING")
        << status;
  }

  const auto untagged = describeTask("sessions", arn);
  EXPECT_FALSE(untagged.contains("tags") && !untagged["tags"].empty()) << "tags without --include TAGS";
  const auto task = describeTask("sessions", arn, true);
  EXPECT_EQ(task.value("lastStatus", ""), "RUNNING");
  EXPECT_EQ(task["tags"], nlohmann::json::parse(R"([{"key":"cleanroom.run","value":"run-a"},{"key":"session","value":"s1"}])"))
      << task.dump();
  const std::string ip = attachmentIp(task);
  EXPECT_TRUE(std::regex_match(ip, std::regex(R"(\d+\.\d+\.\d+\.\d+)"))) << task.dump();
  EXPECT_EQ(containerIp(task), ip);

  // Tags: list-tags-for-resource and tag-resource.
  const auto tags = awsJson({"ecs", "list-tags-for-resource", "--resource-arn", arn});
  EXPECT_EQ(tags["tags"].size(), 2u) << tags.dump();
  const auto tagged = aws({"ecs", "tag-resource", "--resource-arn", arn, "--tags", "key=owner,value=e2e"});
  EXPECT_EQ(tagged.exitCode, 0) << tagged.describe();
  const auto after = awsJson({"ecs", "list-tags-for-resource", "--resource-arn", arn});
  bool hasOwner = false;
  for (const auto& tag : after["tags"]) hasOwner |= tag.value("key", "") == "owner" && tag.value("value", "") == "e2e";
  EXPECT_TRUE(hasOwner) << after.dump();
  EXPECT_EQ(after["tags"].size(), 3u) << after.dump();
}

TEST_F(AwsCliEcsTest, ListTasksFiltersAndPaginates) {
  createClusterAndTaskDefinition("shared", "agent");
  const auto registered = awsJson({"ecs", "register-task-definition", "--family", "other", "--container-definitions",
                                   kContainers, "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
                                   "--cpu", "256", "--memory", "512"});
  auto mine = runTasks("shared", "agent", 10, "cr-run-mine");
  for (const auto& arn : runTasks("shared", "agent", 2, "cr-run-mine")) mine.push_back(arn);
  const auto theirs = runTasks("shared", "other", 2, "cr-run-theirs");

  // --page-size: the CLI follows nextToken until the last page.
  const std::size_t before = requestsFor("ecs:ListTasks").size();
  const auto paged = awsJson({"ecs", "list-tasks", "--cluster", "shared", "--started-by", "cr-run-mine", "--page-size", "5"});
  EXPECT_EQ(arnSet(paged["taskArns"]), std::set<std::string>(mine.begin(), mine.end())) << paged.dump();
  EXPECT_EQ(paged["taskArns"].size(), 12u);
  EXPECT_EQ(requestsFor("ecs:ListTasks").size() - before, 3u) << "12 tasks in pages of 5 = 3 requests";

  // --max-items: one page and a NextToken to resume from.
  const auto first = awsJson({"ecs", "list-tasks", "--cluster", "shared", "--started-by", "cr-run-mine", "--max-items", "7"});
  ASSERT_EQ(first["taskArns"].size(), 7u) << first.dump();
  ASSERT_TRUE(first.contains("NextToken")) << first.dump();
  const auto rest = awsJson({"ecs", "list-tasks", "--cluster", "shared", "--started-by", "cr-run-mine",
                             "--starting-token", first["NextToken"].get<std::string>()});
  auto all = arnSet(first["taskArns"]);
  for (const auto& a : rest["taskArns"]) all.insert(a.get<std::string>());
  EXPECT_EQ(rest["taskArns"].size(), 5u) << rest.dump();
  EXPECT_EQ(all, std::set<std::string>(mine.begin(), mine.end()));

  const auto byFamily = awsJson({"ecs", "list-tasks", "--cluster", "shared", "--family", "other"});
  EXPECT_EQ(arnSet(byFamily["taskArns"]), std::set<std::string>(theirs.begin(), theirs.end())) << byFamily.dump();
  const auto everything = awsJson({"ecs", "list-tasks", "--cluster", "shared"});
  EXPECT_EQ(everything["taskArns"].size(), 14u) << everything.dump();

  // A stopped task leaves the default (desiredStatus RUNNING) listing and shows under STOPPED.
  const auto stopped = awsJson({"ecs", "stop-task", "--cluster", "shared", "--task", theirs[0], "--reason", "done"});
  EXPECT_EQ(stopped["task"].value("desiredStatus", ""), "STOPPED") << stopped.dump();
  const auto running = awsJson({"ecs", "list-tasks", "--cluster", "shared", "--started-by", "cr-run-theirs"});
  EXPECT_EQ(arnSet(running["taskArns"]), std::set<std::string>{theirs[1]}) << running.dump();
  const auto stoppedList =
      awsJson({"ecs", "list-tasks", "--cluster", "shared", "--started-by", "cr-run-theirs", "--desired-status", "STOPPED"});
  EXPECT_EQ(arnSet(stoppedList["taskArns"]), std::set<std::string>{theirs[0]}) << stoppedList.dump();
}

TEST_F(AwsCliEcsTest, StopTaskAndWaitTasksStopped) {
  createClusterAndTaskDefinition("waits", "agent");
  const auto arn = runTasks("waits", "agent", 1, "cr-run-w").at(0);
  const auto running = aws({"ecs", "wait", "tasks-running", "--cluster", "waits", "--tasks", arn});
  ASSERT_EQ(running.exitCode, 0) << running.describe();
  EXPECT_EQ(describeTask("waits", arn).value("lastStatus", ""), "RUNNING");

  // The waiter starts first and must poll at least once before the stop.
  const std::size_t describesBefore = requestsFor("ecs:DescribeTasks").size();
  auto waiter = std::async(std::launch::async, [&] {
    return aws({"ecs", "wait", "tasks-stopped", "--cluster", "waits", "--tasks", arn});
  });
  ASSERT_TRUE(eventually([&] { return requestsFor("ecs:DescribeTasks").size() > describesBefore; }))
      << "aws ecs wait tasks-stopped never polled";
  const auto stopped = awsJson({"ecs", "stop-task", "--cluster", "waits", "--task", arn, "--reason", "session over"});
  EXPECT_EQ(stopped["task"].value("desiredStatus", ""), "STOPPED") << stopped.dump();
  EXPECT_EQ(stopped["task"].value("stoppedReason", ""), "session over");
  EXPECT_EQ(stopped["task"].value("stopCode", ""), "UserInitiated");

  const auto waited = waiter.get();
  EXPECT_EQ(waited.exitCode, 0) << waited.describe();
  EXPECT_GE(requestsFor("ecs:DescribeTasks").size() - describesBefore, 2u) << "the waiter polled until STOPPED";
  const auto task = describeTask("waits", arn);
  EXPECT_EQ(task.value("lastStatus", ""), "STOPPED") << task.dump();
  EXPECT_TRUE(task.contains("stoppedAt")) << task.dump();
}

TEST_F(AwsCliEcsTest, StsGetCallerIdentity) {
  const auto identity = awsJson({"sts", "get-caller-identity"});
  EXPECT_EQ(identity.value("Account", ""), kAccountId) << identity.dump();
  EXPECT_EQ(identity.value("Arn", "").rfind("arn:aws:", 0), 0u) << identity.dump();
  EXPECT_NE(identity.value("Arn", "").find(kAccountId), std::string::npos) << identity.dump();
  EXPECT_FALSE(identity.value("UserId", "").empty()) << identity.dump();
  EXPECT_EQ(requestsFor("sts:GetCallerIdentity").size(), 1u);
}

TEST_F(AwsCliEcsTest, ServiceErrorsAsTheCliReportsThem) {
  const auto cluster = aws({"ecs", "describe-tasks", "--cluster", "nope", "--tasks", "0123456789abcdef0123456789abcdef"});
  EXPECT_NE(cluster.exitCode, 0);
  EXPECT_NE(cluster.err.find("(ClusterNotFoundException) when calling the DescribeTasks operation"), std::string::npos)
      << cluster.describe();
  const auto group = aws({"elbv2", "describe-target-health", "--target-group-arn",
                          "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/ghost/0123456789abcdef"});
  EXPECT_NE(group.exitCode, 0);
  EXPECT_NE(group.err.find("(TargetGroupNotFound) when calling the DescribeTargetHealth operation"), std::string::npos)
      << group.describe();
  const auto bucket = aws({"s3api", "list-objects-v2", "--bucket", "no-such-bucket-here"});
  EXPECT_NE(bucket.exitCode, 0);
  EXPECT_NE(bucket.err.find("(NoSuchBucket) when calling the ListObjectsV2 operation"), std::string::npos)
      << bucket.describe();
}

TEST_F(AwsCliEcsTest, WrongSecretIsRejectedInEachProtocolsShape) {
  const EnvironmentChanges wrong = {{"AWS_SECRET_ACCESS_KEY", "not-the-secret"}};
  const auto ecs = aws({"ecs", "create-cluster", "--cluster-name", "denied"}, wrong);
  EXPECT_NE(ecs.exitCode, 0);
  EXPECT_NE(ecs.err.find("(InvalidSignatureException)"), std::string::npos) << ecs.describe();
  const auto sts = aws({"sts", "get-caller-identity"}, wrong);
  EXPECT_NE(sts.exitCode, 0);
  EXPECT_NE(sts.err.find("(SignatureDoesNotMatch)"), std::string::npos) << sts.describe();
  const auto elb = aws({"elbv2", "describe-target-groups"}, wrong);
  EXPECT_NE(elb.exitCode, 0);
  EXPECT_NE(elb.err.find("(SignatureDoesNotMatch)"), std::string::npos) << elb.describe();
  const auto s3 = aws({"s3api", "create-bucket", "--bucket", "denied-bucket"}, wrong);
  EXPECT_NE(s3.exitCode, 0);
  EXPECT_NE(s3.err.find("(SignatureDoesNotMatch)"), std::string::npos) << s3.describe();
  // Nothing was created.
  const auto state = mock_->get("/__cleanroom/state");
  EXPECT_TRUE(state["clusters"].empty()) << state.dump();
}

TEST_F(AwsCliEcsTest, ThrottledListTasksIsRetriedByTheCli) {
  createClusterAndTaskDefinition("busy", "agent");
  const auto arn = runTasks("busy", "agent", 1, "cr-run-t").at(0);
  mock_->addFault(nlohmann::json::parse(R"({"match":{"operation":"ListTasks"},"status":400,"count":2})"));
  const auto listed = awsJson({"ecs", "list-tasks", "--cluster", "busy"});
  EXPECT_EQ(arnSet(listed["taskArns"]), std::set<std::string>{arn}) << listed.dump();
  const auto requests = requestsFor("ecs:ListTasks");
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].value("status", 0), 400);
  EXPECT_EQ(requests[1].value("status", 0), 400);
  EXPECT_EQ(requests[2].value("status", 0), 200);
}

TEST_F(AwsCliEcsTest, ServiceSpecificEndpointsWinOverTheGlobalOne) {
  const EnvironmentChanges split = {{"AWS_ENDPOINT_URL", "http://127.0.0.1:" + deadPort()},
                                    {"AWS_ENDPOINT_URL_ECS", mock_->url()},
                                    {"AWS_ENDPOINT_URL_S3", mock_->url()},
                                    {"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", mock_->url()},
                                    {"AWS_ENDPOINT_URL_STS", mock_->url()},
                                    {"AWS_MAX_ATTEMPTS", "1"}};
  const auto cluster = awsJson({"ecs", "create-cluster", "--cluster-name", "routed"}, split);
  EXPECT_EQ(cluster["cluster"].value("clusterName", ""), "routed");
  const auto bucket = aws({"s3", "mb", "s3://routed-bucket"}, split);
  EXPECT_EQ(bucket.exitCode, 0) << bucket.describe();
  const auto groups = awsJson({"elbv2", "describe-target-groups"}, split);
  EXPECT_TRUE(groups.contains("TargetGroups")) << groups.dump();
  const auto identity = awsJson({"sts", "get-caller-identity"}, split);
  EXPECT_EQ(identity.value("Account", ""), kAccountId);
  EXPECT_EQ(requestsFor("ecs:CreateCluster").size(), 1u);
  EXPECT_EQ(requestsFor("s3:CreateBucket").size(), 1u);
  EXPECT_EQ(requestsFor("elasticloadbalancing:DescribeTargetGroups").size(), 1u);
  EXPECT_EQ(requestsFor("sts:GetCallerIdentity").size(), 1u);
}

}  // namespace
}  // namespace cleanroom::e2e
