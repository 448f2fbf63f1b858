// AwsConfig::fromEnvironment: region, credentials and endpoints from the
// variables the aws CLI and boto3 read, and errors that name the variable.
#include "cleanroom/aws/aws_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "scoped_env.h"

namespace cleanroom::aws {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using tests::ScopedEnv;

constexpr const char* kSecret = "s3cr3t-value-never-shown";
constexpr const char* kToken = "t0ken-value-never-shown";

// Starts every test from a clean, complete environment; tests override or
// unset single variables.
class AwsConfigTest : public ::testing::Test {
 protected:
  AwsConfigTest() {
    for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                             "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECS", "AWS_ENDPOINT_URL_S3",
                             "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "AWS_ENDPOINT_URL_STS"}) {
      set(name, std::nullopt);
    }
    set("AWS_REGION", "eu-west-1");
    set("AWS_ACCESS_KEY_ID", "AKIATEST");
    set("AWS_SECRET_ACCESS_KEY", kSecret);
  }
  // Restores in reverse order of setting, so a variable set twice gets its
  // original value back (a vector destroys first to last).
  ~AwsConfigTest() override {
    while (!env_.empty()) env_.pop_back();
  }
  void set(const char* name, std::optional<std::string> value) {
    env_.push_back(std::make_unique<ScopedEnv>(name, std::move(value)));
  }

 private:
  std::vector<std::unique_ptr<ScopedEnv>> env_;
};

TEST_F(AwsConfigTest, ReadsRegionAndCredentials) {
  set("AWS_SESSION_TOKEN", kToken);
  auto config = AwsConfig::fromEnvironment();
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->region, "eu-west-1");
  EXPECT_EQ(config->credentials.accessKeyId, "AKIATEST");
  EXPECT_EQ(config->credentials.secretAccessKey, kSecret);
  EXPECT_EQ(config->credentials.sessionToken, kToken);
}

TEST_F(AwsConfigTest, SessionTokenIsOptional) {
  auto config = AwsConfig::fromEnvironment();
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->credentials.sessionToken, "");
}

TEST_F(AwsConfigTest, RegionFallsBackToDefaultRegionAndAwsRegionWins) {
  set("AWS_REGION", std::nullopt);
  set("AWS_DEFAULT_REGION", "us-west-2");
  EXPECT_EQ(AwsConfig::fromEnvironment()->region, "us-west-2");
  set("AWS_REGION", "ap-south-1");
  EXPECT_EQ(AwsConfig::fromEnvironment()->region, "ap-south-1");
}

TEST_F(AwsConfigTest, MissingRegionNamesTheVariable) {
  set("AWS_REGION", std::nullopt);
  auto config = AwsConfig::fromEnvironment();
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(config.error().message, HasSubstr("AWS_REGION"));
  EXPECT_THAT(config.error().message, HasSubstr("AWS_DEFAULT_REGION"));
}

TEST_F(AwsConfigTest, MalformedRegionNamesTheVariable) {
  set("AWS_REGION", std::nullopt);
  set("AWS_DEFAULT_REGION", "US East 1");
  auto config = AwsConfig::fromEnvironment();
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.error().message, HasSubstr("AWS_DEFAULT_REGION=\"US East 1\""));
}

TEST_F(AwsConfigTest, MissingCredentialsNameTheVariableButNeverTheSecret) {
  set("AWS_ACCESS_KEY_ID", std::nullopt);
  auto noKey = AwsConfig::fromEnvironment();
  ASSERT_FALSE(noKey.ok());
  EXPECT_THAT(noKey.error().message, HasSubstr("AWS_ACCESS_KEY_ID is not set"));
  EXPECT_THAT(noKey.error().message, Not(HasSubstr(kSecret)));

  set("AWS_ACCESS_KEY_ID", "AKIATEST");
  set("AWS_SECRET_ACCESS_KEY", std::nullopt);
  set("AWS_SESSION_TOKEN", kToken);
  auto noSecret = AwsConfig::fromEnvironment();
  ASSERT_FALSE(noSecret.ok());
  EXPECT_THAT(noSecret.error().message, HasSubstr("AWS_SECRET_ACCESS_KEY is not set"));
  EXPECT_THAT(noSecret.error().message, Not(HasSubstr(kToken)));
}

TEST_F(AwsConfigTest, ServiceSpecificEndpointWinsOverGlobal) {
  set("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/");
  set("AWS_ENDPOINT_URL_ECS", "http://127.0.0.1:5000");
  set("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "http://localhost:5001");
  auto config = AwsConfig::fromEnvironment();
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(*config->endpointFor("ecs"), "http://127.0.0.1:5000");
  EXPECT_EQ(*config->endpointFor("elasticloadbalancing"), "http://localhost:5001");
  EXPECT_EQ(*config->endpointFor("elbv2"), "http://localhost:5001");
  EXPECT_EQ(*config->endpointFor("s3"), "http://127.0.0.1:4566");
  EXPECT_EQ(*config->endpointFor("sts"), "http://127.0.0.1:4566");
}

TEST_F(AwsConfigTest, WithoutAnEndpointVariableTheServicesPublicRegionalEndpointIsUsed) {
  set("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4566");
  auto config = AwsConfig::fromEnvironment();
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->endpointFor("s3").value(), "http://127.0.0.1:4566");
  EXPECT_EQ(config->endpointFor("ecs").value(), "https://ecs." + config->region + ".amazonaws.com");
  EXPECT_EQ(config->endpointFor("elbv2").value(), "https://elasticloadbalancing." + config->region + ".amazonaws.com");
  EXPECT_EQ(publicEndpoint("sts", "cn-north-1"), "https://sts.cn-north-1.amazonaws.com.cn");
  EXPECT_TRUE(config->locator().count("endpoint_url_ecs") == 0) << "a default is not written to journals";
  auto unknown = config->endpointFor("lambda");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("unknown AWS service \"lambda\""));
}

TEST_F(AwsConfigTest, MalformedEndpointNamesTheVariable) {
  set("AWS_ENDPOINT_URL_STS", "127.0.0.1:4566");
  auto config = AwsConfig::fromEnvironment();
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(config.error().message, HasSubstr("AWS_ENDPOINT_URL_STS"));
  EXPECT_THAT(config.error().message, HasSubstr("does not start with http:// or https://"));
}

TEST_F(AwsConfigTest, LocatorCarriesNoSecretsAndRebuildsTheConfig) {
  set("AWS_SESSION_TOKEN", kToken);
  set("AWS_ENDPOINT_URL", "http://127.0.0.1:4566");
  set("AWS_ENDPOINT_URL_ECS", "http://127.0.0.1:5000");
  auto config = AwsConfig::fromEnvironment();
  ASSERT_TRUE(config.ok()) << config.error().message;
  const auto locator = config->locator();
  EXPECT_EQ(locator, (std::map<std::string, std::string>{{"region", "eu-west-1"},
                                                           {"endpoint_url", "http://127.0.0.1:4566"},
                                                           {"endpoint_url_ecs", "http://127.0.0.1:5000"}}));
  for (const auto& [key, value] : locator) {
    EXPECT_THAT(value, Not(HasSubstr(kSecret)));
    EXPECT_THAT(value, Not(HasSubstr(kToken)));
  }

  set("AWS_REGION", "us-east-1");  // the locator's region wins over the reaper's environment
  set("AWS_ENDPOINT_URL_ECS", std::nullopt);
  auto rebuilt = AwsConfig::fromLocator(locator);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().message;
  EXPECT_EQ(rebuilt->region, "eu-west-1");
  EXPECT_EQ(*rebuilt->endpointFor("ecs"), "http://127.0.0.1:5000");
  EXPECT_EQ(*rebuilt->endpointFor("s3"), "http://127.0.0.1:4566");
  EXPECT_EQ(rebuilt->credentials.secretAccessKey, kSecret);
  EXPECT_FALSE(AwsConfig::fromLocator({}).ok());
}

TEST(AwsEndpointVariable, NamesTheServiceVariable) {
  EXPECT_EQ(endpointVariable("elasticloadbalancing"), "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2");
  EXPECT_EQ(endpointVariable("s3"), "AWS_ENDPOINT_URL_S3");
  EXPECT_EQ(endpointVariable("nope"), "");
}

}  // namespace
}  // namespace cleanroom::aws
