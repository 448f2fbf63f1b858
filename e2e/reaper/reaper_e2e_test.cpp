// When a test process dies, nothing it held survives: a real gtest program
// (cleanroom_doomed_suite) holding REST agents with real processes, tmux
// sessions (one with a process that escaped with setsid), a launched process
// and an agent's files, plus Docker containers and Daytona sandboxes on mocks
// that outlive it (as a real daemon would), is killed. SIGKILL leaves the
// work to cleanroom-reaper; SIGTERM and SIGINT to the fail-safe inside the
// program. Another run next to it is never touched.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <fstream>
#include <sstream>

#include "cleanroom/child_process.h"
#include "cleanroom/http_client.h"
#include "cleanroom/process_tree.h"
#include "cleanroom/run.h"
#include "cleanroom/wait.h"
#include "mock_server_process.h"
#include "scoped_env.h"

namespace cleanroom {
namespace {

namespace fs = std::filesystem;
using tests::ScopedEnv;
using json = nlohmann::json;

constexpr milliseconds kTimeout{60000};

// One doomed suite process and what it holds.
struct DoomedRun {
  std::string runId;
  std::unique_ptr<ChildProcess> process;
  std::string socket;
  fs::path workspace;
};

std::vector<std::string> aliveMarkedWith(const std::string& runId) {
  std::vector<std::string> alive;
  for (const ProcessInfo& p : processesMarkedWith(runId)) {
    if (!p.isZombie()) alive.push_back(describe(p));
  }
  return alive;
}

// True when the tmux server on `socket` is gone (no server to connect to).
bool tmuxServerGone(const std::string& socket) {
  auto client = ChildProcess::spawn({"/usr/bin/tmux", "-S", socket, "ls", "-F", "#{session_name}"});
  if (!client) return false;
  while ((*client)->readLine(milliseconds(5000)).ok()) {
  }
  const ChildProcess::Ending ending = (*client)->stop(milliseconds(5000));  // it has ended: collect its status
  return ending.exitStatus == 1;  // "no server running" / "error connecting"
}

class ReaperE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(becomeChildSubreaper());
    std::string pattern = (fs::temp_directory_path() / "cr-reaper-e2e-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    tmpdir_ = std::make_unique<ScopedEnv>("TMPDIR", root_.string());
    journals_ = std::make_unique<ScopedEnv>("CLEANROOM_JOURNAL_DIR", (root_ / "journals").string());
    reaper_ = std::make_unique<ScopedEnv>("CLEANROOM_REAPER", CLEANROOM_REAPER_EXE);
    tmuxBinary_ = std::make_unique<ScopedEnv>("CLEANROOM_TMUX", "/usr/bin/tmux");
    // The container services outlive the doomed suites, like a real daemon.
    const std::string socket = (root_ / "docker.sock").string();
    docker_ = std::make_unique<tests::MockServerProcess>(CLEANROOM_MOCK_DOCKER_PATH,
                                                         std::vector<std::string>{"--socket", socket});
    dockerHost_ = std::make_unique<ScopedEnv>("DOCKER_HOST", "unix://" + socket);
    daytonaKey_ = std::make_unique<ScopedEnv>("DAYTONA_API_KEY", "reaper-e2e-" + run::generateId());
    daytona_ = std::make_unique<tests::MockServerProcess>(CLEANROOM_MOCK_DAYTONA_PATH);
    daytonaUrl_ = std::make_unique<ScopedEnv>("DAYTONA_API_URL", daytona_->url() + "/api");
    aws_ = std::make_unique<tests::MockServerProcess>(
        CLEANROOM_MOCK_AWS_PATH, std::vector<std::string>{"--task-start-ms", "20", "--task-stop-ms", "200",
                                                          "--deregistration-delay-ms", "600000"});
    for (const auto& [name, value] : std::vector<std::pair<std::string, std::optional<std::string>>>{
             {"AWS_ENDPOINT_URL", aws_->url()},
             {"AWS_ENDPOINT_URL_ECS", std::nullopt},
             {"AWS_ENDPOINT_URL_S3", std::nullopt},
             {"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", std::nullopt},
             {"AWS_ACCESS_KEY_ID", "cleanroom"},
             {"AWS_SECRET_ACCESS_KEY", "cleanroom-secret"},
             {"AWS_SESSION_TOKEN", std::nullopt},
             {"AWS_REGION", "us-east-1"}}) {
      awsVariables_.push_back(std::make_unique<ScopedEnv>(name, value));
    }
  }

  void TearDown() override {
    docker_.reset();  // SIGTERM: each mock ends what it still runs
    daytona_.reset();
    aws_.reset();
    // Whatever a failed test left: every process of its runs, then our zombies.
    for (const std::string& runId : runIds_) {
      for (const ProcessInfo& p : processesMarkedWith(runId)) (void)signalProcess(p.id, SIGKILL);
    }
    const bool quiet = waitUntil(Clock::system(), Clock::system().now() + kTimeout, AdaptiveWait{}, [&] {
                         std::vector<ProcessIdentity> children;
                         for (const ProcessInfo& p : listProcesses()) {
                           if (p.ppid == ::getpid()) children.push_back(p.id);
                         }
                         reapZombieChildren(children);
                         for (const ProcessInfo& p : listProcesses()) {
                           if (p.ppid == ::getpid()) return false;  // a reaper or server still winding down
                         }
                         return true;
                       }).met;
    EXPECT_TRUE(quiet) << "child processes of the test are still running";
    fs::remove_all(root_);
  }

  // Starts a doomed suite for a fresh run and waits until it holds everything.
  DoomedRun start() {
    DoomedRun run;
    run.runId = "doomed" + run::generateId().substr(0, 6);
    runIds_.push_back(run.runId);
    ScopedEnv runId("CLEANROOM_RUN_ID", run.runId);
    auto spawned = ChildProcess::spawn({CLEANROOM_DOOMED_SUITE});
    if (!spawned) {
      ADD_FAILURE() << spawned.error().describe();
      return run;
    }
    run.process = std::move(spawned).value();
    for (;;) {
      Result<std::string> line = run.process->readLine(kTimeout);
      if (!line) {
        ADD_FAILURE() << "the doomed suite did not get to hold everything: " << line.error().describe();
        return run;
      }
      if (line->rfind("holding ", 0) != 0) continue;  // gtest's own lines
      std::istringstream words(line->substr(8));
      std::string workspace;
      words >> run.socket >> workspace;
      run.workspace = workspace;
      break;
    }
    EXPECT_GE(aliveMarkedWith(run.runId).size(), 6u) << "mock, 2 agents, 2 panes + escapee, launched process";
    EXPECT_FALSE(tmuxServerGone(run.socket));
    EXPECT_EQ(containersOf(run.runId).size(), 2u);
    EXPECT_EQ(sandboxesOf(run.runId).size(), 2u);
    EXPECT_EQ(tasksOf(run.runId).size(), 3u) << "two sessions and a bare task";
    EXPECT_EQ(targetsOf(run.runId).size(), 2u) << "the sessions' targets";
    return run;
  }

  // The ECS tasks of `runId` on the AWS mock that are not STOPPED ("<arn> <status>").
  std::vector<std::string> tasksOf(const std::string& runId) const {
    std::vector<std::string> found;
    const json state = aws_->get("/__cleanroom/state");
    for (const json& task : state.at("tasks")) {
      if (ownerOf(task) != runId || task.value("lastStatus", "") == "STOPPED") continue;
      found.push_back(task.value("taskArn", "") + " " + task.value("lastStatus", ""));
    }
    return found;
  }

  // The ALB targets of `runId`'s tasks that are still registered (not
  // draining): "<ip> <state>".
  std::vector<std::string> targetsOf(const std::string& runId) const {
    const json state = aws_->get("/__cleanroom/state");
    std::vector<std::string> ips;
    for (const json& task : state.at("tasks")) {
      if (ownerOf(task) != runId) continue;
      for (const json& attachment : task.value("attachments", json::array())) {
        for (const json& detail : attachment.value("details", json::array())) {
          if (detail.value("name", "") == "privateIPv4Address") ips.push_back(detail.value("value", ""));
        }
      }
    }
    std::vector<std::string> found;
    for (const json& group : state.at("targetGroups")) {
      for (const json& target : group.at("targets")) {
        const std::string ip = target.value("id", "");
        if (std::find(ips.begin(), ips.end(), ip) == ips.end() || target.value("state", "") == "draining") continue;
        found.push_back(ip + " " + target.value("state", ""));
      }
    }
    return found;
  }

  // The keys of `runId`'s log uploads on the AWS mock.
  std::vector<std::string> uploadsOf(const std::string& runId) const {
    std::vector<std::string> found;
    const json buckets = aws_->get("/__cleanroom/state").at("s3").at("buckets");
    if (!buckets.contains("cleanroom-logs")) return found;
    const std::string prefix = "sessions/" + runId + "/";
    for (const auto& [key, object] : buckets.at("cleanroom-logs").at("objects").items()) {
      if (key.rfind(prefix, 0) == 0) found.push_back(key.substr(prefix.size()));
    }
    return found;
  }

  static std::string ownerOf(const json& task) {
    for (const json& tag : task.value("tags", json::array())) {
      if (tag.value("key", "") == "cleanroom.run") return tag.value("value", "");
    }
    return "";
  }

  fs::path sessionLog(const DoomedRun& run) const { return root_ / ("doomed-logs-" + run.runId) / "s1" / "agent.log"; }

  // The containers of `runId` on the docker mock, running or not ("<id> <state>").
  std::vector<std::string> containersOf(const std::string& runId) const {
    const json filters = {{"label", {"cleanroom.run=" + runId}}};
    std::vector<std::string> found;
    for (const json& c : docker_->get("/v1.45/containers/json?all=1&filters=" + urlEncode(filters.dump()))) {
      found.push_back(c.value("Id", "") + " " + c.value("State", ""));
    }
    return found;
  }

  // The sandboxes of `runId` on the daytona mock that are not destroyed ("<name> <state>").
  std::vector<std::string> sandboxesOf(const std::string& runId) const {
    std::vector<std::string> found;
    const json state = daytona_->get("/__cleanroom/state");
    for (const json& s : state.at("sandboxes")) {
      const json labels = s.value("labels", json::object());
      if (labels.value("cleanroom.run", "") != runId || s.value("state", "") == "destroyed") continue;
      found.push_back(s.value("name", "") + " " + s.value("state", ""));
    }
    return found;
  }

  // Waits until nothing of `run` is alive: no marked process, no tmux
  // server, no prompt file; the log archived.
  ::testing::AssertionResult nothingLeftOf(const DoomedRun& run) {
    const bool gone = waitUntil(Clock::system(), Clock::system().now() + kTimeout, AdaptiveWait{}, [&] {
                        return aliveMarkedWith(run.runId).empty() && !fs::exists(run.workspace / "agent_prompt_a1.txt") &&
                               containersOf(run.runId).empty() && sandboxesOf(run.runId).empty() &&
                               tasksOf(run.runId).empty() && targetsOf(run.runId).empty();
                      }).met;
    if (!gone) {
      std::string alive;
      for (const auto& p : aliveMarkedWith(run.runId)) alive += "\n  " + p;
      for (const auto& c : containersOf(run.runId)) alive += "\n  container " + c;
      for (const auto& s : sandboxesOf(run.runId)) alive += "\n  sandbox " + s;
      for (const auto& t : tasksOf(run.runId)) alive += "\n  ecs task " + t;
      for (const auto& t : targetsOf(run.runId)) alive += "\n  alb target " + t;
      return ::testing::AssertionFailure() << "still alive after " << kTimeout.count() << " ms:" << alive
                                           << (fs::exists(run.workspace / "agent_prompt_a1.txt") ? "\n  prompt file" : "");
    }
    if (!waitUntil(Clock::system(), Clock::system().now() + kTimeout, AdaptiveWait{}, [&] {
          return tmuxServerGone(run.socket);
        }).met) {
      return ::testing::AssertionFailure() << "the tmux server on " << run.socket << " is still running";
    }
    if (!fs::exists(run.workspace / "archive" / "a1_stream.jsonl")) {
      return ::testing::AssertionFailure() << "the agent's log was not archived";
    }
    return ::testing::AssertionSuccess();
  }

  DoomedRun killAndExpectClean(int signal, const std::string& ending) {
    DoomedRun run = start();
    if (!run.process) return run;
    EXPECT_EQ(::kill(run.process->pid(), signal), 0);
    // Its end of output is its exit (stop() would send SIGTERM into the sweep).
    while (run.process->readLine(kTimeout).ok()) {
    }
    EXPECT_THAT(run.process->stop(kTimeout).description, ::testing::HasSubstr(ending));
    EXPECT_TRUE(nothingLeftOf(run));
    return run;
  }

  // The fail-safe ran the sessions' own cleanup: the log was shipped (and
  // removed locally) before the tasks were stopped.
  void expectSessionLogsShipped(const DoomedRun& run) {
    EXPECT_THAT(uploadsOf(run.runId), ::testing::ElementsAre("s1/agent.log"));
    EXPECT_FALSE(fs::exists(sessionLog(run)));
  }

  fs::path root_;
  std::vector<std::string> runIds_;
  std::unique_ptr<ScopedEnv> tmpdir_;
  std::unique_ptr<ScopedEnv> journals_;
  std::unique_ptr<ScopedEnv> reaper_;
  std::unique_ptr<ScopedEnv> tmuxBinary_;
  std::unique_ptr<tests::MockServerProcess> docker_;
  std::unique_ptr<ScopedEnv> dockerHost_;
  std::unique_ptr<ScopedEnv> daytonaKey_;
  std::unique_ptr<tests::MockServerProcess> daytona_;
  std::unique_ptr<ScopedEnv> daytonaUrl_;
  std::unique_ptr<tests::MockServerProcess> aws_;
  std::vector<std::unique_ptr<ScopedEnv>> awsVariables_;
};

TEST_F(ReaperE2E, SigkillIsReapedByTheSidecar) {
  const DoomedRun run = killAndExpectClean(SIGKILL, "killed by SIGKILL");
  // The sessions died with the process: the reaper stops their tasks and
  // deregisters their targets; their logs stay on disk — nothing is lost.
  EXPECT_TRUE(uploadsOf(run.runId).empty());
  EXPECT_TRUE(fs::exists(sessionLog(run)));
}

TEST_F(ReaperE2E, SigtermIsCleanedByTheFailSafe) {
  expectSessionLogsShipped(killAndExpectClean(SIGTERM, "killed by SIGTERM"));
}

TEST_F(ReaperE2E, SigintIsCleanedByTheFailSafe) {
  expectSessionLogsShipped(killAndExpectClean(SIGINT, "killed by SIGINT"));
}

TEST_F(ReaperE2E, ARunNextToTheKilledOneIsUntouched) {
  DoomedRun killed = start();
  DoomedRun survivor = start();
  ASSERT_TRUE(killed.process && survivor.process);
  const std::size_t survivorHeld = aliveMarkedWith(survivor.runId).size();

  ASSERT_EQ(::kill(killed.process->pid(), SIGKILL), 0);
  (void)killed.process->stop(kTimeout);
  EXPECT_TRUE(nothingLeftOf(killed));

  EXPECT_EQ(aliveMarkedWith(survivor.runId).size(), survivorHeld) << "the other run lost processes";
  EXPECT_FALSE(tmuxServerGone(survivor.socket));
  EXPECT_TRUE(fs::exists(survivor.workspace / "agent_prompt_a1.txt"));
  EXPECT_EQ(containersOf(survivor.runId).size(), 2u) << "the other run lost containers";
  EXPECT_EQ(sandboxesOf(survivor.runId).size(), 2u) << "the other run lost sandboxes";
  EXPECT_EQ(tasksOf(survivor.runId).size(), 3u) << "the other run lost ECS tasks";
  EXPECT_EQ(targetsOf(survivor.runId).size(), 2u) << "the other run lost ALB targets";

  ASSERT_EQ(::kill(survivor.process->pid(), SIGTERM), 0);
  (void)survivor.process->stop(kTimeout);
  EXPECT_TRUE(nothingLeftOf(survivor));
}

}  // namespace
}  // namespace cleanroom
