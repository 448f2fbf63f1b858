// Runs cleanroom-mock-docker as a real process: --socket with TCP kept, the
// "listening on" line, the ready file, a container over the Unix socket, and a
// clean exit on SIGTERM that takes every container process with it.
#include <fcntl.h>
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

#include "process_probe.h"
#include "raw_http_client.h"

extern char** environ;

namespace cleanroom::mocks::docker {
namespace {

using nlohmann::json;
using testing::RawHttpConnection;

// One run of the executable with its stdout on a pipe; killed and reaped on destruction.
class MockProcess {
 public:
  explicit MockProcess(std::vector<std::string> args) {
    args.insert(args.begin(), CLEANROOM_MOCK_DOCKER_EXE);
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
    char pattern[] = "/tmp/crdk-exe-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TemporaryDirectory() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}


testing::RawResponse send(RawHttpConnection& connection, const std::string& method, const std::string& target,
                          const std::string& body = "") {
  connection.send(method + " " + target + " HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n" +
                  "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  return connection.readResponse();
}

TEST(MockDockerExecutableTest, ServesTcpAndTheSocketAndTakesItsContainersAlongOnSigterm) {
  TemporaryDirectory directory;
  const std::string socket = directory.file("docker.sock");
  MockProcess mock({"--socket", socket, "--ready-file", directory.file("ready"), "--log-level", "warn"});
  const std::string line = mock.firstLine();
  ASSERT_EQ(line.rfind("listening on http://127.0.0.1:", 0), 0u) << line;
  EXPECT_EQ(readFile(directory.file("ready")), line.substr(std::string("listening on ").size()));
  const int port = std::stoi(line.substr(line.rfind(':') + 1));

  auto overSocket = RawHttpConnection::unixSocket(socket);
  const auto created = send(overSocket, "POST", "/v1.45/containers/create?name=bg",
                            R"({"Image":"alpine","Env":["CLEANROOM_MOCK_IGNORE_SIGTERM=1"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(send(overSocket, "POST", "/v1.45/containers/bg/start").status, 204);
  auto overTcp = RawHttpConnection::tcp(static_cast<std::uint16_t>(port));
  const auto inspect = send(overTcp, "GET", "/v1.45/containers/bg/json");
  ASSERT_EQ(inspect.status, 200);
  const pid_t containerPid = json::parse(inspect.body)["State"]["Pid"];
  ASSERT_GT(containerPid, 0);

  mock.signal(SIGTERM);
  const int status = mock.waitForExit();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(testing::processIsGone(containerPid));  // killed and reaped before the mock exited
  EXPECT_FALSE(std::filesystem::exists(socket));
}

TEST(MockDockerExecutableTest, NoTcpServesOnlyTheSocket) {
  TemporaryDirectory directory;
  const std::string socket = directory.file("d.sock");
  MockProcess mock({"--socket", socket, "--no-tcp", "--log-level", "warn"});
  EXPECT_EQ(mock.firstLine(), "listening on unix://" + socket);
  auto connection = RawHttpConnection::unixSocket(socket);
  EXPECT_EQ(send(connection, "GET", "/_ping").status, 200);
  mock.signal(SIGTERM);
  const int status = mock.waitForExit();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(MockDockerExecutableTest, BadFlagsExitWith2AndAnUnusableSocketWith1) {
  for (const auto& args : {std::vector<std::string>{"--no-tcp"}, std::vector<std::string>{"--bogus"}}) {
    MockProcess mock(args);
    const int status = mock.waitForExit();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 2) << args[0];
  }
  MockProcess tooLong({"--socket", "/tmp/" + std::string(120, 's'), "--log-level", "off"});
  const int status = tooLong.waitForExit();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

}  // namespace
}  // namespace cleanroom::mocks::docker
