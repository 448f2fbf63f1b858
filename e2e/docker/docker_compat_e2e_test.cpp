// Real-client compatibility of cleanroom-mock-docker: the real docker CLI and
// docker-py, run as child processes against the mock executable (a real
// process) over TCP and over its Unix socket. Each test has its own mock, its
// own temporary HOME/DOCKER_CONFIG (nothing touches the user's configuration)
// and removes its directory; the mock takes its container processes along when
// it stops.
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cleanroom/child_process.h"
#include "run_command.h"

namespace cleanroom::e2e {
namespace {

using std::chrono::seconds;

bool processIsGone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

std::vector<std::string> sortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// GetParam(): "tcp" or "unix" — the transport the clients use.
class DockerClientsE2ETest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_NE(std::string(CLEANROOM_DOCKER_CLI), "")
        << "no docker CLI was found at configure time: install it (Debian: apt-get install docker.io) and re-run cmake";
    ASSERT_NE(std::string(CLEANROOM_PYTHON3), "")
        << "no python3 was found at configure time: install python3 and python3-docker, then re-run cmake";
    char pattern[] = "/tmp/crdk-e2e-XXXXXX";  // short: the socket path must stay < 108 bytes
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    directory_ = pattern;
    const std::string socket = (directory_ / "docker.sock").string();
    auto spawned = ChildProcess::spawn({CLEANROOM_MOCK_DOCKER_PATH, "--socket", socket, "--log-level", "warn"});
    ASSERT_TRUE(spawned.ok()) << spawned.error().message;
    mock_ = std::move(spawned).value();
    auto line = mock_->readLine(seconds(20));
    ASSERT_TRUE(line.ok()) << line.error().message;
    const std::string prefix = "listening on http://";
    ASSERT_EQ(line.value().rfind(prefix, 0), 0u) << line.value();
    tcpHost_ = "tcp://" + line.value().substr(prefix.size());
    unixHost_ = "unix://" + socket;
    environment_ = {{"HOME", (directory_ / "home").string()},
                    {"DOCKER_CONFIG", (directory_ / "docker-config").string()},
                    {"DOCKER_HOST", dockerHost()},
                    {"DOCKER_CLI_HINTS", "false"},
                    {"DOCKER_CONTEXT", std::nullopt},
                    {"DOCKER_API_VERSION", std::nullopt},
                    {"DOCKER_TLS_VERIFY", std::nullopt},
                    {"DOCKER_CERT_PATH", std::nullopt}};
  }

  void TearDown() override {
    if (mock_) mock_->stop(seconds(10));
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  std::string dockerHost() const { return GetParam() == "tcp" ? tcpHost_ : unixHost_; }

  // Runs the docker CLI with `args`.
  CommandResult docker(std::vector<std::string> args) {
    args.insert(args.begin(), CLEANROOM_DOCKER_CLI);
    return runCommand(args, environment_, seconds(60));
  }

  // Runs `docker run -d` with `args`; expects success and returns the id.
  std::string runDetached(std::vector<std::string> args) {
    args.insert(args.begin(), {"run", "-d"});
    const auto result = docker(args);
    EXPECT_EQ(result.exitCode, 0) << result.describe();
    return trimmed(result.out);
  }

  std::string inspect(const std::string& format, const std::string& container) {
    const auto result = docker({"inspect", "--type", "container", "--format", format, container});
    EXPECT_EQ(result.exitCode, 0) << result.describe();
    return trimmed(result.out);
  }

  std::filesystem::path directory_;
  std::unique_ptr<ChildProcess> mock_;
  std::string tcpHost_;
  std::string unixHost_;
  EnvironmentChanges environment_;
};

TEST_P(DockerClientsE2ETest, CliRunsDetachedContainersAndFiltersPs) {
  const std::string run = "cleanroom.run=e2e-" + GetParam();
  const std::string webId = runDetached({"--name", "web", "--label", run, "--label", "role=web", "alpine:3", "sleep", "300"});
  EXPECT_EQ(webId.size(), 64u) << webId;
  runDetached({"--name", "db", "--label", run, "--label", "role=db", "-e", "CLEANROOM_MOCK_RUN_MS=0", "alpine:3"});
  runDetached({"--name", "other", "--label", "cleanroom.run=someone-else", "alpine:3"});
  const auto waited = docker({"wait", "db"});
  ASSERT_EQ(waited.exitCode, 0) << waited.describe();
  EXPECT_EQ(waited.out, "0\n");

  const auto mine = docker({"ps", "-a", "--filter", "label=" + run, "--format", "{{.Names}}"});
  ASSERT_EQ(mine.exitCode, 0) << mine.describe();
  EXPECT_EQ(sortedLines(mine.out), (std::vector<std::string>{"db", "web"}));
  const auto running = docker({"ps", "-a", "--filter", "label=" + run, "--filter", "status=running", "--format", "{{.Names}}"});
  EXPECT_EQ(running.out, "web\n") << running.describe();
  const auto exited = docker({"ps", "-a", "--filter", "status=exited", "--format", "{{.Names}} {{.Label \"role\"}} {{.State}}"});
  EXPECT_EQ(exited.out, "db db exited\n") << exited.describe();
  const auto byName = docker({"ps", "-a", "--filter", "name=oth", "--format", "{{.Names}}"});
  EXPECT_EQ(byName.out, "other\n") << byName.describe();
  const auto ids = docker({"ps", "-aq", "--no-trunc", "--filter", "label=role=web"});
  EXPECT_EQ(ids.out, webId + "\n") << ids.describe();
  const auto table = docker({"ps"});
  EXPECT_NE(table.out.find("Up "), std::string::npos) << table.describe();

  EXPECT_EQ(inspect("{{.State.Status}} {{.State.Running}} {{.Name}} {{index .Config.Labels \"role\"}}", "web"),
            "running true /web web");
  const auto missing = docker({"inspect", "--type", "container", "ghost"});
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_NE(missing.err.find("No such container: ghost"), std::string::npos) << missing.describe();
}

TEST_P(DockerClientsE2ETest, CliStopIsGracefulOrEndsInSigkillAfterTheTimeout) {
  runDetached({"--name", "polite", "-e", "CLEANROOM_MOCK_EXIT_DELAY_MS=100", "alpine:3"});
  runDetached({"--name", "stubborn", "-e", "CLEANROOM_MOCK_IGNORE_SIGTERM=1", "alpine:3"});
  const pid_t politePid = std::stoi(inspect("{{.State.Pid}}", "polite"));
  const pid_t stubbornPid = std::stoi(inspect("{{.State.Pid}}", "stubborn"));
  ASSERT_GT(politePid, 0);
  ASSERT_GT(stubbornPid, 0);

  const auto polite = docker({"stop", "-t", "10", "polite"});
  EXPECT_EQ(polite.exitCode, 0) << polite.describe();
  EXPECT_EQ(polite.out, "polite\n");
  EXPECT_EQ(inspect("{{.State.Status}} {{.State.ExitCode}}", "polite"), "exited 143");
  EXPECT_TRUE(processIsGone(politePid));

  const auto stubborn = docker({"stop", "-t", "1", "stubborn"});
  EXPECT_EQ(stubborn.exitCode, 0) << stubborn.describe();
  EXPECT_EQ(inspect("{{.State.Status}} {{.State.ExitCode}}", "stubborn"), "exited 137");
  EXPECT_TRUE(processIsGone(stubbornPid));
  EXPECT_NE(inspect("{{.State.FinishedAt}}", "stubborn"), "0001-01-01T00:00:00Z");

  const auto again = docker({"stop", "stubborn"});  // 304: already stopped is success
  EXPECT_EQ(again.exitCode, 0) << again.describe();
}

TEST_P(DockerClientsE2ETest, CliWaitLogsKillAndRemove) {
  runDetached({"--name", "job", "-e", "CLEANROOM_MOCK_RUN_MS=100", "-e", "CLEANROOM_MOCK_EXIT_CODE=3", "-e",
               "CLEANROOM_MOCK_STDOUT=hello", "-e", "CLEANROOM_MOCK_STDERR=warning", "alpine:3"});
  const auto waited = docker({"wait", "job"});
  EXPECT_EQ(waited.out, "3\n") << waited.describe();
  const auto logs = docker({"logs", "job"});
  EXPECT_EQ(logs.exitCode, 0) << logs.describe();
  EXPECT_EQ(logs.out, "hello\n");
  EXPECT_EQ(logs.err, "warning\n");
  const auto killExited = docker({"kill", "job"});
  EXPECT_EQ(killExited.exitCode, 1);
  EXPECT_NE(killExited.err.find("is not running"), std::string::npos) << killExited.describe();

  runDetached({"--name", "victim", "alpine:3"});
  EXPECT_EQ(docker({"kill", "victim"}).exitCode, 0);
  EXPECT_EQ(inspect("{{.State.Status}} {{.State.ExitCode}}", "victim"), "exited 137");
  EXPECT_EQ(docker({"rm", "victim"}).exitCode, 0);

  runDetached({"--name", "busy", "alpine:3"});
  const auto refused = docker({"rm", "busy"});
  EXPECT_EQ(refused.exitCode, 1);
  EXPECT_NE(refused.err.find("container is running"), std::string::npos) << refused.describe();
  const auto forced = docker({"rm", "-f", "busy"});
  EXPECT_EQ(forced.exitCode, 0) << forced.describe();
  EXPECT_EQ(forced.out, "busy\n");
  EXPECT_EQ(docker({"rm", "-f", "busy"}).exitCode, 0);  // CLI 28 ignores not-found with -f
  EXPECT_EQ(docker({"rm", "busy"}).exitCode, 1);
  EXPECT_EQ(docker({"ps", "-aq", "--filter", "name=busy"}).out, "");
}

constexpr const char* kDockerPyScript = R"PY(
import os
import docker

client = docker.DockerClient(base_url=os.environ["DOCKER_HOST"])
assert client.version()["ApiVersion"] == "1.45"
run = "cleanroom.run=py-" + os.environ["CLEANROOM_E2E_TRANSPORT"]
labels = {"cleanroom.run": run.split("=", 1)[1]}

web = client.containers.run("alpine:3", ["sleep", "300"], detach=True, name="pyweb", labels=dict(labels, role="web"))
job = client.containers.run("alpine:3", "true", detach=True, name="pyjob", labels=labels,
                            environment={"CLEANROOM_MOCK_RUN_MS": "50", "CLEANROOM_MOCK_EXIT_CODE": "2",
                                         "CLEANROOM_MOCK_STDOUT": "from python"})
assert job.wait() == {"StatusCode": 2, "Error": None}
assert job.logs() == b"from python\n", job.logs()

listed = {c.name: c.status for c in client.containers.list(all=True, filters={"label": run})}
assert listed == {"pyweb": "running", "pyjob": "exited"}, listed
running = [c.name for c in client.containers.list(filters={"label": [run], "status": "running"})]
assert running == ["pyweb"], running
assert client.containers.get("pyweb").labels["role"] == "web"

stub = client.containers.run("alpine:3", detach=True, name="pystub", labels=labels,
                             environment={"CLEANROOM_MOCK_IGNORE_SIGTERM": "1"})
stub.stop(timeout=1)
stub.reload()
assert (stub.status, stub.attrs["State"]["ExitCode"]) == ("exited", 137), stub.attrs["State"]

web.kill()
web.reload()
assert (web.status, web.attrs["State"]["ExitCode"]) == ("exited", 137), web.attrs["State"]
try:
    web.kill()
    raise AssertionError("kill of an exited container succeeded")
except docker.errors.APIError as error:
    assert error.status_code == 409, error

for container in (web, job, stub):
    container.remove(force=True)
try:
    client.containers.get("pyweb")
    raise AssertionError("removed container still found")
except docker.errors.NotFound:
    pass
assert client.containers.list(all=True, filters={"label": run}) == []
print("ok")
)PY";

TEST_P(DockerClientsE2ETest, DockerPyRunsListsStopsKillsWaitsAndRemoves) {
  EnvironmentChanges environment = environment_;
  environment["CLEANROOM_E2E_TRANSPORT"] = GetParam();
  const auto result = runCommand({CLEANROOM_PYTHON3, "-c", kDockerPyScript}, environment, seconds(90));
  EXPECT_EQ(result.exitCode, 0) << result.describe();
  EXPECT_EQ(result.out, "ok\n") << result.describe();
}

INSTANTIATE_TEST_SUITE_P(Transports, DockerClientsE2ETest, ::testing::Values("tcp", "unix"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cleanroom::e2e
