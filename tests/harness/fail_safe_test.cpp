// The fail-safe, tested on real processes: a probe program launches two
// `sleep 600` children, installs the fail-safe and then ends by exit(),
// by returning from main, or by a signal. Whatever way it ends, its children
// are gone afterwards — except after SIGKILL, which no process can catch
// (that is the reaper's job), as the last test shows.
#include "cleanroom/fail_safe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "cleanroom/child_process.h"
#include "cleanroom/process_tree.h"
#include "cleanroom/run.h"
#include "cleanroom/wait.h"
#include "scoped_env.h"

namespace cleanroom {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tests::ScopedEnv;

constexpr milliseconds kTimeout{20000};

struct Probe {
  std::unique_ptr<ChildProcess> process;
  std::vector<ProcessIdentity> children;
};

class FailSafeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(becomeChildSubreaper());
    std::string pattern = (fs::temp_directory_path() / "cr-fail-safe-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    runId_ = run::generateId();
    runEnv_ = std::make_unique<ScopedEnv>("CLEANROOM_RUN_ID", runId_);
    journalEnv_ = std::make_unique<ScopedEnv>("CLEANROOM_JOURNAL_DIR", dir_.string());
  }

  void TearDown() override {
    // Whatever a failed test left: kill and reap by identity.
    for (const ProcessInfo& p : processesMarkedWith(runId_)) (void)signalProcess(p.id, SIGKILL);
    const bool reaped = waitUntil(Clock::system(), Clock::system().now() + kTimeout, AdaptiveWait{}, [&] {
                          std::vector<ProcessIdentity> mine;
                          for (const ProcessInfo& p : listProcesses()) {
                            if (p.ppid == ::getpid()) mine.push_back(p.id);
                          }
                          reapZombieChildren(mine);
                          return processesMarkedWith(runId_).empty();
                        }).met;
    EXPECT_TRUE(reaped) << "processes of the probe's run are still alive";
    fs::remove_all(dir_);
  }

  // Starts the probe and reads its "ready PID PID" line.
  Probe start(const std::string& mode) {
    Probe probe;
    auto spawned = ChildProcess::spawn({CLEANROOM_FAIL_SAFE_PROBE, mode});
    if (!spawned) {
      ADD_FAILURE() << spawned.error().describe();
      return probe;
    }
    probe.process = std::move(spawned).value();
    Result<std::string> ready = probe.process->readLine(kTimeout);
    if (!ready || ready->rfind("ready ", 0) != 0) {
      ADD_FAILURE() << "the probe did not get ready: " << (ready ? *ready : ready.error().describe());
      return probe;
    }
    std::istringstream ids(ready->substr(6));
    for (std::string id; ids >> id;) {
      if (auto identity = ProcessIdentity::parse(id)) probe.children.push_back(*identity);
    }
    EXPECT_EQ(probe.children.size(), 2u) << *ready;
    for (const auto& child : probe.children) EXPECT_TRUE(isAlive(child)) << child.text();
    return probe;
  }

  // Reads the probe's stdout to its end (lines into `lines`, if given);
  // returns how it ended.
  static std::string ending(Probe& probe, std::vector<std::string>* lines = nullptr) {
    for (;;) {
      Result<std::string> line = probe.process->readLine(kTimeout);
      if (line.ok()) {
        if (lines) lines->push_back(*line);
        continue;
      }
      return line.error().message;
    }
  }

  static bool anyAlive(const Probe& probe) {
    for (const auto& child : probe.children) {
      if (isAlive(child)) return true;
    }
    return false;
  }

  fs::path dir_;
  std::string runId_;
  std::unique_ptr<ScopedEnv> runEnv_;
  std::unique_ptr<ScopedEnv> journalEnv_;
};

TEST_F(FailSafeTest, ExitCleansWhatTheProcessLaunched) {
  Probe probe = start("exit");
  ASSERT_EQ(probe.children.size(), 2u);
  EXPECT_THAT(ending(probe), HasSubstr("exited with status 0"));
  EXPECT_FALSE(anyAlive(probe));
  EXPECT_FALSE(fs::exists(dir_ / (runId_ + ".jsonl"))) << "a clean run's journal is removed";
}

TEST_F(FailSafeTest, RegisteredCleanupsRunBeforeTheSweep) {
  for (const auto& [mode, trigger] : {std::pair{"exit", "exit"}, std::pair{"wait", "SIGTERM"}}) {
    Probe probe = start(mode);
    ASSERT_EQ(probe.children.size(), 2u) << mode;
    if (std::string(mode) == "wait") {
      ASSERT_EQ(::kill(probe.process->pid(), SIGTERM), 0);
    }
    std::vector<std::string> lines;
    (void)ending(probe, &lines);
    EXPECT_THAT(lines, ::testing::Contains(std::string("before-sweep trigger=") + trigger + " children-alive=2"))
        << "the registered cleanup ran before the sweep stopped the children";
    EXPECT_FALSE(anyAlive(probe)) << mode;
  }
}

TEST_F(FailSafeTest, ReturningFromMainCleansToo) {
  Probe probe = start("return");
  ASSERT_EQ(probe.children.size(), 2u);
  EXPECT_THAT(ending(probe), HasSubstr("exited with status 0"));
  EXPECT_FALSE(anyAlive(probe));
}

TEST_F(FailSafeTest, EachSignalCleansAndStillEndsTheProcessWithThatSignal) {
  for (const auto& [signal, name] : {std::pair{SIGTERM, "SIGTERM"}, std::pair{SIGINT, "SIGINT"},
                                     std::pair{SIGHUP, "SIGHUP"}}) {
    Probe probe = start("wait");
    ASSERT_EQ(probe.children.size(), 2u) << name;
    ASSERT_EQ(::kill(probe.process->pid(), signal), 0);
    EXPECT_THAT(ending(probe), HasSubstr(std::string("killed by ") + name));
    EXPECT_FALSE(anyAlive(probe)) << name;
  }
}

TEST_F(FailSafeTest, SigkillCannotBeCaughtSoTheChildrenSurviveIt) {
  Probe probe = start("wait");
  ASSERT_EQ(probe.children.size(), 2u);
  ASSERT_EQ(::kill(probe.process->pid(), SIGKILL), 0);
  EXPECT_THAT(probe.process->stop(kTimeout).description, HasSubstr("killed by SIGKILL"));
  EXPECT_TRUE(anyAlive(probe)) << "nothing ran in the killed process: cleanroom-reaper's case";
  EXPECT_TRUE(fs::exists(dir_ / (runId_ + ".jsonl"))) << "the journal stays for the reaper";
}

TEST(FailSafeUnitTest, NotInstalledMeansNothingRuns) {
  EXPECT_FALSE(failSafeArmed());
  EXPECT_FALSE(runFailSafe("test").has_value());
}

}  // namespace
}  // namespace cleanroom
