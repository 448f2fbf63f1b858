// The same scenarios against real tmux 3.3a and cleanroom-mock-tmux, each on
// a private socket: identical stdout, stderr and exit codes.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>

#include "mocks/tmux/tool_process.h"

namespace cleanroom::mocks::testing {
namespace {

constexpr const char* kRealTmux = "/usr/bin/tmux";

std::string readFile(const std::filesystem::path& path) {
  std::ifstream file(path);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

class TmuxCompatTest : public ToolProcessTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    tool_ = GetParam() == "tmux" ? kRealTmux : CLEANROOM_MOCK_TMUX_EXE;
    ASSERT_TRUE(std::filesystem::exists(tool_)) << tool_ << " is not installed: scripts/install-deps.sh installs tmux";
    ToolProcessTest::SetUp();
  }

  void newSession(const std::string& name, const std::string& command = "sleep 300") {
    const auto result = tmux({"new-session", "-d", "-s", name, "-x", "80", "-y", "24", command});
    ASSERT_EQ(result.rc, 0) << result.err;
    ASSERT_EQ(result.out, "");
    ASSERT_EQ(result.err, "");
  }

  void expectFailure(const std::vector<std::string>& args, const std::string& message) {
    const auto result = tmux(args);
    EXPECT_EQ(result.rc, 1) << args.front();
    EXPECT_EQ(result.out, "") << args.front();
    EXPECT_EQ(result.err, message + "\n") << args.front();
  }

  bool serverGone() { return tmux({"list-sessions"}).err == "no server running on " + socket_ + "\n"; }
};

TEST_P(TmuxCompatTest, WithoutSocketFileEveryCommandFailsToConnect) {
  const std::string message = "error connecting to " + socket_ + " (No such file or directory)";
  expectFailure({"has-session", "-t", "x"}, message);
  expectFailure({"kill-session", "-t", "x"}, message);
  expectFailure({"list-sessions"}, message);
  expectFailure({"list-panes", "-a", "-F", "#{pane_pid}"}, message);
  expectFailure({"kill-server"}, message);
  expectFailure({"no-such-command"}, message);
}

TEST_P(TmuxCompatTest, NewHasKillAndTheServerExitsAfterTheLastSession) {
  newSession("s1");
  EXPECT_EQ(tmux({"has-session", "-t", "s1"}).rc, 0);
  const auto killed = tmux({"kill-session", "-t", "s1"});
  EXPECT_EQ(killed.rc, 0);
  EXPECT_EQ(killed.err, "");
  expectFailure({"has-session", "-t", "s1"}, "no server running on " + socket_);
  expectFailure({"kill-server"}, "no server running on " + socket_);
  struct stat info {};
  ASSERT_EQ(::lstat(socket_.c_str(), &info), 0) << "the stale socket file stays";
  EXPECT_TRUE(S_ISSOCK(info.st_mode));
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  newSession("again");  // a stale socket does not stop a new server
  EXPECT_EQ(tmux({"has-session", "-t", "=again"}).rc, 0);
}

TEST_P(TmuxCompatTest, DuplicateAndMissingSessions) {
  newSession("dup");
  expectFailure({"new-session", "-d", "-s", "dup", "sleep 300"}, "duplicate session: dup");
  expectFailure({"has-session", "-t", "missing"}, "can't find session: missing");
  expectFailure({"kill-session", "-t", "missing"}, "can't find session: missing");
  expectFailure({"list-panes", "-t", "missing", "-F", "#{pane_pid}"}, "can't find window: missing");
  expectFailure({"no-such-command"}, "unknown command: no-such-command");
  expectFailure({"new-session", "-d", "-s", "", "sleep 300"}, "invalid session: ");
}

TEST_P(TmuxCompatTest, TargetsMatchExactlyThenByUniquePrefixAndEqualsMeansExact) {
  newSession("abc");
  EXPECT_EQ(tmux({"has-session", "-t", "ab"}).rc, 0) << "unique prefix matches";
  expectFailure({"has-session", "-t", "=ab"}, "can't find session: ab");
  EXPECT_EQ(tmux({"has-session", "-t", "=abc"}).rc, 0);
  newSession("abd");
  expectFailure({"has-session", "-t", "ab"}, "can't find session: ab");
  newSession("ab");
  EXPECT_EQ(tmux({"has-session", "-t", "ab"}).rc, 0) << "an exact name wins over prefixes";
  EXPECT_EQ(tmux({"kill-session", "-t", "=ab"}).rc, 0);
  EXPECT_EQ(tmux({"list-sessions", "-F", "#{session_name}"}).out, "abc\nabd\n");
}

TEST_P(TmuxCompatTest, SessionNamesAreSanitised) {
  newSession("cr-run.1:agent");
  const auto listed = tmux({"list-sessions", "-F", "#{session_name}"});
  EXPECT_EQ(listed.out, "cr-run_1_agent\n");
  expectFailure({"new-session", "-d", "-s", "cr-run_1_agent", "sleep 300"}, "duplicate session: cr-run_1_agent");
}

TEST_P(TmuxCompatTest, ListFormatsReportRealPaneProcesses) {
  const auto before = std::time(nullptr);
  newSession("b");
  newSession("a");
  const auto after = std::time(nullptr);
  const auto listed = tmux({"list-sessions", "-F", "#{session_name} #{session_id} #{session_attached} x"});
  EXPECT_EQ(listed.out, "a $1 0 x\nb $0 0 x\n");

  const auto created = tmux({"display-message", "-p", "-t", "=a:", "#{session_created}"});
  const long createdAt = std::stol(created.out);
  EXPECT_GE(createdAt, before);
  EXPECT_LE(createdAt, after);

  const auto pid = tmux({"display-message", "-p", "-t", "=a:", "#{pane_pid}"});
  ASSERT_EQ(pid.rc, 0);
  const pid_t panePid = static_cast<pid_t>(std::stol(pid.out));
  EXPECT_EQ(statField(panePid, 5), panePid) << "PGID == PID";
  EXPECT_EQ(statField(panePid, 6), panePid) << "SID == PID";

  EXPECT_TRUE(eventually([&] {
    return tmux({"list-panes", "-a", "-F", "#{session_name} #{pane_id} #{pane_current_command}"}).out ==
           "a %1 sleep\nb %0 sleep\n";
  }));
  const auto panes = tmux({"list-panes", "-t", "a", "-F", "#{session_name} #{pane_pid}"});
  EXPECT_EQ(panes.out, "a " + std::to_string(panePid) + "\n");
  const auto withPid = tmux({"list-sessions", "-F", "#{session_name} #{pane_pid}"});
  EXPECT_NE(withPid.out.find("a " + std::to_string(panePid) + "\n"), std::string::npos);

  const auto defaultFormat = tmux({"list-sessions"});
  const std::string prefix = "a: 1 windows (created ";
  EXPECT_EQ(defaultFormat.out.substr(0, prefix.size()), prefix);
  EXPECT_EQ(tmux({"display-message", "-p", "-t", "nothing", "#{pane_pid}"}).out, "\n");
  EXPECT_EQ(tmux({"display-message", "-p", "-t", "=a", "#{pane_pid}"}).out, "\n") << "pane targets need =a:";
  EXPECT_EQ(tmux({"list-panes", "-t", "=a", "-F", "#{session_name}"}).out, "a\n");
  expectFailure({"list-panes", "-t", "=nope:", "-F", "#{session_name}"}, "can't find session: nope");
}

// tmux's default-shell is $SHELL when usable, else the user's shell from the
// password database, else /bin/sh: which one runs decides whether a pane's
// process is the command itself or a shell around it.
TEST_P(TmuxCompatTest, WithoutShellThePaneRunsThePasswordDatabaseShell) {
  const passwd* user = ::getpwuid(::getuid());
  ASSERT_NE(user, nullptr);
  const std::string shell = std::filesystem::path(user->pw_shell).filename().string();
  for (const std::optional<std::string>& value : {std::optional<std::string>(), std::optional<std::string>("relative/sh")}) {
    env_["SHELL"] = value;
    const std::string name = value ? "bad" : "unset";
    const auto created = tmux({"new-session", "-d", "-s", name});
    ASSERT_EQ(created.rc, 0) << created.err;
    EXPECT_TRUE(eventually([&] {
      return tmux({"display-message", "-p", "-t", "=" + name + ":", "#{pane_current_command}"}).out == shell + "\n";
    })) << "SHELL " << value.value_or("unset") << ": expected " << shell;
  }
}

TEST_P(TmuxCompatTest, KillSessionSendsSighupToThePane) {
  const auto ready = dir_ / "ready";
  const auto signals = dir_ / "signals";
  newSession("trap", "trap 'echo HUP >> " + signals.string() + "; exit 0' HUP; trap 'echo TERM >> " +
                         signals.string() + "; exit 0' TERM; echo ok > " + ready.string() +
                         "; while :; do read line; done");
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(ready); }));
  EXPECT_EQ(tmux({"kill-session", "-t", "=trap"}).rc, 0);
  ASSERT_TRUE(eventually([&] { return !readFile(signals).empty(); }));
  EXPECT_EQ(readFile(signals), "HUP\n");
}

TEST_P(TmuxCompatTest, SessionEndsWhenItsPaneProcessExits) {
  newSession("keep");
  const auto marker = dir_ / "go";
  newSession("short", "while [ ! -e " + marker.string() + " ]; do read -t 1 line; done");
  std::ofstream(marker) << "go";
  ASSERT_TRUE(eventually([&] { return tmux({"has-session", "-t", "=short"}).rc == 1; }));
  expectFailure({"has-session", "-t", "=short"}, "can't find session: short");
  EXPECT_EQ(tmux({"kill-session", "-t", "keep"}).rc, 0);
  EXPECT_TRUE(serverGone());
}

TEST_P(TmuxCompatTest, WorkingDirectoryAndEnvironmentReachThePane) {
  const auto out = dir_ / "out";
  const auto work = dir_ / "work";
  std::filesystem::create_directory(work);
  const auto result = tmux({"new-session", "-d", "-s", "env", "-c", work.string(), "-e", "CR_MARK=run42",
                            "echo \"$CR_MARK $PWD\" > " + out.string() + ".tmp && mv " + out.string() +
                                ".tmp " + out.string() + "; exec sleep 300"});
  ASSERT_EQ(result.rc, 0) << result.err;
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(out); }));
  EXPECT_EQ(readFile(out), "run42 " + work.string() + "\n");
}

TEST_P(TmuxCompatTest, SocketNameSelectsTheTmuxDirectoryUnderTmuxTmpdir) {
  env_["TMUX_TMPDIR"] = dir_.string();
  const auto result = runProcess({tool_, "-L", "named", "new-session", "-d", "-s", "n", "sleep 300"}, env_);
  ASSERT_EQ(result.rc, 0) << result.err;
  socket_ = (dir_ / ("tmux-" + std::to_string(::getuid())) / "named").string();
  EXPECT_TRUE(std::filesystem::is_socket(socket_));
  EXPECT_EQ(tmux({"has-session", "-t", "=n"}).rc, 0);
}

TEST_P(TmuxCompatTest, KillServerEndsEverySession) {
  newSession("one");
  newSession("two");
  EXPECT_EQ(tmux({"kill-server"}).rc, 0);
  ASSERT_TRUE(eventually([&] { return serverGone(); }));
}

INSTANTIATE_TEST_SUITE_P(RealAndMock, TmuxCompatTest, ::testing::Values("tmux", "mock"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cleanroom::mocks::testing
