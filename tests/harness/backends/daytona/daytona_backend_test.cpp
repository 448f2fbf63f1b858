// The daytona backend against cleanroom-mock-daytona: in-process for the
// behaviour (labels, states, deletes, auth, faults, ages), and once as a real
// process through the environment the catalog reads.
#include "cleanroom/backends/daytona_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <ctime>

#include "cleanroom/child_process.h"
#include "cleanroom/engine.h"
#include "cleanroom/mocks/daytona/daytona_api_mock.h"
#include "cleanroom/mocks/daytona/sandbox_json.h"
#include "cleanroom/retry.h"
#include "cleanroom/wait.h"
#include "manual_clock.h"
#include "scoped_env.h"

namespace cleanroom {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using json = nlohmann::json;
using namespace std::chrono_literals;
using mocks::daytona::DaytonaApiMock;
using mocks::daytona::DaytonaApiMockOptions;
using tests::ManualClock;
using tests::ScopedEnv;

constexpr const char* kKey = "test-key-123";

std::vector<std::string> idsOf(const std::vector<Resource>& resources) {
  std::vector<std::string> ids;
  for (const auto& r : resources) ids.push_back(r.name);
  return ids;
}

class DaytonaBackendTest : public ::testing::Test {
 protected:
  DaytonaBackendTest() : mock_(mockOptions()) { mock_.start(); }

  static DaytonaApiMockOptions mockOptions() {
    DaytonaApiMockOptions options;
    options.apiKey = kKey;
    options.stopDelay = 50ms;
    options.deleteDelay = 50ms;
    options.linger = 50ms;
    return options;
  }

  DaytonaConfig config(std::string key = kKey) const {
    DaytonaConfig config;
    config.apiUrl = mock_.apiUrl();
    config.apiKey = std::move(key);
    config.requestTimeout = 2000ms;
    return config;
  }

  Resource create(DaytonaBackend& backend, const std::string& name, const std::string& runId,
                  json behavior = json::object()) {
    DaytonaSandboxSpec spec;
    spec.name = name;
    spec.runId = runId;
    spec.labels = {{"team", "qa"}};
    if (!behavior.empty()) spec.extra = {{"cleanroom", behavior}};
    Result<Resource> created = backend.createSandbox(spec);
    EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().describe());
    return created.ok() ? created.value() : Resource{};
  }

  json controlState() {
    httplib::Client client(mock_.url());
    auto response = client.Get("/__cleanroom/state");
    return json::parse(response->body)["sandboxes"];
  }

  void addFault(const json& rule) {
    httplib::Client client(mock_.url());
    auto response = client.Post("/__cleanroom/faults", rule.dump(), "application/json");
    ASSERT_TRUE(response && response->status / 100 == 2) << (response ? response->body : "no answer");
  }

  json requestLog() {
    httplib::Client client(mock_.url());
    return json::parse(client.Get("/__cleanroom/requests")->body);
  }

  // Blocks until probe says Gone (adaptive polling, at most 5 s).
  bool awaitGone(DaytonaBackend& backend, const Resource& resource) {
    return waitUntil(Clock::system(), Clock::system().now() + 5s, AdaptiveWait{}, [&] {
             Result<ResourceStatus> status = backend.probe(resource);
             return status.ok() && status->state == ResourceState::Gone;
           }).met;
  }

  static std::string iso(WallTime time) { return mocks::daytona::isoTimestamp(time); }

  DaytonaApiMock mock_;
};

TEST_F(DaytonaBackendTest, ListsSandboxesByRunLabelAndSelectorLabels) {
  DaytonaBackend backend(config());
  create(backend, "a1", "run-a");
  create(backend, "a2", "run-a");
  create(backend, "b1", "run-b");

  Result<std::vector<Resource>> mine = backend.list(Selector::forRun("run-a"));
  ASSERT_TRUE(mine.ok()) << mine.error().describe();
  EXPECT_THAT(idsOf(*mine), UnorderedElementsAre("a1", "a2"));
  for (const auto& r : *mine) {
    EXPECT_EQ(r.backend, "daytona");
    EXPECT_EQ(r.runId, "run-a");
    EXPECT_EQ(r.state, ResourceState::Running);
    EXPECT_EQ(r.status, "started");
    EXPECT_TRUE(r.createdAt.has_value());
    EXPECT_EQ(r.labels.at("team"), "qa");
  }

  Result<std::vector<Resource>> all = backend.list(Selector::allRuns());
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(idsOf(*all), UnorderedElementsAre("a1", "a2", "b1"));

  Selector otherTeam = Selector::forRun("run-a");
  otherTeam.labels = {{"team", "ops"}};
  EXPECT_TRUE(backend.list(otherTeam)->empty());

  // The filter went to the server as URL-encoded JSON.
  json log = requestLog();
  std::string firstList;
  for (const auto& entry : log) {
    if (entry["method"] == "GET" && entry["path"] == "/api/sandbox") {
      firstList = entry["query"];
      break;
    }
  }
  EXPECT_THAT(firstList, HasSubstr("labels=%7B%22cleanroom.run%22%3A%22run-a%22%7D"));
  EXPECT_THAT(firstList, HasSubstr("includeErroredDeleted=true"));
}

TEST_F(DaytonaBackendTest, MapsDaytonaStatesToResourceStates) {
  EXPECT_EQ(DaytonaBackend::classify("started"), ResourceState::Running);
  EXPECT_EQ(DaytonaBackend::classify("starting"), ResourceState::Running);
  EXPECT_EQ(DaytonaBackend::classify("creating"), ResourceState::Running);
  EXPECT_EQ(DaytonaBackend::classify("stopping"), ResourceState::Stopping);
  EXPECT_EQ(DaytonaBackend::classify("archiving"), ResourceState::Stopping);
  EXPECT_EQ(DaytonaBackend::classify("destroying"), ResourceState::Stopping);
  EXPECT_EQ(DaytonaBackend::classify("stopped"), ResourceState::Stopped);
  EXPECT_EQ(DaytonaBackend::classify("archived"), ResourceState::Stopped);
  EXPECT_EQ(DaytonaBackend::classify("error"), ResourceState::Stopped);
  EXPECT_EQ(DaytonaBackend::classify("build_failed"), ResourceState::Stopped);
  EXPECT_EQ(DaytonaBackend::classify("destroyed"), ResourceState::Gone);
  EXPECT_EQ(DaytonaBackend::classify("resizing"), ResourceState::Unknown);
}

TEST_F(DaytonaBackendTest, ListsStoppedAndErroredSandboxesAsStopped) {
  DaytonaBackend backend(config());
  create(backend, "stopped", "run-a", {{"state", "stopped"}});
  create(backend, "broken", "run-a", {{"state", "error"}, {"errorReason", "disk full"}});
  Result<std::vector<Resource>> listed = backend.list(Selector::forRun("run-a"));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  for (const auto& r : *listed) EXPECT_EQ(r.state, ResourceState::Stopped) << r.name;
}

TEST_F(DaytonaBackendTest, GracefulDeleteIsDoneOnlyOnceTheSandboxIsDestroyed) {
  DaytonaBackend backend(config());
  Resource sandbox = create(backend, "doomed", "run-a", {{"deleteDelayMs", 100}});
  ASSERT_TRUE(backend.requestStop(sandbox, StopMode::Graceful).ok());
  Result<ResourceStatus> during = backend.probe(sandbox);
  ASSERT_TRUE(during.ok());
  EXPECT_EQ(during->state, ResourceState::Stopping);
  EXPECT_EQ(during->status, "destroying");
  EXPECT_TRUE(awaitGone(backend, sandbox));
  EXPECT_TRUE(backend.list(Selector::forRun("run-a"))->empty());
}

TEST_F(DaytonaBackendTest, DeletedStoppedSandboxIsStoppingUntilDestroyed) {
  DaytonaBackend backend(config());
  Resource sandbox = create(backend, "parked", "run-a", {{"state", "stopped"}, {"deleteDelayMs", 100}});
  EXPECT_EQ(sandbox.state, ResourceState::Stopped);
  ASSERT_TRUE(backend.requestStop(sandbox, StopMode::Graceful).ok());
  EXPECT_EQ(backend.probe(sandbox)->state, ResourceState::Stopping);
  EXPECT_TRUE(awaitGone(backend, sandbox));
}

TEST_F(DaytonaBackendTest, SweepDeletesStartedAndStoppedSandboxesOfTheRunOnly) {
  auto backend = std::make_shared<DaytonaBackend>(config());
  create(*backend, "running", "run-a");
  Resource toStop = create(*backend, "stopped-later", "run-a");
  create(*backend, "archived", "run-a", {{"state", "archived"}});
  create(*backend, "foreign", "run-b");
  ASSERT_TRUE(backend->stopSandbox(toStop.id).ok());
  ASSERT_TRUE(waitUntil(Clock::system(), Clock::system().now() + 5s, AdaptiveWait{}, [&] {
                return backend->probe(toStop)->status == "stopped";
              }).met);

  CleanupOptions options;
  options.gracePeriod = 5s;
  CleanupEngine engine(options);
  engine.addBackend(backend);
  CleanupReport report = engine.cleanup(daytonaSweep("run-a"));

  EXPECT_TRUE(report.success);
  EXPECT_EQ(report.totals.found, 3);
  EXPECT_EQ(report.totals.cleaned, 3);
  EXPECT_EQ(report.totals.forced, 0);
  EXPECT_THAT(idsOf(*backend->list(Selector::allRuns())), ElementsAre("foreign"));
  json left = json::array();  // the control state also shows destroyed sandboxes for their linger time
  for (const auto& sandbox : controlState()) {
    if (sandbox["state"] != "destroyed") left.push_back(sandbox);
  }
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["name"], "foreign");
  EXPECT_EQ(left[0]["state"], "started");
}

TEST_F(DaytonaBackendTest, RunScopedCleanupDeletesStoppedSandboxesToo) {
  auto backend = std::make_shared<DaytonaBackend>(config());
  create(*backend, "parked", "run-a", {{"state", "stopped"}});
  create(*backend, "broken", "run-a", {{"state", "error"}});
  CleanupEngine engine;
  engine.addBackend(backend);
  CleanupReport report = engine.cleanup(Selector::forRun("run-a"));  // default scope: active states
  EXPECT_TRUE(report.success);
  EXPECT_EQ(report.totals.cleaned, 2);
  EXPECT_TRUE(backend->list(Selector::forRun("run-a"))->empty());
}

TEST_F(DaytonaBackendTest, StoppedSandboxesSelectorLeavesRunningOnes) {
  auto backend = std::make_shared<DaytonaBackend>(config());
  create(*backend, "running", "run-a");
  create(*backend, "stopped", "run-a", {{"state", "stopped"}});
  create(*backend, "failed", "run-a", {{"state", "build_failed"}});
  CleanupEngine engine;
  engine.addBackend(backend);
  CleanupReport report = engine.cleanup(stoppedSandboxes("run-a"));
  EXPECT_TRUE(report.success);
  EXPECT_EQ(report.totals.cleaned, 2);
  EXPECT_THAT(idsOf(*backend->list(Selector::forRun("run-a"))), ElementsAre("running"));
}

TEST_F(DaytonaBackendTest, StuckSandboxIsForcedAfterTheGracePeriod) {
  auto backend = std::make_shared<DaytonaBackend>(config());
  create(*backend, "stuck", "run-a", {{"stuck", true}});
  CleanupOptions options;
  options.gracePeriod = 200ms;
  CleanupEngine engine(options);
  engine.addBackend(backend);
  CleanupReport report = engine.cleanup(daytonaSweep("run-a"));
  EXPECT_TRUE(report.success);
  EXPECT_EQ(report.totals.forced, 1);
  bool forcedDelete = false;
  for (const auto& entry : requestLog()) {
    forcedDelete = forcedDelete || (entry["method"] == "DELETE" && entry["query"] == "force=true");
  }
  EXPECT_TRUE(forcedDelete);
  EXPECT_TRUE(backend->list(Selector::allRuns())->empty());
}

TEST_F(DaytonaBackendTest, WrongKeyIsAPermanentErrorNamingTheVariable) {
  DaytonaBackend backend(config("not-the-key"));
  Result<std::vector<Resource>> listed = backend.list(Selector::forRun("run-a"));
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::Permanent);
  EXPECT_EQ(listed.error().httpStatus, 401);
  EXPECT_THAT(listed.error().message, HasSubstr("DAYTONA_API_KEY"));
  EXPECT_THAT(listed.error().message, HasSubstr("Invalid API key"));
  EXPECT_THAT(listed.error().message, Not(HasSubstr("not-the-key")));

  Resource someone;
  someone.backend = "daytona";
  someone.id = "x";
  Status stop = backend.requestStop(someone, StopMode::Graceful);
  ASSERT_FALSE(stop.ok());
  EXPECT_EQ(stop.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(stop.error().message, HasSubstr("DAYTONA_API_KEY"));
}

TEST_F(DaytonaBackendTest, ServerErrorsAreRetriedUntilTheyPass) {
  DaytonaBackend backend(config());
  create(backend, "a1", "run-a");
  addFault({{"match", {{"method", "GET"}, {"path", "/api/sandbox"}}}, {"status", 503}, {"count", 3}});
  ManualClock clock;
  RetryStats stats;
  Result<std::vector<Resource>> listed = retryResult<std::vector<Resource>>(
      RetryPolicy{}, clock, "list daytona", [&] { return backend.list(Selector::forRun("run-a")); }, &stats);
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_EQ(stats.attempts, 4);
  EXPECT_THAT(idsOf(*listed), ElementsAre("a1"));
}

TEST_F(DaytonaBackendTest, TooManyRequestsWaitsForRetryAfter) {
  DaytonaBackend backend(config());
  Resource sandbox = create(backend, "a1", "run-a");
  addFault({{"match", {{"method", "DELETE"}, {"path", "/api/sandbox/*"}}}, {"status", 429}, {"count", 1},
            {"retryAfter", 2}});
  ManualClock clock;
  RetryStats stats;
  Status stop = retryCall(RetryPolicy{}, clock, "stop daytona",
                          [&] { return backend.requestStop(sandbox, StopMode::Graceful); }, &stats);
  ASSERT_TRUE(stop.ok()) << stop.error().describe();
  EXPECT_EQ(stats.attempts, 2);
  EXPECT_GE(clock.elapsed(), 2000ms);
  EXPECT_TRUE(awaitGone(backend, sandbox));
}

TEST_F(DaytonaBackendTest, DroppedConnectionIsRetryable) {
  DaytonaBackend backend(config());
  Resource sandbox = create(backend, "a1", "run-a");
  addFault({{"match", {{"method", "GET"}, {"path", "/api/sandbox/*"}}}, {"drop", true}, {"count", 1}});
  Result<ResourceStatus> first = backend.probe(sandbox);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().kind, ErrorKind::Retryable);
  ManualClock clock;
  addFault({{"match", {{"method", "GET"}, {"path", "/api/sandbox/*"}}}, {"drop", true}, {"count", 2}});
  RetryStats stats;
  Result<ResourceStatus> probed = retryResult<ResourceStatus>(
      RetryPolicy{}, clock, "probe daytona", [&] { return backend.probe(sandbox); }, &stats);
  ASSERT_TRUE(probed.ok()) << probed.error().describe();
  EXPECT_EQ(stats.attempts, 3);
  EXPECT_EQ(probed->state, ResourceState::Running);
}

TEST_F(DaytonaBackendTest, DeletingTwiceIsIdempotent) {
  DaytonaBackend backend(config());
  Resource sandbox = create(backend, "twice", "run-a", {{"deleteDelayMs", 100}});
  EXPECT_TRUE(backend.requestStop(sandbox, StopMode::Graceful).ok());
  EXPECT_TRUE(backend.requestStop(sandbox, StopMode::Graceful).ok());  // still destroying: no-op
  ASSERT_TRUE(awaitGone(backend, sandbox));
  Status again = backend.requestStop(sandbox, StopMode::Force);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.error().isGone());

  auto shared = std::make_shared<DaytonaBackend>(config());
  CleanupEngine engine;
  engine.addBackend(shared);
  CleanupReport report = engine.cleanup(daytonaSweep("run-a"));
  EXPECT_TRUE(report.success);
  EXPECT_EQ(report.totals.found, 0);
}

TEST_F(DaytonaBackendTest, AgeFilterUsesTheBackendClock) {
  ManualClock clock;
  DaytonaBackend backend(config(), clock);
  create(backend, "old", "run-a", {{"createdAt", iso(clock.wallNow() - 2h)}});
  create(backend, "young", "run-a", {{"createdAt", iso(clock.wallNow() - 10min)}});

  EXPECT_THAT(idsOf(*backend.list(daytonaSweep("run-a", 1h))), ElementsAre("old"));
  clock.advance(1h);
  EXPECT_THAT(idsOf(*backend.list(daytonaSweep("run-a", 1h))), UnorderedElementsAre("old", "young"));
  Result<std::vector<Resource>> listed = backend.list(Selector::forRun("run-a"));
  ASSERT_TRUE(listed.ok());
  for (const auto& r : *listed) ASSERT_TRUE(r.createdAt.has_value());
}

TEST_F(DaytonaBackendTest, LocatorHoldsTheUrlButNeverTheKey) {
  DaytonaBackend backend(config());
  std::map<std::string, std::string> locator = backend.locator();
  EXPECT_EQ(locator, (std::map<std::string, std::string>{{"url", mock_.apiUrl()}}));

  ScopedEnv key("DAYTONA_API_KEY", std::string(kKey));
  Result<DaytonaConfig> rebuilt = DaytonaConfig::fromLocator(locator);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().describe();
  EXPECT_EQ(rebuilt->apiUrl, mock_.apiUrl());
  EXPECT_EQ(rebuilt->apiKey, kKey);
}

TEST(DaytonaConfigTest, EnvironmentErrorsNameTheVariable) {
  {
    ScopedEnv url("DAYTONA_API_URL", std::nullopt);
    EXPECT_FALSE(DaytonaConfig::fromEnvironment().has_value());
  }
  {
    ScopedEnv url("DAYTONA_API_URL", std::string("ftp://example/api"));
    ScopedEnv key("DAYTONA_API_KEY", std::string("k"));
    auto config = DaytonaConfig::fromEnvironment();
    ASSERT_TRUE(config.has_value());
    ASSERT_FALSE(config->ok());
    EXPECT_THAT(config->error().message, HasSubstr("DAYTONA_API_URL"));
    EXPECT_THAT(config->error().message, HasSubstr("ftp://example/api"));
  }
  {
    ScopedEnv url("DAYTONA_API_URL", std::string("http://127.0.0.1:3000/api"));
    ScopedEnv key("DAYTONA_API_KEY", std::nullopt);
    auto config = DaytonaConfig::fromEnvironment();
    ASSERT_TRUE(config.has_value());
    ASSERT_FALSE(config->ok());
    EXPECT_THAT(config->error().message, HasSubstr("DAYTONA_API_KEY"));
  }
  {
    ScopedEnv url("DAYTONA_API_URL", std::string("http://127.0.0.1:3000/api/"));
    ScopedEnv key("DAYTONA_API_KEY", std::string("k"));
    auto config = DaytonaConfig::fromEnvironment();
    ASSERT_TRUE(config.has_value() && config->ok());
    EXPECT_EQ(config->value().apiUrl, "http://127.0.0.1:3000/api");
  }
  ScopedEnv key("DAYTONA_API_KEY", std::nullopt);
  EXPECT_THAT(DaytonaConfig::fromLocator({{"url", "http://127.0.0.1:1/api"}}).error().message,
              HasSubstr("DAYTONA_API_KEY"));
}

TEST(DaytonaConfigTest, BadUrlOrEmptyKeyIsAConfigErrorNamingIt) {
  DaytonaConfig bad;
  bad.apiUrl = "not a url";
  bad.apiKey = "k";
  try {
    DaytonaBackend backend(bad);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("DAYTONA_API_URL"));
    EXPECT_THAT(e.what(), HasSubstr("not a url"));
  }
  DaytonaConfig keyless;
  keyless.apiUrl = "http://127.0.0.1:3000/api";
  try {
    DaytonaBackend backend(keyless);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("DAYTONA_API_KEY"));
  }
}

TEST(DaytonaConfigTest, UnreachableServerIsRetryableAndNamesTheUrl) {
  DaytonaConfig config;
  config.apiUrl = "http://127.0.0.1:1/api";
  config.apiKey = "k";
  config.requestTimeout = 1000ms;
  DaytonaBackend backend(config);
  Result<std::vector<Resource>> listed = backend.list(Selector::forRun("run-a"));
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(listed.error().message, HasSubstr("127.0.0.1:1"));
}

// The executable, configured through the environment the way a user (and
// the backend catalog) does it.
TEST(DaytonaExecutableTest, BackendCleansARunThroughTheRealMockProcess) {
  ScopedEnv key("DAYTONA_API_KEY", std::string("exe-key"));
  Result<std::unique_ptr<ChildProcess>> mock =
      ChildProcess::spawn({CLEANROOM_MOCK_DAYTONA_EXE, "--port", "0", "--stop-delay-ms", "50", "--delete-delay-ms",
                           "50", "--log-level", "warn"});
  ASSERT_TRUE(mock.ok()) << mock.error().describe();
  Result<std::string> line = (*mock)->readLine(10s);
  ASSERT_TRUE(line.ok()) << line.error().describe();
  const std::string prefix = "listening on ";
  ASSERT_EQ(line->rfind(prefix, 0), 0u) << *line;
  ScopedEnv url("DAYTONA_API_URL", line->substr(prefix.size()) + "/api");

  auto config = DaytonaConfig::fromEnvironment();
  ASSERT_TRUE(config.has_value() && config->ok());
  auto backend = std::make_shared<DaytonaBackend>(config->value());
  DaytonaSandboxSpec spec;
  spec.runId = "exe-run";
  ASSERT_TRUE(backend->createSandbox(spec).ok());
  spec.extra = {{"cleanroom", {{"state", "stopped"}}}};
  ASSERT_TRUE(backend->createSandbox(spec).ok());
  spec.runId = "other-run";
  ASSERT_TRUE(backend->createSandbox(spec).ok());

  CleanupEngine engine;
  engine.addBackend(backend);
  CleanupReport report = engine.cleanup(daytonaSweep("exe-run"));
  EXPECT_TRUE(report.success);
  EXPECT_EQ(report.totals.cleaned, 2);
  EXPECT_EQ(backend->list(Selector::forRun("exe-run"))->size(), 0u);
  EXPECT_EQ(backend->list(Selector::allRuns())->size(), 1u);

  ChildProcess::Ending ending = (*mock)->stop(5s);
  EXPECT_TRUE(ending.graceful) << ending.description;
  EXPECT_EQ(ending.exitStatus, 0);
}

}  // namespace
}  // namespace cleanroom
