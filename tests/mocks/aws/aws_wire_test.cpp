// aws_wire: request classification (protocol, service, operation), virtual
// host buckets, query-protocol list parsing and error shapes.
#include "cleanroom/mocks/aws/aws_wire.h"

#include <gtest/gtest.h>

namespace cleanroom::mocks::aws {
namespace {

HttpRequest request(std::string method, std::string target, std::string body = {},
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = target;
  const auto question = target.find('?');
  r.path = percentDecode(target.substr(0, question), false);
  if (question != std::string::npos) {
    r.rawQuery = target.substr(question + 1);
    r.query = parseQuery(r.rawQuery);
  }
  r.body = std::move(body);
  for (auto& [name, value] : headers) r.headers.add(name, value);
  return r;
}

TEST(ClassifyRequestTest, NamesEcsElbStsAndS3Operations) {
  auto ecs = classifyRequest(request("POST", "/", "{}", {{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.StopTask"}}), "");
  EXPECT_EQ(ecs.protocol, Protocol::ecsJson);
  EXPECT_EQ(ecs.qualifiedName(), "ecs:StopTask");
  const std::vector<std::pair<std::string, std::string>> form = {
      {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  auto elb = classifyRequest(request("POST", "/", "Action=DeregisterTargets&Version=2015-12-01", form), "");
  EXPECT_EQ(elb.protocol, Protocol::query);
  EXPECT_EQ(elb.qualifiedName(), "elasticloadbalancing:DeregisterTargets");
  auto sts = classifyRequest(request("POST", "/", "Action=GetCallerIdentity&Version=2011-06-15", form), "");
  EXPECT_EQ(sts.qualifiedName(), "sts:GetCallerIdentity");
  EXPECT_EQ(classifyRequest(request("PUT", "/logs/a/b.txt"), "").qualifiedName(), "s3:PutObject");
  EXPECT_EQ(classifyRequest(request("PUT", "/a/b.txt"), "logs").qualifiedName(), "s3:PutObject");
  EXPECT_EQ(classifyRequest(request("PUT", "/"), "logs").qualifiedName(), "s3:CreateBucket");
  EXPECT_EQ(classifyRequest(request("GET", "/logs?list-type=2&prefix=x"), "").qualifiedName(), "s3:ListObjectsV2");
  EXPECT_EQ(classifyRequest(request("POST", "/logs/k?uploads"), "").qualifiedName(), "s3:CreateMultipartUpload");
  EXPECT_EQ(classifyRequest(request("PUT", "/logs/k?partNumber=1&uploadId=u"), "").qualifiedName(), "s3:UploadPart");
  EXPECT_EQ(classifyRequest(request("POST", "/logs/k?uploadId=u"), "").qualifiedName(), "s3:CompleteMultipartUpload");
  EXPECT_EQ(classifyRequest(request("HEAD", "/logs/k"), "").qualifiedName(), "s3:HeadObject");
  EXPECT_EQ(classifyRequest(request("GET", "/"), "").qualifiedName(), "s3:ListBuckets");
}

TEST(BucketFromHostTest, OnlyVirtualHostedNamesNameABucket) {
  EXPECT_EQ(bucketFromHost("logs.localhost:9000"), "logs");
  EXPECT_EQ(bucketFromHost("logs.s3.us-east-1.example.test"), "logs");
  EXPECT_EQ(bucketFromHost("127.0.0.1:9000"), "");
  EXPECT_EQ(bucketFromHost("localhost:9000"), "");
  EXPECT_EQ(bucketFromHost("[::1]:9000"), "");
  EXPECT_EQ(bucketFromHost("s3.localhost"), "");
}

TEST(QueryFormTest, ReadsMemberListsAndStructures) {
  auto form = parseForm("Names.member.1=a&Names.member.2=b%2Fc&Targets.member.1.Id=10.0.0.1&Targets.member.1.Port=80"
                        "&Targets.member.2.Id=10.0.0.2");
  EXPECT_EQ(listMembers(form, "Names"), (std::vector<std::string>{"a", "b/c"}));
  auto targets = structMembers(form, "Targets");
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0]["Port"], "80");
  EXPECT_EQ(targets[1]["Id"], "10.0.0.2");
  EXPECT_EQ(targets[1].count("Port"), 0u);
}

TEST(ErrorShapeTest, EcsAndQueryErrorsCarryCodeAndMessage) {
  auto ecs = ecsErrorResponse({400, "ThrottlingException", "Rate exceeded"});
  EXPECT_EQ(ecs.body, R"({"__type":"ThrottlingException","message":"Rate exceeded"})");
  EXPECT_EQ(ecs.headers.value("x-amzn-ErrorType"), "ThrottlingException");
  auto xml = queryErrorResponse({400, "Throttling", "Rate <exceeded>"}, kElbNamespace);
  EXPECT_NE(xml.body.find("<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate &lt;exceeded&gt;</Message></Error>"),
            std::string::npos)
      << xml.body;
  EXPECT_EQ(xml.headers.value("Content-Type"), "text/xml");
}

}  // namespace
}  // namespace cleanroom::mocks::aws
