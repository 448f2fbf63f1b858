// AwsMock in-process on port 0, driven with requests framed and SigV4-signed
// the way botocore and the aws CLI send them (protocol-notes §2–§5): dispatch,
// auth failures in each protocol's shape, fault rules matched by operation
// and shaped as the service's errors, the control API.
#include "cleanroom/mocks/aws/aws_mock.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cctype>

#include "cleanroom/aws/sigv4.h"
#include "cleanroom/clock.h"
#include "cleanroom/wait.h"

namespace cleanroom::mocks::aws {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Percent-encodes a form value as botocore does (':' → %3A, '/' → %2F).
std::string formEncode(const std::string& value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

struct Reply {
  int status = 0;
  std::string body;
  httplib::Headers headers;
};

class AwsMockTest : public ::testing::Test {
 protected:
  AwsMockTest() : mock_(options()) {}

  static AwsMockOptions options() {
    AwsMockOptions options;
    options.taskStart = 20ms;
    options.taskStop = 30ms;
    options.targetHealthy = 0ms;
    options.deregistrationDelay = 50ms;
    return options;
  }

  void SetUp() override { mock_.start(); }

  // Sends a request signed as botocore signs it.
  Reply send(const std::string& method, const std::string& target, const std::string& body,
             std::vector<std::pair<std::string, std::string>> headers, const std::string& service,
             cleanroom::aws::Credentials credentials = {"cleanroom", "cleanroom-secret", ""}, bool sign = true) {
    const std::string host = "127.0.0.1:" + std::to_string(mock_.port());
    headers.emplace_back("Host", host);
    const auto question = target.find('?');
    cleanroom::aws::SigningRequest request{method, target.substr(0, question),
                                           question == std::string::npos ? "" : target.substr(question + 1), headers,
                                           body};
    if (sign) cleanroom::aws::sign(request, credentials, "us-east-1", service, std::chrono::system_clock::now());
    httplib::Headers sent;
    std::string contentType;
    for (const auto& [name, value] : request.headers) {
      if (name == "Content-Type") {
        contentType = value;
      } else {
        sent.emplace(name, value);
      }
    }
    httplib::Client client(mock_.url());
    client.set_read_timeout(10, 0);
    httplib::Result result = method == "POST" ? client.Post(target, sent, body, contentType)
                             : method == "PUT" ? client.Put(target, sent, body, contentType)
                                               : client.Get(target, sent);
    if (!result) return {};
    return {result->status, result->body, result->headers};
  }

  Reply ecs(const std::string& operation, const json& body, cleanroom::aws::Credentials credentials = {"cleanroom", "cleanroom-secret", ""},
            bool sign = true) {
    return send("POST", "/", body.dump(),
                {{"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113." + operation}},
                "ecs", credentials, sign);
  }

  Reply query(const std::string& body, const std::string& service = "elasticloadbalancing",
              cleanroom::aws::Credentials credentials = {"cleanroom", "cleanroom-secret", ""}) {
    return send("POST", "/", body, {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}}, service,
                credentials);
  }

  json control(const std::string& path) {
    httplib::Client client(mock_.url());
    return json::parse(client.Get(path)->body);
  }

  void postFault(const json& rule) {
    httplib::Client client(mock_.url());
    auto response = client.Post("/__cleanroom/faults", rule.dump(), "application/json");
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 201) << response->body;
  }

  AwsMock mock_;
};

TEST_F(AwsMockTest, EcsRoundTripWithSignedRequests) {
  Reply created = ecs("CreateCluster", {{"clusterName", "c"}});
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(json::parse(created.body)["cluster"]["status"], "ACTIVE");
  EXPECT_TRUE(created.headers.count("x-amzn-RequestId"));
  EXPECT_EQ(created.headers.find("Content-Type")->second, "application/x-amz-json-1.1");
  ASSERT_EQ(ecs("RegisterTaskDefinition", {{"family", "f"}, {"containerDefinitions", {{{"name", "m"}, {"image", "i"}}}}}).status, 200);
  Reply ran = ecs("RunTask", {{"cluster", "c"}, {"taskDefinition", "f"}, {"startedBy", "cr-x"}, {"clientToken", "t1"}});
  ASSERT_EQ(ran.status, 200) << ran.body;
  const std::string arn = json::parse(ran.body)["tasks"][0]["taskArn"];
  Clock& clock = Clock::system();
  EXPECT_TRUE(waitUntil(clock, clock.now() + 10s, AdaptiveWait{}, [&] {
                return json::parse(ecs("DescribeTasks", {{"cluster", "c"}, {"tasks", {arn}}}).body)["tasks"][0]["lastStatus"] ==
                       "RUNNING";
              }).met);
  EXPECT_EQ(json::parse(ecs("ListTasks", {{"cluster", "c"}, {"startedBy", "cr-x"}}).body)["taskArns"], json::array({arn}));
  ASSERT_EQ(ecs("StopTask", {{"cluster", "c"}, {"task", arn}}).status, 200);
  EXPECT_TRUE(waitUntil(clock, clock.now() + 10s, AdaptiveWait{}, [&] {
                return json::parse(ecs("DescribeTasks", {{"cluster", "c"}, {"tasks", {arn}}}).body)["tasks"][0]["lastStatus"] ==
                       "STOPPED";
              }).met);
  json state = control("/__cleanroom/state");
  EXPECT_EQ(state["tasks"].size(), 1u);
  EXPECT_TRUE(state.contains("targetGroups"));
  EXPECT_TRUE(state.contains("s3"));
}

TEST_F(AwsMockTest, EcsErrorsHaveTheJsonShape) {
  Reply missing = ecs("ListTasks", {{"cluster", "nope"}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(json::parse(missing.body), (json{{"__type", "ClusterNotFoundException"}, {"message", "Cluster not found."}}));
  EXPECT_EQ(missing.headers.find("x-amzn-ErrorType")->second, "ClusterNotFoundException");
  Reply garbage = send("POST", "/", "{not json", {{"Content-Type", "application/x-amz-json-1.1"},
                                                  {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListTasks"}}, "ecs");
  EXPECT_EQ(json::parse(garbage.body)["__type"], "SerializationException");
}

TEST_F(AwsMockTest, AuthFailuresUseEachProtocolsShape) {
  Reply wrongSecret = ecs("ListClusters", json::object(), {"cleanroom", "wrong", ""});
  EXPECT_EQ(wrongSecret.status, 400);
  EXPECT_EQ(json::parse(wrongSecret.body)["__type"], "InvalidSignatureException");
  Reply unknownKey = ecs("ListClusters", json::object(), {"someone", "x", ""});
  EXPECT_EQ(json::parse(unknownKey.body)["__type"], "UnrecognizedClientException");
  Reply unsigned_ = ecs("ListClusters", json::object(), {}, false);
  EXPECT_EQ(json::parse(unsigned_.body)["__type"], "MissingAuthenticationTokenException");

  Reply queryWrong = query("Action=DescribeTargetGroups&Version=2015-12-01", "elasticloadbalancing",
                           {"cleanroom", "wrong", ""});
  EXPECT_EQ(queryWrong.status, 403);
  EXPECT_NE(queryWrong.body.find("<Code>SignatureDoesNotMatch</Code>"), std::string::npos) << queryWrong.body;
  EXPECT_NE(queryWrong.body.find("<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">"),
            std::string::npos);
  Reply stsUnknown = query("Action=GetCallerIdentity&Version=2011-06-15", "sts", {"someone", "x", ""});
  EXPECT_EQ(stsUnknown.status, 403);
  EXPECT_NE(stsUnknown.body.find("<Code>InvalidClientTokenId</Code>"), std::string::npos) << stsUnknown.body;

  Reply s3Wrong = send("GET", "/", "", {}, "s3", {"cleanroom", "wrong", ""});
  EXPECT_EQ(s3Wrong.status, 403);
  EXPECT_NE(s3Wrong.body.find("<Code>SignatureDoesNotMatch</Code>"), std::string::npos) << s3Wrong.body;
  Reply s3Anonymous = send("GET", "/", "", {}, "s3", {}, false);
  EXPECT_NE(s3Anonymous.body.find("<Code>AccessDenied</Code>"), std::string::npos) << s3Anonymous.body;
}

TEST_F(AwsMockTest, ElbV2AnswersWithResultWrappers) {
  Reply created = query("Action=CreateTargetGroup&Version=2015-12-01&Name=tg&Protocol=HTTP&Port=80&VpcId=vpc-1&TargetType=ip");
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.body.rfind("<CreateTargetGroupResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">"
                               "<CreateTargetGroupResult><TargetGroups><member>", 0), 0u) << created.body;
  EXPECT_NE(created.body.find("<ResponseMetadata><RequestId>"), std::string::npos);
  const auto start = created.body.find("<TargetGroupArn>") + 16;
  const std::string arn = created.body.substr(start, created.body.find("</TargetGroupArn>") - start);
  const std::string encodedArn = formEncode(arn);
  Reply registered = query("Action=RegisterTargets&Version=2015-12-01&TargetGroupArn=" + encodedArn +
                           "&Targets.member.1.Id=10.0.0.9&Targets.member.1.Port=80");
  ASSERT_EQ(registered.status, 200) << registered.body;
  EXPECT_NE(registered.body.find("<RegisterTargetsResult/>"), std::string::npos) << registered.body;
  Reply health = query("Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=" + encodedArn);
  EXPECT_NE(health.body.find("<State>healthy</State>"), std::string::npos) << health.body;
  Reply unknown = query("Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=" +
                        formEncode(arn + "0"));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("<Type>Sender</Type><Code>TargetGroupNotFound</Code>"), std::string::npos) << unknown.body;
}

TEST_F(AwsMockTest, StsGetCallerIdentityNamesTheCaller) {
  Reply identity = query("Action=GetCallerIdentity&Version=2011-06-15", "sts");
  ASSERT_EQ(identity.status, 200) << identity.body;
  EXPECT_NE(identity.body.find("<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                               "<GetCallerIdentityResult><UserId>cleanroom</UserId><Account>123456789012</Account>"),
            std::string::npos)
      << identity.body;
}

TEST_F(AwsMockTest, FaultsMatchOperationsAndAnswerInTheServicesShape) {
  postFault({{"match", {{"operation", "ListClusters"}}}, {"status", 400}, {"count", 1}});
  postFault({{"match", {{"operation", "elasticloadbalancing:*"}}}, {"status", 400}, {"count", 1}});
  postFault({{"match", {{"operation", "s3:ListBuckets"}}}, {"status", 503}, {"count", 1}});
  postFault({{"match", {{"operation", "ecs:DescribeClusters"}}}, {"status", 400}, {"errorCode", "AccessDeniedException"},
             {"count", 1}});
  Reply throttled = ecs("ListClusters", json::object());
  EXPECT_EQ(throttled.status, 400);
  EXPECT_EQ(json::parse(throttled.body)["__type"], "ThrottlingException");
  EXPECT_EQ(ecs("ListClusters", json::object()).status, 200);
  Reply queryThrottled = query("Action=DescribeTargetGroups&Version=2015-12-01");
  EXPECT_EQ(queryThrottled.status, 400);
  EXPECT_NE(queryThrottled.body.find("<Code>Throttling</Code>"), std::string::npos) << queryThrottled.body;
  Reply slowDown = send("GET", "/", "", {}, "s3");
  EXPECT_EQ(slowDown.status, 503);
  EXPECT_NE(slowDown.body.find("<Code>SlowDown</Code>"), std::string::npos) << slowDown.body;
  EXPECT_EQ(json::parse(ecs("DescribeClusters", json::object()).body)["__type"], "AccessDeniedException");

  json log = control("/__cleanroom/requests");
  ASSERT_GE(log.size(), 3u);
  EXPECT_EQ(log[0]["operation"], "ecs:ListClusters");
  EXPECT_EQ(log[0]["fault"], "status 400");
  EXPECT_EQ(log[2]["operation"], "elasticloadbalancing:DescribeTargetGroups");
}

TEST_F(AwsMockTest, ResetDropsEveryService) {
  ecs("CreateCluster", {{"clusterName", "c"}});
  query("Action=CreateTargetGroup&Version=2015-12-01&Name=tg&Protocol=HTTP&Port=80&VpcId=vpc-1");
  httplib::Client client(mock_.url());
  ASSERT_EQ(client.Post("/__cleanroom/reset")->status, 200);
  json state = control("/__cleanroom/state");
  EXPECT_TRUE(state["clusters"].empty());
  EXPECT_TRUE(state["targetGroups"].empty());
}

}  // namespace
}  // namespace cleanroom::mocks::aws
