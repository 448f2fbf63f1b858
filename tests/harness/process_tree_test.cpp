// Tests of process_tree.h against real processes: /bin/sh scripts started
// here, a grandchild that escapes with setsid, a double-forked orphan, a
// reused pid, zombies. Every process a test starts is killed and reaped by
// the end of the test (ShellChild's destructor, and explicit kills for
// processes that left the child's group).
#include "cleanroom/process_tree.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cleanroom/clock.h"
#include "cleanroom/run.h"
#include "cleanroom/wait.h"

extern char** environ;

namespace cleanroom {
namespace {

constexpr milliseconds kPatience{10000};

bool waitFor(const std::function<bool()>& condition) {
  Clock& clock = Clock::system();
  return waitUntil(clock, clock.now() + kPatience, {}, condition).met;
}

// /bin/sh -c `script` in a process group of its own, stdout on a pipe, extra
// environment variables added. The destructor kills the group and reaps it.
class ShellChild {
 public:
  explicit ShellChild(const std::string& script, const std::vector<std::string>& extraEnv = {}) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    env.insert(env.end(), extraEnv.begin(), extraEnv.end());
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string sh = "/bin/sh", dashC = "-c", body = script;
    char* argv[] = {sh.data(), dashC.data(), body.data(), nullptr};
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::dup2(fds[1], STDOUT_FILENO);
      ::execve(argv[0], argv, envp.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    ::close(fds[1]);
    out_ = fds[0];
  }
  // Kills the group, reaps the child and every descendant that was in it
  // (they come back to us as orphans: the tests make this process a
  // subreaper, since PID 1 here reaps nothing).
  ~ShellChild() {
    if (!reaped_) {
      std::vector<ProcessIdentity> family;
      if (auto self = identityOf(pid_); self.ok()) {
        for (const auto& p : descendantsOf(*self)) {
          if (p.pgid == pid_) family.push_back(p.id);
        }
      }
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      waitFor([&] {
        reapZombieChildren(family);
        return std::none_of(family.begin(), family.end(), [](const ProcessIdentity& id) { return exists(id); });
      });
    }
    ::close(out_);
  }
  ShellChild(const ShellChild&) = delete;
  ShellChild& operator=(const ShellChild&) = delete;

  pid_t pid() const { return pid_; }
  ProcessIdentity identity() const { return identityOf(pid_).value(); }
  void markReaped() { reaped_ = true; }

  // Returns the next line of stdout; empty at end of file or after the
  // patience runs out (poll waits on the pipe itself).
  std::string readLine() {
    std::string line;
    char c;
    while (true) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(kPatience.count())) <= 0) return line;
      ssize_t n = ::read(out_, &c, 1);
      if (n <= 0 || c == '\n') return line;
      line.push_back(c);
    }
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool reaped_ = false;
};

bool containsPid(const std::vector<ProcessInfo>& list, pid_t pid) {
  return std::any_of(list.begin(), list.end(), [&](const ProcessInfo& p) { return p.id.pid == pid; });
}

// Kills an escaped process found through /proc and waits until it is no
// longer alive (reaping it when it became our child through the subreaper).
void killAndReap(const ProcessIdentity& process) {
  (void)signalProcess(process, SIGKILL);
  EXPECT_TRUE(waitFor([&] {
    reapZombieChildren({process});
    return !isAlive(process);
  }));
}

class ProcessTree : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(becomeChildSubreaper()); }
};

TEST_F(ProcessTree, ReadsThisProcess) {
  auto self = readProcess(::getpid());
  ASSERT_TRUE(self.ok()) << self.error().describe();
  EXPECT_EQ(self->id.pid, ::getpid());
  EXPECT_GT(self->id.startTime, 0u);
  EXPECT_EQ(self->ppid, ::getppid());
  EXPECT_EQ(self->pgid, ::getpgrp());
  EXPECT_EQ(self->uid, ::getuid());
  EXPECT_NE(self->command.find("cleanroom_harness_tests"), std::string::npos) << self->command;
  EXPECT_TRUE(isAlive(self->id));
}

TEST_F(ProcessTree, MissingProcessIsGone) {
  auto missing = readProcess(0x3ffffff0);  // above any pid_max
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().isGone());
  EXPECT_TRUE(identityOf(0x3ffffff0).error().isGone());
  EXPECT_FALSE(readProcess(-4).ok());
  EXPECT_FALSE(readProcess(-4).error().isGone());
}

TEST_F(ProcessTree, IdentityTextRoundTrips) {
  ProcessIdentity id{4242, 987654};
  EXPECT_EQ(id.text(), "4242@987654");
  EXPECT_EQ(ProcessIdentity::parse("4242@987654"), id);
  for (const char* bad : {"", "4242", "@1", "4242@", "x@1", "1@2@3", "-1@2", "0@5", "12@3a"}) {
    EXPECT_FALSE(ProcessIdentity::parse(bad).has_value()) << bad;
  }
}

TEST_F(ProcessTree, ReadsCommandLineAndMarkers) {
  const std::string runId = run::generateId();
  ShellChild child("exec sleep 600", {std::string(kRunMarkerVariable) + "=" + runId,
                                      std::string(kLaunchMarkerVariable) + "=" + runId});
  ASSERT_TRUE(waitFor([&] { return readProcess(child.pid()).value().command == "sleep 600"; }));
  ProcessInfo info = readProcess(child.pid()).value();
  EXPECT_EQ(describe(info), std::to_string(child.pid()) + " sleep 600");
  EXPECT_EQ(info.runMarker, runId);
  EXPECT_EQ(info.launchMarker, runId);
  EXPECT_EQ(info.ppid, ::getpid());
  EXPECT_EQ(info.pgid, child.pid());

  auto marked = processesMarkedWith(runId);
  ASSERT_EQ(marked.size(), 1u);
  EXPECT_EQ(marked[0].id, child.identity());
  EXPECT_EQ(processesMarkedWith(runId, kLaunchMarkerVariable).size(), 1u);
  EXPECT_TRUE(processesMarkedWith(run::generateId()).empty());
  EXPECT_TRUE(processesMarkedWith("").empty());
}

TEST_F(ProcessTree, DescendantsIncludeAGrandchildThatCalledSetsid) {
  ShellChild child("setsid sleep 600 & echo $!; wait");
  const pid_t escaped = std::stoi(child.readLine());
  ASSERT_TRUE(waitFor([&] {
    auto p = readProcess(escaped);
    return p.ok() && p->command == "sleep 600" && p->sid == escaped;
  }));
  ProcessInfo grandchild = readProcess(escaped).value();
  EXPECT_NE(grandchild.pgid, child.pid()) << "it left the child's process group";

  auto descendants = descendantsOf(child.identity());
  EXPECT_TRUE(containsPid(descendants, escaped));
  EXPECT_FALSE(containsPid(descendants, child.pid())) << "the root is not its own descendant";

  killAndReap(grandchild.id);  // not in the group the destructor kills
}

TEST_F(ProcessTree, DescendantsOfAProcessThatIsNotAliveAreEmpty) {
  ShellChild child("exec sleep 600");
  ProcessIdentity wrong = child.identity();
  wrong.startTime += 1;
  EXPECT_TRUE(descendantsOf(wrong).empty());
}

TEST_F(ProcessTree, DoubleForkedOrphanComesBackToTheSubreaperAndIsReaped) {
  ASSERT_TRUE(becomeChildSubreaper());
  EXPECT_TRUE(becomeChildSubreaper()) << "idempotent";
  const std::string runId = run::generateId();
  // The inner shell starts the sleep and exits at once: the sleep is orphaned.
  ShellChild child("sh -c 'sleep 600 & echo $!'; exec sleep 600",
                   {std::string(kLaunchMarkerVariable) + "=" + runId});
  const pid_t orphanPid = std::stoi(child.readLine());
  ASSERT_TRUE(waitFor([&] {
    auto p = readProcess(orphanPid);
    return p.ok() && p->ppid == ::getpid();
  })) << "the orphan is re-parented to us, the nearest subreaper";
  ProcessIdentity orphan = identityOf(orphanPid).value();
  EXPECT_FALSE(containsPid(descendantsOf(child.identity()), orphanPid)) << "no longer below the child";

  auto marked = processesMarkedWith(runId, kLaunchMarkerVariable);
  EXPECT_TRUE(containsPid(marked, orphanPid)) << "the marker finds it";
  EXPECT_TRUE(containsPid(marked, child.pid()));

  ASSERT_TRUE(signalProcess(orphan, SIGKILL).ok());
  ASSERT_TRUE(waitFor([&] { return !isAlive(orphan); }));
  EXPECT_TRUE(exists(orphan)) << "a zombie until we reap it";
  EXPECT_EQ(reapZombieChildren({orphan}), 1);
  EXPECT_FALSE(exists(orphan));
}

TEST_F(ProcessTree, ReusedPidIsNeverSignalled) {
  ShellChild child("exec sleep 600");
  ProcessIdentity real = child.identity();
  ProcessIdentity stranger = real;  // the same pid, another process's start time
  stranger.startTime = real.startTime - 1;

  Status status = signalProcess(stranger, SIGKILL);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(status.error().isGone()) << status.error().describe();
  EXPECT_NE(status.error().message.find("another process"), std::string::npos) << status.error().message;

  Status group = signalGroup(child.pid(), stranger, SIGKILL);
  ASSERT_FALSE(group.ok());
  EXPECT_TRUE(group.error().isGone());
  EXPECT_TRUE(signalTree(stranger, SIGKILL).empty());

  EXPECT_TRUE(isAlive(real)) << "nothing was signalled";
  EXPECT_FALSE(isAlive(stranger));
}

TEST_F(ProcessTree, SignalProcessReachesTheRightProcessAndReportsGoneAfterwards) {
  ShellChild child("exec sleep 600");
  ProcessIdentity id = child.identity();
  ASSERT_TRUE(signalProcess(id, SIGTERM).ok());
  int status = 0;
  ASSERT_EQ(::waitpid(child.pid(), &status, 0), child.pid());
  child.markReaped();
  EXPECT_EQ(describeWaitStatus(status), "killed by SIGTERM");
  Status again = signalProcess(id, SIGTERM);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.error().isGone());
}

TEST_F(ProcessTree, SignalGroupNeedsTheLeaderInThatGroup) {
  ShellChild child("sleep 600 & echo $!; wait");
  const pid_t member = std::stoi(child.readLine());
  const ProcessIdentity memberId = identityOf(member).value();
  EXPECT_FALSE(signalGroup(member, child.identity(), SIGKILL).ok()) << "not the leader's group";
  EXPECT_FALSE(signalGroup(1, child.identity(), SIGKILL).ok());
  ASSERT_TRUE(signalGroup(child.pid(), child.identity(), SIGKILL).ok());
  int status = 0;
  ASSERT_EQ(::waitpid(child.pid(), &status, 0), child.pid());
  child.markReaped();
  EXPECT_EQ(describeWaitStatus(status), "killed by SIGKILL");
  EXPECT_TRUE(waitFor([&] {
    reapZombieChildren({memberId});  // orphaned by the kill, re-parented to us
    return !exists(memberId);
  }));
}

TEST_F(ProcessTree, SignalTreeReachesEscapedDescendants) {
  ShellChild child("setsid sleep 600 & echo $!; exec sleep 600");
  const pid_t escaped = std::stoi(child.readLine());
  ASSERT_TRUE(waitFor([&] { return containsPid(descendantsOf(child.identity()), escaped); }));
  ProcessIdentity escapedId = identityOf(escaped).value();
  ASSERT_TRUE(waitFor([&] { return readProcess(child.pid()).value().command == "sleep 600"; }));

  auto signalled = signalTree(child.identity(), SIGKILL);
  EXPECT_TRUE(containsPid(signalled, escaped));
  EXPECT_TRUE(containsPid(signalled, child.pid()));
  int status = 0;
  ASSERT_EQ(::waitpid(child.pid(), &status, 0), child.pid());
  child.markReaped();
  EXPECT_TRUE(waitFor([&] {
    reapZombieChildren({escapedId});
    return !isAlive(escapedId);
  }));
}

TEST_F(ProcessTree, AwaitExitReturnsTheProcessesStillAliveAtTheTimeout) {
  ShellChild child("exec sleep 600");
  const ProcessIdentity id = child.identity();
  EXPECT_EQ(awaitExit({id}, milliseconds(0)), std::vector<ProcessIdentity>{id});
  EXPECT_EQ(awaitExit({id}, milliseconds(20)), std::vector<ProcessIdentity>{id}) << "it never exits by itself";
}

TEST_F(ProcessTree, AwaitExitReturnsOnceEveryProcessHasExited) {
  ShellChild first("exec sleep 600");
  ShellChild second("exec sleep 600");
  const ProcessIdentity a = first.identity();
  const ProcessIdentity b = second.identity();
  ASSERT_TRUE(signalProcess(a, SIGKILL).ok());
  ASSERT_TRUE(signalProcess(b, SIGTERM).ok());

  EXPECT_THAT(awaitExit({a, b}, kPatience), ::testing::IsEmpty());
  // Exited means a zombie at most: both are still our unreaped children.
  EXPECT_TRUE(exists(a));
  EXPECT_FALSE(isAlive(a));
  EXPECT_FALSE(isAlive(b));
}

TEST_F(ProcessTree, AwaitExitDoesNotWaitForAReusedPidOrAZombie) {
  ShellChild child("exec sleep 600");
  ProcessIdentity stranger = child.identity();
  stranger.startTime -= 1;  // the pid now names another process than this one
  EXPECT_THAT(awaitExit({stranger}, kPatience), ::testing::IsEmpty());

  ShellChild exited("exit 0");
  const ProcessIdentity zombie = exited.identity();
  ASSERT_TRUE(waitFor([&] { return !isAlive(zombie); }));
  EXPECT_THAT(awaitExit({zombie}, kPatience), ::testing::IsEmpty());
  EXPECT_TRUE(isAlive(child.identity())) << "the real process was left alone";
}

TEST_F(ProcessTree, ZombieChildIsReapedOnlyByItsOwnPid) {
  ShellChild child("exit 3");
  ProcessIdentity id{child.pid(), 0};
  ASSERT_TRUE(waitFor([&] {
    auto p = readProcess(child.pid());
    if (p.ok()) id = p->id;
    return p.ok() && p->isZombie();
  }));
  EXPECT_FALSE(isAlive(id));
  EXPECT_TRUE(exists(id));
  ProcessIdentity wrong = id;
  wrong.startTime += 1;
  EXPECT_EQ(reapZombieChildren({wrong}), 0) << "start time checked first";
  EXPECT_TRUE(exists(id));

  std::optional<int> status = reapIfChild(child.pid());
  ASSERT_TRUE(status.has_value());
  child.markReaped();
  EXPECT_EQ(describeWaitStatus(*status), "exited with status 3");
  EXPECT_FALSE(exists(id));
  EXPECT_FALSE(reapIfChild(child.pid()).has_value()) << "nothing left to reap";
}

TEST_F(ProcessTree, ReapIfChildLeavesRunningChildrenAlone) {
  ShellChild child("exec sleep 600");
  EXPECT_FALSE(reapIfChild(child.pid()).has_value());
  EXPECT_TRUE(isAlive(child.identity()));
  EXPECT_FALSE(reapIfChild(1).has_value()) << "not our child";
}

TEST_F(ProcessTree, ListProcessesIncludesThisProcessAndItsChildren) {
  ShellChild child("exec sleep 600");
  auto all = listProcesses();
  EXPECT_TRUE(containsPid(all, ::getpid()));
  EXPECT_TRUE(containsPid(all, child.pid()));
}

}  // namespace
}  // namespace cleanroom
