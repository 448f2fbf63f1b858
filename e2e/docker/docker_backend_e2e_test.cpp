// The docker backend end to end: DockerBackend + CleanupEngine (and
// cleanupRealAgents, ScopedResource) against cleanroom-mock-docker started as
// a real process, over TCP and over its Unix socket (DOCKER_HOST tcp:// and
// unix://). Containers are backed by real processes of the mock: a graceful
// stop is a real SIGTERM, an ignored one ends in a real SIGKILL after the
// stop timeout. Every test has its own mock, run ids and temporary directory
// (journals, socket, docker config) and removes them; the mock takes its
// container processes along when it stops. Waits are events (the Engine
// API's wait long-poll, the engine's own waits), never sleeps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/backends/docker_backend.h"
#include "cleanroom/engine.h"
#include "cleanroom/fixtures/cleanup_real_agents.h"
#include "cleanroom/process_tree.h"
#include "cleanroom/scoped_resource.h"
#include "mock_server_process.h"
#include "run_command.h"
#include "scoped_env.h"

namespace cleanroom::e2e {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using tests::MockServerProcess;
using tests::ScopedEnv;

// A run id no other test (or test process) uses.
std::string uniqueRunId(const std::string& what) {
  static std::atomic<int> counter{0};
  return "dkbe-" + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

std::vector<std::string> idsOf(const CleanupReport& report) {
  std::vector<std::string> ids;
  for (const auto& r : report.resources) ids.push_back(r.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> sorted(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

const ResourceReport* find(const CleanupReport& report, const std::string& id) {
  for (const auto& r : report.resources) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

// GetParam(): "tcp" or "unix" — the DOCKER_HOST transport the backend uses.
// The test itself inspects and injects faults over the mock's TCP endpoint.
class DockerBackendE2ETest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/crdb-e2e-XXXXXX";  // short: the socket path must stay < 108 bytes
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    directory_ = pattern;
    journals_ = std::make_unique<ScopedEnv>("CLEANROOM_JOURNAL_DIR", (directory_ / "journals").string());
    const std::string socket = (directory_ / "docker.sock").string();
    mock_ = std::make_unique<MockServerProcess>(CLEANROOM_MOCK_DOCKER_PATH,
                                                std::vector<std::string>{"--socket", socket, "--log-level", "warn"});
    const std::string http = "http://";
    ASSERT_EQ(mock_->url().rfind(http, 0), 0u) << mock_->url();
    dockerHost_ = GetParam() == "tcp" ? "tcp://" + mock_->url().substr(http.size()) : "unix://" + socket;
    api_ = std::make_unique<httplib::Client>(mock_->url());
    api_->set_read_timeout(30, 0);
    backend_ = makeBackend();
    run_ = uniqueRunId(GetParam());
  }

  void TearDown() override {
    api_.reset();
    if (mock_) {
      const ChildProcess::Ending ending = mock_->process().stop(std::chrono::seconds(10));
      EXPECT_TRUE(ending.graceful) << "cleanroom-mock-docker did not stop on SIGTERM: " << ending.description;
    }
    journals_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  std::shared_ptr<DockerBackend> makeBackend(int stopConcurrency = 64) {
    DockerBackendOptions options;
    options.dockerHost = dockerHost_;
    options.stopTimeout = std::chrono::seconds(1);
    options.stopConcurrency = stopConcurrency;
    return std::make_shared<DockerBackend>(options);
  }

  // Engine options for the tests: quick retries, bounds far above what the
  // mock needs (they are upper bounds, not waits).
  static CleanupOptions quickRetries() {
    CleanupOptions options;
    options.retry.initialDelay = milliseconds(10);
    options.retry.jitter = 0;
    options.gracePeriod = milliseconds(10000);
    options.forceTimeout = milliseconds(10000);
    return options;
  }

  CleanupReport clean(const Selector& selector, CleanupOptions options = quickRetries()) {
    CleanupEngine engine(options);
    engine.addBackend(backend_);
    return engine.cleanup(selector);
  }

  // Creates and starts a container owned by `runId` (default: the test's run).
  Resource create(const std::string& name, std::map<std::string, std::string> env = {},
                  std::map<std::string, std::string> labels = {}, std::string runId = "") {
    DockerContainerSpec spec;
    spec.name = name;
    spec.command = {"sleep", "600"};
    spec.env = std::move(env);
    spec.labels = std::move(labels);
    spec.runId = runId.empty() ? run_ : runId;
    Result<Resource> created = backend_->createContainer(spec);
    if (!created) {
      ADD_FAILURE() << "createContainer(" << name << "): " << created.error().describe();
      return {};
    }
    return std::move(created).value();
  }

  // GET /containers/{id}/json: the inspect JSON, or null when the mock says 404.
  json inspect(const std::string& id) {
    auto response = api_->Get(("/containers/" + id + "/json").c_str());
    if (!response) {
      ADD_FAILURE() << "inspect " << id << ": no answer";
      return nullptr;
    }
    if (response->status == 404) return nullptr;
    return json::parse(response->body);
  }

  std::string stateOf(const std::string& id) {
    const json container = inspect(id);
    return container.is_null() ? "removed" : container.at("State").at("Status").get<std::string>();
  }

  // The identity (pid + start time) of a running container's real process.
  ProcessIdentity processOf(const std::string& id) {
    const json container = inspect(id);
    if (container.is_null()) {
      ADD_FAILURE() << id << " does not exist";
      return {};
    }
    const pid_t pid = container.at("State").at("Pid").get<pid_t>();
    Result<ProcessIdentity> identity = identityOf(pid);
    if (!identity) {
      ADD_FAILURE() << "container " << id << " process " << pid << ": " << identity.error().describe();
      return {};
    }
    return *identity;
  }

  // Starts POST /containers/{id}/wait (long-poll until it is not running);
  // the future yields its exit code, or -1 when the mock did not answer 200.
  std::future<int> exitCodeOf(const std::string& id) {
    return std::async(std::launch::async, [url = mock_->url(), id] {
      httplib::Client client(url);
      client.set_read_timeout(60, 0);
      auto response = client.Post(("/containers/" + id + "/wait").c_str(), "", "application/json");
      if (!response || response->status != 200) return -1;
      return json::parse(response->body).at("StatusCode").get<int>();
    });
  }

  // The methods and paths the mock received that name container `id`.
  std::vector<std::string> requestsFor(const std::string& id) {
    std::vector<std::string> seen;
    for (const auto& r : mock_->control("GET", "/__cleanroom/requests")) {
      const std::string path = r.value("path", "");
      if (path.find("/containers/" + id) != std::string::npos) seen.push_back(r.value("method", "") + " " + path);
    }
    return seen;
  }

  // The stop, kill and remove requests the mock received for container `id`.
  std::vector<std::string> stopRequestsFor(const std::string& id) {
    std::vector<std::string> stops;
    for (const auto& r : requestsFor(id)) {
      const bool stop = r.find("/stop") != std::string::npos || r.find("/kill") != std::string::npos;
      if (stop || r.rfind("DELETE", 0) == 0) stops.push_back(r);
    }
    return stops;
  }

  void addFault(const std::string& method, const std::string& id, const std::string& suffix, json rule) {
    rule["match"] = {{"method", method}, {"path", "*/containers/" + id + suffix}};
    mock_->addFault(rule);
  }

  std::filesystem::path directory_;
  std::unique_ptr<ScopedEnv> journals_;
  std::unique_ptr<MockServerProcess> mock_;
  std::unique_ptr<httplib::Client> api_;
  std::string dockerHost_;
  std::shared_ptr<DockerBackend> backend_;
  std::string run_;
};

TEST_P(DockerBackendE2ETest, CreateContainerLabelsStartsAndListsIt) {
  const Resource created = create("created-" + GetParam(), {}, {{"team", "search"}});
  ASSERT_FALSE(created.id.empty());
  EXPECT_EQ(created.backend, "docker");
  EXPECT_EQ(created.runId, run_);
  EXPECT_EQ(created.state, ResourceState::Running);
  EXPECT_EQ(created.labels.at("cleanroom.run"), run_);

  const json container = inspect(created.id);
  ASSERT_FALSE(container.is_null());
  EXPECT_EQ(container.at("State").at("Status"), "running");
  EXPECT_EQ(container.at("Name"), "/created-" + GetParam());
  EXPECT_EQ(container.at("Config").at("Labels").at("cleanroom.run"), run_);
  EXPECT_EQ(container.at("Config").at("Labels").at("team"), "search");
  EXPECT_EQ(container.at("Config").at("Image"), "busybox");

  DockerContainerSpec unstarted;
  unstarted.runId = run_;
  unstarted.start = false;
  Result<Resource> pending = backend_->createContainer(unstarted);
  ASSERT_TRUE(pending.ok()) << pending.error().describe();
  EXPECT_EQ(pending->state, ResourceState::Pending);
  EXPECT_EQ(stateOf(pending->id), "created");

  Result<std::vector<Resource>> listed = backend_->list(Selector::forRun(run_));
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  std::vector<std::string> ids;
  for (const auto& r : *listed) ids.push_back(r.id);
  EXPECT_EQ(sorted(ids), sorted({created.id, pending->id}));

  CleanupReport report = clean(Selector::forRun(run_));
  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_EQ(stateOf(created.id), "removed");
  EXPECT_EQ(stateOf(pending->id), "removed");
}

TEST_P(DockerBackendE2ETest, CleansPoliteStubbornAndExitedContainersAndTheirProcesses) {
  const Resource fast = create("polite-200", {{"CLEANROOM_MOCK_EXIT_DELAY_MS", "200"}});
  const Resource slow = create("polite-400", {{"CLEANROOM_MOCK_EXIT_DELAY_MS", "400"}});
  const Resource stubborn = create("stubborn", {{"CLEANROOM_MOCK_IGNORE_SIGTERM", "1"}});
  const Resource done = create("finished", {{"CLEANROOM_MOCK_RUN_MS", "0"}});
  ASSERT_EQ(exitCodeOf(done.id).get(), 0) << "the finished container exits by itself with 0";
  ASSERT_EQ(stateOf(done.id), "exited");

  Result<std::vector<Resource>> listed = backend_->list(Selector::forRun(run_));
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  for (const auto& r : *listed) {
    EXPECT_EQ(r.state, r.id == done.id ? ResourceState::Stopped : ResourceState::Running) << r.id << " " << r.status;
  }
  std::vector<ProcessIdentity> processes{processOf(fast.id), processOf(slow.id), processOf(stubborn.id)};
  std::future<int> fastExit = exitCodeOf(fast.id);
  std::future<int> slowExit = exitCodeOf(slow.id);
  std::future<int> stubbornExit = exitCodeOf(stubborn.id);

  CleanupEngine engine(quickRetries());
  engine.addBackend(backend_);
  AgentCleanupOptions cleanup;
  cleanup.selector = Selector::forRun(run_);
  cleanup.retryDelay = milliseconds(100);
  cleanup.processExitDelay = milliseconds(10000);
  const AgentCleanupResult result = cleanupRealAgents(engine, cleanup);

  EXPECT_TRUE(result.success) << result.report.summary();
  EXPECT_EQ(result.cleaned, 4);
  EXPECT_EQ(result.remaining, 0);
  EXPECT_EQ(idsOf(result.report), sorted({fast.id, slow.id, stubborn.id, done.id}));
  const ResourceReport* exited = find(result.report, done.id);
  ASSERT_NE(exited, nullptr);
  EXPECT_EQ(exited->initialStatus, "exited") << "an exited container is Stopped: still there, so removed";
  for (const auto& r : result.report.resources) EXPECT_TRUE(r.cleaned) << r.ref();

  EXPECT_EQ(fastExit.get(), 143) << "SIGTERM ended it after its exit delay";
  EXPECT_EQ(slowExit.get(), 143);
  EXPECT_EQ(stubbornExit.get(), 137) << "it ignored SIGTERM: the stop timeout's SIGKILL ended it";
  for (const auto& process : processes) EXPECT_FALSE(exists(process)) << "pid " << process.pid << " is left";
  for (const auto& id : {fast.id, slow.id, stubborn.id, done.id}) EXPECT_EQ(stateOf(id), "removed") << id;
  EXPECT_EQ(mock_->control("GET", "/__cleanroom/state").at("containers"), json::array());
}

TEST_P(DockerBackendE2ETest, InjectedFaultsAreRetriedAndNamedInTheReport) {
  const Resource unavailable = create("unavailable", {{"CLEANROOM_MOCK_EXIT_DELAY_MS", "200"}});
  const Resource throttled = create("throttled", {{"CLEANROOM_MOCK_EXIT_DELAY_MS", "300"}});
  const Resource dropped = create("dropped", {{"CLEANROOM_MOCK_EXIT_DELAY_MS", "200"}});
  addFault("DELETE", unavailable.id, "", {{"status", 503}, {"count", 2}});
  addFault("DELETE", throttled.id, "", {{"status", 429}, {"retryAfter", 1}, {"count", 1}});
  addFault("POST", dropped.id, "/stop", {{"drop", true}, {"count", 1}});

  CleanupReport report = clean(Selector::forRun(run_));

  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_EQ(report.totals.cleaned, 3);
  EXPECT_GE(report.failedAttempts(), 4);
  const json reported = report.toJson();
  auto failuresOf = [&](const std::string& id) {
    std::vector<std::string> failures;
    for (const auto& r : reported.at("resources")) {
      if (r.at("id") != id) continue;
      for (const auto& action : r.at("actions")) {
        for (const auto& failure : action.at("failures")) failures.push_back(failure.get<std::string>());
      }
    }
    return failures;
  };
  EXPECT_THAT(failuresOf(unavailable.id), AllOf(SizeIs(2), Each(HasSubstr("503"))));
  EXPECT_THAT(failuresOf(throttled.id), ElementsAre(HasSubstr("429")));
  EXPECT_THAT(failuresOf(dropped.id), SizeIs(1));
  for (const auto& id : {unavailable.id, throttled.id, dropped.id}) EXPECT_EQ(stateOf(id), "removed") << id;
  const auto deletes = requestsFor(unavailable.id);
  EXPECT_EQ(std::count_if(deletes.begin(), deletes.end(), [](const std::string& r) { return r.rfind("DELETE", 0) == 0; }),
            3)
      << "two 503 answers, then the DELETE that removed it";
}

TEST_P(DockerBackendE2ETest, FailFastStopsAtTheFirstPermanentFailure) {
  std::vector<Resource> containers{create("ff-1"), create("ff-2"), create("ff-3")};
  mock_->addFault({{"match", {{"method", "POST"}, {"path", "*/containers/*/stop"}}}, {"status", 403}});
  CleanupOptions options = quickRetries();
  options.failureMode = FailureMode::FailFast;
  options.concurrency = 1;  // one stop at a time (the backend too): the first failure stops the rest
  backend_ = makeBackend(1);

  CleanupReport report = clean(Selector::forRun(run_), options);

  EXPECT_FALSE(report.success);
  EXPECT_TRUE(report.failFast);
  ASSERT_EQ(report.resources.size(), 3u);
  int failed = 0;
  int skipped = 0;
  for (const auto& r : report.resources) {
    if (r.skipped) {
      ++skipped;
      EXPECT_THAT(r.errors, Contains(HasSubstr("fail-fast"))) << r.ref();
    } else {
      ++failed;
      EXPECT_THAT(r.errors, Contains(HasSubstr("403"))) << r.ref();
    }
  }
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(skipped, 2);
  int stops = 0;
  for (const auto& c : containers) {
    EXPECT_EQ(stateOf(c.id), "running") << "a 403 stop and the skipped ones leave them running";
    for (const auto& r : requestsFor(c.id)) stops += r.rfind("POST", 0) == 0 && r.find("/stop") != std::string::npos;
  }
  EXPECT_EQ(stops, 1) << "a permanent failure is not retried and nothing else was started";

  mock_->clearFaults();
  EXPECT_TRUE(clean(Selector::forRun(run_)).success);
}

TEST_P(DockerBackendE2ETest, ContinueAndReportCollectsEveryFailure) {
  std::vector<Resource> containers{create("car-1"), create("car-2"), create("car-3")};
  mock_->addFault({{"match", {{"method", "POST"}, {"path", "*/containers/*/stop"}}}, {"status", 403}});

  CleanupReport report = clean(Selector::forRun(run_));

  EXPECT_FALSE(report.success);
  EXPECT_FALSE(report.failFast);
  EXPECT_EQ(report.totals.failed, 3);
  EXPECT_EQ(report.totals.skipped, 0);
  for (const auto& r : report.resources) EXPECT_THAT(r.errors, Contains(HasSubstr("403"))) << r.ref();

  mock_->clearFaults();
  CleanupReport retry = clean(Selector::forRun(run_));
  EXPECT_TRUE(retry.success) << retry.summary();
  for (const auto& c : containers) EXPECT_EQ(stateOf(c.id), "removed");
}

TEST_P(DockerBackendE2ETest, CleaningTwiceAndRemovingTwiceAreNoOps) {
  const Resource container = create("twice", {{"CLEANROOM_MOCK_EXIT_DELAY_MS", "200"}});

  CleanupReport first = clean(Selector::forRun(run_));
  ASSERT_TRUE(first.success) << first.summary();
  EXPECT_EQ(first.totals.cleaned, 1);
  CleanupReport second = clean(Selector::forRun(run_));
  EXPECT_TRUE(second.success) << second.summary();
  EXPECT_EQ(second.totals.found, 0);

  for (StopMode mode : {StopMode::Graceful, StopMode::Force}) {
    Status again = backend_->requestStop(container, mode);
    ASSERT_FALSE(again.ok()) << "removing a removed container says gone";
    EXPECT_TRUE(again.error().isGone()) << again.error().describe();
  }
  Result<ResourceStatus> probed = backend_->probe(container);
  ASSERT_TRUE(probed.ok()) << probed.error().describe();
  EXPECT_EQ(probed->state, ResourceState::Gone);
}

TEST_P(DockerBackendE2ETest, TwoRunsOnOneMockNeverTouchEachOther) {
  const std::string other = uniqueRunId(GetParam() + "-b");
  const Resource a1 = create("a1", {{"CLEANROOM_MOCK_EXIT_DELAY_MS", "200"}});
  const Resource a2 = create("a2", {{"CLEANROOM_MOCK_EXIT_DELAY_MS", "300"}});
  const Resource b1 = create("b1", {{"CLEANROOM_MOCK_EXIT_DELAY_MS", "200"}}, {}, other);
  const Resource b2 = create("b2", {{"CLEANROOM_MOCK_EXIT_DELAY_MS", "300"}}, {}, other);

  CleanupReport onlyA = clean(Selector::forRun(run_));
  EXPECT_TRUE(onlyA.success) << onlyA.summary();
  EXPECT_EQ(idsOf(onlyA), sorted({a1.id, a2.id}));
  EXPECT_EQ(stateOf(b1.id), "running");
  EXPECT_EQ(stateOf(b2.id), "running");
  EXPECT_THAT(stopRequestsFor(b1.id), ::testing::IsEmpty());
  EXPECT_THAT(stopRequestsFor(b2.id), ::testing::IsEmpty());

  // Both runs cleaning at once, each with its own backend and engine.
  const Resource a3 = create("a3", {{"CLEANROOM_MOCK_EXIT_DELAY_MS", "200"}});
  auto otherBackend = makeBackend();
  auto cleanOther = std::async(std::launch::async, [&] {
    CleanupEngine engine(quickRetries());
    engine.addBackend(otherBackend);
    return engine.cleanup(Selector::forRun(other));
  });
  CleanupReport mine = clean(Selector::forRun(run_));
  CleanupReport theirs = cleanOther.get();
  EXPECT_TRUE(mine.success) << mine.summary();
  EXPECT_TRUE(theirs.success) << theirs.summary();
  EXPECT_EQ(idsOf(mine), std::vector<std::string>{a3.id});
  EXPECT_EQ(idsOf(theirs), sorted({b1.id, b2.id}));
}

TEST_P(DockerBackendE2ETest, AContainerWithoutTheRunLabelIsNeverTouched) {
  const json body = {{"Image", "busybox"}, {"Cmd", {"sleep", "600"}}, {"Labels", {{"team", "search"}}}};
  auto created = api_->Post("/containers/create?name=foreign", body.dump(), "application/json");
  ASSERT_TRUE(created && created->status == 201) << (created ? created->body : "no answer");
  const std::string foreign = json::parse(created->body).at("Id").get<std::string>();
  auto started = api_->Post(("/containers/" + foreign + "/start").c_str(), "", "application/json");
  ASSERT_TRUE(started && started->status == 204);
  const Resource mine = create("mine", {{"CLEANROOM_MOCK_EXIT_DELAY_MS", "200"}}, {{"team", "search"}});
  const auto before = requestsFor(foreign);

  CleanupReport report = clean(Selector::forRun(run_));
  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_EQ(idsOf(report), std::vector<std::string>{mine.id});
  Selector everyRun = Selector::allRuns();
  everyRun.labels["team"] = "search";
  CleanupReport widened = clean(everyRun);
  EXPECT_TRUE(widened.success) << widened.summary();
  EXPECT_EQ(widened.totals.found, 0) << "even every run's selector never lists an unlabelled container";

  EXPECT_EQ(requestsFor(foreign), before) << "nothing was sent about the foreign container";
  EXPECT_EQ(stateOf(foreign), "running");
}

TEST_P(DockerBackendE2ETest, ScopedResourceCleansARealContainerWhenItLeavesScope) {
  const Resource neighbour = create("neighbour");
  ProcessIdentity process;
  std::string id;
  {
    DockerContainerSpec spec;
    spec.name = "scoped";
    spec.runId = run_;
    spec.env = {{"CLEANROOM_MOCK_EXIT_DELAY_MS", "200"}};
    Result<Resource> container = backend_->createContainer(spec);
    ASSERT_TRUE(container.ok()) << container.error().describe();
    ScopedResource guard(backend_, *container, quickRetries());
    id = guard.resource().id;
    process = processOf(id);
    ASSERT_EQ(stateOf(id), "running");
  }
  EXPECT_EQ(stateOf(id), "removed");
  EXPECT_FALSE(exists(process));
  EXPECT_EQ(stateOf(neighbour.id), "running") << "the guard cleans its one container, not its run";

  ScopedResource explicitClean(backend_, neighbour, quickRetries());
  CleanupReport report = explicitClean.cleanNow();
  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_EQ(idsOf(report), std::vector<std::string>{neighbour.id});
  EXPECT_EQ(stateOf(neighbour.id), "removed");
}

TEST_P(DockerBackendE2ETest, CleansAContainerTheRealDockerCliStarted) {
  ASSERT_NE(std::string(CLEANROOM_DOCKER_CLI), "")
      << "no docker CLI was found at configure time: install it (Debian: apt-get install docker.io) and re-run cmake";
  const EnvironmentChanges environment{{"HOME", (directory_ / "home").string()},
                                       {"DOCKER_CONFIG", (directory_ / "docker-config").string()},
                                       {"DOCKER_HOST", dockerHost_},
                                       {"DOCKER_CLI_HINTS", "false"},
                                       {"DOCKER_CONTEXT", std::nullopt},
                                       {"DOCKER_API_VERSION", std::nullopt},
                                       {"DOCKER_TLS_VERIFY", std::nullopt},
                                       {"DOCKER_CERT_PATH", std::nullopt}};
  const CommandResult run = runCommand({CLEANROOM_DOCKER_CLI, "run", "-d", "--name", "from-cli", "--label",
                                        "cleanroom.run=" + run_, "-e", "CLEANROOM_MOCK_EXIT_DELAY_MS=200", "busybox",
                                        "sleep", "600"},
                                       environment, std::chrono::seconds(60));
  ASSERT_EQ(run.exitCode, 0) << run.describe();
  std::string id = run.out;
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  ASSERT_EQ(stateOf(id), "running");

  CleanupReport report = clean(Selector::forRun(run_));

  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_EQ(idsOf(report), std::vector<std::string>{id});
  const CommandResult ps = runCommand({CLEANROOM_DOCKER_CLI, "ps", "-aq", "--filter", "label=cleanroom.run=" + run_},
                                      environment, std::chrono::seconds(60));
  EXPECT_EQ(ps.exitCode, 0) << ps.describe();
  EXPECT_EQ(ps.out, "") << "docker ps still lists the run's container";
}

INSTANTIATE_TEST_SUITE_P(Transports, DockerBackendE2ETest, ::testing::Values("tcp", "unix"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cleanroom::e2e
