// Tests of ProcessBackend with the CleanupEngine and real processes: late
// exits after SIGTERM, SIGTERM ignored, setsid escapees, double-forked
// orphans, pid reuse, adoption, another run's processes, zombies, cgroups.
// Each test uses a run id of its own and checks through /proc at the end
// that no process carries it and no zombie child is left.
#include "cleanroom/backends/process_backend.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "cleanroom/child_process.h"
#include "cleanroom/engine.h"
#include "cleanroom/run.h"
#include "cleanroom/wait.h"

namespace cleanroom {
namespace {

namespace fs = std::filesystem;
constexpr milliseconds kPatience{10000};

bool waitFor(const std::function<bool()>& condition) {
  Clock& clock = Clock::system();
  return waitUntil(clock, clock.now() + kPatience, {}, condition).met;
}

std::string contents(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<ProcessInfo> zombieChildren() {
  std::vector<ProcessInfo> zombies;
  for (auto& p : listProcesses()) {
    if (p.ppid == ::getpid() && p.isZombie()) zombies.push_back(p);
  }
  return zombies;
}

const ResourceReport* reportOf(const CleanupReport& report, const std::string& id) {
  for (const auto& r : report.resources) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

class ProcessBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cr-process-test-" + runId_);
    fs::create_directories(dir_);
    CleanupOptions options;
    options.gracePeriod = milliseconds(5000);
    options.forceTimeout = milliseconds(5000);
    engine_ = std::make_unique<CleanupEngine>(options);
    engine_->addBackend(backend_);
  }

  // Replaces the backend (and the engine around it) before a test starts processes.
  void useBackend(ProcessBackendConfig config) {
    backend_ = std::make_shared<ProcessBackend>(std::move(config));
    engine_ = std::make_unique<CleanupEngine>(engine_->options());
    engine_->addBackend(backend_);
  }

  void TearDown() override {
    // Whatever a failed test left: clean it, then prove nothing is left.
    engine_->options().gracePeriod = milliseconds(0);
    (void)engine_->cleanup(Selector::forRun(runId_));
    EXPECT_TRUE(waitFor([&] { return processesMarkedWith(runId_, kLaunchMarkerVariable).empty(); }))
        << "processes of run " << runId_ << " left behind";
    EXPECT_TRUE(waitFor([&] {
      (void)backend_->list(Selector::forRun(runId_));  // reaps known zombies
      return zombieChildren().empty();
    })) << "zombie children left: " << zombieChildren().size();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Launches /bin/sh -c `script` with its output in a file of its own.
  Resource launchShell(const std::string& script, const std::string& name = "script") {
    LaunchOptions options;
    options.name = name;
    options.outputPath = (dir_ / (name + ".out")).string();
    auto launched = backend_->launch({"/bin/sh", "-c", script}, options);
    if (!launched.ok()) throw std::runtime_error(launched.error().describe());
    return launched.value();
  }

  // Waits until the script launched as `name` printed `line`.
  // Waits for the "parent" script's child that escaped with setsid and
  // returns it in `escapee`.
  void findEscapee(const Resource& parent, std::optional<ProcessInfo>& escapee) {
    ASSERT_TRUE(waitForOutput("parent", "ready"));
    ASSERT_TRUE(waitFor([&] {
      for (auto& p : backend_->survivorsOf(parent)) {
        if (p.command == "sleep 600" && p.sid == p.id.pid) escapee = p;
      }
      return escapee.has_value();
    }));
  }

  bool waitForOutput(const std::string& name, const std::string& line) {
    return waitFor([&] { return contents(dir_ / (name + ".out")).find(line + "\n") != std::string::npos; });
  }

  std::string runId_ = run::generateId();
  fs::path dir_;
  std::shared_ptr<ProcessBackend> backend_ = std::make_shared<ProcessBackend>(ProcessBackendConfig{runId_, true, ""});
  std::unique_ptr<CleanupEngine> engine_;
};

TEST_F(ProcessBackendTest, LaunchRecordsIdentityGroupAndMarkers) {
  Resource r = launchShell("echo ready; exec sleep 600", "sleeper");
  EXPECT_EQ(r.backend, "process");
  EXPECT_EQ(r.name, "sleeper");
  EXPECT_EQ(r.runId, runId_);
  EXPECT_EQ(r.labels.at(kRunLabel), runId_);
  EXPECT_EQ(r.labels.at(kProcessRoleLabel), "launched");
  EXPECT_TRUE(r.createdAt.has_value());
  auto id = ProcessIdentity::parse(r.id);
  ASSERT_TRUE(id.has_value()) << r.id;
  ASSERT_TRUE(waitForOutput("sleeper", "ready"));
  ASSERT_TRUE(waitFor([&] { return readProcess(id->pid).value().command == "sleep 600"; }));
  ProcessInfo info = readProcess(id->pid).value();
  EXPECT_EQ(info.id, *id);
  EXPECT_EQ(info.pgid, id->pid) << "a process group of its own";
  EXPECT_EQ(info.runMarker, runId_);
  EXPECT_EQ(info.launchMarker, runId_);
  EXPECT_EQ(backend_->probe(r).value().state, ResourceState::Running);
}

TEST_F(ProcessBackendTest, LaunchErrorsNameTheProgramAndDirectory) {
  auto missing = backend_->launch({"no-such-program-cleanroom"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no-such-program-cleanroom"), std::string::npos) << missing.error().message;
  EXPECT_FALSE(missing.error().isRetryable());

  LaunchOptions options;
  options.workingDirectory = (dir_ / "missing-dir").string();
  auto badDir = backend_->launch({"/bin/true"}, options);
  ASSERT_FALSE(badDir.ok());
  EXPECT_NE(badDir.error().message.find("missing-dir"), std::string::npos) << badDir.error().message;

  EXPECT_FALSE(backend_->launch({}).ok());
}

TEST_F(ProcessBackendTest, ProcessThatExitsLateAfterSigtermIsAwaitedNotForced) {
  Resource r = launchShell("trap 'sleep 0.25 & wait $!; exit 0' TERM; echo ready; sleep 600 & wait $!", "late");
  ASSERT_TRUE(waitForOutput("late", "ready"));

  CleanupReport report = engine_->cleanup(Selector::forRun(runId_));
  EXPECT_TRUE(report.success) << report.summary();
  const ResourceReport* rep = reportOf(report, r.id);
  ASSERT_NE(rep, nullptr) << report.summary();
  EXPECT_TRUE(rep->cleaned);
  EXPECT_FALSE(rep->forced);
  EXPECT_EQ(rep->finalStatus, "exited with status 0");
}

TEST_F(ProcessBackendTest, ProcessThatIgnoresSigtermIsForcedAfterTheGracePeriod) {
  engine_->options().gracePeriod = milliseconds(200);
  Resource r = launchShell("trap '' TERM; echo ready; exec sleep 600", "stubborn");
  ASSERT_TRUE(waitForOutput("stubborn", "ready"));

  CleanupReport report = engine_->cleanup(Selector::forRun(runId_));
  EXPECT_TRUE(report.success) << report.summary();
  const ResourceReport* rep = reportOf(report, r.id);
  ASSERT_NE(rep, nullptr);
  EXPECT_TRUE(rep->forced);
  EXPECT_TRUE(rep->cleaned);
  EXPECT_EQ(rep->finalStatus, "killed by SIGKILL");
}

TEST_F(ProcessBackendTest, ChildThatEscapedWithSetsidIsFoundNamedAndKilled) {
  Resource r = launchShell("setsid sleep 600 & echo ready; exec sleep 700", "parent");
  std::optional<ProcessInfo> escapee;
  ASSERT_NO_FATAL_FAILURE(findEscapee(r, escapee));

  auto listed = backend_->list(Selector::forRun(runId_)).value();
  auto it = std::find_if(listed.begin(), listed.end(), [&](const Resource& x) { return x.id == escapee->id.text(); });
  ASSERT_NE(it, listed.end()) << "the escapee is listed on its own";
  EXPECT_EQ(it->name, "sleep 600");
  EXPECT_EQ(it->labels.at(kProcessRoleLabel), "escaped");
  EXPECT_EQ(it->labels.at(kProcessRootLabel), r.id);

  CleanupReport report = engine_->cleanup(Selector::forRun(runId_));
  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_NE(reportOf(report, escapee->id.text()), nullptr) << report.summary();
  EXPECT_FALSE(isAlive(escapee->id));
}

TEST_F(ProcessBackendTest, FinishedOnlyWhenDescendantsAreGoneTooAndSurvivorsAreNamed) {
  Resource r = launchShell("setsid sleep 600 & echo ready; exec sleep 700", "parent");
  std::optional<ProcessInfo> escapee;
  ASSERT_NO_FATAL_FAILURE(findEscapee(r, escapee));
  ASSERT_TRUE(signalProcess(ProcessIdentity::parse(r.id).value(), SIGKILL).ok());  // only the root

  ResourceStatus status;
  ASSERT_TRUE(waitFor([&] {
    status = backend_->probe(r).value();
    return status.status.find("killed by SIGKILL") != std::string::npos;
  })) << status.status;
  EXPECT_FALSE(isFinished(status.state));
  EXPECT_EQ(status.status, "killed by SIGKILL; descendants alive: " + describe(*escapee));

  CleanupReport report = engine_->cleanup(Selector::forRun(runId_));
  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_EQ(backend_->probe(r).value().state, ResourceState::Terminal);
}

TEST_F(ProcessBackendTest, DoubleForkedOrphanIsFoundByItsMarkerAndReaped) {
  useBackend({runId_, /*useCgroups=*/false, ""});  // a cgroup would find it first
  Resource r = launchShell("sh -c 'sleep 600 & echo orphan $!'; echo ready; exec sleep 700", "forker");
  ASSERT_TRUE(waitForOutput("forker", "ready"));
  std::string out = contents(dir_ / "forker.out");
  const pid_t orphanPid = std::stoi(out.substr(out.find("orphan ") + 7));
  ASSERT_TRUE(waitFor([&] {
    auto p = readProcess(orphanPid);
    return p.ok() && p->ppid == ::getpid();
  })) << "re-parented to this process (child subreaper)";
  const ProcessIdentity orphan = identityOf(orphanPid).value();

  auto listed = backend_->list(Selector::forRun(runId_)).value();
  EXPECT_TRUE(std::any_of(listed.begin(), listed.end(), [&](const Resource& x) { return x.id == orphan.text(); }))
      << "found by the launch marker";

  CleanupReport report = engine_->cleanup(Selector::forRun(runId_));
  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_FALSE(exists(orphan)) << "killed and reaped, no zombie";
  EXPECT_TRUE(zombieChildren().empty());
  EXPECT_EQ(backend_->probe(r).value().state, ResourceState::Terminal);
}

TEST_F(ProcessBackendTest, ReusedPidIsNeverSignalled) {
  auto stranger = ChildProcess::spawn({"/bin/sh", "-c", "echo ready; exec sleep 600"});
  ASSERT_TRUE(stranger.ok());
  ASSERT_EQ((*stranger)->readLine(kPatience).value(), "ready");
  ProcessIdentity real = identityOf((*stranger)->pid()).value();
  // A resource recorded for an earlier process that had the same pid.
  Resource old;
  old.backend = "process";
  old.id = ProcessIdentity{real.pid, real.startTime - 1}.text();
  old.runId = runId_;
  Status stop = backend_->requestStop(old, StopMode::Force);
  ASSERT_FALSE(stop.ok());
  EXPECT_TRUE(stop.error().isGone());
  EXPECT_EQ(backend_->probe(old).value().state, ResourceState::Gone);
  EXPECT_TRUE(isAlive(real)) << "the stranger was not signalled";
  (*stranger)->stop(milliseconds(2000));
}

TEST_F(ProcessBackendTest, UnmarkedProcessIsNotSignalledEvenWithItsRealIdentity) {
  auto stranger = ChildProcess::spawn({"/bin/sh", "-c", "echo ready; exec sleep 600"});
  ASSERT_TRUE(stranger.ok());
  ASSERT_EQ((*stranger)->readLine(kPatience).value(), "ready");
  Resource forged;
  forged.backend = "process";
  forged.id = identityOf((*stranger)->pid()).value().text();
  forged.runId = runId_;
  Status stop = backend_->requestStop(forged, StopMode::Force);
  ASSERT_FALSE(stop.ok());
  EXPECT_FALSE(stop.error().isGone());
  EXPECT_NE(stop.error().message.find("refusing"), std::string::npos) << stop.error().message;
  EXPECT_TRUE(isAlive(identityOf((*stranger)->pid()).value()));
  (*stranger)->stop(milliseconds(2000));
}

TEST_F(ProcessBackendTest, AdoptedProcessAndItsDescendantsAreStopped) {
  auto user = ChildProcess::spawn({"/bin/sh", "-c", "sleep 600 & echo ready; exec sleep 700"});
  ASSERT_TRUE(user.ok());
  ASSERT_EQ((*user)->readLine(kPatience).value(), "ready");
  auto adopted = backend_->adopt((*user)->pid(), "user-job");
  ASSERT_TRUE(adopted.ok()) << adopted.error().describe();
  EXPECT_EQ(adopted->labels.at(kProcessRoleLabel), "adopted");
  EXPECT_EQ(adopted->name, "user-job");
  std::vector<ProcessInfo> family = backend_->survivorsOf(*adopted);
  ASSERT_EQ(family.size(), 1u);
  EXPECT_EQ(family[0].command, "sleep 600");

  CleanupReport report = engine_->cleanup(Selector::forRun(runId_));
  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_FALSE(isAlive(family[0].id));
  EXPECT_EQ((*user)->stop(milliseconds(2000)).description, "killed by SIGTERM");
}

TEST_F(ProcessBackendTest, AdoptRefusesMissingZombieAndOwnProcesses) {
  EXPECT_TRUE(backend_->adopt(0x3ffffff0).error().isGone());
  EXPECT_FALSE(backend_->adopt(::getpid()).ok());
  EXPECT_FALSE(backend_->adopt(::getppid()).ok());
  EXPECT_FALSE(backend_->adopt(-1).ok());
}

TEST_F(ProcessBackendTest, AnotherRunsProcessesAreNotTouched) {
  const std::string otherRun = run::generateId();
  auto other = std::make_shared<ProcessBackend>(ProcessBackendConfig{otherRun, true, ""});
  LaunchOptions options;
  options.outputPath = (dir_ / "other.out").string();
  Resource theirs = other->launch({"/bin/sh", "-c", "echo ready; exec sleep 600"}, options).value();
  Resource ours = launchShell("echo ready; exec sleep 600", "ours");
  ASSERT_TRUE(waitForOutput("ours", "ready"));
  ASSERT_TRUE(waitFor([&] { return contents(dir_ / "other.out") == "ready\n"; }));

  auto listed = backend_->list(Selector::forRun(runId_)).value();
  EXPECT_TRUE(std::none_of(listed.begin(), listed.end(), [&](const Resource& x) { return x.id == theirs.id; }));
  auto widened = backend_->list(Selector::forRun(otherRun)).value();
  EXPECT_TRUE(std::any_of(widened.begin(), widened.end(), [&](const Resource& x) { return x.id == theirs.id; }))
      << "visible as that run's leftover only when asked for that run";
  EXPECT_TRUE(std::none_of(widened.begin(), widened.end(), [&](const Resource& x) { return x.id == ours.id; }));

  CleanupReport report = engine_->cleanup(Selector::forRun(runId_));
  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_TRUE(isAlive(ProcessIdentity::parse(theirs.id).value())) << "the other run's process was not touched";

  CleanupEngine otherEngine;
  otherEngine.addBackend(other);
  EXPECT_TRUE(otherEngine.cleanup(Selector::forRun(otherRun)).success);
  EXPECT_TRUE(waitFor([&] { return other->probe(theirs).value().state == ResourceState::Terminal; }));
}

TEST_F(ProcessBackendTest, ExitedChildIsReapedAndReportsItsStatus) {
  Resource r = launchShell("exit 3", "quitter");
  ResourceStatus status;
  ASSERT_TRUE(waitFor([&] {
    status = backend_->probe(r).value();
    return isFinished(status.state);
  }));
  EXPECT_EQ(status.state, ResourceState::Terminal);
  EXPECT_EQ(status.status, "exited with status 3");
  EXPECT_FALSE(exists(ProcessIdentity::parse(r.id).value())) << "reaped";
  EXPECT_EQ(backend_->requestStop(r, StopMode::Graceful).ok(), true) << "already stopped is success";
  EXPECT_EQ(backend_->forgetFinished(), 1);
  EXPECT_EQ(backend_->probe(r).value().state, ResourceState::Gone);
}

TEST_F(ProcessBackendTest, CgroupHoldsDoubleForkedDescendantsWhereAvailable) {
  Resource r = launchShell("sh -c 'sleep 600 &'; echo ready; exec sleep 700", "grouped");
  std::optional<std::string> cgroup = backend_->cgroupOf(r);
  if (!cgroup) GTEST_SKIP() << "no writable cgroup v2 hierarchy on this machine";
  ASSERT_TRUE(waitForOutput("grouped", "ready"));
  EXPECT_TRUE(fs::exists(*cgroup + "/cgroup.kill"));
  ASSERT_TRUE(waitFor([&] { return backend_->survivorsOf(r).size() == 1; })) << "the orphan is found via the cgroup";

  engine_->options().gracePeriod = milliseconds(0);  // straight to the forced stop (cgroup.kill)
  CleanupReport report = engine_->cleanup(Selector::forRun(runId_));
  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_FALSE(fs::exists(*cgroup)) << "removed once empty";
}

}  // namespace
}  // namespace cleanroom
