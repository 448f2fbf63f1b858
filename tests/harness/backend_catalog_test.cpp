#include "cleanroom/backend_catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "cleanroom/backends/agent_api_backend.h"
#include "cleanroom/journal.h"
#include "scoped_env.h"

namespace cleanroom {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr const char* kAgentsUrl = "CLEANROOM_AGENTS_URL";

TEST(BackendCatalogTest, ListsTheHttpBackendAndItsSettings) {
  const std::vector<BackendCatalogEntry>& catalog = backendCatalog();
  ASSERT_FALSE(catalog.empty());
  EXPECT_EQ(catalog.front().name, "http");
  EXPECT_EQ(catalog.front().settings, kAgentsUrl);
}

TEST(BackendCatalogTest, NothingConfiguredGivesNoBackends) {
  tests::ScopedEnv unset(kAgentsUrl, std::nullopt);
  tests::ScopedEnv noWorkspace("CLEANROOM_WORKSPACE", std::nullopt);
  tests::ScopedEnv noTmux("CLEANROOM_TMUX", std::nullopt);
  tests::ScopedEnv noTmuxSocket("CLEANROOM_TMUX_SOCKET", std::nullopt);
  tests::ScopedEnv noDocker("DOCKER_HOST", std::nullopt);
  tests::ScopedEnv noDaytona("DAYTONA_API_URL", std::nullopt);
  Result<std::vector<std::shared_ptr<Backend>>> backends = backendsFromEnvironment();
  ASSERT_TRUE(backends.ok()) << backends.error().describe();
  EXPECT_TRUE(backends->empty());
}

TEST(BackendCatalogTest, BuildsEveryConfiguredBackend) {
  tests::ScopedEnv url(kAgentsUrl, "http://127.0.0.1:7071");
  tests::ScopedEnv noWorkspace("CLEANROOM_WORKSPACE", std::nullopt);
  tests::ScopedEnv noTmux("CLEANROOM_TMUX", std::nullopt);
  tests::ScopedEnv noTmuxSocket("CLEANROOM_TMUX_SOCKET", std::nullopt);
  tests::ScopedEnv noDocker("DOCKER_HOST", std::nullopt);
  tests::ScopedEnv noDaytona("DAYTONA_API_URL", std::nullopt);
  Result<std::vector<std::shared_ptr<Backend>>> backends = backendsFromEnvironment();
  ASSERT_TRUE(backends.ok()) << backends.error().describe();
  ASSERT_EQ(backends->size(), 1u);
  EXPECT_EQ(backends->front()->name(), "http");
  auto* agents = dynamic_cast<AgentApiBackend*>(backends->front().get());
  ASSERT_NE(agents, nullptr);
  EXPECT_EQ(agents->config().baseUrl, "http://127.0.0.1:7071");
}

TEST(BackendCatalogTest, MalformedSettingsNameTheVariable) {
  tests::ScopedEnv url(kAgentsUrl, "ftp://agents.example.com");
  Result<std::vector<std::shared_ptr<Backend>>> backends = backendsFromEnvironment();
  ASSERT_FALSE(backends.ok());
  EXPECT_EQ(backends.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(backends.error().message, AllOf(HasSubstr(kAgentsUrl), HasSubstr("does not start with http://")));
}

TEST(BackendCatalogTest, NamedBackendIsBuiltOnceEvenIfNamedTwice) {
  tests::ScopedEnv url(kAgentsUrl, "http://127.0.0.1:7071");
  Result<std::vector<std::shared_ptr<Backend>>> backends = backendsFromEnvironment({"http", "http"});
  ASSERT_TRUE(backends.ok()) << backends.error().describe();
  EXPECT_EQ(backends->size(), 1u);
}

TEST(BackendCatalogTest, NamedBackendWithoutSettingsSaysWhatToSet) {
  tests::ScopedEnv unset(kAgentsUrl, std::nullopt);
  Result<std::vector<std::shared_ptr<Backend>>> backends = backendsFromEnvironment({"http"});
  ASSERT_FALSE(backends.ok());
  EXPECT_EQ(backends.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(backends.error().message,
              AllOf(HasSubstr("\"http\""), HasSubstr("set CLEANROOM_AGENTS_URL"), HasSubstr("http://127.0.0.1:8080")));
}

TEST(BackendCatalogTest, UnknownNameListsTheKnownOnes) {
  Result<std::vector<std::shared_ptr<Backend>>> backends = backendsFromEnvironment({"kubernetes"});
  ASSERT_FALSE(backends.ok());
  EXPECT_EQ(backends.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(backends.error().message, AllOf(HasSubstr("unknown backend \"kubernetes\""), HasSubstr("http")));
}

TEST(BackendCatalogTest, TheProcessBackendIsUsedOnlyWhenNamed) {
  tests::ScopedEnv unset(kAgentsUrl, std::nullopt);
  tests::ScopedEnv noWorkspace("CLEANROOM_WORKSPACE", std::nullopt);
  tests::ScopedEnv noTmux("CLEANROOM_TMUX", std::nullopt);
  tests::ScopedEnv noTmuxSocket("CLEANROOM_TMUX_SOCKET", std::nullopt);
  tests::ScopedEnv noDocker("DOCKER_HOST", std::nullopt);
  tests::ScopedEnv noDaytona("DAYTONA_API_URL", std::nullopt);
  auto automatic = backendsFromEnvironment();
  ASSERT_TRUE(automatic.ok());
  EXPECT_TRUE(automatic->empty());
  auto named = backendsFromEnvironment({"process"});
  ASSERT_TRUE(named.ok()) << named.error().describe();
  ASSERT_EQ(named->size(), 1u);
  EXPECT_EQ(named->front()->name(), "process");
}

TEST(BackendCatalogTest, DockerIsAutomaticOnlyWhenDockerHostIsSet) {
  tests::ScopedEnv unset(kAgentsUrl, std::nullopt);
  tests::ScopedEnv noWorkspace("CLEANROOM_WORKSPACE", std::nullopt);
  tests::ScopedEnv noTmux("CLEANROOM_TMUX", std::nullopt);
  tests::ScopedEnv noTmuxSocket("CLEANROOM_TMUX_SOCKET", std::nullopt);
  tests::ScopedEnv noDaytona("DAYTONA_API_URL", std::nullopt);
  {
    tests::ScopedEnv noDocker("DOCKER_HOST", std::nullopt);
    auto automatic = backendsFromEnvironment();
    ASSERT_TRUE(automatic.ok()) << automatic.error().describe();
    EXPECT_TRUE(automatic->empty()) << "a developer's own daemon must not be swept unasked";
    auto named = backendsFromEnvironment({"docker"});
    ASSERT_TRUE(named.ok()) << named.error().describe();
    ASSERT_EQ(named->size(), 1u);
    EXPECT_EQ(named->front()->locator().at("dockerHost"), "unix:///var/run/docker.sock");
  }
  tests::ScopedEnv docker("DOCKER_HOST", std::string("tcp://127.0.0.1:2375"));
  auto automatic = backendsFromEnvironment();
  ASSERT_TRUE(automatic.ok()) << automatic.error().describe();
  ASSERT_EQ(automatic->size(), 1u);
  EXPECT_EQ(automatic->front()->name(), "docker");
  auto rebuilt = backendFromLocator("docker", automatic->front()->locator(), "run-x");
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().describe();
  EXPECT_EQ(rebuilt.value()->locator(), automatic->front()->locator());
}

TEST(BackendCatalogTest, AMalformedDockerHostIsNamed) {
  tests::ScopedEnv docker("DOCKER_HOST", std::string("ssh://user@host"));
  auto backends = backendsFromEnvironment({"docker"});
  ASSERT_FALSE(backends.ok());
  EXPECT_THAT(backends.error().message, HasSubstr("DOCKER_HOST"));
}

TEST(BackendCatalogTest, DaytonaNeedsItsUrlAndKeyAndItsLocatorHoldsNoKey) {
  tests::ScopedEnv noUrl("DAYTONA_API_URL", std::nullopt);
  auto missing = backendsFromEnvironment({"daytona"});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, AllOf(HasSubstr("DAYTONA_API_URL"), HasSubstr("DAYTONA_API_KEY")));

  tests::ScopedEnv url("DAYTONA_API_URL", std::string("http://127.0.0.1:3000/api"));
  tests::ScopedEnv key("DAYTONA_API_KEY", std::string("s3cret-key"));
  auto built = backendsFromEnvironment({"daytona"});
  ASSERT_TRUE(built.ok()) << built.error().describe();
  ASSERT_EQ(built->size(), 1u);
  for (const auto& [field, value] : built->front()->locator()) EXPECT_THAT(value, ::testing::Not(HasSubstr("s3cret")));
  auto rebuilt = backendFromLocator("daytona", built->front()->locator(), "run-x");
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().describe();
}

// AWS settings (an endpoint and credentials) and nothing that turns any
// backend on by itself.
struct OnlyAwsSettings {
  tests::ScopedEnv noAgents{kAgentsUrl, std::nullopt};
  tests::ScopedEnv noWorkspace{"CLEANROOM_WORKSPACE", std::nullopt};
  tests::ScopedEnv noTmux{"CLEANROOM_TMUX", std::nullopt};
  tests::ScopedEnv noTmuxSocket{"CLEANROOM_TMUX_SOCKET", std::nullopt};
  tests::ScopedEnv noDocker{"DOCKER_HOST", std::nullopt};
  tests::ScopedEnv noDaytona{"DAYTONA_API_URL", std::nullopt};
  tests::ScopedEnv noCluster{"CLEANROOM_ECS_CLUSTER", std::nullopt};
  tests::ScopedEnv noEcsEndpoint{"AWS_ENDPOINT_URL_ECS", std::nullopt};
  tests::ScopedEnv noGroups{"CLEANROOM_ALB_TARGET_GROUPS", std::nullopt};
  tests::ScopedEnv noBucket{"CLEANROOM_LOG_BUCKET", std::nullopt};
  tests::ScopedEnv region{"AWS_REGION", std::string("us-east-1")};
  tests::ScopedEnv keyId{"AWS_ACCESS_KEY_ID", std::string("cleanroom")};
  tests::ScopedEnv secret{"AWS_SECRET_ACCESS_KEY", std::string("s3cret-aws")};
  tests::ScopedEnv endpoint{"AWS_ENDPOINT_URL", std::string("http://127.0.0.1:4566")};
};

TEST(BackendCatalogTest, EcsIsAutomaticOnlyWithItsClusterOrEndpointAndItsLocatorHoldsNoSecret) {
  OnlyAwsSettings aws;
  {
    auto automatic = backendsFromEnvironment();
    ASSERT_TRUE(automatic.ok()) << automatic.error().describe();
    EXPECT_TRUE(automatic->empty()) << "AWS credentials alone must not sweep an account's tasks";
  }
  tests::ScopedEnv cluster("CLEANROOM_ECS_CLUSTER", std::string("agents,batch"));
  auto automatic = backendsFromEnvironment();
  ASSERT_TRUE(automatic.ok()) << automatic.error().describe();
  ASSERT_EQ(automatic->size(), 1u);
  EXPECT_EQ(automatic->front()->name(), "ecs");
  for (const auto& [field, value] : automatic->front()->locator()) {
    EXPECT_THAT(value, ::testing::Not(HasSubstr("s3cret")));
  }
  auto rebuilt = backendFromLocator("ecs", automatic->front()->locator(), "run-x");
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().describe();
  EXPECT_EQ(rebuilt.value()->locator(), automatic->front()->locator());
}

TEST(BackendCatalogTest, AlbAndS3AreAutomaticOnlyWithTheirVariablesAndTheirLocatorsHoldNoSecret) {
  OnlyAwsSettings aws;
  {
    auto automatic = backendsFromEnvironment();
    ASSERT_TRUE(automatic.ok()) << automatic.error().describe();
    EXPECT_TRUE(automatic->empty()) << "AWS credentials alone must not touch an account's targets or buckets";
    auto named = backendsFromEnvironment({"alb"});
    ASSERT_FALSE(named.ok());
    EXPECT_THAT(named.error().message, HasSubstr("CLEANROOM_ALB_TARGET_GROUPS"));
  }
  tests::ScopedEnv groups("CLEANROOM_ALB_TARGET_GROUPS",
                          std::string("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/agents/0123456789abcdef"));
  tests::ScopedEnv bucket("CLEANROOM_LOG_BUCKET", std::string("session-logs"));
  auto automatic = backendsFromEnvironment();
  ASSERT_TRUE(automatic.ok()) << automatic.error().describe();
  std::vector<std::string> names;
  for (const auto& backend : *automatic) {
    names.push_back(backend->name());
    for (const auto& [field, value] : backend->locator()) EXPECT_THAT(value, ::testing::Not(HasSubstr("s3cret")));
    auto rebuilt = backendFromLocator(backend->name(), backend->locator(), "run-x");
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().describe();
    EXPECT_EQ(rebuilt.value()->locator(), backend->locator());
  }
  EXPECT_THAT(names, ::testing::ElementsAre("alb", "s3"));
}

TEST(BackendCatalogTest, TheWorkspaceComesFromCleanroomWorkspace) {
  char pattern[] = "/tmp/cr-catalog-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  {
    tests::ScopedEnv unset(kAgentsUrl, std::nullopt);
    tests::ScopedEnv noTmux("CLEANROOM_TMUX", std::nullopt);
    tests::ScopedEnv noTmuxSocket("CLEANROOM_TMUX_SOCKET", std::nullopt);
  tests::ScopedEnv noDocker("DOCKER_HOST", std::nullopt);
  tests::ScopedEnv noDaytona("DAYTONA_API_URL", std::nullopt);
    tests::ScopedEnv workspace("CLEANROOM_WORKSPACE", dir);
    auto backends = backendsFromEnvironment();
    ASSERT_TRUE(backends.ok()) << backends.error().describe();
    ASSERT_EQ(backends->size(), 1u);
    EXPECT_EQ(backends->front()->name(), "workspace");
  }
  {
    tests::ScopedEnv workspace("CLEANROOM_WORKSPACE", dir + "/missing");
    auto backends = backendsFromEnvironment({"workspace"});
    ASSERT_FALSE(backends.ok());
    EXPECT_THAT(backends.error().message, AllOf(HasSubstr("CLEANROOM_WORKSPACE"), HasSubstr("not a directory")));
  }
  ::rmdir(dir.c_str());
}

TEST(BackendCatalogTest, TmuxComesFromItsVariables) {
  tests::ScopedEnv unset(kAgentsUrl, std::nullopt);
  tests::ScopedEnv noWorkspace("CLEANROOM_WORKSPACE", std::nullopt);
  tests::ScopedEnv noTmux("CLEANROOM_TMUX", std::nullopt);
  {
    tests::ScopedEnv socket("CLEANROOM_TMUX_SOCKET", std::string("/tmp/cr-catalog-tmux/sock"));
    auto backends = backendsFromEnvironment();
    ASSERT_TRUE(backends.ok()) << backends.error().describe();
    ASSERT_EQ(backends->size(), 1u);
    EXPECT_EQ(backends->front()->name(), "tmux");
  }
  tests::ScopedEnv relative("CLEANROOM_TMUX_SOCKET", std::string("relative/sock"));
  auto backends = backendsFromEnvironment();
  ASSERT_FALSE(backends.ok());
  EXPECT_THAT(backends.error().message, HasSubstr("CLEANROOM_TMUX_SOCKET"));
}

// Journal locators: a reaper rebuilds the backends a run used from them.
JournalContents journalNaming(std::vector<JournalEntry> lines) {
  JournalContents journal;
  journal.path = "/tmp/r1.jsonl";
  journal.runId = "r1";
  for (auto& line : lines) {
    line.runId = "r1";
    journal.entries.push_back(std::move(line));
  }
  return journal;
}

JournalEntry backendLine(std::string name, std::map<std::string, std::string> locator) {
  JournalEntry line;
  line.event = "backend";
  line.backend = std::move(name);
  line.locator = std::move(locator);
  return line;
}

TEST(BackendCatalogTest, EachBackendComesBackFromItsOwnLocator) {
  AgentApiConfig config;
  config.baseUrl = "http://127.0.0.1:7072";
  config.listPath = "/v2/agents";
  config.statusField = "state";
  AgentApiBackend original(config);
  Result<std::shared_ptr<Backend>> rebuilt = backendFromLocator("http", original.locator(), "r1");
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().describe();
  EXPECT_EQ((*rebuilt)->name(), "http");
  EXPECT_EQ((*rebuilt)->locator(), original.locator());
  EXPECT_EQ((*rebuilt)->locator().at("statusField"), "state");

  Result<std::shared_ptr<Backend>> workspace =
      backendFromLocator("workspace", {{"root", "/tmp/ws"}, {"keepLogs", "false"}}, "r1");
  ASSERT_TRUE(workspace.ok()) << workspace.error().describe();
  EXPECT_EQ((*workspace)->locator().at("keepLogs"), "false");
  EXPECT_EQ((*workspace)->stage(), CleanupStage::Files);
}

TEST(BackendCatalogTest, ABadLocatorIsAnErrorNamingTheBackendAndSetting) {
  Result<std::shared_ptr<Backend>> unknown = backendFromLocator("ftp", {}, "r1");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, AllOf(HasSubstr("\"ftp\""), HasSubstr("known backends: http")));
  Result<std::shared_ptr<Backend>> noUrl = backendFromLocator("http", {}, "r1");
  ASSERT_FALSE(noUrl.ok());
  EXPECT_THAT(noUrl.error().message, HasSubstr("\"url\""));
  Result<std::shared_ptr<Backend>> noRoot = backendFromLocator("workspace", {{"keepLogs", "true"}}, "r1");
  ASSERT_FALSE(noRoot.ok());
  EXPECT_THAT(noRoot.error().message, HasSubstr("\"root\""));
}

TEST(BackendCatalogTest, JournalBackendsAreAddedOnceAndOnlyWhenNotAlreadyReached) {
  AgentApiConfig config;
  config.baseUrl = "http://127.0.0.1:7073";
  auto configured = std::make_shared<AgentApiBackend>(config);
  const JournalContents journal = journalNaming({backendLine("http", configured->locator()),
                                                 backendLine("workspace", {{"root", "/tmp/ws"}}),
                                                 backendLine("workspace", {{"root", "/tmp/ws"}}),
                                                 backendLine("process", {}), backendLine("ftp", {{"host", "x"}})});
  std::vector<std::string> errors;
  auto backends = withJournalBackends({configured}, journal, errors);
  std::vector<std::string> names;
  for (const auto& b : backends) names.push_back(b->name());
  EXPECT_THAT(names, ::testing::ElementsAre("http", "process", "workspace"));
  EXPECT_EQ(backends.front(), configured) << "the configured backend is kept, not duplicated";
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors.front(), AllOf(HasSubstr("ftp"), HasSubstr("/tmp/r1.jsonl")));
}

}  // namespace
}  // namespace cleanroom
