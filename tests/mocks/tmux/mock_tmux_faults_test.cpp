// cleanroom-mock-tmux's own controls, as a real process on a private socket:
// fault injection (fail N calls, hang, orphan after kill-session) and --help.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "mocks/tmux/tool_process.h"

namespace cleanroom::mocks::testing {
namespace {

class MockTmuxFaultsTest : public ToolProcessTest {
 protected:
  void SetUp() override {
    tool_ = CLEANROOM_MOCK_TMUX_EXE;
    ToolProcessTest::SetUp();
  }

  void arm(const std::string& rule) {
    const auto result = tmux({"__fault", rule});
    ASSERT_EQ(result.rc, 0) << result.err;
  }

  void newSession(const std::string& name) {
    const auto result = tmux({"new-session", "-d", "-s", name, "sleep 300"});
    ASSERT_EQ(result.rc, 0) << result.err;
  }
};

TEST_F(MockTmuxFaultsTest, FailsTheNextTwoKillSessionsThenWorks) {
  newSession("s");
  arm(R"({"fail": 2, "command": "kill-session", "message": "lost server"})");
  for (int attempt = 0; attempt < 2; ++attempt) {
    const auto failed = tmux({"kill-session", "-t", "=s"});
    EXPECT_EQ(failed.rc, 1);
    EXPECT_EQ(failed.err, "lost server\n");
    EXPECT_EQ(tmux({"has-session", "-t", "=s"}).rc, 0) << "a failed call changes nothing";
  }
  const auto third = tmux({"kill-session", "-t", "=s"});
  EXPECT_EQ(third.rc, 0) << third.err;
}

TEST_F(MockTmuxFaultsTest, RulesArmedBeforeTheServerStartsComeFromTheFaultsFile) {
  arm(R"({"fail": 1, "command": "has-session"})");
  EXPECT_TRUE(std::filesystem::exists(socket_ + ".faults"));
  newSession("s");
  EXPECT_FALSE(std::filesystem::exists(socket_ + ".faults")) << "the server consumed it";
  const auto failed = tmux({"has-session", "-t", "s"});
  EXPECT_EQ(failed.rc, 1);
  EXPECT_EQ(failed.err, "server exited unexpectedly\n");
  EXPECT_EQ(tmux({"has-session", "-t", "s"}).rc, 0);
}

TEST_F(MockTmuxFaultsTest, RulesFromTheEnvironmentOfTheStartingClient) {
  env_["CLEANROOM_MOCK_TMUX_FAULTS"] = R"([{"fail": 1, "command": "list-sessions", "message": "boom"}])";
  newSession("s");
  EXPECT_EQ(tmux({"ls"}).err, "boom\n");
  EXPECT_EQ(tmux({"ls", "-F", "#{session_name}"}).out, "s\n");
}

TEST_F(MockTmuxFaultsTest, BadRulesAreRejectedNamingTheField) {
  const auto bad = tmux({"__fault", R"({"fail": 0})"});
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("\"fail\""), std::string::npos) << bad.err;
  const auto unknown = tmux({"__fault", R"({"fail": 1, "command": "attach-everything"})"});
  EXPECT_NE(unknown.err.find("\"command\""), std::string::npos) << unknown.err;
  env_["CLEANROOM_MOCK_TMUX_FAULTS"] = "not json";
  const auto fromEnv = tmux({"new-session", "-d", "-s", "x", "sleep 300"});
  EXPECT_EQ(fromEnv.rc, 1);
  EXPECT_NE(fromEnv.err.find("CLEANROOM_MOCK_TMUX_FAULTS"), std::string::npos) << fromEnv.err;
}

TEST_F(MockTmuxFaultsTest, AHangOutlastsTheCallersTimeoutWhileOtherCallsAreServed) {
  newSession("s");
  arm(R"({"hang_ms": 600000, "command": "has-session"})");
  const auto hung = tmux({"has-session", "-t", "s"}, std::chrono::milliseconds(200));
  EXPECT_TRUE(hung.timedOut);
  EXPECT_EQ(tmux({"has-session", "-t", "s"}).rc, 0) << "only the next call hangs";
  EXPECT_EQ(tmux({"list-sessions", "-F", "#{session_name}"}).out, "s\n");
}

TEST_F(MockTmuxFaultsTest, AShortHangAnswersAfterTheHang) {
  newSession("s");
  arm(R"({"hang_ms": 50, "times": 1})");
  const auto start = std::chrono::steady_clock::now();
  const auto result = tmux({"has-session", "-t", "s"});
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  EXPECT_EQ(result.rc, 0);
}

TEST_F(MockTmuxFaultsTest, OrphanEscapesThePaneAndSurvivesKillSession) {
  newSession("keep");
  arm(R"({"orphan": 1})");
  newSession("agent");
  const pid_t panePid = static_cast<pid_t>(std::stol(tmux({"display-message", "-p", "-t", "=agent:", "#{pane_pid}"}).out));
  const auto children = childrenOf(panePid);
  ASSERT_EQ(children.size(), 1u);
  const pid_t escaped = children.front();
  EXPECT_EQ(statField(escaped, 6), escaped) << "it called setsid";
  EXPECT_NE(statField(escaped, 5), panePid) << "not in the pane's process group";
  EXPECT_EQ(commandLineOf(escaped), "sleep 600 ");
  std::ifstream orphans(socket_ + ".orphans");
  pid_t recorded = 0;
  orphans >> recorded;
  EXPECT_EQ(recorded, escaped);

  EXPECT_EQ(tmux({"kill-session", "-t", "=agent"}).rc, 0);
  ASSERT_TRUE(eventually([&] { return processIsGone(panePid) || processState(panePid) == 'Z'; }));
  ASSERT_TRUE(eventually([&] { return statField(escaped, 4) == ::getpid(); }))
      << "reparented to this subreaper, still running";
  EXPECT_EQ(::kill(escaped, 0), 0);
  ASSERT_EQ(::kill(escaped, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(escaped, &status, 0), escaped);
  EXPECT_TRUE(WIFSIGNALED(status));
}

TEST_F(MockTmuxFaultsTest, HelpListsTheSubsetAndTheFaultControls) {
  const auto help = runProcess({tool_, "--help"});
  EXPECT_EQ(help.rc, 0);
  for (const char* word : {"new-session", "has-session", "kill-session", "list-sessions", "list-panes",
                           "display-message", "kill-server", "__fault", "hang_ms", "orphan",
                           "CLEANROOM_MOCK_TMUX_FAULTS"}) {
    EXPECT_NE(help.out.find(word), std::string::npos) << word;
  }
}

}  // namespace
}  // namespace cleanroom::mocks::testing
