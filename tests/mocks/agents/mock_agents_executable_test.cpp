// Runs cleanroom-mock-agents as a real process: flags, the "listening on" line,
// the ready file, the control API and a clean exit on SIGTERM.
#include <httplib.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace cleanroom::mocks {
namespace {

// One run of the executable with its stdout on a pipe; killed and reaped on destruction.
class MockProcess {
 public:
  explicit MockProcess(std::vector<std::string> args) {
    args.insert(args.begin(), CLEANROOM_MOCK_AGENTS_EXE);
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 1);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipeFds[1]);
    stdout_ = pipeFds[0];
    if (rc != 0) throw std::runtime_error("posix_spawn failed");
  }

  ~MockProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitForExit();
    }
    ::close(stdout_);
  }

  // Returns the first stdout line (without newline), or "" after 10 s or EOF.
  std::string firstLine() {
    std::string line;
    char c = 0;
    while (true) {
      pollfd pfd{stdout_, POLLIN, 0};
      if (::poll(&pfd, 1, 10000) <= 0 || ::read(stdout_, &c, 1) != 1 || c == '\n') return line;
      line.push_back(c);
    }
  }

  void signal(int number) { ::kill(pid_, number); }

  // Blocks until the process exits; returns its wait status.
  int waitForExit() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int stdout_ = -1;
};

class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    char pattern[] = "/tmp/cleanroom-mock-exe-test-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TemporaryDirectory() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

TEST(MockAgentsExecutableTest, ListensWritesTheReadyFileAndExitsCleanlyOnSigterm) {
  TemporaryDirectory directory;
  const auto readyFile = directory.path() / "ready";
  MockProcess mock({"--port", "0", "--ready-file", readyFile.string(), "--log-level", "warn", "--linger-ms", "100"});
  const std::string line = mock.firstLine();
  ASSERT_EQ(line.rfind("listening on http://127.0.0.1:", 0), 0u) << line;
  const std::string url = line.substr(std::string("listening on ").size());
  EXPECT_EQ(readFile(readyFile), url);  // written before the line is printed

  httplib::Client client(url);
  auto health = client.Get("/__cleanroom/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto created = client.Post("/api/agents", R"({"type":"t","prompt":"p","behavior":{"realProcess":true}})",
                             "application/json");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201);

  mock.signal(SIGTERM);
  const int status = mock.waitForExit();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const pid_t agentPid = nlohmann::json::parse(created->body)["pid"];
  EXPECT_NE(::kill(agentPid, 0), 0);  // the mock killed and reaped its agent before exiting
}

TEST(MockAgentsExecutableTest, RejectsBadFlagsWithExitCode2) {
  for (const auto& args : {std::vector<std::string>{"--port", "eighty"}, std::vector<std::string>{"--bogus"},
                           std::vector<std::string>{"--log-level", "loud"}}) {
    MockProcess mock(args);
    const int status = mock.waitForExit();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 2) << args[0];
  }
}

}  // namespace
}  // namespace cleanroom::mocks
