// The fault matrix: one cleanup across every backend at once while the mocks
// misbehave. Each test holds agents behind cleanroom-mock-agents (real
// processes, one ignoring SIGTERM), tmux sessions on cleanroom-mock-tmux (one
// whose pane ignores SIGTERM), a launched process ignoring SIGTERM, an
// agent's prompt file and logs in a workspace, containers on
// cleanroom-mock-docker over its Unix socket (real processes: one slow to
// exit, one ignoring SIGTERM, one that exited by itself and still holds its
// disk) and Daytona sandboxes (started, stopped, and one stuck until a forced
// delete), ECS tasks on cleanroom-mock-aws registered as ALB targets — and
// the same kinds of things of another run next to them. A scenario arms faults (503 ×N, 429 with
// Retry-After, delays past the request and command timeouts, dropped
// connections, a failing tmux, a mock restarted mid-cleanup, permanent
// refusals), runs cleanupRealAgents and asserts:
//   - 0 hangs: the cleanup returns (its overall deadline bounds it);
//   - 0 leaks: nothing of the run is listed and no process it held is alive;
//   - logs archived before anything was deleted;
//   - nothing of the other run touched;
//   - the report names every failure — also those a retry overcame.
// Scenarios whose faults are permanent expect a failed report naming the
// refused resources, then a clean second sweep once the faults are cleared.
// Each later backend (Docker, Daytona, ECS) joins this suite.
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cleanroom/aws/aws_client.h"
#include "cleanroom/aws/ecs_session_site.h"
#include "cleanroom/backends/agent_api_backend.h"
#include "cleanroom/backends/alb_backend.h"
#include "cleanroom/backends/daytona_backend.h"
#include "cleanroom/backends/docker_backend.h"
#include "cleanroom/backends/ecs_backend.h"
#include "cleanroom/backends/process_backend.h"
#include "cleanroom/backends/tmux_backend.h"
#include "cleanroom/backends/workspace_backend.h"
#include "cleanroom/fixtures.h"
#include "cleanroom/gtest/local_agents_environment.h"
#include "cleanroom/process_tree.h"
#include "cleanroom/run.h"
#include "cleanroom/wait.h"
#include "mock_server_process.h"

namespace cleanroom {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using namespace std::chrono_literals;

gtest::LocalAgentsEnvironment* local = nullptr;

// How long one request or tmux call may take before it counts as timed out.
constexpr milliseconds kRequestTimeout{500};

struct FaultScenario {
  std::string name;
  // Rules for cleanroom-mock-agents (DESIGN 3.2); "{stubborn}" in a path is
  // replaced by the id of the agent that ignores SIGTERM.
  std::vector<json> agentFaults;
  // Rules for cleanroom-mock-tmux (fault_plan.h).
  std::vector<json> tmuxFaults;
  // Rules for cleanroom-mock-docker and cleanroom-mock-daytona (DESIGN 3.2);
  // "{stubborn}" is replaced by the id of the container ignoring SIGTERM.
  std::vector<json> dockerFaults;
  std::vector<json> daytonaFaults;
  // Rules for cleanroom-mock-aws (ECS tasks, ALB targets).
  std::vector<json> awsFaults;
  // Restart the agent mock once the first DELETE reached it.
  bool restartAgentsMock = false;
  // Whether the faults are overcome; false = permanent, the report must fail.
  bool overcome = true;
  // Words the report (JSON) must contain: the failures it names.
  std::vector<std::string> named;
};

void PrintTo(const FaultScenario& s, std::ostream* out) { *out << s.name; }

FaultScenario scenarioNamed(std::string name) {
  FaultScenario scenario;
  scenario.name = std::move(name);
  return scenario;
}

std::vector<FaultScenario> scenarios() {
  const json deleteAgent = {{"method", "DELETE"}, {"path", "/api/agents/*"}};
  const json listAgents = {{"method", "GET"}, {"path", "/api/agents"}};
  const json deleteContainer = {{"method", "DELETE"}, {"path", "*/containers/*"}};
  const json listContainers = {{"method", "GET"}, {"path", "*/containers/json"}};
  const json deleteSandbox = {{"method", "DELETE"}, {"path", "/api/sandbox/*"}};
  const json listSandboxes = {{"method", "GET"}, {"path", "/api/sandbox"}};
  const json stopTask = {{"operation", "StopTask"}};
  const json listTasks = {{"operation", "ListTasks"}};
  const json deregisterTargets = {{"operation", "DeregisterTargets"}};
  FaultScenario calm = scenarioNamed("OnlyAgentsIgnoringSigterm");
  FaultScenario unavailable = scenarioNamed("ServiceUnavailableThenTmuxFailing");
  unavailable.agentFaults = {{{"match", deleteAgent}, {"status", 503}, {"count", 3}}};
  unavailable.tmuxFaults = {{{"fail", 2}}};
  unavailable.dockerFaults = {{{"match", deleteContainer}, {"status", 503}, {"count", 3}}};
  unavailable.daytonaFaults = {{{"match", deleteSandbox}, {"status", 503}, {"count", 3}}};
  unavailable.awsFaults = {{{"match", stopTask}, {"status", 503}, {"count", 3}},
                           {{"match", deregisterTargets}, {"status", 503}, {"count", 2}}};
  unavailable.named = {"503", "server exited unexpectedly"};
  FaultScenario rateLimited = scenarioNamed("TooManyRequestsWithRetryAfter");
  rateLimited.agentFaults = {{{"match", listAgents}, {"status", 429}, {"retryAfter", 1}, {"count", 1}},
                             {{"match", deleteAgent}, {"status", 429}, {"retryAfter", 1}, {"count", 2}}};
  rateLimited.tmuxFaults = {{{"fail", 1}, {"command", "list-panes"}}};
  rateLimited.dockerFaults = {{{"match", listContainers}, {"status", 429}, {"retryAfter", 1}, {"count", 1}}};
  rateLimited.daytonaFaults = {{{"match", deleteSandbox}, {"status", 429}, {"retryAfter", 1}, {"count", 1}}};
  rateLimited.awsFaults = {{{"match", listTasks}, {"status", 400}, {"errorCode", "ThrottlingException"}, {"count", 1}},
                           {{"match", deregisterTargets}, {"status", 400}, {"errorCode", "Throttling"}, {"count", 2}}};
  rateLimited.named = {"429", "ThrottlingException", "Throttling"};
  FaultScenario slow = scenarioNamed("DelaysPastTheTimeouts");
  slow.agentFaults = {{{"match", deleteAgent}, {"delayMs", 1500}, {"count", 1}},
                      {{"match", listAgents}, {"delayMs", 1500}, {"count", 1}}};
  slow.tmuxFaults = {{{"hang_ms", 1500}, {"command", "list-sessions"}, {"times", 1}}};
  slow.dockerFaults = {{{"match", listContainers}, {"delayMs", 2500}, {"count", 1}}};
  slow.daytonaFaults = {{{"match", listSandboxes}, {"delayMs", 1500}, {"count", 1}}};
  slow.awsFaults = {{{"match", listTasks}, {"delayMs", 1500}, {"count", 1}}};
  slow.named = {"timed out"};
  FaultScenario dropped = scenarioNamed("DroppedConnections");
  dropped.agentFaults = {{{"match", deleteAgent}, {"drop", true}, {"count", 2}},
                         {{"match", listAgents}, {"drop", true}, {"count", 1}}};
  dropped.tmuxFaults = {{{"fail", 1}, {"command", "list-sessions"}, {"message", "lost server"}}};
  dropped.dockerFaults = {{{"match", deleteContainer}, {"drop", true}, {"count", 2}}};
  dropped.daytonaFaults = {{{"match", deleteSandbox}, {"drop", true}, {"count", 1}}};
  dropped.awsFaults = {{{"match", stopTask}, {"drop", true}, {"count", 2}}};
  dropped.named = {"DELETE", "lost server", "StopTask"};
  FaultScenario restart = scenarioNamed("AgentMockRestartedMidCleanup");
  restart.agentFaults = {{{"match", deleteAgent}, {"delayMs", 800}, {"count", 1}}};
  restart.restartAgentsMock = true;
  restart.named = {"connect"};
  FaultScenario refused = scenarioNamed("PermanentRefusalsAreNamed");
  refused.agentFaults = {{{"match", {{"method", "DELETE"}, {"path", "/api/agents/{stubborn}"}}}, {"status", 403}}};
  refused.tmuxFaults = {{{"fail", 1000}, {"command", "list-sessions"}, {"message", "permission denied by the fault"}}};
  refused.dockerFaults = {{{"match", {{"method", "DELETE"}, {"path", "*/containers/{container}*"}}}, {"status", 403}}};
  refused.daytonaFaults = {{{"match", listSandboxes}, {"status", 401}}};
  refused.awsFaults = {{{"match", stopTask}, {"status", 400}, {"errorCode", "AccessDeniedException"}}};
  refused.overcome = false;
  refused.named = {"403", "{stubborn}", "permission denied by the fault", "{container}", "DAYTONA_API_KEY",
                   "AccessDeniedException"};
  return {calm, unavailable, rateLimited, slow, dropped, restart, refused};
}

// One run's resources on every backend, and the processes behind them.
struct Holdings {
  std::string stubbornAgent;
  std::string stubbornContainer;
  std::vector<std::string> agents;
  std::vector<std::string> sessions;
  std::vector<ProcessIdentity> processes;  // every process held, recorded alive
};

class FaultMatrixTest : public ::testing::TestWithParam<FaultScenario> {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/cr-fm-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    mocksDir_ = new std::filesystem::path(pattern);
    mock_ = new tests::MockServerProcess(CLEANROOM_MOCK_AGENTS_PATH);
    docker_ = new tests::MockServerProcess(CLEANROOM_MOCK_DOCKER_PATH, {"--socket", (*mocksDir_ / "docker.sock").string()});
    daytona_ = new tests::MockServerProcess(CLEANROOM_MOCK_DAYTONA_PATH,
                                            {"--api-key", kDaytonaKey, "--stop-delay-ms", "200", "--delete-delay-ms", "200"});
    aws_ = new tests::MockServerProcess(CLEANROOM_MOCK_AWS_PATH, {"--task-start-ms", "20", "--task-stop-ms", "300",
                                                                  "--deregistration-delay-ms", "600000"});
    aws::EcsSiteSpec spec;
    spec.cluster = "fault-matrix";
    spec.targetGroupName = "fault-matrix";
    auto site = aws::EcsSessionSite::provision(std::make_shared<aws::AwsClient>(awsConfig()), spec);
    ASSERT_TRUE(site.ok()) << site.error().describe();
    site_ = new aws::EcsSessionSite(std::move(site).value());
  }

  static aws::AwsConfig awsConfig() {
    aws::AwsConfig config;
    config.region = "us-east-1";
    config.credentials = {"cleanroom", "cleanroom-secret", ""};
    config.endpoints[""] = aws_->url();
    return config;
  }
  static void TearDownTestSuite() {
    delete site_;
    site_ = nullptr;
    for (tests::MockServerProcess** mock : {&mock_, &docker_, &daytona_, &aws_}) {
      const pid_t pid = (*mock)->pid();
      auto ending = (*mock)->process().stop(5s);
      EXPECT_TRUE(ending.graceful) << ending.description;
      delete *mock;
      *mock = nullptr;
      EXPECT_NE(::kill(pid, 0), 0) << "a mock outlived the suite";
    }
    std::error_code ec;
    std::filesystem::remove_all(*mocksDir_, ec);
    EXPECT_FALSE(ec) << ec.message();
    delete mocksDir_;
  }

  void SetUp() override {
    runId_ = "fm-" + run::generateId();
    otherRun_ = "fm-other-" + run::generateId();
    for (auto* mock : {mock_, docker_, daytona_, aws_}) mock->clearFaults();
    ASSERT_EQ(tmuxClient().tmux({"__fault", R"({"clear": true})"})->exitCode, 0);

    AgentApiConfig agentConfig;
    agentConfig.baseUrl = mock_->url();
    agentConfig.requestTimeout = kRequestTimeout;
    agents_ = std::make_shared<AgentApiBackend>(agentConfig);
    tmux_ = std::make_shared<TmuxBackend>(tmuxConfig());
    processes_ = std::make_shared<ProcessBackend>(processConfig(runId_));
    otherProcesses_ = std::make_shared<ProcessBackend>(processConfig(otherRun_));
    workspaceRoot_ = local->directory() / ("ws-" + runId_);
    std::filesystem::create_directories(workspaceRoot_);
    WorkspaceConfig workspaceConfig;
    workspaceConfig.root = workspaceRoot_;
    workspaceConfig.runId = runId_;
    workspace_ = std::make_shared<WorkspaceBackend>(workspaceConfig);

    DockerBackendOptions dockerOptions;
    dockerOptions.dockerHost = "unix://" + (*mocksDir_ / "docker.sock").string();
    dockerOptions.requestTimeout = 1500ms;  // above the stop timeout: `stop` blocks until the exit
    dockerOptions.stopTimeout = 1s;
    containers_ = std::make_shared<DockerBackend>(dockerOptions);
    DaytonaConfig daytonaConfig;
    daytonaConfig.apiUrl = daytona_->url() + "/api";
    daytonaConfig.apiKey = kDaytonaKey;
    daytonaConfig.requestTimeout = kRequestTimeout;
    sandboxes_ = std::make_shared<DaytonaBackend>(daytonaConfig);
    EcsBackendOptions ecsOptions;
    ecsOptions.aws = awsConfig();
    ecsOptions.clusters = {site_->spec().cluster};
    ecsOptions.requestTimeout = kRequestTimeout;
    tasks_ = std::make_shared<EcsBackend>(ecsOptions);
    AlbBackendOptions albOptions;
    albOptions.aws = awsConfig();
    albOptions.targetGroupArns = {site_->targetGroupArn()};
    albOptions.clusters = {site_->spec().cluster};
    albOptions.requestTimeout = kRequestTimeout;
    targets_ = std::make_shared<AlbBackend>(albOptions);

    // One engine knows every backend, the other run's processes included:
    // only the selector keeps it away from them.
    engine_ = std::make_shared<CleanupEngine>();
    for (std::shared_ptr<Backend> b : std::vector<std::shared_ptr<Backend>>{
             agents_, tmux_, processes_, otherProcesses_, workspace_, containers_, sandboxes_, tasks_, targets_}) {
      engine_->addBackend(b);
    }
  }

  void TearDown() override {
    if (!engine_) return;  // SetUp failed before anything was created
    for (auto* mock : {mock_, docker_, daytona_, aws_}) mock->clearFaults();
    (void)tmuxClient().tmux({"__fault", R"({"clear": true})"});
    AgentCleanupOptions other = cleanupOptions();
    other.selector = Selector::forRun(otherRun_);
    AgentCleanupResult result = cleanupRealAgents(*engine_, other);
    EXPECT_TRUE(result.success) << "the other run's things: " << result.report.summary();
    AgentCleanupResult again = cleanupRealAgents(*engine_, cleanupOptions());
    EXPECT_EQ(again.report.totals.found, 0) << again.report.summary();
    std::vector<ProcessIdentity> all = mine_.processes;
    all.insert(all.end(), theirs_.processes.begin(), theirs_.processes.end());
    EXPECT_TRUE(awaitExit(all, 10s).empty()) << "processes outlived the test";
    reapZombieChildren(all);
    std::error_code ec;
    std::filesystem::remove_all(workspaceRoot_, ec);
    EXPECT_FALSE(ec) << ec.message();
  }

  static ProcessBackendConfig processConfig(const std::string& runId) {
    ProcessBackendConfig config;
    config.runId = runId;
    return config;
  }

  TmuxConfig tmuxConfig() const {
    TmuxConfig config;
    config.binary = local->tmuxBinary();
    config.socketPath = local->socketPath();
    config.commandTimeout = kRequestTimeout;
    return config;
  }
  TmuxBackend& tmuxClient() {
    if (!tmuxControl_) tmuxControl_ = std::make_unique<TmuxBackend>(tmuxConfig());
    return *tmuxControl_;
  }

  AgentCleanupOptions cleanupOptions() const {
    AgentCleanupOptions o;
    o.selector = Selector::forRun(runId_);
    o.processExitDelay = 1000ms;
    o.maxRetries = 5;
    o.retryDelay = 1000ms;
    return o;
  }

  std::string createAgent(const std::string& runId, json behavior, Holdings& into) {
    AgentSpec spec;
    spec.runId = runId;
    spec.prompt = "fault matrix";
    spec.behavior = std::move(behavior);
    auto created = agents_->createAgent(spec);
    if (!created.ok()) throw std::runtime_error(created.error().describe());
    into.agents.push_back(created->id);
    const json agent = mock_->get("/api/agents/" + created->id);
    if (agent.contains("pid")) hold(agent["pid"].get<pid_t>(), into);
    return created->id;
  }

  // Starts a session of `runId` and waits until the pane's command runs
  // (for a stubborn pane: until its trap is installed and `sleep` started).
  void createSession(const std::string& runId, const std::string& suffix, const std::string& command,
                     Holdings& into) {
    TmuxSessionSpec spec;
    spec.runId = runId;
    spec.suffix = suffix;
    spec.command = command;
    auto created = tmux_->createSession(spec);
    if (!created.ok()) throw std::runtime_error(created.error().describe());
    into.sessions.push_back(created->name);
    auto panes = tmux_->panePids(created->name);
    if (!panes.ok() || panes->empty()) throw std::runtime_error("no pane for " + created->name);
    const pid_t pane = panes->front();
    hold(pane, into);
    auto paneIdentity = identityOf(pane);
    ASSERT_TRUE(paneIdentity.ok());
    ASSERT_TRUE(waitUntil(Clock::system(), Clock::system().now() + 10s, {}, [&] {
      auto self = readProcess(pane);
      if (self.ok() && self->command == "sleep 600") return true;  // the pane exec'd it
      for (const ProcessInfo& p : descendantsOf(*paneIdentity)) {
        if (p.command == "sleep 600") return true;
      }
      return false;
    }).met) << "the pane of " << created->name << " never started its sleep";
    for (const ProcessInfo& p : descendantsOf(*paneIdentity)) into.processes.push_back(p.id);
  }

  // Launches a process that ignores SIGTERM and waits until it does.
  void launchStubborn(ProcessBackend& backend, Holdings& into) {
    LaunchOptions quiet;
    quiet.outputPath = "/dev/null";
    auto launched = backend.launch({"/bin/sh", "-c", "trap '' TERM; exec sleep 600"}, quiet);
    if (!launched.ok()) throw std::runtime_error(launched.error().describe());
    const pid_t pid = std::stoi(launched->id.substr(0, launched->id.find('@')));
    hold(pid, into);
    ASSERT_TRUE(waitUntil(Clock::system(), Clock::system().now() + 10s, {}, [&] {
      auto p = readProcess(pid);
      return p.ok() && p->command == "sleep 600";
    }).met) << "the launched process never reached its sleep";
  }

  // Creates and starts a container of `runId` on the docker mock (its
  // process behaves as `env` says); returns its id.
  std::string createContainer(const std::string& runId, const std::vector<std::string>& env, Holdings& into) {
    const json body = {{"Image", "busybox"},
                       {"Cmd", {"sleep", "600"}},
                       {"Env", env},
                       {"Labels", {{kRunLabel, runId}}}};
    const json created = docker_->control("POST", "/v1.45/containers/create", body);
    const std::string id = created.value("Id", "");
    if (id.empty()) throw std::runtime_error("container create failed: " + created.dump());
    docker_->control("POST", "/v1.45/containers/" + id + "/start", json::object());
    const json inspect = docker_->get("/v1.45/containers/" + id + "/json");
    const pid_t pid = inspect["State"].value("Pid", 0);
    if (pid > 0) hold(pid, into);
    return id;
  }

  std::string createSandbox(const std::string& runId, json mockSettings) {
    DaytonaSandboxSpec spec;
    spec.runId = runId;
    spec.extra = {{"cleanroom", std::move(mockSettings)}};
    auto created = sandboxes_->createSandbox(spec);
    if (!created.ok()) throw std::runtime_error(created.error().describe());
    return created->id;
  }

  // Runs an ECS task of `runId` and registers it as an ALB target (an agent
  // session, as the runtime starts one).
  void launchTask(const std::string& runId, const std::string& name) {
    auto session = site_->launch(*tasks_, name, {}, 10s, runId);
    if (!session.ok()) throw std::runtime_error(session.error().describe());
  }

  void hold(pid_t pid, Holdings& into) {
    auto identity = identityOf(pid);
    if (identity.ok()) into.processes.push_back(*identity);
  }

  void writeAgentFiles(const std::string& agentId) {
    std::filesystem::create_directories(workspaceRoot_ / "logs");
    std::ofstream(workspaceRoot_ / ("agent_prompt_" + agentId + ".txt")) << "do the task\n";
    std::ofstream(workspaceRoot_ / "logs" / (agentId + "_stream.jsonl")) << R"({"event":"done","agent":")" << agentId
                                                                          << "\"}\n";
  }

  // Everything the test holds: this run's things on every backend, and the
  // other run's next to them.
  void holdEverything() {
    createAgent(runId_, {{"realProcess", true}, {"exitDelayMs", json::array({100, 300})}}, mine_);
    mine_.stubbornAgent = createAgent(runId_, {{"realProcess", true}, {"ignoreSigterm", true}}, mine_);
    createSession(runId_, "t1", "exec sleep 600", mine_);
    createSession(runId_, "t2", "trap '' TERM HUP; sleep 600 & wait $!", mine_);
    launchStubborn(*processes_, mine_);
    writeAgentFiles("t1");
    writeAgentFiles("t2");
    createContainer(runId_, {"CLEANROOM_MOCK_EXIT_DELAY_MS=300"}, mine_);
    mine_.stubbornContainer = createContainer(runId_, {"CLEANROOM_MOCK_IGNORE_SIGTERM=1"}, mine_);
    const std::string exited = createContainer(runId_, {"CLEANROOM_MOCK_RUN_MS=1"}, mine_);
    ASSERT_TRUE(waitUntil(Clock::system(), Clock::system().now() + 10s, {}, [&] {
      return docker_->get("/v1.45/containers/" + exited + "/json")["State"].value("Status", "") == "exited";
    }).met) << "the short container never exited";
    createSandbox(runId_, json::object());
    createSandbox(runId_, {{"stuck", true}});
    createSandbox(runId_, {{"state", "stopped"}});
    launchTask(runId_, "task-1");
    launchTask(runId_, "task-2");

    createAgent(otherRun_, {{"realProcess", true}, {"exitDelayMs", 100}}, theirs_);
    createSession(otherRun_, "o1", "exec sleep 600", theirs_);
    launchStubborn(*otherProcesses_, theirs_);
    createContainer(otherRun_, {"CLEANROOM_MOCK_EXIT_DELAY_MS=100"}, theirs_);
    createSandbox(otherRun_, json::object());
    launchTask(otherRun_, "their-task");
  }

  std::string substitute(std::string text) const {
    for (const auto& [key, value] : {std::pair<std::string, std::string>{"{stubborn}", mine_.stubbornAgent},
                                     {"{container}", mine_.stubbornContainer}}) {
      for (auto at = text.find(key); at != std::string::npos; at = text.find(key)) text.replace(at, key.size(), value);
    }
    return text;
  }

  void armFaults(const FaultScenario& scenario) {
    for (const json& rule : scenario.agentFaults) mock_->addFault(json::parse(substitute(rule.dump())));
    for (const json& rule : scenario.dockerFaults) docker_->addFault(json::parse(substitute(rule.dump())));
    for (const json& rule : scenario.daytonaFaults) daytona_->addFault(json::parse(substitute(rule.dump())));
    for (const json& rule : scenario.awsFaults) aws_->addFault(rule);
    for (const json& rule : scenario.tmuxFaults) {
      auto armed = tmuxClient().tmux({"__fault", rule.dump()});
      ASSERT_TRUE(armed.ok() && armed->exitCode == 0) << rule.dump();
    }
  }

  AgentCleanupResult runCleanup(const FaultScenario& scenario) {
    if (!scenario.restartAgentsMock) return cleanupRealAgents(*engine_, cleanupOptions());
    auto cleanup = std::async(std::launch::async, [&] { return cleanupRealAgents(*engine_, cleanupOptions()); });
    EXPECT_TRUE(waitUntil(Clock::system(), Clock::system().now() + 20s, {}, [&] {
      return std::any_of(mine_.agents.begin(), mine_.agents.end(),
                         [&](const std::string& id) { return mock_->received("DELETE", "/api/agents/" + id); });
    }).met) << "no DELETE of this run's agents reached the agent mock";
    mock_->restart();
    // A hang guard, not a timing assertion: far above the cleanup's own bound.
    EXPECT_EQ(cleanup.wait_for(120s), std::future_status::ready) << "the cleanup hung across the mock's restart";
    return cleanup.get();
  }

  // Nothing of this run is listed or alive; its logs were archived.
  void expectNothingLeft() {
    Inventory left = engine_->list(Selector::forRun(runId_).activeOnly());
    EXPECT_TRUE(left.ok()) << ::testing::PrintToString(left.errors);
    for (const Resource& r : left.resources) ADD_FAILURE() << "left: " << r.ref() << " " << r.status;
    for (const ProcessIdentity& p : awaitExit(mine_.processes, 5s)) {
      ADD_FAILURE() << "process of the run still alive: " << p.pid;
    }
    for (const std::string agent : {"t1", "t2"}) {
      const auto archived = workspaceRoot_ / "archive";
      bool found = false;
      for (const auto& entry : std::filesystem::recursive_directory_iterator(archived)) {
        found = found || entry.path().filename() == agent + "_stream.jsonl";
      }
      EXPECT_TRUE(found) << "the log of " << agent << " was not archived under " << archived;
      EXPECT_FALSE(std::filesystem::exists(workspaceRoot_ / ("agent_prompt_" + agent + ".txt")));
    }
  }

  // The other run's things are all still there, and none was asked to stop.
  void expectOtherRunUntouched(const FaultScenario& scenario) {
    Inventory theirs = engine_->list(Selector::forRun(otherRun_).activeOnly());
    EXPECT_TRUE(theirs.ok()) << ::testing::PrintToString(theirs.errors);
    auto listed = [&](const std::string& backend) {
      return std::count_if(theirs.resources.begin(), theirs.resources.end(),
                           [&](const Resource& r) { return r.backend == backend; });
    };
    EXPECT_EQ(listed("http"), scenario.restartAgentsMock ? 0 : 1);  // the restart ended its agent with the mock
    EXPECT_EQ(listed("tmux"), 1);
    EXPECT_GE(listed("process"), 1);
    EXPECT_EQ(listed("docker"), 1);
    EXPECT_EQ(listed("daytona"), 1);
    EXPECT_EQ(listed("ecs"), 1);
    EXPECT_EQ(listed("alb"), 1);
    for (const std::string& id : theirs_.agents) {
      EXPECT_FALSE(mock_->received("DELETE", "/api/agents/" + id)) << "the other run's agent was stopped";
    }
    std::vector<ProcessIdentity> processes;
    for (std::size_t i = scenario.restartAgentsMock ? 1 : 0; i < theirs_.processes.size(); ++i) {
      processes.push_back(theirs_.processes[i]);
    }
    for (const ProcessIdentity& p : processes) EXPECT_TRUE(isAlive(p)) << "the other run lost process " << p.pid;
  }

  static constexpr const char* kDaytonaKey = "fault-matrix-key";
  static tests::MockServerProcess* mock_;
  static tests::MockServerProcess* docker_;
  static tests::MockServerProcess* daytona_;
  static tests::MockServerProcess* aws_;
  static aws::EcsSessionSite* site_;
  static std::filesystem::path* mocksDir_;
  std::string runId_;
  std::string otherRun_;
  Holdings mine_;
  Holdings theirs_;
  std::filesystem::path workspaceRoot_;
  std::shared_ptr<AgentApiBackend> agents_;
  std::shared_ptr<TmuxBackend> tmux_;
  std::unique_ptr<TmuxBackend> tmuxControl_;
  std::shared_ptr<ProcessBackend> processes_;
  std::shared_ptr<ProcessBackend> otherProcesses_;
  std::shared_ptr<WorkspaceBackend> workspace_;
  std::shared_ptr<DockerBackend> containers_;
  std::shared_ptr<DaytonaBackend> sandboxes_;
  std::shared_ptr<EcsBackend> tasks_;
  std::shared_ptr<AlbBackend> targets_;
  std::shared_ptr<CleanupEngine> engine_;
};

tests::MockServerProcess* FaultMatrixTest::mock_ = nullptr;
tests::MockServerProcess* FaultMatrixTest::docker_ = nullptr;
tests::MockServerProcess* FaultMatrixTest::daytona_ = nullptr;
tests::MockServerProcess* FaultMatrixTest::aws_ = nullptr;
aws::EcsSessionSite* FaultMatrixTest::site_ = nullptr;
std::filesystem::path* FaultMatrixTest::mocksDir_ = nullptr;

TEST_P(FaultMatrixTest, CleansEveryBackendAndNamesEveryFailure) {
  const FaultScenario& scenario = GetParam();
  ASSERT_NO_FATAL_FAILURE(holdEverything());
  ASSERT_NO_FATAL_FAILURE(armFaults(scenario));

  AgentCleanupResult result = runCleanup(scenario);

  const std::string report = result.report.toJson().dump();
  for (const std::string& word : scenario.named) {
    EXPECT_THAT(report, HasSubstr(substitute(word))) << result.report.summary();
  }
  if (!scenario.agentFaults.empty() || !scenario.tmuxFaults.empty() || !scenario.dockerFaults.empty() ||
      !scenario.daytonaFaults.empty() || !scenario.awsFaults.empty() || scenario.restartAgentsMock) {
    EXPECT_GT(result.report.failedAttempts(), 0) << "the report hides the faults: " << report;
  }
  if (scenario.overcome && !scenario.restartAgentsMock) {
    // The stubborn ones were forced after the grace period, not left behind.
    EXPECT_GE(result.report.totals.forced, 3) << result.report.summary();
  }
  if (!scenario.overcome) {
    EXPECT_FALSE(result.success) << result.report.summary();
    EXPECT_GT(result.remaining, 0);
    for (auto* mock : {mock_, docker_, daytona_, aws_}) mock->clearFaults();
    ASSERT_EQ(tmuxClient().tmux({"__fault", R"({"clear": true})"})->exitCode, 0);
    result = cleanupRealAgents(*engine_, cleanupOptions());
  }
  EXPECT_TRUE(result.success) << result.report.summary();
  expectNothingLeft();
  expectOtherRunUntouched(scenario);
}

INSTANTIATE_TEST_SUITE_P(Faults, FaultMatrixTest, ::testing::ValuesIn(scenarios()),
                         [](const ::testing::TestParamInfo<FaultScenario>& info) { return info.param.name; });

}  // namespace
}  // namespace cleanroom

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  cleanroom::gtest::LocalAgentsOptions options;
  options.tmuxBinary = CLEANROOM_MOCK_TMUX_PATH;
  cleanroom::local = new cleanroom::gtest::LocalAgentsEnvironment(options);
  ::testing::AddGlobalTestEnvironment(cleanroom::local);
  return RUN_ALL_TESTS();
}
