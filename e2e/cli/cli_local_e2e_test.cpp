// End-to-end tests of the `cleanroom` CLI on local agents: tmux sessions on a
// private server (CLEANROOM_TMUX_SOCKET, with real tmux and with
// cleanroom-mock-tmux as CLEANROOM_TMUX), workspace files
// (CLEANROOM_WORKSPACE) and processes (--backend process). Sessions and
// processes are made by this test with the harness's backends; every
// assertion reads what the CLI printed and exited with, and what tmux, /proc
// and the file system say afterwards.
//
// This process is a child subreaper: the tmux server and processes stopped by
// the CLI are re-parented here and reaped by pid; TearDown checks that
// nothing is left.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/backends/process_backend.h"
#include "cleanroom/backends/tmux_backend.h"
#include "cleanroom/process_tree.h"
#include "cleanroom/run.h"
#include "cleanroom/wait.h"
#include "run_command.h"

#ifndef CLEANROOM_CLI_PATH
#error "CLEANROOM_CLI_PATH must point at the cleanroom executable"
#endif

namespace cleanroom::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr const char* kRealTmux = "/usr/bin/tmux";

bool eventually(const std::function<bool()>& condition) {
  Clock& clock = Clock::system();
  return waitUntil(clock, clock.now() + milliseconds(15000), AdaptiveWait{}, condition).met;
}

std::vector<ProcessInfo> childrenOfThisProcess() {
  std::vector<ProcessInfo> children;
  for (const ProcessInfo& p : listProcesses()) {
    if (p.ppid == ::getpid()) children.push_back(p);
  }
  return children;
}

json parseJson(const CommandResult& result) {
  json parsed = json::parse(result.out, nullptr, false);
  if (parsed.is_discarded()) ADD_FAILURE() << "stdout is not JSON:\n" << result.describe();
  return parsed;
}

std::vector<std::string> namesIn(const json& resources, const std::string& backend) {
  std::vector<std::string> names;
  for (const auto& r : resources) {
    if (r.at("backend") == backend) names.push_back(r.at("name").get<std::string>());
  }
  return names;
}

void writeFile(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

struct TmuxFlavor {
  std::string label;
  std::string binary;
};

void PrintTo(const TmuxFlavor& flavor, std::ostream* os) { *os << flavor.label; }

std::vector<TmuxFlavor> flavors() {
  std::vector<TmuxFlavor> out{{"real_tmux", kRealTmux}};
#ifdef CLEANROOM_MOCK_TMUX_PATH
  out.push_back({"mock_tmux", CLEANROOM_MOCK_TMUX_PATH});
#endif
  return out;
}

class CleanroomCliLocalTest : public ::testing::TestWithParam<TmuxFlavor> {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(GetParam().binary.c_str(), X_OK), 0) << GetParam().binary << " is not installed";
    ASSERT_TRUE(becomeChildSubreaper());
    std::string pattern = (fs::temp_directory_path() / "cr-cli-local-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    socket_ = (dir_ / "sock").string();
    workspace_ = dir_ / "workspace";
    fs::create_directory(workspace_);
    runA_ = "cli-a-" + run::generateId();
    runB_ = "cli-b-" + run::generateId();
    TmuxConfig config;
    config.binary = GetParam().binary;
    config.socketPath = socket_;
    tmux_ = std::make_shared<TmuxBackend>(config);
  }

  void TearDown() override {
    if (dir_.empty()) return;
    std::vector<ProcessIdentity> ours;
    for (const ProcessInfo& p : childrenOfThisProcess()) ours.push_back(p.id);
    for (const std::string& run : {runA_, runB_}) {
      for (const ProcessInfo& p : processesMarkedWith(run)) ours.push_back(p.id);
      for (const ProcessInfo& p : processesMarkedWith(run, kLaunchMarkerVariable)) ours.push_back(p.id);
    }
    (void)tmux_->tmux({"kill-server"});
    for (const std::string& run : {runA_, runB_}) {
      for (const ProcessInfo& p : processesMarkedWith(run)) (void)signalProcess(p.id, SIGKILL);
      for (const ProcessInfo& p : processesMarkedWith(run, kLaunchMarkerVariable)) (void)signalProcess(p.id, SIGKILL);
    }
    EXPECT_TRUE(eventually([&] {
      for (const ProcessInfo& p : childrenOfThisProcess()) ours.push_back(p.id);
      reapZombieChildren(ours);
      const bool gone = std::none_of(ours.begin(), ours.end(), [](const ProcessIdentity& id) { return exists(id); });
      return gone && childrenOfThisProcess().empty();
    })) << "tmux server or processes did not go away";
    processesA_.reset();
    processesB_.reset();
    fs::remove_all(dir_);
  }

  // Runs the CLI with the tmux server and workspace of this test (unless
  // `environment` says otherwise) and no other backend.
  CommandResult cli(const std::vector<std::string>& args, EnvironmentChanges environment = {}) {
    std::vector<std::string> argv{CLEANROOM_CLI_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    EnvironmentChanges changes{{"CLEANROOM_RUN_ID", std::nullopt},
                               {"CLEANROOM_AGENTS_URL", std::nullopt},
                               {"CLEANROOM_LOG", std::nullopt},
                               {"CLEANROOM_TMUX", GetParam().binary},
                               {"CLEANROOM_TMUX_SOCKET", socket_},
                               {"CLEANROOM_WORKSPACE", std::nullopt}};
    for (const auto& [name, value] : environment) changes[name] = value;
    return runCommand(argv, changes);
  }

  Resource createSession(const std::string& runId, const std::string& suffix,
                         const std::string& command = "exec sleep 600") {
    TmuxSessionSpec spec;
    spec.suffix = suffix;
    spec.command = command;
    spec.runId = runId;
    Result<Resource> session = tmux_->createSession(spec);
    if (!session) ADD_FAILURE() << session.error().describe();
    return session.ok() ? *session : Resource{};
  }

  bool hasSession(const std::string& name) {
    Result<TmuxOutput> out = tmux_->tmux({"has-session", "-t", "=" + name});
    return out.ok() && out->exitCode == 0;
  }

  ProcessBackend& processes(const std::string& runId) {
    auto& backend = runId == runA_ ? processesA_ : processesB_;
    if (!backend) {
      ProcessBackendConfig config;
      config.runId = runId;
      backend = std::make_unique<ProcessBackend>(config);
    }
    return *backend;
  }

  fs::path dir_;
  std::string socket_;
  fs::path workspace_;
  std::string runA_;
  std::string runB_;
  std::shared_ptr<TmuxBackend> tmux_;
  std::unique_ptr<ProcessBackend> processesA_;
  std::unique_ptr<ProcessBackend> processesB_;
};

INSTANTIATE_TEST_SUITE_P(Tmux, CleanroomCliLocalTest, ::testing::ValuesIn(flavors()),
                         [](const auto& info) { return info.param.label; });

TEST_P(CleanroomCliLocalTest, LsListsTheRunsSessionsAsJson) {
  const Resource a1 = createSession(runA_, "one");
  const Resource a2 = createSession(runA_, "two");
  const Resource b1 = createSession(runB_, "one");
  ASSERT_TRUE(tmux_->tmux({"new-session", "-d", "-s", "plain", "sleep 600"}).ok());

  CommandResult ls = cli({"ls", "--run-id", runA_, "--json"});

  EXPECT_EQ(ls.exitCode, 1) << "active sessions are left\n" << ls.describe();
  const json listed = parseJson(ls);
  ASSERT_TRUE(listed.is_array()) << ls.describe();
  EXPECT_THAT(namesIn(listed, "tmux"), UnorderedElementsAre(a1.name, a2.name));
  for (const auto& session : listed) {
    EXPECT_EQ(session.at("id"), session.at("name"));
    EXPECT_EQ(session.at("state"), "running");
    EXPECT_EQ(session.at("runId"), runA_);
    EXPECT_EQ(session.at("labels").at("cleanroom.run"), runA_);
    EXPECT_TRUE(session.at("createdAt").is_string()) << session.dump();
    EXPECT_TRUE(session.at("ageMs").is_number_integer()) << session.dump();
    EXPECT_TRUE(session.contains("status")) << session.dump();
  }

  CommandResult all = cli({"ls", "--all-runs", "--json"});
  EXPECT_EQ(all.exitCode, 1) << all.describe();
  EXPECT_THAT(namesIn(parseJson(all), "tmux"), UnorderedElementsAre(a1.name, a2.name, b1.name, "plain"));

  CommandResult table = cli({"ls", "--run-id", runA_});
  EXPECT_THAT(table.out, HasSubstr(a1.name));
  EXPECT_THAT(table.out, HasSubstr("tmux"));
  EXPECT_THAT(table.out, ::testing::Not(HasSubstr("plain")));
}

TEST_P(CleanroomCliLocalTest, SweepCleansTheRunsSessionsOnlyUnlessAllRuns) {
  const Resource a1 = createSession(runA_, "one");
  const Resource a2 = createSession(runA_, "two");
  const Resource b1 = createSession(runB_, "one");
  ASSERT_TRUE(tmux_->tmux({"new-session", "-d", "-s", "plain", "sleep 600"}).ok());

  CommandResult sweep = cli({"sweep", "--run-id", runA_, "--json"});

  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  const json report = parseJson(sweep);
  EXPECT_EQ(report.at("success"), true);
  EXPECT_EQ(report.at("runId"), runA_);
  EXPECT_EQ(report.at("totals").at("found"), 2);
  EXPECT_EQ(report.at("totals").at("cleaned"), 2);
  EXPECT_EQ(report.at("totals").at("remaining"), 0);
  EXPECT_THAT(namesIn(report.at("resources"), "tmux"), UnorderedElementsAre(a1.name, a2.name));
  for (const auto& r : report.at("resources")) {
    EXPECT_EQ(r.at("cleaned"), true) << r.dump();
    EXPECT_TRUE(r.at("actions").is_array()) << r.dump();
  }
  EXPECT_FALSE(hasSession(a1.name));
  EXPECT_FALSE(hasSession(a2.name));
  EXPECT_TRUE(hasSession(b1.name)) << "another run's session was touched";
  EXPECT_TRUE(hasSession("plain")) << "a session without the cr- prefix was touched";
  EXPECT_EQ(cli({"ls", "--run-id", runA_}).exitCode, 0);

  CommandResult everything = cli({"sweep", "--all-runs", "--json"});
  EXPECT_EQ(everything.exitCode, 0) << everything.describe();
  EXPECT_THAT(namesIn(parseJson(everything).at("resources"), "tmux"), UnorderedElementsAre(b1.name, "plain"));
  EXPECT_FALSE(hasSession(b1.name));
  EXPECT_FALSE(hasSession("plain"));
  EXPECT_EQ(cli({"ls", "--all-runs"}).exitCode, 0);
}

TEST_P(CleanroomCliLocalTest, SweepStopsAProcessThatEscapedItsSession) {
  const Resource session = createSession(runA_, "escaper", "(trap '' TERM HUP; exec setsid sleep 630) & exec sleep 600");
  std::optional<ProcessInfo> escaped;
  ASSERT_TRUE(eventually([&] {
    for (const ProcessInfo& p : processesMarkedWith(runA_)) {
      if (p.command == "sleep 630") escaped = p;
    }
    return escaped.has_value();
  }));

  CommandResult sweep = cli({"sweep", "--run-id", runA_, "--json"});

  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  const json report = parseJson(sweep);
  EXPECT_EQ(report.at("totals").at("forced"), 1) << "the escaped process ignores SIGTERM\n" << sweep.out;
  EXPECT_TRUE(eventually([&] { return !isAlive(escaped->id); })) << "the escaped process survived the sweep";
  EXPECT_FALSE(hasSession(session.name));
}

TEST_P(CleanroomCliLocalTest, WorkspaceFilesAreListedAndCleanedWithLogsArchived) {
  writeFile(workspace_ / "agent_prompt_a1.txt", "prompt\n");
  writeFile(workspace_ / "logs" / "a1_stream.jsonl", "{\"event\":\"start\"}\n");
  writeFile(workspace_ / "progress" / "a1_progress.jsonl", "{\"state\":\"working\"}\n");
  writeFile(workspace_ / "archive" / "a1_stream.jsonl", "{\"earlier\":true}\n");  // an earlier archive
  const EnvironmentChanges withWorkspace{{"CLEANROOM_WORKSPACE", workspace_.string()}};

  CommandResult ls = cli({"ls", "--run-id", runA_, "--backend", "workspace", "--json"}, withWorkspace);

  EXPECT_EQ(ls.exitCode, 1) << ls.describe();
  const json listed = parseJson(ls);
  ASSERT_EQ(listed.size(), 1u) << ls.describe();
  EXPECT_EQ(listed[0].at("backend"), "workspace");
  EXPECT_EQ(listed[0].at("id"), "a1");
  EXPECT_EQ(listed[0].at("runId"), runA_) << "the workspace belongs to the run in scope";
  EXPECT_THAT(listed[0].at("status").get<std::string>(), HasSubstr("agent_prompt_a1.txt"));
  EXPECT_THAT(listed[0].at("status").get<std::string>(), HasSubstr("logs/a1_stream.jsonl"));

  // Both configured backends are used without --backend.
  createSession(runA_, "with-files");
  CommandResult sweep = cli({"sweep", "--run-id", runA_, "--json"}, withWorkspace);

  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  const json report = parseJson(sweep);
  EXPECT_EQ(report.at("totals").at("cleaned"), 2) << sweep.out;
  EXPECT_THAT(namesIn(report.at("resources"), "workspace"), UnorderedElementsAre("agent_prompt_a1.txt"));
  EXPECT_FALSE(fs::exists(workspace_ / "agent_prompt_a1.txt"));
  EXPECT_FALSE(fs::exists(workspace_ / "logs" / "a1_stream.jsonl"));
  EXPECT_FALSE(fs::exists(workspace_ / "progress" / "a1_progress.jsonl"));
  EXPECT_TRUE(fs::exists(workspace_ / "archive" / "a1_progress.jsonl"));
  EXPECT_TRUE(fs::exists(workspace_ / "archive" / "a1_stream.jsonl.1")) << "the earlier archive is not overwritten";
  std::ifstream earlier(workspace_ / "archive" / "a1_stream.jsonl");
  std::string line;
  std::getline(earlier, line);
  EXPECT_EQ(line, "{\"earlier\":true}");
  EXPECT_EQ(cli({"ls", "--run-id", runA_}, withWorkspace).exitCode, 0);
}

TEST_P(CleanroomCliLocalTest, ProcessBackendListsAndStopsOnlyTheRunsLaunchedProcesses) {
  Result<Resource> mine = processes(runA_).launch({"sleep", "640"});
  Result<Resource> theirs = processes(runB_).launch({"sleep", "641"});
  ASSERT_TRUE(mine.ok() && theirs.ok());

  CommandResult notNamed = cli({"ls", "--run-id", runA_, "--json"});
  EXPECT_THAT(namesIn(parseJson(notNamed), "process"), IsEmpty()) << "process is used only when named";

  CommandResult ls = cli({"ls", "--backend", "process", "--run-id", runA_, "--json"});
  EXPECT_EQ(ls.exitCode, 1) << ls.describe();
  const json listed = parseJson(ls);
  ASSERT_EQ(listed.size(), 1u) << ls.describe();
  EXPECT_EQ(listed[0].at("id"), mine->id);
  EXPECT_EQ(listed[0].at("name"), "sleep 640");
  EXPECT_EQ(listed[0].at("runId"), runA_);
  EXPECT_EQ(listed[0].at("labels").at(kProcessRoleLabel), "leftover");

  CommandResult sweep = cli({"sweep", "--backend", "process", "--run-id", runA_, "--json"});
  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  EXPECT_EQ(parseJson(sweep).at("totals").at("cleaned"), 1);
  const ProcessIdentity mineId = *ProcessIdentity::parse(mine->id);
  const ProcessIdentity theirsId = *ProcessIdentity::parse(theirs->id);
  EXPECT_FALSE(isAlive(mineId));
  EXPECT_TRUE(isAlive(theirsId)) << "another run's process was stopped";
  Result<std::vector<Resource>> state = processes(runA_).list(Selector::forRun(runA_));  // reaps our child
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->size(), 1u);
  EXPECT_EQ((*state)[0].state, ResourceState::Terminal) << (*state)[0].status;
}

TEST_P(CleanroomCliLocalTest, ConfigurationErrorsNameTheVariable) {
  CommandResult relative = cli({"ls", "--run-id", runA_}, {{"CLEANROOM_TMUX_SOCKET", "relative/sock"}});
  EXPECT_EQ(relative.exitCode, 2) << relative.describe();
  EXPECT_THAT(relative.err, HasSubstr("CLEANROOM_TMUX_SOCKET"));

  CommandResult noWorkspace = cli({"sweep", "--run-id", runA_}, {{"CLEANROOM_WORKSPACE", "/nonexistent/ws"}});
  EXPECT_EQ(noWorkspace.exitCode, 2) << noWorkspace.describe();
  EXPECT_THAT(noWorkspace.err, HasSubstr("CLEANROOM_WORKSPACE=/nonexistent/ws"));

  CommandResult workspaceNotSet =
      cli({"ls", "--run-id", runA_, "--backend", "workspace"}, {{"CLEANROOM_TMUX_SOCKET", std::nullopt}});
  EXPECT_EQ(workspaceNotSet.exitCode, 2) << workspaceNotSet.describe();
  EXPECT_THAT(workspaceNotSet.err, HasSubstr("CLEANROOM_WORKSPACE"));

  CommandResult nothing = cli({"ls", "--run-id", runA_},
                              {{"CLEANROOM_TMUX_SOCKET", std::nullopt}, {"CLEANROOM_TMUX", std::nullopt}});
  EXPECT_EQ(nothing.exitCode, 2) << nothing.describe();
  for (const char* setting : {"CLEANROOM_AGENTS_URL", "CLEANROOM_TMUX_SOCKET", "CLEANROOM_WORKSPACE", "--backend process"}) {
    EXPECT_THAT(nothing.err, HasSubstr(setting));
  }
}

}  // namespace
}  // namespace cleanroom::e2e
