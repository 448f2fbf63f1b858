// The real aws CLI v1 against cleanroom-mock-aws: ELBv2 target groups and
// target health (initial → healthy → draining → gone) for a task's ENI IP,
// and S3 (mb, cp small and multipart both ways, ls, s3api head/get/delete,
// list-objects-v2 with odd keys).
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "aws_clients_test.h"

namespace cleanroom::e2e {
namespace {

// Draining lasts an hour by default here, so the describe right after
// deregister-targets sees it however slow a CLI call is; the walk to "gone"
// is shown on a group whose tag sets a deregistration delay of 0.
class AwsCliElbTest : public AwsClientsTest {
 protected:
  std::vector<std::string> mockFlags() const override {
    return {"--log-level", "warn", "--task-start-ms", "200", "--target-healthy-ms", "300",
            "--deregistration-delay-ms", "3600000"};
  }

  // The health entries of `groupArn` (TargetHealthDescriptions).
  nlohmann::json health(const std::string& groupArn) {
    return awsJson({"elbv2", "describe-target-health", "--target-group-arn", groupArn})["TargetHealthDescriptions"];
  }
};

TEST_F(AwsCliElbTest, TargetHealthOfATasksIpWalksFromInitialToDrainingToGone) {
  // The target is a task's ENI private IP.
  awsJson({"ecs", "create-cluster", "--cluster-name", "web"});
  awsJson({"ecs", "register-task-definition", "--family", "agent", "--container-definitions",
           R"([{"name":"agent","image":"agent:1"}])", "--network-mode", "awsvpc", "--requires-compatibilities",
           "FARGATE", "--cpu", "256", "--memory", "512"});
  const auto ran = awsJson({"ecs", "run-task", "--cluster", "web", "--task-definition", "agent", "--launch-type",
                            "FARGATE", "--network-configuration", "awsvpcConfiguration={subnets=[subnet-1]}"});
  ASSERT_EQ(ran["tasks"].size(), 1u) << ran.dump();
  const std::string ip = ran["tasks"][0]["containers"][0]["networkInterfaces"][0].value("privateIpv4Address", "");
  ASSERT_FALSE(ip.empty()) << ran.dump();

  const auto created = awsJson({"elbv2", "create-target-group", "--name", "sessions-tg", "--protocol", "HTTP", "--port",
                                "8080", "--vpc-id", "vpc-0abc", "--target-type", "ip", "--health-check-path", "/health"});
  ASSERT_EQ(created["TargetGroups"].size(), 1u) << created.dump();
  const auto& group = created["TargetGroups"][0];
  const std::string arn = group.value("TargetGroupArn", "");
  EXPECT_EQ(arn.rfind("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/sessions-tg/", 0), 0u) << arn;
  EXPECT_EQ(group.value("TargetType", ""), "ip");
  EXPECT_EQ(group.value("Port", 0), 8080);
  EXPECT_EQ(group.value("HealthCheckPath", ""), "/health");

  const auto byName = awsJson({"elbv2", "describe-target-groups", "--names", "sessions-tg"});
  ASSERT_EQ(byName["TargetGroups"].size(), 1u) << byName.dump();
  EXPECT_EQ(byName["TargetGroups"][0].value("TargetGroupArn", ""), arn);
  const auto byArn = awsJson({"elbv2", "describe-target-groups", "--target-group-arns", arn});
  ASSERT_EQ(byArn["TargetGroups"].size(), 1u) << byArn.dump();
  EXPECT_EQ(byArn["TargetGroups"][0].value("TargetGroupName", ""), "sessions-tg");
  EXPECT_TRUE(health(arn).empty());

  const auto registered = aws({"elbv2", "register-targets", "--target-group-arn", arn, "--targets",
                               "Id=" + ip + ",Port=8080"});
  ASSERT_EQ(registered.exitCode, 0) << registered.describe();
  const auto initial = health(arn);
  ASSERT_EQ(initial.size(), 1u) << initial.dump();
  EXPECT_EQ(initial[0]["Target"].value("Id", ""), ip);
  EXPECT_EQ(initial[0]["Target"].value("Port", 0), 8080);
  const std::string firstState = initial[0]["TargetHealth"].value("State", "");
  EXPECT_TRUE(firstState == "initial" || firstState == "healthy") << initial.dump();
  if (firstState == "initial") {
    const std::string reason = initial[0]["TargetHealth"].value("Reason", "");
    EXPECT_TRUE(reason == "Elb.RegistrationInProgress" || reason == "Elb.InitialHealthChecking") << reason;
  }
  ASSERT_TRUE(eventually([&] {
    const auto now = health(arn);
    return now.size() == 1 && now[0]["TargetHealth"].value("State", "") == "healthy";
  })) << "target never became healthy";

  const auto deregistered = aws({"elbv2", "deregister-targets", "--target-group-arn", arn, "--targets",
                                 "Id=" + ip + ",Port=8080"});
  ASSERT_EQ(deregistered.exitCode, 0) << deregistered.describe();
  const auto draining = health(arn);
  ASSERT_EQ(draining.size(), 1u) << draining.dump();
  EXPECT_EQ(draining[0]["TargetHealth"].value("State", ""), "draining") << draining.dump();
  EXPECT_EQ(draining[0]["TargetHealth"].value("Reason", ""), "Target.DeregistrationInProgress") << draining.dump();

  const auto quick = awsJson({"elbv2", "create-target-group", "--name", "quick-tg", "--protocol", "HTTP", "--port",
                              "8080", "--vpc-id", "vpc-0abc", "--target-type", "ip", "--tags",
                              "Key=cleanroom.mock.deregistrationDelayMs,Value=0"});
  const std::string quickArn = quick["TargetGroups"][0].value("TargetGroupArn", "");
  ASSERT_EQ(aws({"elbv2", "register-targets", "--target-group-arn", quickArn, "--targets", "Id=" + ip + ",Port=8080"})
                .exitCode,
            0);
  EXPECT_EQ(health(quickArn).size(), 1u);
  ASSERT_EQ(aws({"elbv2", "deregister-targets", "--target-group-arn", quickArn, "--targets",
                 "Id=" + ip + ",Port=8080"})
                .exitCode,
            0);
  ASSERT_TRUE(eventually([&] { return health(quickArn).empty(); })) << "target never left the group after draining";
  EXPECT_EQ(health(arn).size(), 1u) << "the other group's target is still draining";
}

class AwsCliS3Test : public AwsClientsTest {};

TEST_F(AwsCliS3Test, CpSmallAndMultipartFilesRoundTrip) {
  const auto made = aws({"s3", "mb", "s3://session-logs"});
  ASSERT_EQ(made.exitCode, 0) << made.describe();
  EXPECT_NE(made.out.find("make_bucket: session-logs"), std::string::npos) << made.describe();

  writeFile(directory_ / "small.txt", "agent log line 1\nagent log line 2\n");
  const auto small = aws({"s3", "cp", "--only-show-errors", (directory_ / "small.txt").string(), "s3://session-logs/run-1/small.txt"});
  ASSERT_EQ(small.exitCode, 0) << small.describe();
  EXPECT_EQ(requestsFor("s3:PutObject").size(), 1u);

  constexpr std::size_t kBig = 12u * 1024 * 1024;  // > the CLI's 8 MiB multipart threshold
  writeRandomFile(directory_ / "big.bin", kBig, 7);
  const auto big = aws({"s3", "cp", "--only-show-errors", (directory_ / "big.bin").string(), "s3://session-logs/run-1/big.bin"});
  ASSERT_EQ(big.exitCode, 0) << big.describe();
  EXPECT_EQ(requestsFor("s3:CreateMultipartUpload").size(), 1u);
  const auto parts = requestsFor("s3:UploadPart");
  EXPECT_EQ(parts.size(), 2u) << "12 MiB in 8 MiB parts";
  for (const auto& part : parts) EXPECT_EQ(part.value("status", 0), 200) << part.dump();
  ASSERT_EQ(requestsFor("s3:CompleteMultipartUpload").size(), 1u);
  EXPECT_EQ(requestsFor("s3:CompleteMultipartUpload")[0].value("status", 0), 200);
  EXPECT_EQ(requestsFor("s3:PutObject").size(), 1u) << "the big file went multipart, not PutObject";

  const auto down = aws({"s3", "cp", "--only-show-errors", "s3://session-logs/run-1/big.bin", (directory_ / "big.back").string()});
  ASSERT_EQ(down.exitCode, 0) << down.describe();
  EXPECT_TRUE(readFile(directory_ / "big.back") == readFile(directory_ / "big.bin")) << "downloaded bytes differ";
  const auto smallDown = aws({"s3", "cp", "--only-show-errors", "s3://session-logs/run-1/small.txt", (directory_ / "small.back").string()});
  ASSERT_EQ(smallDown.exitCode, 0) << smallDown.describe();
  EXPECT_EQ(readFile(directory_ / "small.back"), "agent log line 1\nagent log line 2\n");

  const auto listed = aws({"s3", "ls", "s3://session-logs/run-1/"});
  ASSERT_EQ(listed.exitCode, 0) << listed.describe();
  EXPECT_NE(listed.out.find(std::to_string(kBig) + " big.bin"), std::string::npos) << listed.describe();
  EXPECT_NE(listed.out.find(" small.txt"), std::string::npos) << listed.describe();
  const auto buckets = aws({"s3", "ls"});
  EXPECT_NE(buckets.out.find("session-logs"), std::string::npos) << buckets.describe();

  const auto head = awsJson({"s3api", "head-object", "--bucket", "session-logs", "--key", "run-1/big.bin"});
  EXPECT_EQ(head.value("ContentLength", 0), static_cast<long>(kBig)) << head.dump();
  const std::string etag = head.value("ETag", "");
  EXPECT_EQ(etag.size() > 3 ? etag.substr(etag.size() - 3) : etag, "-2\"") << "multipart ETag: " << head.dump();
  const auto smallHead = awsJson({"s3api", "head-object", "--bucket", "session-logs", "--key", "run-1/small.txt"});
  EXPECT_EQ(smallHead.value("ContentType", ""), "text/plain") << smallHead.dump();

  const auto got = awsJson({"s3api", "get-object", "--bucket", "session-logs", "--key", "run-1/small.txt",
                            (directory_ / "got.txt").string()});
  EXPECT_EQ(got.value("ContentLength", 0), 34) << got.dump();
  EXPECT_EQ(readFile(directory_ / "got.txt"), "agent log line 1\nagent log line 2\n");

  const auto deleted = aws({"s3api", "delete-object", "--bucket", "session-logs", "--key", "run-1/small.txt"});
  EXPECT_EQ(deleted.exitCode, 0) << deleted.describe();
  const auto gone = aws({"s3api", "head-object", "--bucket", "session-logs", "--key", "run-1/small.txt"});
  EXPECT_NE(gone.exitCode, 0);
  EXPECT_NE(gone.err.find("(404) when calling the HeadObject operation"), std::string::npos) << gone.describe();
  const auto missing = aws({"s3api", "get-object", "--bucket", "session-logs", "--key", "run-1/small.txt",
                            (directory_ / "none.txt").string()});
  EXPECT_NE(missing.err.find("(NoSuchKey)"), std::string::npos) << missing.describe();
}

TEST_F(AwsCliS3Test, ListObjectsV2WithOddKeysAndPagination) {
  ASSERT_EQ(aws({"s3api", "create-bucket", "--bucket", "odd-keys"}).exitCode, 0);
  writeFile(directory_ / "body", "x");
  const std::vector<std::string> keys = {"a b/c d.txt", "ü/ñ é.log", "plus+sign", "percent%20literal",
                                         "amp&eq=?q#frag", "tilde~/x", "dir/sub/leaf", "semi;colon,comma"};
  for (const auto& key : keys) {
    const auto put = aws({"s3api", "put-object", "--bucket", "odd-keys", "--key", key, "--body", (directory_ / "body").string()});
    EXPECT_EQ(put.exitCode, 0) << key << "\n" << put.describe();
  }
  const std::size_t before = requestsFor("s3:ListObjectsV2").size();
  const auto listed = awsJson({"s3api", "list-objects-v2", "--bucket", "odd-keys", "--page-size", "3"});
  std::set<std::string> seen;
  for (const auto& object : listed["Contents"]) {
    seen.insert(object.value("Key", ""));
    EXPECT_EQ(object.value("Size", -1), 1) << object.dump();
  }
  EXPECT_EQ(seen, std::set<std::string>(keys.begin(), keys.end())) << listed.dump();
  EXPECT_EQ(requestsFor("s3:ListObjectsV2").size() - before, 3u) << "8 keys in pages of 3";

  const auto prefixed = awsJson({"s3api", "list-objects-v2", "--bucket", "odd-keys", "--prefix", "a b/"});
  ASSERT_EQ(prefixed["Contents"].size(), 1u) << prefixed.dump();
  EXPECT_EQ(prefixed["Contents"][0].value("Key", ""), "a b/c d.txt");
  const auto delimited = awsJson({"s3api", "list-objects-v2", "--bucket", "odd-keys", "--delimiter", "/"});
  std::set<std::string> prefixes;
  for (const auto& p : delimited["CommonPrefixes"]) prefixes.insert(p.value("Prefix", ""));
  EXPECT_EQ(prefixes, (std::set<std::string>{"a b/", "ü/", "tilde~/", "dir/"})) << delimited.dump();
  EXPECT_EQ(delimited["Contents"].size(), 4u) << delimited.dump();

  const auto ls = aws({"s3", "ls", "s3://odd-keys/ü/"});
  EXPECT_NE(ls.out.find("ñ é.log"), std::string::npos) << ls.describe();
}

}  // namespace
}  // namespace cleanroom::e2e
