// When a test process dies, nothing it held survives: a real gtest program
// (cleanroom_doomed_suite) holding REST agents with real processes, tmux
// sessions (one with a process that escaped with setsid), a launched process
// and an agent's files is killed. SIGKILL leaves the work to cleanroom-reaper;
// SIGTERM and SIGINT to the fail-safe inside the program. Another run next
// to it is never touched.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cleanroom/child_process.h"
#include "cleanroom/process_tree.h"
#include "cleanroom/run.h"
#include "cleanroom/wait.h"
#include "scoped_env.h"

namespace cleanroom {
namespace {

namespace fs = std::filesystem;
using tests::ScopedEnv;

constexpr milliseconds kTimeout{60000};

// One doomed suite process and what it holds.
struct DoomedRun {
  std::string runId;
  std::unique_ptr<ChildProcess> process;
  std::string socket;
  fs::path workspace;
};

std::vector<std::string> aliveMarkedWith(const std::string& runId) {
  std::vector<std::string> alive;
  for (const ProcessInfo& p : processesMarkedWith(runId)) {
    if (!p.isZombie()) alive.push_back(describe(p));
  }
  return alive;
}

// True when the tmux server on `socket` is gone (no server to connect to).
bool tmuxServerGone(const std::string& socket) {
  auto client = ChildProcess::spawn({"/usr/bin/tmux", "-S", socket, "ls", "-F", "#{session_name}"});
  if (!client) return false;
  while ((*client)->readLine(milliseconds(5000)).ok()) {
  }
  const ChildProcess::Ending ending = (*client)->stop(milliseconds(5000));  // it has ended: collect its status
  return ending.exitStatus == 1;  // "no server running" / "error connecting"
}

class ReaperE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(becomeChildSubreaper());
    std::string pattern = (fs::temp_directory_path() / "cr-reaper-e2e-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    tmpdir_ = std::make_unique<ScopedEnv>("TMPDIR", root_.string());
    journals_ = std::make_unique<ScopedEnv>("CLEANROOM_JOURNAL_DIR", (root_ / "journals").string());
    reaper_ = std::make_unique<ScopedEnv>("CLEANROOM_REAPER", CLEANROOM_REAPER_EXE);
    tmuxBinary_ = std::make_unique<ScopedEnv>("CLEANROOM_TMUX", "/usr/bin/tmux");
  }

  void TearDown() override {
    // Whatever a failed test left: every process of its runs, then our zombies.
    for (const std::string& runId : runIds_) {
      for (const ProcessInfo& p : processesMarkedWith(runId)) (void)signalProcess(p.id, SIGKILL);
    }
    const bool quiet = waitUntil(Clock::system(), Clock::system().now() + kTimeout, AdaptiveWait{}, [&] {
                         std::vector<ProcessIdentity> children;
                         for (const ProcessInfo& p : listProcesses()) {
                           if (p.ppid == ::getpid()) children.push_back(p.id);
                         }
                         reapZombieChildren(children);
                         for (const ProcessInfo& p : listProcesses()) {
                           if (p.ppid == ::getpid()) return false;  // a reaper or server still winding down
                         }
                         return true;
                       }).met;
    EXPECT_TRUE(quiet) << "child processes of the test are still running";
    fs::remove_all(root_);
  }

  // Starts a doomed suite for a fresh run and waits until it holds everything.
  DoomedRun start() {
    DoomedRun run;
    run.runId = "doomed" + run::generateId().substr(0, 6);
    runIds_.push_back(run.runId);
    ScopedEnv runId("CLEANROOM_RUN_ID", run.runId);
    auto spawned = ChildProcess::spawn({CLEANROOM_DOOMED_SUITE});
    if (!spawned) {
      ADD_FAILURE() << spawned.error().describe();
      return run;
    }
    run.process = std::move(spawned).value();
    for (;;) {
      Result<std::string> line = run.process->readLine(kTimeout);
      if (!line) {
        ADD_FAILURE() << "the doomed suite did not get to hold everything: " << line.error().describe();
        return run;
      }
      if (line->rfind("holding ", 0) != 0) continue;  // gtest's own lines
      std::istringstream words(line->substr(8));
      std::string workspace;
      words >> run.socket >> workspace;
      run.workspace = workspace;
      break;
    }
    EXPECT_GE(aliveMarkedWith(run.runId).size(), 6u) << "mock, 2 agents, 2 panes + escapee, launched process";
    EXPECT_FALSE(tmuxServerGone(run.socket));
    return run;
  }

  // Waits until nothing of `run` is alive: no marked process, no tmux
  // server, no prompt file; the log archived.
  ::testing::AssertionResult nothingLeftOf(const DoomedRun& run) {
    const bool gone = waitUntil(Clock::system(), Clock::system().now() + kTimeout, AdaptiveWait{}, [&] {
                        return aliveMarkedWith(run.runId).empty() && !fs::exists(run.workspace / "agent_prompt_a1.txt");
                      }).met;
    if (!gone) {
      std::string alive;
      for (const auto& p : aliveMarkedWith(run.runId)) alive += "\n  " + p;
      return ::testing::AssertionFailure() << "still alive after " << kTimeout.count() << " ms:" << alive
                                           << (fs::exists(run.workspace / "agent_prompt_a1.txt") ? "\n  prompt file" : "");
    }
    if (!waitUntil(Clock::system(), Clock::system().now() + kTimeout, AdaptiveWait{}, [&] {
          return tmuxServerGone(run.socket);
        }).met) {
      return ::testing::AssertionFailure() << "the tmux server on " << run.socket << " is still running";
    }
    if (!fs::exists(run.workspace / "archive" / "a1_stream.jsonl")) {
      return ::testing::AssertionFailure() << "the agent's log was not archived";
    }
    return ::testing::AssertionSuccess();
  }

  void killAndExpectClean(int signal, const std::string& ending) {
    DoomedRun run = start();
    ASSERT_TRUE(run.process);
    ASSERT_EQ(::kill(run.process->pid(), signal), 0);
    // Its end of output is its exit (stop() would send SIGTERM into the sweep).
    while (run.process->readLine(kTimeout).ok()) {
    }
    EXPECT_THAT(run.process->stop(kTimeout).description, ::testing::HasSubstr(ending));
    EXPECT_TRUE(nothingLeftOf(run));
  }

  fs::path root_;
  std::vector<std::string> runIds_;
  std::unique_ptr<ScopedEnv> tmpdir_;
  std::unique_ptr<ScopedEnv> journals_;
  std::unique_ptr<ScopedEnv> reaper_;
  std::unique_ptr<ScopedEnv> tmuxBinary_;
};

TEST_F(ReaperE2E, SigkillIsReapedByTheSidecar) { killAndExpectClean(SIGKILL, "killed by SIGKILL"); }

TEST_F(ReaperE2E, SigtermIsCleanedByTheFailSafe) { killAndExpectClean(SIGTERM, "killed by SIGTERM"); }

TEST_F(ReaperE2E, SigintIsCleanedByTheFailSafe) { killAndExpectClean(SIGINT, "killed by SIGINT"); }

TEST_F(ReaperE2E, ARunNextToTheKilledOneIsUntouched) {
  DoomedRun killed = start();
  DoomedRun survivor = start();
  ASSERT_TRUE(killed.process && survivor.process);
  const std::size_t survivorHeld = aliveMarkedWith(survivor.runId).size();

  ASSERT_EQ(::kill(killed.process->pid(), SIGKILL), 0);
  (void)killed.process->stop(kTimeout);
  EXPECT_TRUE(nothingLeftOf(killed));

  EXPECT_EQ(aliveMarkedWith(survivor.runId).size(), survivorHeld) << "the other run lost processes";
  EXPECT_FALSE(tmuxServerGone(survivor.socket));
  EXPECT_TRUE(fs::exists(survivor.workspace / "agent_prompt_a1.txt"));

  ASSERT_EQ(::kill(survivor.process->pid(), SIGTERM), 0);
  (void)survivor.process->stop(kTimeout);
  EXPECT_TRUE(nothingLeftOf(survivor));
}

}  // namespace
}  // namespace cleanroom
