#include "cleanroom/env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "scoped_env.h"

namespace cleanroom {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

using tests::ScopedEnv;

constexpr const char* kVar = "CLEANROOM_ENV_TEST_VALUE";

TEST(EnvTest, GetReturnsTheValue) {
  ScopedEnv set(kVar, "hello");
  EXPECT_EQ(env::get(kVar), "hello");
}

TEST(EnvTest, GetTreatsUnsetAndEmptyAlike) {
  {
    ScopedEnv unset(kVar, std::nullopt);
    EXPECT_EQ(env::get(kVar), std::nullopt);
  }
  ScopedEnv empty(kVar, "");
  EXPECT_EQ(env::get(kVar), std::nullopt);
}

TEST(EnvTest, HttpUrlIsNulloptWhenUnset) {
  ScopedEnv unset(kVar, std::nullopt);
  EXPECT_FALSE(env::httpUrl(kVar).has_value());
}

TEST(EnvTest, HttpUrlDropsTheTrailingSlash) {
  ScopedEnv set(kVar, "http://127.0.0.1:8080/");
  std::optional<Result<std::string>> url = env::httpUrl(kVar);
  ASSERT_TRUE(url.has_value());
  EXPECT_EQ(url->value(), "http://127.0.0.1:8080");
}

TEST(EnvTest, HttpUrlErrorNamesTheVariableAndShowsAnExample) {
  ScopedEnv set(kVar, "localhost:8080");
  std::optional<Result<std::string>> url = env::httpUrl(kVar);
  ASSERT_TRUE(url.has_value());
  ASSERT_FALSE(url->ok());
  EXPECT_EQ(url->error().kind, ErrorKind::Permanent);
  EXPECT_THAT(url->error().message,
              AllOf(HasSubstr(kVar), HasSubstr("localhost:8080"), HasSubstr("http://127.0.0.1:8080")));
}

TEST(EnvTest, CheckHttpUrlAcceptsHostPortAndPrefix) {
  EXPECT_EQ(env::checkHttpUrl("http://127.0.0.1:8080", "url").value(), "http://127.0.0.1:8080");
  EXPECT_EQ(env::checkHttpUrl("http://agents.internal", "url").value(), "http://agents.internal");
  EXPECT_EQ(env::checkHttpUrl("http://host:80/api/v2//", "url").value(), "http://host:80/api/v2");
  EXPECT_EQ(env::checkHttpUrl("HTTP://Host:9000", "url").value(), "http://Host:9000");
  EXPECT_EQ(env::checkHttpUrl("http://[::1]:8080/x", "url").value(), "http://[::1]:8080/x");
}

TEST(EnvTest, CheckHttpUrlAcceptsHttpsAndNormalisesIt) {
  EXPECT_EQ(env::checkHttpUrl("https://agents.example.com", "--url").value(), "https://agents.example.com");
  EXPECT_EQ(env::checkHttpUrl("HTTPS://Host:8443/api/", "--url").value(), "https://Host:8443/api");
  Result<std::string> url = env::checkHttpUrl("https://", "--url");
  ASSERT_FALSE(url.ok());
  EXPECT_THAT(url.error().message, AllOf(HasSubstr("--url"), HasSubstr("has no host")));
}

TEST(EnvTest, CheckHttpUrlRejectsGarbageNamingWhat) {
  for (const char* bad : {"", "127.0.0.1:8080", "http://", "http://:8080", "http://host:", "http://host:0",
                          "http://host:65536", "http://host:80x", "http://ho st", "http://user@host",
                          "http://host/a?b=c", "http://host/a#frag", "http://[::1", "ftp://host"}) {
    Result<std::string> url = env::checkHttpUrl(bad, "agent API URL");
    ASSERT_FALSE(url.ok()) << "accepted \"" << bad << "\"";
    EXPECT_EQ(url.error().kind, ErrorKind::Permanent);
    EXPECT_THAT(url.error().message, AllOf(HasSubstr("agent API URL"), HasSubstr("e.g. http://127.0.0.1:8080")))
        << bad;
  }
}

}  // namespace
}  // namespace cleanroom
