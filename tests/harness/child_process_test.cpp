// Tests of ChildProcess (child_process.h) against real /bin/sh children.
// The test process is a child subreaper, so members of a child's process
// group that its exit orphans are re-parented to us; stop() must reap them.
#include "cleanroom/child_process.h"

#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cleanroom/process_tree.h"
#include "cleanroom/wait.h"

namespace cleanroom {
namespace {

using ::testing::IsEmpty;
using namespace std::chrono_literals;

// Our children in process group `pgid`, as "PID STATE" (zombies included).
std::vector<std::string> ourChildrenInGroup(pid_t pgid) {
  std::vector<std::string> found;
  for (const ProcessInfo& p : listProcessStats()) {
    if (p.ppid == ::getpid() && p.pgid == pgid) found.push_back(std::to_string(p.id.pid) + " " + p.state);
  }
  return found;
}

// Kills and reaps `process` if a failed test left it behind.
void killAndReap(const ProcessIdentity& process) {
  if (!exists(process)) return;
  (void)signalProcess(process, SIGKILL);
  Clock& clock = Clock::system();
  waitUntil(clock, clock.now() + 10s, AdaptiveWait{}, [&] {
    reapZombieChildren({process});
    return !exists(process);
  });
}

class ChildProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(becomeChildSubreaper()); }
};

TEST_F(ChildProcessTest, StopReadsTheEndingOfAChildThatExitsOnSigterm) {
  auto child = ChildProcess::spawn({"/bin/sh", "-c", "echo ready; exec sleep 600"});
  ASSERT_TRUE(child.ok()) << child.error().describe();
  Result<std::string> line = (*child)->readLine(10s);
  ASSERT_TRUE(line.ok()) << line.error().describe();
  EXPECT_EQ(*line, "ready");

  ChildProcess::Ending ending = (*child)->stop(10s);

  EXPECT_TRUE(ending.graceful);
  EXPECT_EQ(ending.description, "killed by SIGTERM");
  EXPECT_THAT(ourChildrenInGroup((*child)->pid()), IsEmpty());
}

// The background sleep's parent is the child itself: when SIGTERM ends the
// child, the sleep is orphaned into this subreaper, then killed as a group
// leftover — and must not stay behind as our zombie.
TEST_F(ChildProcessTest, StopReapsGroupMembersOrphanedIntoThisSubreaper) {
  auto child = ChildProcess::spawn({"/bin/sh", "-c", "sleep 600 & echo $!; exec sleep 600"});
  ASSERT_TRUE(child.ok()) << child.error().describe();
  const pid_t group = (*child)->pid();
  Result<std::string> line = (*child)->readLine(10s);
  ASSERT_TRUE(line.ok()) << line.error().describe();
  Result<ProcessIdentity> member = identityOf(static_cast<pid_t>(std::stol(*line)));
  ASSERT_TRUE(member.ok()) << member.error().describe();

  ChildProcess::Ending ending = (*child)->stop(10s);

  EXPECT_TRUE(ending.graceful) << ending.description;
  EXPECT_FALSE(exists(*member)) << "the orphaned group member was left as a zombie (or alive)";
  EXPECT_THAT(ourChildrenInGroup(group), IsEmpty());
  killAndReap(*member);
}

}  // namespace
}  // namespace cleanroom
