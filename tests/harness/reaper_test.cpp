// cleanroom-reaper, tested on real processes: a probe program (the "test
// process") launches two `sleep 600` children and installs the fail-safe;
// the probe is then SIGKILLed — nothing runs in it — and the reaper, which
// watched it through a pidfd, cleans up.
#include "cleanroom/reaper.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cleanroom/child_process.h"
#include "cleanroom/journal.h"
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

class ReaperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(becomeChildSubreaper());
    std::string pattern = (fs::temp_directory_path() / "cr-reaper-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    runId_ = run::generateId();
    runEnv_ = std::make_unique<ScopedEnv>("CLEANROOM_RUN_ID", runId_);
    journalEnv_ = std::make_unique<ScopedEnv>("CLEANROOM_JOURNAL_DIR", dir_.string());
    reaperEnv_ = std::make_unique<ScopedEnv>("CLEANROOM_REAPER", CLEANROOM_REAPER_EXE);
  }

  void TearDown() override {
    for (const ProcessInfo& p : processesMarkedWith(runId_)) (void)signalProcess(p.id, SIGKILL);
    const bool reaped = waitUntil(Clock::system(), Clock::system().now() + kTimeout, AdaptiveWait{}, [&] {
                          std::vector<ProcessIdentity> mine;
                          for (const ProcessInfo& p : listProcesses()) {
                            if (p.ppid == ::getpid()) mine.push_back(p.id);
                          }
                          reapZombieChildren(mine);
                          for (const ProcessInfo& p : listProcesses()) {
                            if (p.ppid == ::getpid()) return false;
                          }
                          return processesMarkedWith(runId_).empty();
                        }).met;
    EXPECT_TRUE(reaped) << "processes of the run (or reapers) are still alive";
    fs::remove_all(dir_);
  }

  // Starts the probe in `mode`; returns it and the ids on its ready line.
  std::unique_ptr<ChildProcess> startProbe(const std::string& mode, std::vector<std::string>& ready) {
    auto spawned = ChildProcess::spawn({CLEANROOM_FAIL_SAFE_PROBE, mode});
    if (!spawned) {
      ADD_FAILURE() << spawned.error().describe();
      return nullptr;
    }
    std::unique_ptr<ChildProcess> probe = std::move(spawned).value();
    Result<std::string> line = probe->readLine(kTimeout);
    if (!line || line->rfind("ready ", 0) != 0) {
      ADD_FAILURE() << "the probe did not get ready: " << (line ? *line : line.error().describe());
      return probe;
    }
    std::istringstream words(line->substr(6));
    for (std::string word; words >> word;) ready.push_back(word);
    return probe;
  }

  static std::vector<ProcessIdentity> sleepers(const std::vector<std::string>& ready) {
    std::vector<ProcessIdentity> ids;
    for (const auto& word : ready) {
      if (auto id = ProcessIdentity::parse(word)) ids.push_back(*id);
    }
    return ids;
  }

  static std::unique_ptr<ChildProcess> startReaper(pid_t watched, const std::string& runId) {
    auto spawned = ChildProcess::spawn(
        {CLEANROOM_REAPER_EXE, "--watch-pid", std::to_string(watched), "--run-id", runId, "--grace", "2s"});
    if (!spawned) {
      ADD_FAILURE() << spawned.error().describe();
      return nullptr;
    }
    return std::move(spawned).value();
  }

  static std::string restOf(ChildProcess& process) {
    std::string text;
    for (;;) {
      Result<std::string> line = process.readLine(kTimeout);
      if (!line) return text + "[" + line.error().message + "]";
      text += *line + "\n";
    }
  }

  fs::path dir_;
  std::string runId_;
  std::unique_ptr<ScopedEnv> runEnv_;
  std::unique_ptr<ScopedEnv> journalEnv_;
  std::unique_ptr<ScopedEnv> reaperEnv_;
};

TEST_F(ReaperTest, ASigkilledTestProcessIsReapedAfterItDies) {
  std::vector<std::string> ready;
  auto probe = startProbe("wait", ready);
  ASSERT_TRUE(probe);
  const auto children = sleepers(ready);
  ASSERT_EQ(children.size(), 2u);
  auto reaper = startReaper(probe->pid(), runId_);
  ASSERT_TRUE(reaper);
  Result<std::string> watching = reaper->readLine(kTimeout);
  ASSERT_TRUE(watching.ok()) << watching.error().describe();
  EXPECT_EQ(*watching, "watching pid " + std::to_string(probe->pid()) + " for run " + runId_);
  for (const auto& child : children) EXPECT_TRUE(isAlive(child)) << "reaped while the test process lives";

  ASSERT_EQ(::kill(probe->pid(), SIGKILL), 0);
  EXPECT_THAT(probe->stop(kTimeout).description, HasSubstr("killed by SIGKILL"));

  const std::string output = restOf(*reaper);
  EXPECT_THAT(output, HasSubstr("2 found, 2 cleaned, 0 remaining"));
  EXPECT_THAT(output, HasSubstr("[it closed its output"));
  EXPECT_THAT(output, HasSubstr("exited with status 0"));
  for (const auto& child : children) EXPECT_FALSE(isAlive(child)) << child.text();
  EXPECT_FALSE(fs::exists(dir_ / (runId_ + ".jsonl"))) << "nothing left: the journal is removed";
}

TEST_F(ReaperTest, TheEnvironmentsLaunchedReaperCleansAfterSigkill) {
  std::vector<std::string> ready;
  auto probe = startProbe("reaper", ready);
  ASSERT_TRUE(probe);
  const auto children = sleepers(ready);
  ASSERT_EQ(children.size(), 2u);
  ASSERT_EQ(ready.size(), 3u);
  ASSERT_EQ(ready[2].rfind("reaper=", 0), 0u) << ready[2];
  const pid_t reaperPid = static_cast<pid_t>(std::stol(ready[2].substr(7)));
  Result<ProcessIdentity> reaper = identityOf(reaperPid);
  ASSERT_TRUE(reaper.ok()) << "the reaper is not running";
  Result<ProcessInfo> info = readProcess(reaperPid);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->sid, reaperPid) << "the reaper runs in a session of its own";

  ASSERT_EQ(::kill(probe->pid(), SIGKILL), 0);
  (void)probe->stop(kTimeout);
  // The reaper ends by itself once it has cleaned up.
  EXPECT_TRUE(awaitExit({*reaper}, kTimeout).empty()) << "the reaper outlived its job";
  for (const auto& child : children) EXPECT_FALSE(isAlive(child)) << child.text();
}

TEST_F(ReaperTest, ASecondReaperForTheSameRunStepsAside) {
  std::vector<std::string> ready;
  auto probe = startProbe("wait", ready);
  ASSERT_TRUE(probe);
  auto first = startReaper(probe->pid(), runId_);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->readLine(kTimeout).ok());
  auto second = startReaper(probe->pid(), runId_);
  ASSERT_TRUE(second);
  const std::string output = restOf(*second);
  EXPECT_THAT(output, HasSubstr("another reaper already watches run " + runId_));
  EXPECT_THAT(output, HasSubstr("exited with status 0"));

  ASSERT_EQ(::kill(probe->pid(), SIGTERM), 0);  // the fail-safe cleans, the reaper finds nothing
  (void)probe->stop(kTimeout);
  EXPECT_THAT(restOf(*first), HasSubstr("exited with status 0"));
}

TEST_F(ReaperTest, BadInputIsNamedAndNothingIsReaped) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(runReaper({.watchPid = ::getpid(), .runId = "bad run id"}, out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr("--run-id"));

  // A live process the run does not own: its environment names another run
  // and no journal line names it.
  {
    ScopedEnv other("CLEANROOM_RUN_ID", "someone-else");
    auto stranger = ChildProcess::spawn({"/bin/sleep", "600"});
    ASSERT_TRUE(stranger.ok());
    err.str("");
    EXPECT_EQ(runReaper({.watchPid = (*stranger)->pid(), .runId = runId_}, out, err), 2);
    EXPECT_THAT(err.str(), HasSubstr("does not belong to run " + runId_));
    (void)(*stranger)->stop(kTimeout);
  }

  std::ofstream(dir_ / (runId_ + ".jsonl")) << "this is not a journal\n";
  err.str("");
  EXPECT_EQ(runReaper({.watchPid = ::getpid(), .runId = runId_}, out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr("is not a cleanroom journal"));
}

}  // namespace
}  // namespace cleanroom
