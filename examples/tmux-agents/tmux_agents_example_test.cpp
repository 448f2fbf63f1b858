// The tmux-agents example: a gtest suite for a system that runs each CLI agent
// in a tmux session, hands it a prompt file and lets it write JSONL logs into
// a task workspace — copy it and replace agent.sh with your launcher.
//
// What it shows:
//  - one CleanupEngine for the suite with a TmuxBackend (on a private tmux
//    socket, never your default server) and a WorkspaceBackend (the prompt
//    files and logs);
//  - SetUp checks that nothing of this run is still alive (a session, a
//    process that left it, a prompt file or a log); TearDown stops the
//    agents (SIGTERM, forced after the grace period), then archives their
//    logs and deletes their prompt files, and fails the test if anything
//    survives;
//  - the order of that cleanup comes from the engine: sessions and their
//    processes are the Agents stage, files the Files stage, so no log is
//    archived while its agent still writes to it;
//  - the per-agent record of the report (session killed, prompt deleted,
//    logs archived, no zombies, archived files) — what hand-written
//    teardowns used to return;
//  - no sleeps and no timing thresholds: waits end on the event (the first
//    log line, the session ending), teardown ends when the agents are gone.
//
// Run: ./cleanroom_example_tmux_agents
// CLEANROOM_TMUX=path/to/cleanroom-mock-tmux runs it against the mock;
// CLEANROOM_EXAMPLE_EXIT_DELAY_MS="1000,3000" makes agents take 1–3 s to exit
// after SIGTERM, like real CLI agents (default 300).
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cleanroom/backends/tmux_backend.h"
#include "cleanroom/backends/workspace_backend.h"
#include "cleanroom/fail_safe.h"
#include "cleanroom/fixtures.h"
#include "cleanroom/process_tree.h"
#include "cleanroom/run.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using cleanroom::AgentCleanupOptions;
using cleanroom::AgentCleanupResult;
using cleanroom::CleanupEngine;
using cleanroom::Clock;
using cleanroom::IsolationViolation;
using cleanroom::ProcessIdentity;
using cleanroom::ProcessInfo;
using cleanroom::Resource;
using cleanroom::Selector;
using cleanroom::TmuxBackend;
using cleanroom::WorkspaceBackend;

constexpr const char* kTmuxVariable = "CLEANROOM_TMUX";
constexpr const char* kExitDelayVariable = "CLEANROOM_EXAMPLE_EXIT_DELAY_MS";

// Upper bound for waits on events that normally take milliseconds; a wait
// ends the moment its event happens.
constexpr std::chrono::milliseconds kEventTimeout = 30s;

// The agent: writes a JSONL line to its stream log and its progress log every
// ~100 ms, LINES times, then a "done" line, and exits. On SIGTERM it writes a
// "stopping" line, takes EXIT_DELAY seconds to wind down (like a CLI agent
// flushing its state) and writes a final "exit" line. With `ignore-term` it
// ignores SIGTERM (and so do its children) and has to be killed.
// `sleep … & wait $!` lets the trap run the moment the signal arrives (a
// foreground sleep would delay it until the sleep ends).
constexpr const char* kAgentScript = R"(#!/bin/sh
# agent.sh ID WORKSPACE LINES EXIT_DELAY_SECONDS term|ignore-term
id=$1 ws=$2 lines=$3 exit_delay=$4 on_term=$5
stream="$ws/logs/${id}_stream.jsonl"
progress="$ws/progress/${id}_progress.jsonl"
mkdir -p "$ws/logs" "$ws/progress"
n=0
log() { printf '{"agent":"%s","seq":%d,"event":"%s"}\n' "$id" "$n" "$1" >> "$stream"; }
stop() {
  log stopping
  sleep "$exit_delay"
  log exit
  printf '{"agent":"%s","seq":%d,"state":"stopped"}\n' "$id" "$n" >> "$progress"
  exit 143
}
if [ "$on_term" = ignore-term ]; then trap '' TERM; else trap stop TERM; fi
log start
while [ "$n" -lt "$lines" ]; do
  n=$((n + 1))
  log output
  printf '{"agent":"%s","seq":%d,"state":"working"}\n' "$id" "$n" >> "$progress"
  sleep 0.1 & wait $!
done
log done
printf '{"agent":"%s","seq":%d,"state":"done"}\n' "$id" "$n" >> "$progress"
)";

// How a launched agent behaves.
struct AgentBehavior {
  int lines = 300;              // ~100 ms each; 300 ≈ 30 s, longer than any test
  bool ignoreSigterm = false;   // trap '' TERM: only SIGKILL stops it
};

// Returns the exit delays CLEANROOM_EXAMPLE_EXIT_DELAY_MS allows, in ms:
// "N" → {N, N}, "MIN,MAX" → {MIN, MAX}; default {300, 300}.
std::pair<int, int> exitDelayRangeMs() {
  const char* text = std::getenv(kExitDelayVariable);
  const std::string value = text != nullptr && *text != '\0' ? text : "300";
  try {
    const auto comma = value.find(',');
    const int low = std::stoi(value.substr(0, comma));
    const int high = comma == std::string::npos ? low : std::stoi(value.substr(comma + 1));
    if (low < 0 || high < low) throw std::invalid_argument("range");
    return {low, high};
  } catch (const std::exception&) {
    throw std::invalid_argument(std::string(kExitDelayVariable) + "=" + value +
                                " is not valid: use milliseconds, e.g. 300 or 1000,3000");
  }
}

// Returns one agent's exit delay in seconds for sleep(1), e.g. "0.300".
std::string pickExitDelaySeconds() {
  static std::mt19937 random{std::random_device{}()};
  const auto [low, high] = exitDelayRangeMs();
  const int ms = std::uniform_int_distribution<int>(low, high)(random);
  char text[32];
  std::snprintf(text, sizeof text, "%d.%03d", ms / 1000, ms % 1000);
  return text;
}

std::string makeTempDir(const std::string& stem) {
  std::string pattern = (fs::temp_directory_path() / (stem + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  return pattern;
}

// Returns `text` quoted for sh (the paths here come from mkdtemp).
std::string shellQuoted(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::vector<std::string> readLines(const fs::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Waits (adaptive polling, no fixed sleep) until `condition` holds or
// kEventTimeout passes; returns whether it held.
bool waitFor(const std::function<bool()>& condition) {
  Clock& clock = Clock::system();
  return cleanroom::waitUntil(clock, clock.now() + kEventTimeout, cleanroom::AdaptiveWait{}, condition).met;
}

std::vector<ProcessInfo> childrenOfThisProcess() {
  std::vector<ProcessInfo> children;
  for (const ProcessInfo& p : cleanroom::listProcesses()) {
    if (p.ppid == ::getpid()) children.push_back(p);
  }
  return children;
}

class TmuxAgentsExample : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The tmux server daemonizes and pane processes may escape their
    // session: as a child subreaper this process inherits both instead of
    // PID 1 (which in a container may never reap them), and reaps them.
    ASSERT_TRUE(cleanroom::becomeChildSubreaper()) << "PR_SET_CHILD_SUBREAPER was refused";
    tempDir_ = makeTempDir("cr-tmux-agents");
    workspace_ = tempDir_ + "/workspace";
    fs::create_directories(workspace_);
    agentScript_ = tempDir_ + "/agent.sh";
    std::ofstream(agentScript_) << kAgentScript;
    // Agent ids (and so session names) are unique to this process, so two
    // copies of the suite sharing a CLEANROOM_RUN_ID (ctest -j in one CI job)
    // never mistake each other's agents for their own.
    suiteToken_ = cleanroom::run::generateId().substr(0, 4);

    cleanroom::TmuxConfig tmuxConfig;
    const char* binary = std::getenv(kTmuxVariable);
    tmuxConfig.binary = binary != nullptr && *binary != '\0' ? binary : "tmux";
    tmuxConfig.socketPath = tempDir_ + "/sock";  // a private server, never the user's
    tmux_ = std::make_shared<TmuxBackend>(tmuxConfig);

    cleanroom::WorkspaceConfig workspaceConfig;
    workspaceConfig.root = workspace_;
    files_ = std::make_shared<WorkspaceBackend>(workspaceConfig);

    // One engine for the suite: isolation checks see sessions and files in
    // one listing, and cleanup stops the sessions before it touches files.
    engine_ = std::make_shared<CleanupEngine>();
    engine_->addBackend(tmux_);
    engine_->addBackend(files_);
    // If the suite is interrupted (Ctrl-C, a CI timeout's SIGTERM) or exits
    // early, this run's sessions, processes and files are cleaned anyway.
    cleanroom::installFailSafe({.engine = engine_});
  }

  static void TearDownTestSuite() {
    if (tempDir_.empty()) return;
    // The last sweep (nothing should be left after TearDown); a clean one
    // also removes the run's journal.
    (void)cleanroom::runFailSafe("suite teardown", /*endServices=*/false);
    // Whatever survived a failed test: the server and the processes of this
    // run. Remember them before killing the server, reap them after.
    // Agents are recognised by their script's path, unique to this process
    // (another copy of the suite may share CLEANROOM_RUN_ID).
    const auto ourAgents = [] {
      std::vector<ProcessInfo> agents;
      for (const ProcessInfo& p : cleanroom::processesMarkedWith(cleanroom::run::id())) {
        if (p.command.find(agentScript_) != std::string::npos) agents.push_back(p);
      }
      return agents;
    };
    std::vector<ProcessIdentity> ours;
    for (const ProcessInfo& p : childrenOfThisProcess()) ours.push_back(p.id);
    for (const ProcessInfo& p : ourAgents()) ours.push_back(p.id);
    if (tmux_) (void)tmux_->tmux({"kill-server"});
    for (const ProcessInfo& p : ourAgents()) (void)cleanroom::signalProcess(p.id, SIGKILL);
    // The exited server (and any pane process it did not reap) is our
    // zombie child now: reap it by pid, and whatever is re-parented meanwhile.
    const bool reaped = waitFor([&] {
      for (const ProcessInfo& p : childrenOfThisProcess()) ours.push_back(p.id);
      cleanroom::reapZombieChildren(ours);
      const bool gone = std::none_of(ours.begin(), ours.end(),
                                     [](const ProcessIdentity& id) { return cleanroom::exists(id); });
      return gone && childrenOfThisProcess().empty();
    });
    if (!reaped) std::cerr << "tmux-agents example: tmux server or agent processes did not go away\n";
    engine_.reset();
    tmux_.reset();
    files_.reset();
    std::error_code ignored;
    fs::remove_all(tempDir_, ignored);
    tempDir_.clear();
  }

  void SetUp() override {
    // Nothing of this run may be alive before a test starts.
    try {
      cleanroom::verifyTestIsolation(*engine_, Selector::thisRun().activeOnly());
    } catch (const IsolationViolation& violation) {
      FAIL() << violation.what();  // the test body is skipped
    }
  }

  void TearDown() override {
    const AgentCleanupResult cleanup = cleanupAgents();
    EXPECT_TRUE(cleanup.success) << cleanup.report.summary();
  }

  // Stops every agent of this run (returns when every session and every
  // process that left it is gone, forcing after processExitDelay), THEN
  // archives their logs and deletes their prompt files: the workspace
  // backend is in the engine's Files stage. In parallel, a log could be
  // archived while its agent — still winding down after SIGTERM — appends
  // its last line to it.
  static AgentCleanupResult cleanupAgents() {
    AgentCleanupOptions options;
    options.processExitDelay = gracePeriod();
    return cleanroom::cleanupRealAgents(*engine_, options);
  }

  // Returns the report's record of `agentId`, or nullptr.
  static const cleanroom::AgentTeardown* teardownOf(const AgentCleanupResult& cleanup, const std::string& agentId) {
    for (const cleanroom::AgentTeardown& agent : cleanup.report.agents) {
      if (agent.agentId == agentId) return &agent;
    }
    return nullptr;
  }

  // How long a stopped agent may take to exit before it is forced: about a
  // second, more when CLEANROOM_EXAMPLE_EXIT_DELAY_MS makes agents slower.
  // An upper bound: cleanup moves on the moment the agents are gone.
  static std::chrono::milliseconds gracePeriod() {
    return std::max<std::chrono::milliseconds>(1s, std::chrono::milliseconds(exitDelayRangeMs().second) + 700ms);
  }

  // Launches an agent the way agent systems do: writes its prompt file, then
  // starts it in a tmux session `cr-<run id>-<agent id>` running agent.sh.
  // Returns the session, or the error of createSession.
  static cleanroom::Result<Resource> launchAgent(const std::string& agentId, const AgentBehavior& behavior = {}) {
    std::ofstream(promptFile(agentId)) << "Summarise the repository and list open questions.\n";
    cleanroom::TmuxSessionSpec spec;
    spec.suffix = agentId;
    spec.cwd = workspace_;
    spec.command = "exec /bin/sh " + shellQuoted(agentScript_) + " " + shellQuoted(agentId) + " " +
                   shellQuoted(workspace_) + " " + std::to_string(behavior.lines) + " " + pickExitDelaySeconds() +
                   (behavior.ignoreSigterm ? " ignore-term" : " term");
    return tmux_->createSession(spec);
  }

  // Returns a name unique to this test process, e.g. "batch-1-3fa9".
  static std::string agentId(const std::string& name) { return name + "-" + suiteToken_; }

  static fs::path promptFile(const std::string& agentId) {
    return fs::path(workspace_) / ("agent_prompt_" + agentId + ".txt");
  }
  static fs::path streamLog(const std::string& agentId) {
    return fs::path(workspace_) / "logs" / (agentId + "_stream.jsonl");
  }
  static fs::path archivedStreamLog(const std::string& agentId) {
    return fs::path(workspace_) / "archive" / (agentId + "_stream.jsonl");
  }

  // Waits until the agent has written its first log line (its SIGTERM trap
  // is installed by then). Returns whether it did.
  static bool waitUntilStarted(const std::string& agentId) {
    return waitFor([&] { return !readLines(streamLog(agentId)).empty(); });
  }

  static TmuxBackend& tmux() { return *tmux_; }
  static CleanupEngine& engine() { return *engine_; }

 private:
  static inline std::string tempDir_;
  static inline std::string workspace_;
  static inline std::string agentScript_;
  static inline std::string suiteToken_;
  static inline std::shared_ptr<TmuxBackend> tmux_;
  static inline std::shared_ptr<WorkspaceBackend> files_;
  static inline std::shared_ptr<CleanupEngine> engine_;
};

TEST_F(TmuxAgentsExample, SeveralAgentsAreStoppedByTearDown) {
  for (int i = 1; i <= 4; ++i) {
    auto session = launchAgent(agentId("left-running-" + std::to_string(i)));
    ASSERT_TRUE(session.ok()) << session.error().describe();
  }
  cleanroom::Inventory alive = engine().list(Selector::thisRun().activeOnly());
  ASSERT_TRUE(alive.ok()) << alive.errors.front();
  // Four sessions and four agents with files.
  EXPECT_EQ(alive.resources.size(), 8u);
  // Nothing else to do: TearDown stops all four, then archives their logs.
}

TEST_F(TmuxAgentsExample, StoppedAgentsLeaveTheirLogsInTheArchive) {
  std::vector<std::string> ids;
  for (int i = 1; i <= 4; ++i) {
    ids.push_back(agentId("batch-" + std::to_string(i)));
    auto session = launchAgent(ids.back());
    ASSERT_TRUE(session.ok()) << session.error().describe();
  }
  for (const std::string& id : ids) ASSERT_TRUE(waitUntilStarted(id)) << id << " wrote no log line";

  const AgentCleanupResult cleanup = cleanupAgents();
  ASSERT_TRUE(cleanup.success) << cleanup.report.summary();
  EXPECT_EQ(cleanup.cleaned, 8) << "four sessions, four agents' files";
  EXPECT_EQ(cleanup.report.totals.forced, 0) << "the agents exit by themselves after SIGTERM";

  for (const std::string& id : ids) {
    // The record hand-written teardowns used to return, per agent.
    const cleanroom::AgentTeardown* teardown = teardownOf(cleanup, id);
    ASSERT_NE(teardown, nullptr) << id;
    EXPECT_TRUE(teardown->success()) << teardown->describe();
    EXPECT_TRUE(teardown->sessionKilled && teardown->promptDeleted && teardown->logsArchived) << teardown->describe();
    EXPECT_TRUE(teardown->noZombies) << teardown->describe();
    EXPECT_THAT(teardown->archivedFiles, ::testing::Contains("archive/" + id + "_stream.jsonl"));
    EXPECT_FALSE(fs::exists(promptFile(id))) << id;
    EXPECT_FALSE(fs::exists(streamLog(id))) << id;
    const std::vector<std::string> archived = readLines(archivedStreamLog(id));
    ASSERT_FALSE(archived.empty()) << archivedStreamLog(id) << " is missing or empty";
    // The line the agent wrote last, after its exit delay, made it in.
    EXPECT_NE(archived.back().find(R"("event":"exit")"), std::string::npos) << id << ": " << archived.back();
  }
}

TEST_F(TmuxAgentsExample, AgentIgnoringSigtermIsForced) {
  const std::string stubborn = agentId("ignores-sigterm");
  auto session = launchAgent(stubborn, {.ignoreSigterm = true});
  ASSERT_TRUE(session.ok()) << session.error().describe();
  auto polite = launchAgent(agentId("polite"));
  ASSERT_TRUE(polite.ok()) << polite.error().describe();
  ASSERT_TRUE(waitUntilStarted(stubborn));
  ASSERT_TRUE(waitUntilStarted(agentId("polite")));

  const AgentCleanupResult cleanup = cleanupAgents();
  ASSERT_TRUE(cleanup.success) << cleanup.report.summary();
  ASSERT_EQ(cleanup.report.resources.size(), 4u) << "two sessions, two agents' files";
  for (const cleanroom::ResourceReport& resource : cleanup.report.resources) {
    // Only the session that ignored SIGTERM needed SIGKILL.
    EXPECT_EQ(resource.forced, resource.id == session->id) << resource.ref();
  }
  const std::vector<std::string> archived = readLines(archivedStreamLog(stubborn));
  ASSERT_FALSE(archived.empty());
  EXPECT_EQ(archived.back().find(R"("event":"exit")"), std::string::npos) << "it never ran a TERM handler";
}

TEST_F(TmuxAgentsExample, WaitForAnAgentThatFinishesByItself) {
  const std::string id = agentId("short-task");
  auto session = launchAgent(id, {.lines = 5});
  ASSERT_TRUE(session.ok()) << session.error().describe();

  // The session ends when the agent's script exits: wait on the backend's
  // own answer, not on a guess of how long the task takes.
  cleanroom::ResourceStatus last;
  const bool finished = waitFor([&] {
    auto probe = tmux().probe(*session);
    if (!probe.ok()) return false;
    last = *probe;
    return cleanroom::isFinished(last.state);
  });
  ASSERT_TRUE(finished) << session->name << " is still " << last.status;

  const std::vector<std::string> lines = readLines(streamLog(id));
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find(R"("event":"done")"), std::string::npos) << lines.back();
  // Its prompt file and logs are still there: TearDown archives them.
}

TEST_F(TmuxAgentsExample, LeftoverFromAnEarlierTestIsNamed) {
  // What a test that forgot its cleanup leaves for the next one.
  const std::string id = agentId("forgotten");
  auto session = launchAgent(id);
  ASSERT_TRUE(session.ok()) << session.error().describe();

  std::string message;
  EXPECT_THROW(
      {
        try {
          cleanroom::verifyTestIsolation(engine(), Selector::thisRun().activeOnly());
        } catch (const IsolationViolation& violation) {
          message = violation.what();
          throw;
        }
      },
      IsolationViolation);
  const std::string sessionName = tmux().sessionName(cleanroom::run::id(), id);
  EXPECT_EQ(sessionName, session->name);
  EXPECT_NE(message.find("tmux/" + sessionName), std::string::npos) << message;
  EXPECT_NE(message.find(promptFile(id).filename().string()), std::string::npos) << message;

  // Cleaning up makes the check pass again.
  const AgentCleanupResult cleanup = cleanupAgents();
  ASSERT_TRUE(cleanup.success) << cleanup.report.summary();
  EXPECT_NO_THROW(cleanroom::verifyTestIsolation(engine(), Selector::thisRun().activeOnly()));
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Prints the cleanroom trace of a failed test only.
  cleanroom::gtest::installCleanupTraceListener();
  return RUN_ALL_TESTS();
}
