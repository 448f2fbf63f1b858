// End to end: the cleanup engine and the fixtures against cleanroom-mock-agents
// started as a real process, with real agent processes that take a few
// hundred ms to exit after SIGTERM, and the mock's fault injection.
//
// Each test owns a fresh run id, so tests never see each other's agents, and
// the mock's faults are cleared before each test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cleanroom/backends/agent_api_backend.h"
#include "cleanroom/child_process.h"
#include "cleanroom/engine.h"
#include "cleanroom/fixtures.h"
#include "cleanroom/run.h"
#include "cleanroom/trace.h"
#include "cleanroom/wait.h"

namespace cleanroom {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using namespace std::chrono_literals;

// A cleanroom-mock-agents process: started, read until listening, stopped.
class MockAgentsProcess {
 public:
  MockAgentsProcess() {
    auto child = ChildProcess::spawn({CLEANROOM_MOCK_AGENTS_PATH, "--port", "0", "--linger-ms", "5000"});
    if (!child.ok()) throw std::runtime_error(child.error().message);
    process_ = std::move(child).value();
    auto line = process_->readLine(15s);
    if (!line.ok()) throw std::runtime_error("mock did not start: " + line.error().message);
    const std::string prefix = "listening on ";
    if (line.value().rfind(prefix, 0) != 0) throw std::runtime_error("unexpected first line: " + line.value());
    url_ = line.value().substr(prefix.size());
  }
  const std::string& url() const { return url_; }
  pid_t pid() const { return process_->pid(); }
  ChildProcess& process() { return *process_; }

  // Sends a control-API request; returns the parsed JSON body.
  json control(const std::string& method, const std::string& path, const json& body = nullptr) {
    httplib::Client client(url_);
    client.set_read_timeout(5, 0);
    httplib::Result r = method == "POST" ? client.Post(path.c_str(), body.dump(), "application/json")
                        : method == "DELETE" ? client.Delete(path.c_str())
                                             : client.Get(path.c_str());
    if (!r) throw std::runtime_error("control request failed: " + path);
    return r->body.empty() ? json() : json::parse(r->body, nullptr, false);
  }
  void addFault(const json& rule) { control("POST", "/__cleanroom/faults", rule); }
  void clearFaults() { control("DELETE", "/__cleanroom/faults"); }
  // Returns the logged requests whose path starts with `prefix`.
  std::vector<json> requests(const std::string& prefix) {
    std::vector<json> out;
    for (const auto& r : control("GET", "/__cleanroom/requests")) {
      if (r.value("path", "").rfind(prefix, 0) == 0) out.push_back(r);
    }
    return out;
  }

 private:
  std::unique_ptr<ChildProcess> process_;
  std::string url_;
};

bool processAlive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

// Returns the port of a base URL "http://HOST:PORT" (0 when there is none).
int portOf(const std::string& url) {
  const auto colon = url.rfind(':');
  if (colon == std::string::npos) return 0;
  return std::atoi(url.c_str() + colon + 1);
}

// Returns the errno of a TCP connect to 127.0.0.1:port (0 = connected).
int connectErrno(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int result = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  const int error = result == 0 ? 0 : errno;
  ::close(fd);
  return error;
}

class AgentsE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mock_ = new MockAgentsProcess(); }
  static void TearDownTestSuite() {
    const pid_t pid = mock_->pid();
    const int port = portOf(mock_->url());
    auto ending = mock_->process().stop(5s);
    EXPECT_TRUE(ending.graceful) << ending.description;
    delete mock_;
    mock_ = nullptr;
    EXPECT_FALSE(processAlive(pid)) << "the mock process outlived the suite";
    ASSERT_GT(port, 0);
    EXPECT_EQ(connectErrno(port), ECONNREFUSED) << "port " << port << " still open after the mock stopped";
  }

  void SetUp() override {
    mock_->clearFaults();
    runId_ = "e2e-" + run::generateId();
    engine_ = makeEngine(AgentApiConfig{});
  }

  std::shared_ptr<CleanupEngine> makeEngine(AgentApiConfig config, CleanupOptions options = {}) {
    config.baseUrl = mock_->url();
    backend_ = std::make_shared<AgentApiBackend>(config);
    auto engine = std::make_shared<CleanupEngine>(options);
    engine->addBackend(backend_);
    return engine;
  }

  Resource createAgent(json behavior, const std::string& runId = {}) {
    AgentSpec spec;
    spec.prompt = "e2e";
    spec.runId = runId.empty() ? runId_ : runId;
    spec.behavior = std::move(behavior);
    auto created = backend_->createAgent(spec);
    if (!created.ok()) throw std::runtime_error(created.error().describe());
    return created.value();
  }

  json agentJson(const std::string& id) {
    return mock_->control("GET", "/api/agents/" + id);
  }

  AgentCleanupOptions cleanupOptions(milliseconds exitDelay = 3000ms) {
    AgentCleanupOptions o;
    o.selector = Selector::forRun(runId_);
    o.processExitDelay = exitDelay;
    o.retryDelay = 200ms;
    return o;
  }

  static json slowExit() { return {{"realProcess", true}, {"exitDelayMs", json::array({200, 400})}}; }

  static MockAgentsProcess* mock_;
  std::string runId_;
  std::shared_ptr<AgentApiBackend> backend_;
  std::shared_ptr<CleanupEngine> engine_;
};

MockAgentsProcess* AgentsE2E::mock_ = nullptr;

TEST_F(AgentsE2E, CleansUpAnAgentThatTakesAWhileToExit) {
  Resource agent = createAgent(slowExit());
  const pid_t pid = agentJson(agent.id).value("pid", -1);
  ASSERT_TRUE(processAlive(pid));

  AgentCleanupResult result = cleanupRealAgents(*engine_, cleanupOptions());

  EXPECT_TRUE(result.success) << result.report.summary();
  EXPECT_EQ(result.cleaned, 1);
  EXPECT_EQ(result.remaining, 0);
  EXPECT_FALSE(result.report.resources.at(0).forced);
  EXPECT_EQ(agentJson(agent.id).value("status", ""), "terminated");
  EXPECT_FALSE(processAlive(pid)) << "agent process " << pid << " survived its cleanup";
  // The mock offers the long-poll (header X-Cleanroom-Wait), so the backend
  // waited for the exit with it instead of polling.
  bool longPolled = false;
  for (const auto& r : mock_->requests("/api/agents/" + agent.id)) {
    const bool get = r.value("method", "") == "GET" && r.value("path", "") == "/api/agents/" + agent.id;
    if (get && r.value("query", "").find("waitFor=terminal") != std::string::npos) longPolled = true;
  }
  EXPECT_TRUE(longPolled) << "no GET /api/agents/" << agent.id << "?waitFor=terminal in the mock's request log";
}

TEST_F(AgentsE2E, CleansSeveralAgentsAtOnce) {
  std::vector<pid_t> pids;
  for (int i = 0; i < 6; ++i) pids.push_back(agentJson(createAgent(slowExit()).id).value("pid", -1));

  AgentCleanupResult result = cleanupRealAgents(*engine_, cleanupOptions());

  EXPECT_TRUE(result.success) << result.report.summary();
  EXPECT_EQ(result.cleaned, 6);
  for (pid_t pid : pids) EXPECT_FALSE(processAlive(pid)) << pid;
}

TEST_F(AgentsE2E, AlreadyCompletedAgentsNeedNothing) {
  Resource agent = createAgent({{"runMs", 50}, {"realProcess", true}});
  EXPECT_EQ(waitForAgentTerminalState(*backend_, agent.id, 10s), "completed");

  AgentCleanupResult result = cleanupRealAgents(*engine_, cleanupOptions());

  EXPECT_TRUE(result.success);
  EXPECT_EQ(result.report.totals.found, 0);
  EXPECT_TRUE(mock_->requests("/api/agents/" + agent.id).size() >= 1);
  for (const auto& r : mock_->requests("/api/agents/" + agent.id)) EXPECT_NE(r.value("method", ""), "DELETE");
}

TEST_F(AgentsE2E, WaitReportsFailedAndDeletedAgents) {
  Resource failing = createAgent({{"runMs", 30}, {"outcome", "failed"}});
  EXPECT_EQ(waitForAgentTerminalState(*backend_, failing.id, 10s), "failed");
  EXPECT_EQ(waitForAgentTerminalState(*backend_, "ag-does-not-exist", 10s), "deleted");
}

TEST_F(AgentsE2E, WaitTimeoutNamesTheAgentAndItsStatus) {
  Resource agent = createAgent(json::object());
  try {
    waitForAgentTerminalState(*backend_, agent.id, 100ms);
    FAIL() << "expected a timeout";
  } catch (const AgentWaitTimeout& e) {
    EXPECT_THAT(e.what(), HasSubstr(agent.id));
    EXPECT_THAT(e.what(), HasSubstr("running"));
  }
  EXPECT_TRUE(cleanupRealAgents(*engine_, cleanupOptions()).success);
}

TEST_F(AgentsE2E, IsolationViolationNamesTheLeftoverWithStatusAndAge) {
  Resource agent = createAgent(json::object());
  try {
    verifyTestIsolation(*engine_, Selector::forRun(runId_).activeOnly());
    FAIL() << "expected an isolation violation";
  } catch (const IsolationViolation& e) {
    EXPECT_THAT(e.what(), HasSubstr("http/" + agent.id));
    EXPECT_THAT(e.what(), HasSubstr("running"));
    EXPECT_THAT(e.what(), HasSubstr("age="));
    ASSERT_EQ(e.leftovers().size(), 1u);
  }
  EXPECT_TRUE(cleanupRealAgents(*engine_, cleanupOptions()).success);
  EXPECT_NO_THROW(verifyTestIsolation(*engine_, Selector::forRun(runId_).activeOnly()));
}

TEST_F(AgentsE2E, TerminatesThroughDeleteGracefullyFirst) {
  Resource agent = createAgent(slowExit());
  ASSERT_TRUE(cleanupRealAgents(*engine_, cleanupOptions()).success);
  auto deletes = mock_->requests("/api/agents/" + agent.id);
  std::erase_if(deletes, [](const json& r) { return r.value("method", "") != "DELETE"; });
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_THAT(deletes[0].dump(), HasSubstr("force=false"));
}

TEST_F(AgentsE2E, AnAgentIgnoringSigtermIsForcedAfterTheGracePeriod) {
  Resource agent = createAgent({{"realProcess", true}, {"ignoreSigterm", true}});
  const pid_t pid = agentJson(agent.id).value("pid", -1);

  AgentCleanupResult result = cleanupRealAgents(*engine_, cleanupOptions(300ms));

  EXPECT_TRUE(result.success) << result.report.summary();
  ASSERT_EQ(result.report.resources.size(), 1u);
  EXPECT_TRUE(result.report.resources[0].forced);
  EXPECT_EQ(agentJson(agent.id).value("statusReason", ""), "sigkill");
  EXPECT_FALSE(processAlive(pid));
}

TEST_F(AgentsE2E, RetriesTwo503sThenSucceeds) {
  Resource agent = createAgent(slowExit());
  mock_->addFault({{"match", {{"method", "DELETE"}, {"path", "/api/agents/*"}}}, {"status", 503}, {"count", 2}});

  AgentCleanupResult result = cleanupRealAgents(*engine_, cleanupOptions());

  EXPECT_TRUE(result.success) << result.report.summary();
  const auto& stop = result.report.resources.at(0).actions.at(0);
  EXPECT_EQ(stop.name, "stop");
  EXPECT_EQ(stop.attempts, 3);
}

TEST_F(AgentsE2E, HonoursRetryAfterOn429) {
  Resource agent = createAgent(slowExit());
  mock_->addFault({{"match", {{"method", "DELETE"}}}, {"status", 429}, {"count", 1}, {"retryAfter", 1}});

  AgentCleanupOptions options = cleanupOptions();
  options.retryDelay = 2000ms;  // the retry deadline (maxRetries x retryDelay) must fit the Retry-After
  TraceCapture trace;
  AgentCleanupResult result = cleanupRealAgents(*engine_, options);

  EXPECT_TRUE(result.success) << result.report.summary();
  EXPECT_EQ(result.report.resources.at(0).actions.at(0).attempts, 2);
  // The retry waited for the server's Retry-After (1 s), not the short backoff.
  EXPECT_THAT(trace.text(), HasSubstr("delay_ms=1000 retry_after=honoured"));
}

TEST_F(AgentsE2E, RetriesADroppedConnection) {
  Resource agent = createAgent(slowExit());
  mock_->addFault({{"match", {{"method", "DELETE"}}}, {"drop", true}, {"count", 1}});

  AgentCleanupResult result = cleanupRealAgents(*engine_, cleanupOptions());

  EXPECT_TRUE(result.success) << result.report.summary();
  EXPECT_EQ(result.report.resources.at(0).actions.at(0).attempts, 2);
}

TEST_F(AgentsE2E, RetriesARequestThatOutlivesItsTimeout) {
  AgentApiConfig config;
  config.requestTimeout = 200ms;
  engine_ = makeEngine(config);
  Resource agent = createAgent(slowExit());
  mock_->addFault({{"match", {{"method", "DELETE"}}}, {"delayMs", 1000}, {"count", 1}});

  AgentCleanupResult result = cleanupRealAgents(*engine_, cleanupOptions());

  EXPECT_TRUE(result.success) << result.report.summary();
  EXPECT_GE(result.report.resources.at(0).actions.at(0).attempts, 2);
}

TEST_F(AgentsE2E, PersistentFailuresAreBoundedAndReported) {
  Resource agent = createAgent(json::object());
  mock_->addFault({{"match", {{"method", "DELETE"}}}, {"status", 503}});
  AgentCleanupOptions options = cleanupOptions();
  options.maxRetries = 2;
  options.retryDelay = 50ms;

  AgentCleanupResult result = cleanupRealAgents(*engine_, options);

  EXPECT_FALSE(result.success);
  EXPECT_EQ(result.remaining, 1);
  EXPECT_THAT(result.report.summary(), HasSubstr(agent.id));
  EXPECT_THAT(result.report.summary(), HasSubstr("503"));
  mock_->clearFaults();
  EXPECT_TRUE(cleanupRealAgents(*engine_, cleanupOptions()).success);
}

TEST_F(AgentsE2E, TwoRunsOnOneMockNeverCleanEachOther) {
  const std::string otherRun = "e2e-other-" + run::generateId();
  Resource mine = createAgent(slowExit());
  Resource theirs = createAgent(slowExit(), otherRun);

  AgentCleanupResult result = cleanupRealAgents(*engine_, cleanupOptions());

  EXPECT_TRUE(result.success);
  EXPECT_EQ(result.cleaned, 1);
  EXPECT_EQ(agentJson(mine.id).value("status", ""), "terminated");
  EXPECT_EQ(agentJson(theirs.id).value("status", ""), "running");
  for (const auto& r : mock_->requests("/api/agents/" + theirs.id)) EXPECT_NE(r.value("method", ""), "DELETE");

  AgentCleanupOptions other = cleanupOptions();
  other.selector = Selector::forRun(otherRun);
  EXPECT_TRUE(cleanupRealAgents(*engine_, other).success);
}

TEST_F(AgentsE2E, CleaningTwiceIsANoOp) {
  createAgent(slowExit());
  ASSERT_TRUE(cleanupRealAgents(*engine_, cleanupOptions()).success);
  AgentCleanupResult again = cleanupRealAgents(*engine_, cleanupOptions());
  EXPECT_TRUE(again.success);
  EXPECT_EQ(again.report.totals.found, 0);
}

// A mock of its own, SIGKILLed while the cleanup waits on it.
TEST(AgentsE2EMockDeath, AMockKilledMidCleanupGivesAnErrorNotAHang) {
  MockAgentsProcess mock;
  AgentApiConfig config;
  config.baseUrl = mock.url();
  config.requestTimeout = 500ms;
  auto backend = std::make_shared<AgentApiBackend>(config);
  CleanupEngine engine;
  engine.addBackend(backend);
  const std::string runId = "e2e-kill-" + run::generateId();
  AgentSpec spec;
  spec.runId = runId;
  spec.behavior = {{"ignoreSigterm", true}};
  ASSERT_TRUE(backend->createAgent(spec).ok());

  AgentCleanupOptions options;
  options.selector = Selector::forRun(runId);
  options.processExitDelay = 2000ms;
  options.maxRetries = 3;
  options.retryDelay = 100ms;
  auto cleanup = std::async(std::launch::async, [&] { return cleanupRealAgents(engine, options); });

  // Kill the mock once the graceful stop has reached it.
  auto deleteSeen = [&] {
    for (const auto& r : mock.requests("/api/agents/")) {
      if (r.value("method", "") == "DELETE") return true;
    }
    return false;
  };
  ASSERT_TRUE(waitUntil(Clock::system(), Clock::system().now() + 10s, {}, deleteSeen).met);
  ASSERT_EQ(::kill(mock.pid(), SIGKILL), 0);

  // A hang guard, not a timing assertion: the bound is far above the options' total.
  ASSERT_EQ(cleanup.wait_for(60s), std::future_status::ready) << "cleanup hung after the mock died";
  AgentCleanupResult result = cleanup.get();
  EXPECT_FALSE(result.success);
  EXPECT_EQ(result.remaining, 1);
  EXPECT_THAT(result.report.toJson().dump(), HasSubstr("connect"));
  mock.process().stop(1s);
}

}  // namespace
}  // namespace cleanroom
