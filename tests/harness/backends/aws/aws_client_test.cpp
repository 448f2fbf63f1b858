// AwsClient: the requests it signs (checked with the verifier), the error
// mapping of each protocol, endpoint errors, and one round trip over real
// HTTP to an in-test server that verifies the signature.
#include "cleanroom/aws/aws_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cleanroom/aws/xml.h"
#include "http_test_server.h"
#include "manual_clock.h"

namespace cleanroom::aws {
namespace {

using ::testing::_;
using ::testing::DoAll;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Return;
using ::testing::SaveArg;

constexpr milliseconds kTimeout{2000};
constexpr const char* kSecret = "test-secret-key";
constexpr const char* kToken = "test-session-token";

class MockHttpClient : public HttpClient {
 public:
  explicit MockHttpClient(std::string base = "http://127.0.0.1:18081") {
    ON_CALL(*this, baseUrl()).WillByDefault(Return(base));
  }
  MOCK_METHOD(Result<HttpResponse>, send, (const HttpRequest& request, milliseconds timeout), (override));
  MOCK_METHOD(std::string, baseUrl, (), (const, override));
};

AwsConfig testConfig(std::string token = "") {
  AwsConfig config;
  config.region = "us-east-1";
  config.credentials = Credentials{"AKIATEST", kSecret, std::move(token)};
  return config;
}

HttpResponse answer(int status, std::string body, std::map<std::string, std::string> headers = {}) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

// Rebuilds what went on the wire (the base URL's prefix plus the target) and
// checks the signature as the mock server does.
VerifyOutcome verifySent(const HttpRequest& sent, const std::string& prefix, const Clock& clock, bool normalizePath) {
  SigningRequest wire;
  wire.method = sent.method;
  const auto question = sent.target.find('?');
  wire.path = prefix + sent.target.substr(0, question);
  if (question != std::string::npos) wire.rawQuery = sent.target.substr(question + 1);
  wire.headers = sent.headers;
  wire.body = sent.body;
  return verify(
      wire, [](std::string_view id) { return id == "AKIATEST" ? std::optional<std::string>(kSecret) : std::nullopt; },
      clock.wallNow(), normalizePath);
}

std::string header(const HttpRequest& request, const std::string& name) {
  std::string found;
  int count = 0;
  for (const auto& [key, value] : request.headers) {
    if (key == name) {
      found = value;
      ++count;
    }
  }
  EXPECT_LE(count, 1) << name << " sent more than once";
  return found;
}

class AwsClientTest : public ::testing::Test {
 protected:
  AwsClient clientFor(const std::string& service, AwsConfig config = testConfig()) {
    return AwsClient(std::move(config), {{service, http_}}, clock_);
  }
  tests::ManualClock clock_;
  std::shared_ptr<MockHttpClient> http_ = std::make_shared<::testing::NiceMock<MockHttpClient>>();
  HttpRequest sent_;
};

TEST_F(AwsClientTest, CallJsonSendsASignedJson11Request) {
  EXPECT_CALL(*http_, send(_, kTimeout))
      .WillOnce(DoAll(SaveArg<0>(&sent_), Return(answer(200, R"({"taskArns":["arn:t1"]})"))));
  auto client = clientFor("ecs");
  auto result = client.callJson("ecs", "AmazonEC2ContainerServiceV20141113.ListTasks", {{"cluster", "c1"}}, kTimeout);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ((*result)["taskArns"][0], "arn:t1");

  EXPECT_EQ(sent_.method, "POST");
  EXPECT_EQ(sent_.target, "/");
  EXPECT_EQ(sent_.body, R"({"cluster":"c1"})");
  EXPECT_EQ(header(sent_, "X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.ListTasks");
  EXPECT_EQ(header(sent_, "Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(header(sent_, "Host"), "127.0.0.1:18081");
  EXPECT_EQ(header(sent_, "X-Amz-Date"), amzDate(clock_.wallNow()));
  EXPECT_EQ(header(sent_, "X-Amz-Security-Token"), "");
  EXPECT_TRUE(sent_.contentType.empty()) << "Content-Type goes as the signed header, once";
  const auto outcome = verifySent(sent_, "", clock_, true);
  ASSERT_TRUE(outcome.ok) << outcome.code << ": " << outcome.message;
  EXPECT_EQ(outcome.authorization.signedHeaders,
            (std::vector<std::string>{"content-type", "host", "x-amz-date", "x-amz-target"}));
  EXPECT_EQ(outcome.authorization.scope.service, "ecs");
  EXPECT_EQ(outcome.authorization.scope.region, "us-east-1");
}

TEST_F(AwsClientTest, SessionTokenIsSentAndSigned) {
  EXPECT_CALL(*http_, send(_, _)).WillOnce(DoAll(SaveArg<0>(&sent_), Return(answer(200, "{}"))));
  auto client = clientFor("ecs", testConfig(kToken));
  ASSERT_TRUE(client.callJson("ecs", "AmazonEC2ContainerServiceV20141113.StopTask", {}, kTimeout).ok());
  EXPECT_EQ(header(sent_, "X-Amz-Security-Token"), kToken);
  const auto outcome = verifySent(sent_, "", clock_, true);
  ASSERT_TRUE(outcome.ok) << outcome.message;
  EXPECT_THAT(outcome.authorization.signedHeaders, ::testing::Contains("x-amz-security-token"));
}

TEST_F(AwsClientTest, EndpointPathPrefixIsPartOfTheSignedPath) {
  auto prefixed = std::make_shared<::testing::NiceMock<MockHttpClient>>("http://localhost:4566/aws");
  EXPECT_CALL(*prefixed, send(_, _)).WillOnce(DoAll(SaveArg<0>(&sent_), Return(answer(200, "{}"))));
  AwsClient client(testConfig(), {{"ecs", prefixed}}, clock_);
  ASSERT_TRUE(client.callJson("ecs", "AmazonEC2ContainerServiceV20141113.ListTasks", {}, kTimeout).ok());
  EXPECT_EQ(header(sent_, "Host"), "localhost:4566");
  EXPECT_TRUE(verifySent(sent_, "/aws", clock_, true).ok);
  EXPECT_FALSE(verifySent(sent_, "", clock_, true).ok);
}

TEST_F(AwsClientTest, CallQuerySendsASignedFormAndReturnsTheXml) {
  const std::string xml =
      R"(<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">)"
      R"(<DescribeTargetHealthResult><TargetHealthDescriptions>)"
      R"(<member><Target><Id>10.0.0.7</Id><Port>8080</Port></Target><TargetHealth><State>draining</State></TargetHealth></member>)"
      R"(<member><Target><Id>10.0.0.8</Id><Port>8080</Port></Target><TargetHealth><State>healthy</State></TargetHealth></member>)"
      R"(</TargetHealthDescriptions></DescribeTargetHealthResult></DescribeTargetHealthResponse>)";
  EXPECT_CALL(*http_, send(_, _)).WillOnce(DoAll(SaveArg<0>(&sent_), Return(answer(200, xml))));
  auto client = clientFor("elasticloadbalancing");
  auto result = client.callQuery("elbv2",
                                 {{"Action", "DescribeTargetHealth"},
                                  {"Version", "2015-12-01"},
                                  {"TargetGroupArn", "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg/1"}},
                                 kTimeout);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(sent_.body,
            "Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-"
            "east-1%3A1%3Atargetgroup%2Ftg%2F1");
  EXPECT_EQ(header(sent_, "Content-Type"), "application/x-www-form-urlencoded; charset=utf-8");
  const auto outcome = verifySent(sent_, "", clock_, true);
  ASSERT_TRUE(outcome.ok) << outcome.message;
  EXPECT_EQ(outcome.authorization.scope.service, "elasticloadbalancing");

  auto root = parseXml(*result, "DescribeTargetHealth response");
  ASSERT_TRUE(root.ok()) << root.error().message;
  const auto* list = root->find("DescribeTargetHealthResult/TargetHealthDescriptions");
  ASSERT_NE(list, nullptr);
  const auto members = list->childrenNamed("member");
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0]->textAt("Target/Id"), "10.0.0.7");
  EXPECT_EQ(members[0]->textAt("TargetHealth/State"), "draining");
  EXPECT_EQ(members[1]->textAt("TargetHealth/State"), "healthy");
}

TEST_F(AwsClientTest, CallRestSignsThePayloadHashForS3) {
  EXPECT_CALL(*http_, send(_, _)).WillOnce(DoAll(SaveArg<0>(&sent_), Return(answer(200, ""))));
  auto client = clientFor("s3");
  HttpRequest put;
  put.method = "PUT";
  put.target = "/logs/run%201/session.log?x-id=PutObject";
  put.contentType = "text/plain";
  put.body = "hello world";
  auto result = client.callRest("s3", put, kTimeout);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(sent_.target, "/logs/run%201/session.log?x-id=PutObject");
  EXPECT_EQ(header(sent_, "X-Amz-Content-SHA256"), sha256Hex("hello world"));
  EXPECT_EQ(header(sent_, "Content-Type"), "text/plain");
  const auto outcome = verifySent(sent_, "", clock_, /*normalizePath=*/false);
  ASSERT_TRUE(outcome.ok) << outcome.message;
  EXPECT_EQ(outcome.authorization.signedHeaders,
            (std::vector<std::string>{"content-type", "host", "x-amz-content-sha256", "x-amz-date"}));
}

// --- error mapping ------------------------------------------------------------

TEST_F(AwsClientTest, JsonErrorTypeIsTheCodeAndNotFoundIsLeftToTheCaller) {
  EXPECT_CALL(*http_, send(_, _))
      .WillOnce(Return(answer(400, R"({"__type":"com.amazonaws.ecs#InvalidParameterException",)"
                                   R"("message":"The referenced task was not found."})")));
  auto client = clientFor("ecs");
  auto result = client.callJson("ecs", "AmazonEC2ContainerServiceV20141113.StopTask", {}, kTimeout);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::Permanent);
  EXPECT_EQ(result.error().httpStatus, 400);
  EXPECT_EQ(result.error().message,
            "ecs StopTask: InvalidParameterException: The referenced task was not found. (HTTP 400)");
  EXPECT_EQ(awsErrorCode(result.error()), "InvalidParameterException");
}

TEST_F(AwsClientTest, JsonErrorCodeFromHeaderWhenTheBodyHasNone) {
  EXPECT_CALL(*http_, send(_, _))
      .WillOnce(Return(answer(400, R"({"Message":"Cluster not found."})",
                              {{"x-amzn-errortype", "ClusterNotFoundException:http://internal.amazon.com/"}})));
  auto client = clientFor("ecs");
  auto result = client.callJson("ecs", "AmazonEC2ContainerServiceV20141113.DescribeTasks", {}, kTimeout);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(awsErrorCode(result.error()), "ClusterNotFoundException");
  EXPECT_THAT(result.error().message, HasSubstr("Cluster not found."));
}

TEST_F(AwsClientTest, JsonThrottlingAndServerErrorsAreRetryable) {
  EXPECT_CALL(*http_, send(_, _))
      .WillOnce(Return(answer(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})")))
      .WillOnce(Return(answer(500, "<html>Internal Server Error</html>")))
      .WillOnce(Return(answer(429, "", {{"retry-after", "2"}})));
  auto client = clientFor("ecs");
  auto throttled = client.callJson("ecs", "AmazonEC2ContainerServiceV20141113.ListTasks", {}, kTimeout);
  ASSERT_FALSE(throttled.ok());
  EXPECT_EQ(throttled.error().kind, ErrorKind::Retryable);
  EXPECT_EQ(awsErrorCode(throttled.error()), "ThrottlingException");

  auto html = client.callJson("ecs", "AmazonEC2ContainerServiceV20141113.ListTasks", {}, kTimeout);
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.error().kind, ErrorKind::Retryable);
  EXPECT_EQ(awsErrorCode(html.error()), "500");

  auto tooMany = client.callJson("ecs", "AmazonEC2ContainerServiceV20141113.ListTasks", {}, kTimeout);
  ASSERT_FALSE(tooMany.ok());
  EXPECT_EQ(tooMany.error().kind, ErrorKind::Retryable);
  EXPECT_EQ(tooMany.error().retryAfter, milliseconds(2000));
}

TEST_F(AwsClientTest, AuthFailuresArePermanentAndNameTheVariablesNotTheSecret) {
  EXPECT_CALL(*http_, send(_, _))
      .WillOnce(Return(answer(400, R"({"__type":"UnrecognizedClientException",)"
                                   R"("message":"The security token included in the request is invalid."})")));
  auto client = clientFor("ecs", testConfig(kToken));
  auto result = client.callJson("ecs", "AmazonEC2ContainerServiceV20141113.ListTasks", {}, kTimeout);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::Permanent);
  EXPECT_EQ(awsErrorCode(result.error()), "UnrecognizedClientException");
  for (const char* variable : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}) {
    EXPECT_THAT(result.error().message, HasSubstr(variable));
  }
  EXPECT_THAT(result.error().message, Not(HasSubstr(kSecret)));
  EXPECT_THAT(result.error().message, Not(HasSubstr(kToken)));
}

TEST_F(AwsClientTest, QueryXmlErrorsUseTheErrorCode) {
  const auto errorXml = [](const std::string& code, const std::string& message) {
    return R"(<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error>)"
           "<Type>Sender</Type><Code>" + code + "</Code><Message>" + message +
           "</Message></Error><RequestId>r1</RequestId></ErrorResponse>";
  };
  EXPECT_CALL(*http_, send(_, _))
      .WillOnce(Return(answer(400, errorXml("TargetGroupNotFound", "One or more target groups not found"))))
      .WillOnce(Return(answer(400, errorXml("Throttling", "Rate exceeded"))))
      .WillOnce(Return(answer(403, errorXml("SignatureDoesNotMatch", "The request signature we calculated..."))));
  auto client = clientFor("elasticloadbalancing");
  const std::vector<std::pair<std::string, std::string>> params{{"Action", "DeregisterTargets"},
                                                                {"Version", "2015-12-01"}};
  auto notFound = client.callQuery("elasticloadbalancing", params, kTimeout);
  ASSERT_FALSE(notFound.ok());
  EXPECT_EQ(notFound.error().kind, ErrorKind::Permanent);
  EXPECT_EQ(notFound.error().message,
            "elasticloadbalancing DeregisterTargets: TargetGroupNotFound: One or more target groups not found "
            "(HTTP 400)");
  EXPECT_EQ(awsErrorCode(notFound.error()), "TargetGroupNotFound");

  auto throttled = client.callQuery("elasticloadbalancing", params, kTimeout);
  ASSERT_FALSE(throttled.ok());
  EXPECT_EQ(throttled.error().kind, ErrorKind::Retryable);

  auto denied = client.callQuery("elasticloadbalancing", params, kTimeout);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(denied.error().message, HasSubstr("AWS_SECRET_ACCESS_KEY"));
}

TEST_F(AwsClientTest, S3ErrorsFromTheBodyOrTheStatus) {
  EXPECT_CALL(*http_, send(_, _))
      .WillOnce(Return(answer(404, R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code>)"
                                   R"(<Message>The specified bucket does not exist</Message>)"
                                   R"(<BucketName>logs</BucketName></Error>)")))
      .WillOnce(Return(answer(503, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
                              {{"retry-after", "1"}})))
      .WillOnce(Return(answer(404, "")));
  auto client = clientFor("s3");
  HttpRequest put;
  put.method = "PUT";
  put.target = "/logs/a.log";
  put.body = "x";
  auto noBucket = client.callRest("s3", put, kTimeout);
  ASSERT_FALSE(noBucket.ok());
  EXPECT_EQ(noBucket.error().kind, ErrorKind::Permanent) << "a missing bucket must not look like 'already cleaned'";
  EXPECT_EQ(noBucket.error().message,
            "s3 PUT /logs/a.log: NoSuchBucket: The specified bucket does not exist (HTTP 404)");
  EXPECT_EQ(awsErrorCode(noBucket.error()), "NoSuchBucket");

  auto slowDown = client.callRest("s3", put, kTimeout);
  ASSERT_FALSE(slowDown.ok());
  EXPECT_EQ(slowDown.error().kind, ErrorKind::Retryable);
  EXPECT_EQ(slowDown.error().retryAfter, milliseconds(1000));
  EXPECT_EQ(awsErrorCode(slowDown.error()), "SlowDown");

  HttpRequest head;
  head.method = "HEAD";
  head.target = "/logs/missing.log";
  auto missing = client.callRest("s3", head, kTimeout);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(awsErrorCode(missing.error()), "404");
  EXPECT_THAT(missing.error().message, HasSubstr("Not Found"));
}

TEST_F(AwsClientTest, TransportFailureIsRetryableWithoutAwsCode) {
  EXPECT_CALL(*http_, send(_, _))
      .WillOnce(Return(Result<HttpResponse>(Error::retryable("POST http://127.0.0.1:18081/ failed: connection refused"))));
  auto client = clientFor("ecs");
  auto result = client.callJson("ecs", "AmazonEC2ContainerServiceV20141113.ListTasks", {}, kTimeout);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(result.error().message, HasSubstr("ecs ListTasks: POST http://127.0.0.1:18081/ failed"));
  EXPECT_EQ(awsErrorCode(result.error()), "");
}

TEST_F(AwsClientTest, SuccessThatIsNotJsonIsPermanent) {
  EXPECT_CALL(*http_, send(_, _)).WillOnce(Return(answer(200, "<html>proxy</html>")));
  auto client = clientFor("ecs");
  auto result = client.callJson("ecs", "AmazonEC2ContainerServiceV20141113.ListTasks", {}, kTimeout);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(result.error().message, HasSubstr("not JSON"));
}

TEST(AwsErrorCode, EmptyForErrorsNotFromAws) {
  EXPECT_EQ(awsErrorCode(Error::permanent("something else: went wrong")), "");
  Error prefixed = Error::permanent("stop task t1: ecs StopTask: ClusterNotFoundException: Cluster not found. (HTTP 400)");
  prefixed.httpStatus = 400;
  EXPECT_EQ(awsErrorCode(prefixed), "ClusterNotFoundException");
}

TEST(AwsXml, MalformedDocumentIsAnErrorNamingIt) {
  auto result = parseXml("<a><b></a>", "DescribeTargetGroups response");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("DescribeTargetGroups response is not well-formed XML"));
  auto sts = parseXml(R"(<?xml version="1.0"?><GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">)"
                      R"(<GetCallerIdentityResult><Account>123456789012</Account><Arn>arn:aws:sts::1:user/x &amp; y</Arn>)"
                      R"(</GetCallerIdentityResult></GetCallerIdentityResponse>)",
                      "GetCallerIdentity response");
  ASSERT_TRUE(sts.ok()) << sts.error().message;
  EXPECT_EQ(sts->name, "GetCallerIdentityResponse");
  EXPECT_EQ(sts->textAt("GetCallerIdentityResult/Account"), "123456789012");
  EXPECT_EQ(sts->textAt("GetCallerIdentityResult/Arn"), "arn:aws:sts::1:user/x & y");
  EXPECT_EQ(sts->textAt("GetCallerIdentityResult/Missing"), "");
}

// One real round trip: cpp-httplib must send exactly the headers we signed
// (one Host with the port, one Content-Type), or a verifying server rejects it.
TEST(AwsClientOverHttp, InTestServerVerifiesTheSignature) {
  tests::HttpTestServer server;
  std::string verdict = "not called";
  server.server().Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    SigningRequest wire;
    wire.method = req.method;
    wire.path = req.path;
    wire.body = req.body;
    for (const auto& [name, value] : req.headers) {
      if (name != "REMOTE_ADDR" && name != "REMOTE_PORT" && name != "LOCAL_ADDR" && name != "LOCAL_PORT") {
        wire.headers.emplace_back(name, value);
      }
    }
    const auto outcome = verify(
        wire, [](std::string_view) { return std::optional<std::string>(kSecret); }, std::chrono::system_clock::now(),
        true);
    verdict = outcome.ok ? "ok" : outcome.code + ": " + outcome.message;
    res.status = outcome.ok ? 200 : 403;
    res.set_content(outcome.ok ? R"({"clusterArns":[]})" : R"({"__type":")" + outcome.code + R"("})",
                    "application/x-amz-json-1.1");
  });
  server.start();
  AwsConfig config = testConfig(kToken);
  config.endpoints["ecs"] = server.url();
  AwsClient client(config);
  auto result = client.callJson("ecs", "AmazonEC2ContainerServiceV20141113.ListClusters", nlohmann::json::object(),
                                kTimeout);
  server.stop();
  EXPECT_EQ(verdict, "ok");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE((*result)["clusterArns"].is_array());
}

}  // namespace
}  // namespace cleanroom::aws
