// DockerBackend against FakeDocker (fake_docker.h) over TCP and a Unix
// socket: version negotiation, list filters and ownership, the stop → remove
// and kill → remove sequences with 304/409/404, retries through RetryPolicy
// (503, 429 Retry-After, dropped connections) and whole cleanups through the
// CleanupEngine on a ManualClock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cleanroom/backends/docker_backend.h"
#include "cleanroom/engine.h"
#include "cleanroom/retry.h"
#include "fake_docker.h"
#include "manual_clock.h"
#include "scoped_env.h"
#include "unix_socket_support.h"

namespace cleanroom {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tests::FakeContainer;
using tests::FakeDocker;
using tests::ManualClock;

const std::string kRun = "run-a";
const std::string kOtherRun = "run-b";

std::string hexId(char c) { return std::string(64, c); }

FakeContainer owned(char idChar, std::string name, std::string state = "running", std::string run = kRun) {
  FakeContainer c;
  c.id = hexId(idChar);
  c.name = std::move(name);
  c.labels = {{kRunLabel, std::move(run)}};
  c.state = std::move(state);
  c.created = 1'700'000'000;
  return c;
}

DockerBackendOptions optionsFor(const FakeDocker& docker) {
  DockerBackendOptions options;
  options.dockerHost = docker.dockerHost();
  options.requestTimeout = milliseconds(5000);
  options.stopTimeout = std::chrono::seconds(3);
  return options;
}

Resource resourceOf(char idChar) {
  Resource r;
  r.backend = "docker";
  r.id = hexId(idChar);
  return r;
}

std::vector<std::string> idsOf(const std::vector<Resource>& resources) {
  std::vector<std::string> ids;
  for (const Resource& r : resources) ids.push_back(r.id);
  return ids;
}

RetryPolicy fastRetries() {
  RetryPolicy policy;
  policy.maxAttempts = 5;
  policy.jitter = 0;
  return policy;
}

class DockerBackendTest : public ::testing::Test {
 protected:
  void SetUp() override { api_version_.emplace("DOCKER_API_VERSION", std::nullopt); }
  std::optional<tests::ScopedEnv> api_version_;
  FakeDocker docker_;
  ManualClock clock_;
};

TEST_F(DockerBackendTest, ListSendsTheRunLabelAndKeepsOnlyThisRunsContainers) {
  docker_.add(owned('a', "cr-run-a-1"));
  docker_.add(owned('b', "cr-run-b-1", "running", kOtherRun));
  FakeContainer foreign = owned('c', "postgres");
  foreign.labels.clear();
  docker_.add(foreign);
  DockerBackend backend(optionsFor(docker_), clock_);

  Result<std::vector<Resource>> listed = backend.list(Selector::forRun(kRun));
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_THAT(idsOf(*listed), ElementsAre(hexId('a')));
  EXPECT_EQ(docker_.lastFilters(), nlohmann::json::parse(R"({"label":["cleanroom.run=run-a"]})"));
  std::vector<std::string> requests = docker_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0], "GET /_ping");
  EXPECT_THAT(requests[1], HasSubstr("GET /v1.45/containers/json?all=1&filters=%7B%22label%22%3A%5B%22cleanroom.run"));
}

TEST_F(DockerBackendTest, ListEncodesLabelNameAndStatusFilters) {
  FakeContainer match = owned('a', "cr-run-a-web");
  match.labels["team"] = "x";
  docker_.add(match);
  FakeContainer otherTeam = owned('b', "cr-run-a-db");
  otherTeam.labels["team"] = "y";
  docker_.add(otherTeam);
  DockerBackend backend(optionsFor(docker_), clock_);

  Selector selector = Selector::forRun(kRun);
  selector.labels = {{"team", "x"}};
  selector.namePrefix = "cr-run-a";
  selector.states = {ResourceState::Running};
  Result<std::vector<Resource>> listed = backend.list(selector);
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_THAT(idsOf(*listed), ElementsAre(hexId('a')));
  EXPECT_EQ(docker_.lastFilters(), nlohmann::json::parse(R"({"label":["cleanroom.run=run-a","team=x"],
      "name":["cr-run-a"],"status":["running","paused","restarting"]})"));
}

TEST_F(DockerBackendTest, AllRunsWidensToEveryRunButNeverToUnlabelledContainers) {
  docker_.add(owned('a', "one"));
  docker_.add(owned('b', "two", "exited", kOtherRun));
  FakeContainer foreign = owned('c', "postgres");
  foreign.labels = {{"com.example", "db"}};
  docker_.add(foreign);
  docker_.applyFilters = false;  // a server that ignores filters still cannot widen it
  DockerBackend backend(optionsFor(docker_), clock_);

  Result<std::vector<Resource>> listed = backend.list(Selector::allRuns());
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_THAT(idsOf(*listed), ElementsAre(hexId('a'), hexId('b')));
  EXPECT_EQ(docker_.lastFilters(), nlohmann::json::parse(R"({"label":["cleanroom.run"]})"));

  Result<std::vector<Resource>> mine = backend.list(Selector::forRun(kRun));
  ASSERT_TRUE(mine.ok());
  EXPECT_THAT(idsOf(*mine), ElementsAre(hexId('a')));
}

TEST_F(DockerBackendTest, ListParsesNamesLabelsStatesAndCreationTimes) {
  docker_.add(owned('a', "cr-run-a-1", "exited"));
  DockerBackend backend(optionsFor(docker_), clock_);
  Result<std::vector<Resource>> listed = backend.list(Selector::forRun(kRun));
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  ASSERT_EQ(listed->size(), 1u);
  const Resource& r = listed->front();
  EXPECT_EQ(r.backend, "docker");
  EXPECT_EQ(r.ref(), "docker/" + hexId('a'));
  EXPECT_EQ(r.name, "cr-run-a-1");
  EXPECT_EQ(r.runId, kRun);
  EXPECT_EQ(r.status, "exited");
  EXPECT_EQ(r.state, ResourceState::Stopped);
  ASSERT_TRUE(r.createdAt.has_value());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(r.createdAt->time_since_epoch()).count(), 1'700'000'000);
}

TEST_F(DockerBackendTest, AgeFilterUsesTheBackendsClock) {
  auto secondsAgo = [&](int seconds) {
    return std::chrono::duration_cast<std::chrono::seconds>(clock_.wallNow().time_since_epoch()).count() - seconds;
  };
  FakeContainer old = owned('a', "old");
  old.created = secondsAgo(2 * 3600);
  FakeContainer young = owned('b', "young");
  young.created = secondsAgo(600);
  docker_.add(old);
  docker_.add(young);
  DockerBackend backend(optionsFor(docker_), clock_);

  Selector selector = Selector::forRun(kRun);
  selector.minAge = std::chrono::hours(1);
  EXPECT_THAT(idsOf(backend.list(selector).value()), ElementsAre(hexId('a')));
  clock_.advance(std::chrono::minutes(55));  // the young one turns 65 minutes old
  EXPECT_THAT(idsOf(backend.list(selector).value()), ElementsAre(hexId('a'), hexId('b')));
}

TEST_F(DockerBackendTest, MalformedListAnswersArePermanentAndNameTheRequest) {
  docker_.server().faults().add([] {
    mocks::FaultRule rule;
    rule.pathGlob = "/v1.45/containers/json";
    rule.status = 200;
    rule.body = nlohmann::json{{"not", "an array"}};
    return rule;
  }());
  DockerBackend backend(optionsFor(docker_), clock_);
  Result<std::vector<Resource>> listed = backend.list(Selector::forRun(kRun));
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(listed.error().message, HasSubstr("GET /v1.45/containers/json"));
  EXPECT_THAT(listed.error().message, HasSubstr("expected a JSON array"));
}

TEST_F(DockerBackendTest, NegotiatesTheLowerOfBothVersionsOnce) {
  docker_.pingVersion = "1.41";
  DockerBackend older(optionsFor(docker_), clock_);
  EXPECT_EQ(older.apiPrefix().value(), "/v1.41");
  ASSERT_TRUE(older.list(Selector::forRun(kRun)).ok());
  ASSERT_TRUE(older.probe(resourceOf('z')).ok());
  std::vector<std::string> requests = docker_.requests();
  EXPECT_EQ(std::count(requests.begin(), requests.end(), "GET /_ping"), 1);
  EXPECT_EQ(requests.back(), "GET /v1.41/containers/" + hexId('z') + "/json");

  docker_.pingVersion = "1.51";
  DockerBackend newer(optionsFor(docker_), clock_);
  EXPECT_EQ(newer.apiPrefix().value(), "/v1.45");
}

TEST_F(DockerBackendTest, FallsBackToTheVersionEndpointThenToUnversionedPaths) {
  docker_.pingVersion.reset();
  docker_.versionField = "1.43";
  DockerBackend viaVersion(optionsFor(docker_), clock_);
  EXPECT_EQ(viaVersion.apiPrefix().value(), "/v1.43");

  docker_.versionField.reset();
  DockerBackend unversioned(optionsFor(docker_), clock_);
  EXPECT_EQ(unversioned.apiPrefix().value(), "");
  docker_.add(owned('a', "one"));
  EXPECT_THAT(idsOf(unversioned.list(Selector::forRun(kRun)).value()), ElementsAre(hexId('a')));
  EXPECT_THAT(docker_.requests().back(), HasSubstr("GET /containers/json?all=1"));
}

TEST_F(DockerBackendTest, DockerApiVersionPinsTheVersionWithoutAsking) {
  tests::ScopedEnv host("DOCKER_HOST", docker_.dockerHost());
  tests::ScopedEnv version("DOCKER_API_VERSION", "1.40");
  DockerBackend backend(DockerBackendOptions::fromEnvironment().value(), clock_);
  ASSERT_TRUE(backend.list(Selector::forRun(kRun)).ok());
  std::vector<std::string> requests = docker_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_THAT(requests[0], HasSubstr("GET /v1.40/containers/json"));
}

TEST_F(DockerBackendTest, AFailedNegotiationIsRetryableAndAskedAgain) {
  docker_.server().faults().add([] {
    mocks::FaultRule rule;
    rule.pathGlob = "/_ping";
    rule.status = 503;
    rule.count = 1;
    return rule;
  }());
  DockerBackend backend(optionsFor(docker_), clock_);
  Result<std::vector<Resource>> first = backend.list(Selector::forRun(kRun));
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(first.error().message, HasSubstr("GET /_ping"));
  EXPECT_TRUE(backend.list(Selector::forRun(kRun)).ok());
  EXPECT_EQ(backend.apiPrefix().value(), "/v1.45");
}

TEST_F(DockerBackendTest, GracefulStopStopsWithTheTimeoutThenRemovesWithVolumes) {
  docker_.add(owned('a', "one"));
  DockerBackend backend(optionsFor(docker_), clock_);
  Status stopped = backend.requestStop(resourceOf('a'), StopMode::Graceful);
  ASSERT_TRUE(stopped.ok()) << stopped.error().describe();
  EXPECT_FALSE(docker_.state(hexId('a')).has_value());
  EXPECT_THAT(docker_.requests(), ElementsAre("GET /_ping", "POST /v1.45/containers/" + hexId('a') + "/stop?t=3",
                                              "DELETE /v1.45/containers/" + hexId('a') + "?v=1"));
  Result<ResourceStatus> probe = backend.probe(resourceOf('a'));
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->state, ResourceState::Gone);
}

TEST_F(DockerBackendTest, StoppingAStoppedContainerIs304AndStillRemovesIt) {
  docker_.add(owned('a', "one", "exited"));
  DockerBackend backend(optionsFor(docker_), clock_);
  ASSERT_TRUE(backend.requestStop(resourceOf('a'), StopMode::Graceful).ok());
  EXPECT_FALSE(docker_.state(hexId('a')).has_value());
}

TEST_F(DockerBackendTest, ForceKillsThenRemovesAndANotRunning409IsFine) {
  docker_.add(owned('a', "running"));
  docker_.add(owned('b', "exited", "exited"));
  DockerBackend backend(optionsFor(docker_), clock_);
  ASSERT_TRUE(backend.requestStop(resourceOf('a'), StopMode::Force).ok());
  ASSERT_TRUE(backend.requestStop(resourceOf('b'), StopMode::Force).ok());
  EXPECT_FALSE(docker_.state(hexId('a')).has_value());
  EXPECT_FALSE(docker_.state(hexId('b')).has_value());
  std::vector<std::string> requests = docker_.requests();
  EXPECT_THAT(requests, ::testing::Contains("POST /v1.45/containers/" + hexId('a') + "/kill"));
  EXPECT_THAT(requests, ::testing::Contains("DELETE /v1.45/containers/" + hexId('b') + "?force=1&v=1"));
}

TEST_F(DockerBackendTest, RemovingTwiceIsGoneTheSecondTime) {
  docker_.add(owned('a', "one"));
  DockerBackend backend(optionsFor(docker_), clock_);
  ASSERT_TRUE(backend.requestStop(resourceOf('a'), StopMode::Force).ok());
  for (StopMode mode : {StopMode::Force, StopMode::Graceful}) {
    Status again = backend.requestStop(resourceOf('a'), mode);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().kind, ErrorKind::Gone);
    EXPECT_THAT(again.error().message, HasSubstr("no such container"));
  }
}

TEST_F(DockerBackendTest, ADeleteAnswering404IsGone) {
  docker_.add(owned('a', "one"));
  docker_.server().faults().add([] {
    mocks::FaultRule rule;
    rule.method = "DELETE";
    rule.pathGlob = "/v1.45/containers/*";
    rule.status = 404;
    rule.body = nlohmann::json{{"message", "No such container"}};
    return rule;
  }());
  DockerBackend backend(optionsFor(docker_), clock_);
  Status stopped = backend.requestStop(resourceOf('a'), StopMode::Graceful);
  ASSERT_FALSE(stopped.ok());
  EXPECT_TRUE(stopped.error().isGone());
}

TEST_F(DockerBackendTest, ProbeReportsDockersStateAndGoneFor404) {
  docker_.add(owned('a', "one", "paused"));
  DockerBackend backend(optionsFor(docker_), clock_);
  Result<ResourceStatus> paused = backend.probe(resourceOf('a'));
  ASSERT_TRUE(paused.ok()) << paused.error().describe();
  EXPECT_EQ(paused->state, ResourceState::Running);
  EXPECT_EQ(paused->status, "paused");
  Result<ResourceStatus> missing = backend.probe(resourceOf('f'));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->state, ResourceState::Gone);
}

TEST_F(DockerBackendTest, TwoServerErrorsThenSuccessThroughTheRetryPolicy) {
  docker_.add(owned('a', "one"));
  docker_.server().faults().add([] {
    mocks::FaultRule rule;
    rule.method = "DELETE";
    rule.pathGlob = "/v1.45/containers/*";
    rule.status = 503;
    rule.count = 2;
    return rule;
  }());
  DockerBackend backend(optionsFor(docker_), clock_);
  RetryStats stats;
  Status status = retryCall(fastRetries(), clock_, "stop docker/a",
                            [&] { return backend.requestStop(resourceOf('a'), StopMode::Graceful); }, &stats);
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ(stats.attempts, 3);
  EXPECT_FALSE(docker_.state(hexId('a')).has_value());
  std::vector<std::string> requests = docker_.requests();
  // Retrying the whole stop is safe: the second and third stop answer 304.
  EXPECT_EQ(std::count(requests.begin(), requests.end(), "POST /v1.45/containers/" + hexId('a') + "/stop?t=3"), 3);
}

TEST_F(DockerBackendTest, A429RetryAfterIsHonouredOnTheClock) {
  docker_.add(owned('a', "one"));
  docker_.server().faults().add([] {
    mocks::FaultRule rule;
    rule.pathGlob = "/v1.45/containers/json";
    rule.status = 429;
    rule.retryAfterSeconds = 2;
    rule.count = 1;
    return rule;
  }());
  DockerBackend backend(optionsFor(docker_), clock_);
  Result<std::vector<Resource>> once = backend.list(Selector::forRun(kRun));
  ASSERT_FALSE(once.ok());
  EXPECT_EQ(once.error().kind, ErrorKind::Retryable);
  EXPECT_EQ(once.error().retryAfter, milliseconds(2000));

  docker_.server().faults().add([] {
    mocks::FaultRule rule;
    rule.pathGlob = "/v1.45/containers/json";
    rule.status = 429;
    rule.retryAfterSeconds = 2;
    rule.count = 1;
    return rule;
  }());
  milliseconds before = clock_.elapsed();
  Result<std::vector<Resource>> retried = retryResult<std::vector<Resource>>(
      fastRetries(), clock_, "list docker", [&] { return backend.list(Selector::forRun(kRun)); });
  ASSERT_TRUE(retried.ok()) << retried.error().describe();
  EXPECT_THAT(idsOf(*retried), ElementsAre(hexId('a')));
  EXPECT_GE(clock_.elapsed() - before, milliseconds(2000));
}

TEST_F(DockerBackendTest, ADroppedConnectionIsRetryableAndRetried) {
  docker_.add(owned('a', "one"));
  docker_.server().faults().add([] {
    mocks::FaultRule rule;
    rule.method = "POST";
    rule.pathGlob = "/v1.45/containers/*/kill";
    rule.drop = true;
    rule.count = 1;
    return rule;
  }());
  DockerBackend backend(optionsFor(docker_), clock_);
  RetryStats stats;
  Status status = retryCall(fastRetries(), clock_, "force docker/a",
                            [&] { return backend.requestStop(resourceOf('a'), StopMode::Force); }, &stats);
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ(stats.attempts, 2);
  EXPECT_FALSE(docker_.state(hexId('a')).has_value());
}

TEST_F(DockerBackendTest, ServerErrorsCarryDockersMessage) {
  docker_.server().faults().add([] {
    mocks::FaultRule rule;
    rule.pathGlob = "/v1.45/containers/*/json";
    rule.status = 500;
    rule.body = nlohmann::json{{"message", "driver failed programming external connectivity"}};
    return rule;
  }());
  DockerBackend backend(optionsFor(docker_), clock_);
  Result<ResourceStatus> probe = backend.probe(resourceOf('a'));
  ASSERT_FALSE(probe.ok());
  EXPECT_EQ(probe.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(probe.error().message, HasSubstr("HTTP 500 from GET /v1.45/containers/" + hexId('a') + "/json on tcp://"));
  EXPECT_THAT(probe.error().message, HasSubstr("driver failed programming"));
}

TEST(DockerBackendSocketTest, AnUnreachableSocketIsRetryableAndNamesThePath) {
  tests::TempDir dir;
  DockerBackendOptions options;
  options.dockerHost = "unix://" + dir.path("docker.sock");
  DockerBackend backend(options);
  Result<std::vector<Resource>> listed = backend.list(Selector::forRun(kRun));
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(listed.error().message, HasSubstr(dir.path("docker.sock")));
}

TEST(DockerBackendSocketTest, ListsAndStopsOverTheUnixSocket) {
  tests::TempDir dir;
  FakeDocker docker(dir.path("docker.sock"));
  docker.add(owned('a', "one"));
  DockerBackend backend(optionsFor(docker));
  EXPECT_EQ(backend.locator().at("dockerHost"), "unix://" + dir.path("docker.sock"));
  Result<std::vector<Resource>> listed = backend.list(Selector::forRun(kRun));
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  ASSERT_EQ(listed->size(), 1u);
  ASSERT_TRUE(backend.requestStop(listed->front(), StopMode::Graceful).ok());
  EXPECT_FALSE(docker.state(hexId('a')).has_value());
}

// Whole cleanups: the engine's graceful wave, await, escalation and verify.
class DockerCleanupTest : public DockerBackendTest {
 protected:
  CleanupEngine engineFor(std::shared_ptr<DockerBackend> backend) {
    CleanupOptions options;
    options.retry = fastRetries();
    options.gracePeriod = milliseconds(3000);
    CleanupEngine engine(options, clock_);
    engine.addBackend(std::move(backend));
    return engine;
  }
};

TEST_F(DockerCleanupTest, CleansThisRunsContainersForcingAStubbornOneAndNeverTouchesOthers) {
  docker_.add(owned('a', "cr-run-a-1"));
  FakeContainer stubborn = owned('b', "cr-run-a-stubborn");
  stubborn.restartsOnStop = true;  // docker stop does not take: only kill does
  docker_.add(stubborn);
  docker_.add(owned('c', "cr-run-b-1", "running", kOtherRun));
  FakeContainer foreign = owned('d', "postgres");
  foreign.labels.clear();
  docker_.add(foreign);
  auto backend = std::make_shared<DockerBackend>(optionsFor(docker_), clock_);

  CleanupReport report = engineFor(backend).cleanup(Selector::forRun(kRun));
  EXPECT_TRUE(report.success) << report.toJson().dump(2);
  EXPECT_EQ(report.totals.found, 2);
  EXPECT_EQ(report.totals.forced, 1);
  EXPECT_FALSE(docker_.state(hexId('a')).has_value());
  EXPECT_FALSE(docker_.state(hexId('b')).has_value());
  EXPECT_EQ(docker_.state(hexId('c')), "running");
  EXPECT_EQ(docker_.state(hexId('d')), "running");
  for (const std::string& request : docker_.requests()) {
    EXPECT_THAT(request, ::testing::Not(HasSubstr(hexId('c'))));
    EXPECT_THAT(request, ::testing::Not(HasSubstr(hexId('d'))));
  }
  std::vector<std::string> requests = docker_.requests();
  EXPECT_THAT(requests, ::testing::Contains("POST /v1.45/containers/" + hexId('b') + "/kill"));
  EXPECT_THAT(requests, ::testing::Contains("DELETE /v1.45/containers/" + hexId('b') + "?force=1&v=1"));
  EXPECT_THAT(requests, ::testing::Not(::testing::Contains("POST /v1.45/containers/" + hexId('a') + "/kill")));

  CleanupReport again = engineFor(backend).cleanup(Selector::forRun(kRun));
  EXPECT_TRUE(again.success) << again.toJson().dump(2);
  EXPECT_EQ(again.totals.found, 0);
  EXPECT_EQ(docker_.state(hexId('c')), "running");
}

}  // namespace
}  // namespace cleanroom
