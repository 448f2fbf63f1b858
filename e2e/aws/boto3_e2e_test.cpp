// boto3 against cleanroom-mock-aws: the python scripts in e2e/aws run as child
// processes and print JSON, which these tests check — the ECS/ELBv2 session
// flow with paginators and waiters, S3 multipart and checksums, errors as
// boto3 raises them, throttling retries and service-specific endpoints.
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "aws_clients_test.h"

namespace cleanroom::e2e {
namespace {

// Stopping takes a second so the tasks_stopped waiter (polling every 100 ms)
// sees the task before STOPPED; target health phases last a second each.
class Boto3Test : public AwsClientsTest {
 protected:
  std::vector<std::string> mockFlags() const override {
    return {"--log-level", "warn", "--task-start-ms", "300", "--task-stop-ms", "1000",
            "--target-healthy-ms", "1000", "--deregistration-delay-ms", "1000"};
  }
};

TEST_F(Boto3Test, EcsAndElbSessionFlowWithPaginatorAndWaiters) {
  const auto out = python("boto3_ecs_elb.py", {});
  ASSERT_EQ(out["ran"].size(), 25u) << out.dump();
  EXPECT_EQ(out["listed"], out["ran"]) << "the list_tasks paginator returns every task once";
  EXPECT_EQ(out["pageSizes"], nlohmann::json::parse("[10, 10, 5]"));

  const auto& task = out["task"];
  EXPECT_EQ(task.value("lastStatus", ""), "RUNNING");
  EXPECT_EQ(task.value("startedBy", ""), "cr-py");
  EXPECT_EQ(task["tags"], nlohmann::json::parse(R"([{"key":"cleanroom.run","value":"py"}])"));
  EXPECT_FALSE(task.value("ip", "").empty()) << out.dump();
  EXPECT_EQ(task["containerIp"], task["ip"]);

  EXPECT_EQ(out["describedGroupArns"], nlohmann::json::array({out["groupArn"]}));
  EXPECT_EQ(out["healthTarget"].value("Id", ""), task.value("ip", "")) << "the target is the task's ENI IP";
  // The walks poll every 20 ms; on a very loaded machine one poll may miss
  // a 1 s phase, so the first state may be skipped but never the order.
  // (The CLI test sees draining deterministically, with an hour's delay.)
  const auto walkIs = [](const nlohmann::json& walk, const std::vector<std::string>& full) {
    return walk == nlohmann::json(full) || walk == nlohmann::json(std::vector<std::string>{full.back()});
  };
  EXPECT_TRUE(walkIs(out["registeredWalk"], {"initial", "healthy"})) << out.dump();
  EXPECT_TRUE(walkIs(out["deregisteredWalk"], {"draining", "gone"})) << out.dump();

  EXPECT_EQ(out["stopResponse"], nlohmann::json::parse(
                                     R"({"desiredStatus":"STOPPED","stopCode":"UserInitiated","stoppedReason":"py session over"})"));
  EXPECT_EQ(out["final"], nlohmann::json::parse(R"({"lastStatus":"STOPPED","hasStoppedAt":true})"));
  EXPECT_EQ(out["tags"], nlohmann::json::parse(R"([["cleanroom.run","py"],["owner","py"]])"));

  EXPECT_EQ(requestsFor("ecs:ListTasks").size(), 3u) << "25 tasks in pages of 10";
  // tasks_running + describe + tasks_stopped polls + final describe: the stop
  // waiter had to poll more than once.
  EXPECT_GE(requestsFor("ecs:DescribeTasks").size(), 4u);
}

TEST_F(Boto3Test, S3UploadFileMultipartChecksumsAndOddKeyPaginator) {
  writeRandomFile(directory_ / "big.bin", 12u * 1024 * 1024, 11);
  const auto out = python("boto3_s3.py", {(directory_ / "big.bin").string(), (directory_ / "big.down").string()});
  EXPECT_EQ(out["sameBytes"], true) << out.dump();
  EXPECT_EQ(out.value("bigLength", 0), 12 * 1024 * 1024);
  const std::string etag = out.value("bigETag", "");
  EXPECT_EQ(etag.size() > 3 ? etag.substr(etag.size() - 3) : etag, "-2\"") << etag;
  EXPECT_EQ(requestsFor("s3:CreateMultipartUpload").size(), 1u);
  EXPECT_EQ(requestsFor("s3:UploadPart").size(), 2u);
  EXPECT_EQ(requestsFor("s3:CompleteMultipartUpload").size(), 1u);

  EXPECT_EQ(out.value("putCrc32", ""), "DUoRhQ==") << "CRC32 of \"hello world\"";
  EXPECT_EQ(out["putETag"], out["expectedMd5"]);
  EXPECT_EQ(out["putSha256"], out["expectedSha256"]);
  EXPECT_EQ(out["getBodyOk"], true);
  EXPECT_EQ(out["getShaBodyOk"], true);
  EXPECT_EQ(out.value("getCrc32", ""), "DUoRhQ==") << "validated by botocore on the way in";

  EXPECT_EQ(out["listed"], out["expectedKeys"]) << out.dump();
  EXPECT_EQ(out.value("pageCount", 0), 5) << "9 keys in pages of 2";
  EXPECT_EQ(out["oddBodiesOk"], true);
  EXPECT_EQ(out["afterDelete"].value("code", ""), "NoSuchKey") << out.dump();
}

TEST_F(Boto3Test, ErrorsAndThrottlingAsBoto3ReportsThem) {
  mock_->addFault(nlohmann::json::parse(R"({"match":{"operation":"ListTasks"},"status":400,"count":2})"));
  const auto out = python("boto3_errors.py", {});
  EXPECT_EQ(out.value("throttledRetries", -1), 2) << out.dump();
  EXPECT_TRUE(out["throttledArns"].empty());
  const auto requests = requestsFor("ecs:ListTasks");
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2].value("status", 0), 200);

  EXPECT_EQ(out["wrongSecretEcs"].value("code", ""), "InvalidSignatureException") << out.dump();
  EXPECT_EQ(out["wrongSecretS3"].value("code", ""), "SignatureDoesNotMatch") << out.dump();
  EXPECT_EQ(out["wrongSecretS3"].value("status", 0), 403);
  EXPECT_EQ(out["wrongSecretSts"].value("code", ""), "SignatureDoesNotMatch") << out.dump();
  EXPECT_EQ(out["clusterNotFound"].value("code", ""), "ClusterNotFoundException") << out.dump();
  EXPECT_EQ(out["clusterNotFoundClass"], true);
  EXPECT_EQ(out["targetGroupNotFound"].value("code", ""), "TargetGroupNotFound") << out.dump();
  EXPECT_EQ(out["targetGroupNotFoundClass"], true) << "botocore maps it to TargetGroupNotFoundException";
  EXPECT_EQ(out["noSuchBucket"].value("code", ""), "NoSuchBucket") << out.dump();
  EXPECT_EQ(out["noSuchBucket"].value("status", 0), 404);
  EXPECT_EQ(out["noSuchBucketClass"], true);
}

TEST_F(Boto3Test, ServiceSpecificEndpointsWinOverTheGlobalOne) {
  const auto out = python("boto3_endpoints.py", {},
                          {{"AWS_ENDPOINT_URL", "http://127.0.0.1:" + deadPort()},
                           {"AWS_ENDPOINT_URL_ECS", mock_->url()},
                           {"AWS_ENDPOINT_URL_S3", mock_->url()},
                           {"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", mock_->url()},
                           {"AWS_ENDPOINT_URL_STS", mock_->url()},
                           {"AWS_MAX_ATTEMPTS", "1"}});
  for (const char* service : {"ecs", "s3", "elbv2", "sts"}) {
    EXPECT_EQ(out["endpoints"].value(service, ""), mock_->url()) << service;
  }
  EXPECT_EQ(out.value("cluster", ""), "py-routed");
  EXPECT_EQ(out.value("bucketStatus", 0), 200);
  EXPECT_TRUE(out["targetGroups"].empty());
  EXPECT_EQ(out.value("account", ""), kAccountId);
  EXPECT_EQ(requestsFor("ecs:CreateCluster").size(), 1u);
  EXPECT_EQ(requestsFor("s3:CreateBucket").size(), 1u);
}

}  // namespace
}  // namespace cleanroom::e2e
