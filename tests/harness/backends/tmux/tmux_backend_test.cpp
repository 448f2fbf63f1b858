// TmuxBackend against real tmux and against cleanroom-mock-tmux, always on a
// private socket in a temporary directory (never the user's tmux server).
// The test process is a child subreaper, so the tmux server and the
// processes that escape their panes are its children and are reaped by pid.
#include "cleanroom/backends/tmux_backend.h"
#include "cleanroom/backends/workspace_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "cleanroom/engine.h"
#include "cleanroom/process_tree.h"
#include "cleanroom/run.h"
#include "cleanroom/trace.h"
#include "cleanroom/wait.h"
#include "scoped_env.h"

namespace cleanroom {
namespace {

using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using namespace std::chrono_literals;

constexpr const char* kRealTmux = "/usr/bin/tmux";
constexpr milliseconds kConditionTimeout{10000};

// Waits (adaptive polling) until `condition` holds; returns whether it did.
bool eventually(const std::function<bool()>& condition, milliseconds timeout = kConditionTimeout) {
  return waitUntil(Clock::system(), Clock::system().now() + timeout, AdaptiveWait{}, condition).met;
}

std::string makeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "cr-tmux-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  return pattern;
}

std::vector<ProcessInfo> childrenOfThisProcess() {
  std::vector<ProcessInfo> children;
  for (const ProcessInfo& p : listProcesses()) {
    if (p.ppid == ::getpid()) children.push_back(p);
  }
  return children;
}

std::vector<std::string> describeAll(const std::vector<ProcessInfo>& processes) {
  std::vector<std::string> out;
  for (const ProcessInfo& p : processes) out.push_back(describe(p) + " state " + p.state);
  return out;
}

std::vector<std::string> namesOf(const std::vector<Resource>& resources) {
  std::vector<std::string> names;
  for (const Resource& r : resources) names.push_back(r.name);
  return names;
}

const Resource* findNamed(const std::vector<Resource>& resources, const std::string& name) {
  auto it = std::find_if(resources.begin(), resources.end(), [&](const Resource& r) { return r.name == name; });
  return it == resources.end() ? nullptr : &*it;
}

struct TmuxFlavor {
  std::string label;
  std::string binary;
  bool isMock = false;
};

void PrintTo(const TmuxFlavor& flavor, std::ostream* os) { *os << flavor.label << " (" << flavor.binary << ")"; }

std::vector<TmuxFlavor> mockFlavors() {
  std::vector<TmuxFlavor> out;
#ifdef CLEANROOM_MOCK_TMUX_PATH
  out.push_back({"mock_tmux", CLEANROOM_MOCK_TMUX_PATH, true});
#endif
  return out;
}
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(MockTmuxFaultsTest);

std::vector<TmuxFlavor> flavors() {
  std::vector<TmuxFlavor> out{{"real_tmux", kRealTmux, false}};
#ifdef CLEANROOM_MOCK_TMUX_PATH
  out.push_back({"mock_tmux", CLEANROOM_MOCK_TMUX_PATH, true});
#endif
  return out;
}

class TmuxBackendTest : public ::testing::TestWithParam<TmuxFlavor> {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(GetParam().binary.c_str(), X_OK), 0)
        << GetParam().binary << " is not installed: scripts/install-deps.sh installs tmux";
    ASSERT_TRUE(becomeChildSubreaper());
    dir_ = makeTempDir();
    socket_ = dir_ + "/sock";
    runId_ = run::generateId();
    otherRunId_ = run::generateId();
    backend_ = std::make_shared<TmuxBackend>(configFor(socket_));
  }

  void TearDown() override {
    if (dir_.empty()) return;
    std::vector<ProcessIdentity> ours;
    for (const ProcessInfo& p : childrenOfThisProcess()) ours.push_back(p.id);
    for (const std::string& run : {runId_, otherRunId_}) {
      for (const ProcessInfo& p : processesMarkedWith(run)) ours.push_back(p.id);
    }
    (void)backend_->tmux({"kill-server"});
    // Whatever a failed test left behind still carries our markers; the
    // server's SIGHUP may not reach processes that ignore it.
    for (const std::string& run : {runId_, otherRunId_}) {
      for (const ProcessInfo& p : processesMarkedWith(run)) (void)signalProcess(p.id, SIGKILL);
    }
    // Pane processes the server did not reap before it exited are
    // re-parented to us: reap every child that shows up meanwhile too.
    EXPECT_TRUE(eventually([&] {
      for (const ProcessInfo& p : childrenOfThisProcess()) ours.push_back(p.id);
      reapZombieChildren(ours);
      const bool gone = std::none_of(ours.begin(), ours.end(), [](const ProcessIdentity& id) { return exists(id); });
      return gone && childrenOfThisProcess().empty();  // nobody re-parented since the scan
    })) << "tmux server or pane processes did not go away";
    EXPECT_THAT(describeAll(childrenOfThisProcess()), IsEmpty());
    std::filesystem::remove_all(dir_);
  }

  TmuxConfig configFor(const std::string& socket) const {
    TmuxConfig config;
    config.binary = GetParam().binary;
    config.socketPath = socket;
    config.commandTimeout = 5s;
    return config;
  }

  Resource createSession(const std::string& suffix, const std::string& command, std::string runId = "") {
    TmuxSessionSpec spec;
    spec.suffix = suffix;
    spec.command = command;
    spec.runId = runId.empty() ? runId_ : runId;
    Result<Resource> session = backend_->createSession(spec);
    if (!session) ADD_FAILURE() << session.error().describe();
    return session.ok() ? session.value() : Resource{};
  }

  // Creates a session without the cleanroom prefix, as a user's tmux would.
  void createUnprefixedSession(const std::string& name) {
    Result<TmuxOutput> out = backend_->tmux({"new-session", "-d", "-s", name, "sleep 600"});
    ASSERT_TRUE(out.ok()) << out.error().describe();
    ASSERT_EQ(out->exitCode, 0) << out->err;
  }

  void armMockFault(const std::string& rule) {
    Result<TmuxOutput> out = backend_->tmux({"__fault", rule});
    ASSERT_TRUE(out.ok()) << out.error().describe();
    ASSERT_EQ(out->exitCode, 0) << out->err;
  }

  pid_t panePid(const std::string& session) {
    Result<std::vector<pid_t>> pids = backend_->panePids(session);
    if (!pids || pids->size() != 1) {
      ADD_FAILURE() << "session " << session << " has no single pane";
      return 0;
    }
    return pids->front();
  }

  CleanupEngine engineWith(milliseconds gracePeriod) { return engineWith(gracePeriod, backend_); }

  CleanupEngine engineWith(milliseconds gracePeriod, std::shared_ptr<TmuxBackend> backend) {
    CleanupOptions options;
    options.gracePeriod = gracePeriod;
    options.forceTimeout = 10s;
    options.retry.initialDelay = 5ms;
    options.retry.deadline = 10s;
    CleanupEngine engine(options);
    engine.addBackend(std::move(backend));
    return engine;
  }

  void expectNothingOfRunLeft() {
    EXPECT_THAT(processesMarkedWith(runId_), IsEmpty()) << "processes carrying the run marker survived";
    Result<std::vector<Resource>> left = backend_->list(Selector::forRun(runId_));
    ASSERT_TRUE(left.ok()) << left.error().describe();
    EXPECT_THAT(namesOf(*left), IsEmpty());
  }

  std::string dir_;
  std::string socket_;
  std::string runId_;
  std::string otherRunId_;
  std::shared_ptr<TmuxBackend> backend_;
};

TEST_P(TmuxBackendTest, ListsTheRunsSessionsWithRunIdAndAge) {
  const WallTime before = std::chrono::system_clock::now() - 1s;
  Resource first = createSession("agent_1", "sleep 600");
  Resource second = createSession("agent_2", "sleep 600");
  createSession("agent_1", "sleep 600", otherRunId_);
  createUnprefixedSession("plain");
  const WallTime after = std::chrono::system_clock::now() + 1s;

  Result<std::vector<Resource>> mine = backend_->list(Selector::forRun(runId_));
  ASSERT_TRUE(mine.ok()) << mine.error().describe();
  EXPECT_THAT(namesOf(*mine), UnorderedElementsAre("cr-" + runId_ + "-agent_1", "cr-" + runId_ + "-agent_2"));
  for (const Resource& r : *mine) {
    EXPECT_EQ(r.backend, "tmux");
    EXPECT_EQ(r.id, r.name);
    EXPECT_EQ(r.runId, runId_);
    EXPECT_EQ(r.labels.at(kRunLabel), runId_);
    EXPECT_EQ(r.state, ResourceState::Running);
    ASSERT_TRUE(r.createdAt.has_value());
    EXPECT_GE(*r.createdAt, std::chrono::time_point_cast<std::chrono::seconds>(before));
    EXPECT_LE(*r.createdAt, after);
  }

  Result<std::vector<Resource>> all = backend_->list(Selector::allRuns());
  ASSERT_TRUE(all.ok()) << all.error().describe();
  ASSERT_EQ(all->size(), 4u);
  const Resource* plain = findNamed(*all, "plain");
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->runId, "");
  const Resource* other = findNamed(*all, "cr-" + otherRunId_ + "-agent_1");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->runId, otherRunId_);
  EXPECT_FALSE(Selector::forRun(runId_).matches(*plain, std::chrono::system_clock::now()));
}

TEST_P(TmuxBackendTest, CleanupLeavesOtherRunsAndUnprefixedSessionsAlone) {
  createSession("agent_1", "sleep 600");
  createSession("agent_2", "sleep 600");
  Resource other = createSession("agent_1", "sleep 600", otherRunId_);
  createUnprefixedSession("plain");
  const pid_t otherPane = panePid(other.name);
  const pid_t plainPane = panePid("plain");
  Result<ProcessIdentity> otherId = identityOf(otherPane);
  Result<ProcessIdentity> plainId = identityOf(plainPane);
  ASSERT_TRUE(otherId.ok() && plainId.ok());

  CleanupReport report = engineWith(10s).cleanup(Selector::forRun(runId_));

  EXPECT_TRUE(report.success) << report.toJson().dump(2);
  EXPECT_EQ(report.totals.cleaned, 2);
  Result<std::vector<Resource>> all = backend_->list(Selector::allRuns());
  ASSERT_TRUE(all.ok()) << all.error().describe();
  EXPECT_THAT(namesOf(*all), UnorderedElementsAre(other.name, "plain"));
  EXPECT_TRUE(isAlive(*otherId));
  EXPECT_TRUE(isAlive(*plainId));
  expectNothingOfRunLeft();
}

TEST_P(TmuxBackendTest, CleanupWaitsForAPaneThatExitsLateAfterSigterm) {
  createSession("late", "trap 'sleep 0.25; exit 0' TERM; sleep 600 & wait $!");

  CleanupReport report = engineWith(10s).cleanup(Selector::forRun(runId_));

  EXPECT_TRUE(report.success) << report.toJson().dump(2);
  ASSERT_EQ(report.resources.size(), 1u);
  EXPECT_TRUE(report.resources[0].cleaned);
  EXPECT_FALSE(report.resources[0].forced);
  EXPECT_EQ(report.resources[0].finalState, ResourceState::Gone);
  expectNothingOfRunLeft();
}

TEST_P(TmuxBackendTest, PaneIgnoringSigtermIsForcedAfterTheGracePeriod) {
  // Ignores SIGHUP too, or kill-session's hangup would end it.
  createSession("stubborn", "trap '' TERM HUP; sleep 600 & wait $!");

  CleanupReport report = engineWith(300ms).cleanup(Selector::forRun(runId_));

  EXPECT_TRUE(report.success) << report.toJson().dump(2);
  ASSERT_EQ(report.resources.size(), 1u);
  EXPECT_TRUE(report.resources[0].forced);
  EXPECT_TRUE(report.resources[0].cleaned);
  expectNothingOfRunLeft();
}

TEST_P(TmuxBackendTest, ProcessEscapingWithSetsidIsFoundNamedAndKilled) {
  Resource session = createSession("escape", "(trap '' TERM HUP; exec setsid sleep 600) & sleep 600");
  const pid_t pane = panePid(session.name);
  Result<ProcessIdentity> paneId = identityOf(pane);
  ASSERT_TRUE(paneId.ok());
  std::optional<ProcessInfo> escaped;
  ASSERT_TRUE(eventually([&] {
    for (const ProcessInfo& p : descendantsOf(*paneId)) {
      if (p.command == "sleep 600" && p.sid != pane) escaped = p;
    }
    return escaped.has_value();
  })) << "the escaped process did not start";

  ASSERT_TRUE(backend_->requestStop(session, StopMode::Graceful).ok());
  Result<ResourceStatus> status = Error::retryable("not probed");
  ASSERT_TRUE(eventually([&] {
    status = backend_->probe(session);
    return status.ok() && status->status.find("session gone") != std::string::npos;
  })) << (status.ok() ? status->status : status.error().describe());
  EXPECT_EQ(status->state, ResourceState::Stopping);
  EXPECT_THAT(status->status,
              HasSubstr("alive: " + std::to_string(escaped->id.pid) + " sleep 600 (escaped with setsid)"));

  Result<TmuxSessionCheck> check = backend_->checkSessionGone(session.name);
  ASSERT_TRUE(check.ok()) << check.error().describe();
  EXPECT_TRUE(check->sessionKilled);
  EXPECT_FALSE(check->noSurvivors);
  EXPECT_FALSE(check->clean());
  EXPECT_THAT(check->survivors, Contains(AllOf(Field(&TmuxSurvivor::id, escaped->id),
                                               Field(&TmuxSurvivor::command, "sleep 600"))));
  Result<std::vector<Resource>> listed = backend_->list(Selector::forRun(runId_));
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  ASSERT_EQ(listed->size(), 1u) << "a session with survivors stays listed";
  EXPECT_EQ(listed->front().state, ResourceState::Stopping);

  ASSERT_TRUE(backend_->requestStop(session, StopMode::Force).ok());
  ASSERT_TRUE(eventually([&] {
    status = backend_->probe(session);
    return status.ok() && status->state == ResourceState::Gone;
  }));
  check = backend_->checkSessionGone(session.name);
  ASSERT_TRUE(check.ok()) << check.error().describe();
  EXPECT_TRUE(check->clean());
  EXPECT_FALSE(exists(escaped->id)) << "the escaped process was not reaped";
  expectNothingOfRunLeft();
}

// A session that ended by itself (its pane exited) while a process it
// started with setsid lives on: nobody stopped it, so only the session
// marker in that process's environment ties it to the session. A backend
// that never saw the session (another process: the CLI, a reaper) lists it,
// for its run only, and cleans it up.
TEST_P(TmuxBackendTest, SurvivorOfASessionThatEndedByItselfIsListedAndCleanedByAFreshBackend) {
  Resource other = createSession("agent_1", "sleep 600", otherRunId_);  // keeps the server up
  // TERM and HUP are ignored before the fork, so the pane's hangup cannot
  // end the child before it has called setsid.
  Resource session = createSession("quitter", "trap '' TERM HUP; setsid sleep 600 & exit 0");
  std::optional<ProcessInfo> escaped;
  ASSERT_TRUE(eventually([&] {
    Result<std::vector<pid_t>> panes = backend_->panePids(session.name);
    if (panes.ok() || !panes.error().isGone()) return false;
    for (const ProcessInfo& p : processesMarkedWith(runId_)) {
      if (p.command == "sleep 600" && p.sid == p.id.pid) escaped = p;
    }
    return escaped.has_value();
  })) << "the session did not end, or the escaped process did not start";

  auto fresh = std::make_shared<TmuxBackend>(configFor(socket_));
  Result<std::vector<Resource>> mine = fresh->list(Selector::forRun(runId_));
  ASSERT_TRUE(mine.ok()) << mine.error().describe();
  ASSERT_THAT(namesOf(*mine), ::testing::ElementsAre(session.name));
  const Resource& survivor = mine->front();
  EXPECT_EQ(survivor.runId, runId_);
  EXPECT_EQ(survivor.labels.at(kRunLabel), runId_);
  EXPECT_EQ(survivor.labels.at(kAgentLabel), "quitter");
  EXPECT_EQ(survivor.state, ResourceState::Running);
  EXPECT_EQ(survivor.status,
            "session gone; alive: " + std::to_string(escaped->id.pid) + " sleep 600 (escaped with setsid)");
  ASSERT_TRUE(survivor.createdAt.has_value());

  Result<std::vector<Resource>> theirs = fresh->list(Selector::forRun(otherRunId_));
  ASSERT_TRUE(theirs.ok()) << theirs.error().describe();
  EXPECT_THAT(namesOf(*theirs), ::testing::ElementsAre(other.name));
  Result<std::vector<Resource>> all = fresh->list(Selector::allRuns());
  ASSERT_TRUE(all.ok()) << all.error().describe();
  EXPECT_THAT(namesOf(*all), UnorderedElementsAre(other.name, session.name));
  const Resource* inAll = findNamed(*all, session.name);
  ASSERT_NE(inAll, nullptr);
  EXPECT_EQ(inAll->runId, runId_) << "the run id comes from the process's marker";

  CleanupReport report = engineWith(300ms, fresh).cleanup(Selector::forRun(runId_));

  EXPECT_TRUE(report.success) << report.toJson().dump(2);
  ASSERT_EQ(report.resources.size(), 1u) << report.toJson().dump(2);
  EXPECT_TRUE(report.resources[0].cleaned);
  EXPECT_TRUE(report.resources[0].forced) << "it ignores SIGTERM";
  EXPECT_EQ(report.resources[0].finalState, ResourceState::Gone);
  EXPECT_FALSE(exists(escaped->id)) << "the survivor was not killed, or not reaped";
  Result<ResourceStatus> otherStatus = fresh->probe(other);
  ASSERT_TRUE(otherStatus.ok()) << otherStatus.error().describe();
  EXPECT_EQ(otherStatus->state, ResourceState::Running) << "another run's session was touched";
  expectNothingOfRunLeft();
}

// The report's per-agent record: the session (Agents stage) and the agent's
// files (Files stage) under one agent id, the files cleaned after the session.
TEST_P(TmuxBackendTest, TheReportRecordsEachAgentsSessionAndFiles) {
  const std::string workspace = dir_ + "/ws";
  std::filesystem::create_directories(workspace + "/logs");
  std::ofstream(workspace + "/agent_prompt_a1.txt") << "do the task\n";
  const std::string log = workspace + "/logs/a1_stream.jsonl";
  Resource session = createSession("a1", "echo '{\"event\":\"start\"}' >> '" + log + "'; exec sleep 600");
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(log); })) << "the agent wrote no log";
  CleanupEngine engine = engineWith(5s);
  engine.addBackend(std::make_shared<WorkspaceBackend>(WorkspaceConfig{workspace, WorkspaceLayout{}, true, runId_}));

  CleanupReport report = engine.cleanup(Selector::forRun(runId_));

  EXPECT_TRUE(report.success) << report.summary();
  ASSERT_EQ(report.agents.size(), 1u) << report.toJson().dump(2);
  const AgentTeardown& agent = report.agents.front();
  EXPECT_EQ(agent.agentId, "a1");
  EXPECT_THAT(agent.resources, ::testing::ElementsAre("tmux/" + session.name, "workspace/a1"));
  EXPECT_TRUE(agent.sessionKilled);
  EXPECT_TRUE(agent.promptDeleted);
  EXPECT_TRUE(agent.logsArchived);
  EXPECT_TRUE(agent.noZombies) << agent.describe();
  EXPECT_THAT(agent.archivedFiles, ::testing::ElementsAre("archive/a1_stream.jsonl"));
  EXPECT_THAT(agent.deletedFiles, ::testing::ElementsAre("agent_prompt_a1.txt"));
  EXPECT_TRUE(std::filesystem::exists(workspace + "/archive/a1_stream.jsonl"));
  expectNothingOfRunLeft();
}

TEST_P(TmuxBackendTest, AProcessSurvivingItsSessionFailsTheAgentsRecordNamingIt) {
  Resource session = createSession("a2", "(trap '' TERM HUP; exec setsid sleep 600) & sleep 600");
  const pid_t pane = panePid(session.name);
  Result<ProcessIdentity> paneId = identityOf(pane);
  ASSERT_TRUE(paneId.ok());
  std::optional<ProcessInfo> escaped;
  ASSERT_TRUE(eventually([&] {
    for (const ProcessInfo& p : descendantsOf(*paneId)) {
      if (p.command == "sleep 600" && p.sid != pane) escaped = p;
    }
    return escaped.has_value();
  })) << "the escaped process did not start";
  CleanupEngine engine = engineWith(300ms);
  engine.options().escalateToForce = false;

  CleanupReport report = engine.cleanup(Selector::forRun(runId_));

  EXPECT_FALSE(report.success);
  ASSERT_EQ(report.agents.size(), 1u) << report.toJson().dump(2);
  EXPECT_FALSE(report.agents[0].sessionKilled);
  EXPECT_THAT(report.agents[0].survivors, Contains(std::to_string(escaped->id.pid) + " sleep 600"));
  EXPECT_THAT(report.summary(), HasSubstr("agent a2: STILL RUNNING (" + std::to_string(escaped->id.pid)));

  engine.options().escalateToForce = true;
  report = engine.cleanup(Selector::forRun(runId_));
  EXPECT_TRUE(report.success) << report.summary();
  ASSERT_EQ(report.agents.size(), 1u);
  EXPECT_TRUE(report.agents[0].sessionKilled) << report.agents[0].describe();
  expectNothingOfRunLeft();
}

TEST_P(TmuxBackendTest, AwaitFinishedReturnsWhenThePaneProcessExits) {
  Resource session = createSession("awaited", "trap 'exit 0' TERM; sleep 600 & wait $!");
  ASSERT_TRUE(backend_->canAwait());
  Result<ResourceStatus> before = backend_->awaitFinished(session, 10s);
  ASSERT_TRUE(before.ok()) << before.error().describe();
  EXPECT_EQ(before->state, ResourceState::Running) << "not stopped: probed once, nothing to wait on";

  ASSERT_TRUE(backend_->requestStop(session, StopMode::Graceful).ok());
  Result<ResourceStatus> after = backend_->awaitFinished(session, 60s);

  ASSERT_TRUE(after.ok()) << after.error().describe();
  EXPECT_EQ(after->state, ResourceState::Gone) << after->status;
  expectNothingOfRunLeft();
}

TEST_P(TmuxBackendTest, AwaitFinishedTimesOutWhileThePaneIgnoresSigterm) {
  Resource session = createSession("stubborn", "trap '' TERM HUP; sleep 600 & wait $!");
  // The shell ignores SIGTERM once its trap ran, i.e. once its `sleep` child exists.
  Result<ProcessIdentity> pane = identityOf(panePid(session.name));
  ASSERT_TRUE(pane.ok());
  ASSERT_TRUE(eventually([&] {
    for (const ProcessInfo& p : descendantsOf(*pane)) {
      if (p.command == "sleep 600") return true;
    }
    return false;
  })) << "the pane's trap did not run";
  ASSERT_TRUE(backend_->requestStop(session, StopMode::Graceful).ok());

  Result<ResourceStatus> status = backend_->awaitFinished(session, 50ms);

  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ(status->state, ResourceState::Stopping);
  ASSERT_TRUE(backend_->requestStop(session, StopMode::Force).ok());
  status = backend_->awaitFinished(session, 60s);
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ(status->state, ResourceState::Gone) << status->status;
  expectNothingOfRunLeft();
}

// Concurrent stops share one pane listing and one /proc scan; a process that
// already left its pane's tree (setsid, parent gone) is found only by its
// environment marker in that shared scan, and must still be signalled.
TEST_P(TmuxBackendTest, ConcurrentStopsSharingScansStillSignalAnEscapedProcess) {
  std::vector<Resource> sessions;
  sessions.push_back(createSession("escaper", "(setsid sleep 600 &); exec sleep 600"));
  for (int i = 0; i < 7; ++i) sessions.push_back(createSession("plain_" + std::to_string(i), "exec sleep 600"));
  Result<ProcessIdentity> pane = identityOf(panePid(sessions.front().name));
  ASSERT_TRUE(pane.ok());
  std::optional<ProcessInfo> escaped;
  ASSERT_TRUE(eventually([&] {
    const std::vector<ProcessInfo> tree = descendantsOf(*pane);
    for (const ProcessInfo& p : processesMarkedWith(runId_)) {
      auto inTree = [&](const ProcessInfo& d) { return d.id == p.id; };
      if (p.command == "sleep 600" && p.sid != pane->pid && std::none_of(tree.begin(), tree.end(), inTree)) escaped = p;
    }
    return escaped.has_value();
  })) << "the escaped process did not start and leave the pane's tree";

  std::vector<Status> stops(sessions.size(), Status::success());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    threads.emplace_back([&, i] { stops[i] = backend_->requestStop(sessions[i], StopMode::Graceful); });
  }
  for (std::thread& t : threads) t.join();

  for (std::size_t i = 0; i < sessions.size(); ++i) {
    EXPECT_TRUE(stops[i].ok()) << sessions[i].name << ": " << stops[i].error().describe();
    Result<ResourceStatus> status = backend_->awaitFinished(sessions[i], 60s);
    ASSERT_TRUE(status.ok()) << status.error().describe();
    EXPECT_EQ(status->state, ResourceState::Gone) << sessions[i].name << ": " << status->status;
  }
  EXPECT_FALSE(exists(escaped->id)) << "the escaped process was not signalled, or not reaped";
  expectNothingOfRunLeft();
}

TEST_P(TmuxBackendTest, NoServerRunningMeansNothingListed) {
  Resource last = createSession("last", "sleep 600");
  ASSERT_TRUE(backend_->requestStop(last, StopMode::Force).ok());
  ASSERT_TRUE(eventually([&] {
    Result<ResourceStatus> s = backend_->probe(last);
    return s.ok() && s->state == ResourceState::Gone;
  }));

  // The server exited with its last session; the socket file is stale.
  Result<std::vector<Resource>> stale = backend_->list(Selector::allRuns());
  ASSERT_TRUE(stale.ok()) << stale.error().describe();
  EXPECT_THAT(*stale, IsEmpty());

  // No socket file at all.
  TmuxBackend elsewhere(configFor(dir_ + "/never-used"));
  Result<std::vector<Resource>> none = elsewhere.list(Selector::allRuns());
  ASSERT_TRUE(none.ok()) << none.error().describe();
  EXPECT_THAT(*none, IsEmpty());
  Result<ResourceStatus> probed = elsewhere.probe(last);
  ASSERT_TRUE(probed.ok()) << probed.error().describe();
  EXPECT_EQ(probed->state, ResourceState::Gone);
  Status stopped = elsewhere.requestStop(last, StopMode::Graceful);
  ASSERT_FALSE(stopped.ok());
  EXPECT_TRUE(stopped.error().isGone()) << stopped.error().describe();
}

TEST_P(TmuxBackendTest, StoppingAVanishedSessionIsGoneAndNamesAreMatchedExactly) {
  Resource longer = createSession("ab", "sleep 600");
  Resource vanished = longer;
  vanished.id = vanished.name = "cr-" + runId_ + "-a";  // a prefix of a live session

  Status stopped = backend_->requestStop(vanished, StopMode::Force);
  ASSERT_FALSE(stopped.ok());
  EXPECT_TRUE(stopped.error().isGone()) << stopped.error().describe();
  Result<ResourceStatus> probed = backend_->probe(vanished);
  ASSERT_TRUE(probed.ok()) << probed.error().describe();
  EXPECT_EQ(probed->state, ResourceState::Gone);

  Result<ResourceStatus> alive = backend_->probe(longer);
  ASSERT_TRUE(alive.ok()) << alive.error().describe();
  EXPECT_EQ(alive->state, ResourceState::Running);
}

TEST_P(TmuxBackendTest, TracesEveryTmuxCallWithoutEnvironmentValues) {
  TraceCapture trace;
  // Ignores SIGTERM, so the session is still there for kill-session.
  Result<Resource> session = backend_->createSession(
      {"traced", "trap '' TERM; sleep 600 & wait $!", "", {{"API_TOKEN", "s3cret"}}, runId_});
  ASSERT_TRUE(session.ok()) << session.error().describe();
  ASSERT_TRUE(backend_->requestStop(*session, StopMode::Force).ok());

  EXPECT_THAT(trace.text(), HasSubstr("step=tmux args=\"new-session -d -s " + session->name));
  EXPECT_THAT(trace.text(), HasSubstr("step=tmux args=\"list-panes -a -F #{session_name} #{pane_pid}\" rc=0 ms="));
  EXPECT_THAT(trace.text(), HasSubstr("-e API_TOKEN=…"));
  EXPECT_THAT(trace.text(), Not(HasSubstr("s3cret")));
  ASSERT_TRUE(eventually([&] { return backend_->probe(*session).value().state == ResourceState::Gone; }));
}

// Fault injection (fail, hang, orphan) exists only in cleanroom-mock-tmux.
class MockTmuxFaultsTest : public TmuxBackendTest {};

TEST_P(MockTmuxFaultsTest, TmuxFailingTwiceIsRetriedByTheEngine) {
  // The stop looks up the session's panes first: that call fails twice.
  createSession("flaky", "sleep 600");
  armMockFault(R"({"fail": 2, "command": "list-panes"})");

  CleanupReport report = engineWith(10s).cleanup(Selector::forRun(runId_));

  EXPECT_TRUE(report.success) << report.toJson().dump(2);
  ASSERT_EQ(report.resources.size(), 1u);
  ASSERT_FALSE(report.resources[0].actions.empty());
  EXPECT_EQ(report.resources[0].actions[0].name, "stop");
  EXPECT_EQ(report.resources[0].actions[0].attempts, 3);
  expectNothingOfRunLeft();
}

TEST_P(MockTmuxFaultsTest, FailedCallIsRetryableAndTheNextOneWorks) {
  createSession("flaky", "sleep 600");
  armMockFault(R"({"fail": 2, "command": "list-sessions"})");

  for (int i = 0; i < 2; ++i) {
    Result<std::vector<Resource>> failed = backend_->list(Selector::forRun(runId_));
    ASSERT_FALSE(failed.ok());
    EXPECT_TRUE(failed.error().isRetryable()) << failed.error().describe();
    EXPECT_THAT(failed.error().message, HasSubstr("server exited unexpectedly"));
  }
  Result<std::vector<Resource>> listed = backend_->list(Selector::forRun(runId_));
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_EQ(listed->size(), 1u);
  CleanupReport report = engineWith(10s).cleanup(Selector::forRun(runId_));
  EXPECT_TRUE(report.success) << report.toJson().dump(2);
}

TEST_P(MockTmuxFaultsTest, HangPastTheCommandTimeoutIsRetryableThenWorks) {
  TmuxConfig impatient = configFor(socket_);
  impatient.commandTimeout = 200ms;
  auto backend = std::make_shared<TmuxBackend>(impatient);
  createSession("slow", "sleep 600");
  armMockFault(R"({"hang_ms": 3000, "command": "list-sessions"})");

  Result<std::vector<Resource>> hung = backend->list(Selector::forRun(runId_));
  ASSERT_FALSE(hung.ok());
  EXPECT_TRUE(hung.error().isRetryable()) << hung.error().describe();
  EXPECT_THAT(hung.error().message, HasSubstr("did not finish within 200ms"));

  Result<std::vector<Resource>> listed = backend->list(Selector::forRun(runId_));
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_EQ(listed->size(), 1u);
  CleanupReport report = engineWith(10s).cleanup(Selector::forRun(runId_));
  EXPECT_TRUE(report.success) << report.toJson().dump(2);
  expectNothingOfRunLeft();
}

TEST_P(MockTmuxFaultsTest, MockOrphanOutlivingKillSessionIsFoundAndKilled) {
  armMockFault(R"({"orphan": 1})");
  Resource session = createSession("orphaned", "sleep 600");
  std::string orphanLine;
  ASSERT_TRUE(eventually([&] {
    std::ifstream in(socket_ + ".orphans");
    return static_cast<bool>(std::getline(in, orphanLine));
  }));
  Result<ProcessIdentity> orphan = identityOf(static_cast<pid_t>(std::stol(orphanLine)));
  ASSERT_TRUE(orphan.ok());

  CleanupReport report = engineWith(10s).cleanup(Selector::forRun(runId_));

  EXPECT_TRUE(report.success) << report.toJson().dump(2);
  EXPECT_TRUE(eventually([&] {
    reapZombieChildren({*orphan});
    return !exists(*orphan);
  }));
  expectNothingOfRunLeft();
}

INSTANTIATE_TEST_SUITE_P(Flavors, TmuxBackendTest, ::testing::ValuesIn(flavors()),
                         [](const ::testing::TestParamInfo<TmuxFlavor>& info) { return info.param.label; });
INSTANTIATE_TEST_SUITE_P(Mock, MockTmuxFaultsTest, ::testing::ValuesIn(mockFlavors()),
                         [](const ::testing::TestParamInfo<TmuxFlavor>& info) { return info.param.label; });

// --- configuration and the command runner (no tmux server needed) ----------

TEST(TmuxConfigTest, AbsentWhenNeitherVariableIsSet) {
  tests::ScopedEnv binary("CLEANROOM_TMUX", std::nullopt);
  tests::ScopedEnv socket("CLEANROOM_TMUX_SOCKET", std::nullopt);
  EXPECT_FALSE(TmuxConfig::fromEnvironment().has_value());
}

TEST(TmuxConfigTest, ReadsBinaryAndSocketFromTheEnvironment) {
  tests::ScopedEnv binary("CLEANROOM_TMUX", "/bin/sh");
  tests::ScopedEnv socket("CLEANROOM_TMUX_SOCKET", "/tmp/somewhere/sock");
  std::optional<Result<TmuxConfig>> config = TmuxConfig::fromEnvironment();
  ASSERT_TRUE(config.has_value());
  ASSERT_TRUE(config->ok()) << config->error().describe();
  EXPECT_EQ(config->value().binary, "/bin/sh");
  EXPECT_EQ(config->value().socketPath, "/tmp/somewhere/sock");
}

TEST(TmuxConfigTest, SocketAloneUsesTmuxFromPath) {
  tests::ScopedEnv binary("CLEANROOM_TMUX", std::nullopt);
  tests::ScopedEnv socket("CLEANROOM_TMUX_SOCKET", "/tmp/somewhere/sock");
  std::optional<Result<TmuxConfig>> config = TmuxConfig::fromEnvironment();
  ASSERT_TRUE(config.has_value() && config->ok());
  EXPECT_EQ(config->value().binary, "tmux");
}

TEST(TmuxConfigTest, RelativeSocketPathIsAnErrorNamingTheVariable) {
  tests::ScopedEnv socket("CLEANROOM_TMUX_SOCKET", "relative/sock");
  std::optional<Result<TmuxConfig>> config = TmuxConfig::fromEnvironment();
  ASSERT_TRUE(config.has_value());
  ASSERT_FALSE(config->ok());
  EXPECT_THAT(config->error().message, HasSubstr("CLEANROOM_TMUX_SOCKET"));
  EXPECT_THAT(config->error().message, HasSubstr("absolute"));
}

TEST(TmuxConfigTest, MissingBinaryPathIsAnErrorNamingTheVariable) {
  tests::ScopedEnv binary("CLEANROOM_TMUX", "/nonexistent/tmux");
  std::optional<Result<TmuxConfig>> config = TmuxConfig::fromEnvironment();
  ASSERT_TRUE(config.has_value());
  ASSERT_FALSE(config->ok());
  EXPECT_THAT(config->error().message, HasSubstr("CLEANROOM_TMUX="));
}

TEST(TmuxBackendUnitTest, BinaryThatCannotRunIsAPermanentError) {
  TmuxConfig config;
  config.binary = "/nonexistent/tmux";
  TmuxBackend backend(config);
  Result<std::vector<Resource>> listed = backend.list(Selector::allRuns());
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(listed.error().message, HasSubstr("/nonexistent/tmux"));
  EXPECT_THAT(listed.error().message, HasSubstr("CLEANROOM_TMUX"));
}

TEST(TmuxBackendUnitTest, ClientPastItsTimeoutIsKilledAndRetryable) {
  std::string dir = makeTempDir();
  const std::string fake = dir + "/tmux";
  {
    std::ofstream script(fake);
    script << "#!/bin/sh\nexec sleep 600\n";
  }
  ::chmod(fake.c_str(), 0700);
  TmuxConfig config;
  config.binary = fake;
  config.socketPath = dir + "/sock";
  config.commandTimeout = 100ms;
  TmuxBackend backend(config);

  Result<TmuxOutput> out = backend.tmux({"list-sessions"});

  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(out.error().isRetryable());
  EXPECT_THAT(out.error().message, HasSubstr("did not finish within 100ms"));
  EXPECT_THAT(describeAll(childrenOfThisProcess()), IsEmpty()) << "the killed client was not reaped";
  std::filesystem::remove_all(dir);
}

TEST(TmuxBackendUnitTest, ClientSeesNeitherTmuxNorTheRunMarker) {
  tests::ScopedEnv insideTmux("TMUX", "/tmp/tmux-0/default,1,0");
  tests::ScopedEnv marker("CLEANROOM_RUN_ID", "abc");
  TmuxConfig config;
  config.binary = "/usr/bin/env";  // prints its environment
  TmuxBackend backend(config);
  Result<TmuxOutput> out = backend.tmux({});
  ASSERT_TRUE(out.ok()) << out.error().describe();
  EXPECT_THAT(out->out, Not(HasSubstr("TMUX=")));
  EXPECT_THAT(out->out, Not(HasSubstr("CLEANROOM_RUN_ID=")));
  EXPECT_THAT(out->out, HasSubstr("PATH="));
}

TEST(TmuxBackendUnitTest, SessionNamesCarryTheRunId) {
  TmuxBackend backend;
  EXPECT_EQ(backend.sessionName("abc123", "agent_1"), "cr-abc123-agent_1");
  EXPECT_EQ(backend.runIdOf("cr-abc123-agent_1"), "abc123");
  EXPECT_EQ(backend.runIdOf("cr-abc123-agent-1"), "abc123");
  EXPECT_EQ(backend.runIdOf("plain"), "");
  EXPECT_EQ(backend.runIdOf("cr-"), "");
  EXPECT_EQ(backend.runIdOf("cr-nodash"), "");
}

TEST(TmuxBackendUnitTest, BadSuffixOrRunIdIsRejectedBeforeTmuxRuns) {
  TmuxConfig config;
  config.binary = "/nonexistent/tmux";  // never reached
  TmuxBackend backend(config);
  for (const std::string& suffix : {std::string(""), std::string("a.b"), std::string("a:b"), std::string("a b")}) {
    Result<Resource> created = backend.createSession({suffix, "sleep 1", "", {}, "abc"});
    ASSERT_FALSE(created.ok()) << suffix;
    EXPECT_EQ(created.error().kind, ErrorKind::Permanent);
    EXPECT_THAT(created.error().message, HasSubstr("suffix"));
  }
  Result<Resource> badRun = backend.createSession({"ok", "sleep 1", "", {}, "bad run"});
  ASSERT_FALSE(badRun.ok());
  EXPECT_THAT(badRun.error().message, HasSubstr("run id"));
}

}  // namespace
}  // namespace cleanroom
