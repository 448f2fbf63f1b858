// End-to-end tests of the `cleanroom` CLI: the real binary against a real
// `cleanroom-mock-agents` process on a free loopback port. Agents are created
// over HTTP with owner labels; every assertion reads what the CLI printed and
// exited with, and what the mock says happened (agent status, request log).
// No sleeps: waits are the CLI's own (`cleanroom wait`, sweep's await).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/child_process.h"
#include "run_command.h"

#ifndef CLEANROOM_CLI_PATH
#error "CLEANROOM_CLI_PATH must point at the cleanroom executable"
#endif
#ifndef CLEANROOM_MOCK_AGENTS_PATH
#error "CLEANROOM_MOCK_AGENTS_PATH must point at the cleanroom-mock-agents executable"
#endif

namespace cleanroom::e2e {
namespace {

using nlohmann::json;
using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;

constexpr const char* kRunA = "e2e-run-a";
constexpr const char* kRunB = "e2e-run-b";

// Variables the CLI reads, cleared so the developer's shell cannot leak in.
EnvironmentChanges cleanEnvironment() {
  return {{"CLEANROOM_RUN_ID", std::nullopt},
          {"CLEANROOM_AGENTS_URL", std::nullopt},
          {"CLEANROOM_AGENTS_TOKEN", std::nullopt},
          {"CLEANROOM_TMUX", std::nullopt},
          {"CLEANROOM_TMUX_SOCKET", std::nullopt},
          {"CLEANROOM_WORKSPACE", std::nullopt},
          {"CLEANROOM_LOG", std::nullopt}};
}

// Runs the cleanroom CLI with `args` in `environment` (applied over cleanEnvironment()).
CommandResult cleanroomCli(const std::vector<std::string>& args, const EnvironmentChanges& environment = {}) {
  std::vector<std::string> argv{CLEANROOM_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  EnvironmentChanges changes = cleanEnvironment();
  for (const auto& [name, value] : environment) changes[name] = value;
  return runCommand(argv, changes);
}

json parseJson(const CommandResult& result) {
  json parsed = json::parse(result.out, nullptr, false);
  if (parsed.is_discarded()) ADD_FAILURE() << "stdout is not JSON:\n" << result.describe();
  return parsed;
}

std::vector<std::string> idsIn(const json& resources) {
  std::vector<std::string> ids;
  for (const auto& r : resources) ids.push_back(r.at("id").get<std::string>());
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> sorted(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

// ---------------------------------------------------------------------------
// With a mock agent API running as a real process.

class CleanroomCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mock = ChildProcess::spawn({CLEANROOM_MOCK_AGENTS_PATH, "--port", "0", "--log-level", "warn"});
    ASSERT_TRUE(mock.ok()) << mock.error().message;
    mock_ = std::move(mock).value();
    auto banner = mock_->readLine(std::chrono::seconds(10));
    ASSERT_TRUE(banner.ok()) << banner.error().message;
    const std::string prefix = "listening on ";
    ASSERT_EQ(banner.value().rfind(prefix, 0), 0u) << banner.value();
    url_ = banner.value().substr(prefix.size());
    http_ = std::make_unique<httplib::Client>(url_);
    http_->set_read_timeout(10, 0);
  }

  void TearDown() override {
    http_.reset();
    if (!mock_) return;
    const ChildProcess::Ending ending = mock_->stop(std::chrono::seconds(10));
    EXPECT_TRUE(ending.graceful && ending.exitStatus == 0)
        << "cleanroom-mock-agents should exit 0 on SIGTERM: " << ending.description;
  }

  // Runs the CLI against this test's mock.
  CommandResult cli(const std::vector<std::string>& args, EnvironmentChanges environment = {}) {
    environment.emplace("CLEANROOM_AGENTS_URL", url_);
    return cleanroomCli(args, environment);
  }

  // Creates an agent owned by `runId` and returns its id.
  std::string createAgent(const std::string& runId, json behavior = json::object(),
                          std::map<std::string, std::string> labels = {}, const std::string& name = "e2e-agent") {
    labels["cleanroom.run"] = runId;
    const json body = {{"type", "cli"}, {"prompt", "e2e"}, {"name", name}, {"labels", labels}, {"behavior", behavior}};
    auto response = http_->Post("/api/agents", body.dump(), "application/json");
    if (!response || response->status != 201) {
      ADD_FAILURE() << "POST /api/agents failed: " << (response ? response->body : httplib::to_string(response.error()));
      return "";
    }
    return json::parse(response->body).at("id").get<std::string>();
  }

  // Returns the agent's status, or "deleted" when the mock answers 404.
  std::string statusOf(const std::string& id) {
    auto response = http_->Get("/api/agents/" + id);
    if (!response) return "no answer";
    if (response->status == 404) return "deleted";
    return json::parse(response->body).at("status").get<std::string>();
  }

  // Returns the agent ids the mock received a DELETE for.
  std::vector<std::string> deletedIds() {
    auto response = http_->Get("/__cleanroom/requests");
    if (!response || response->status != 200) {
      ADD_FAILURE() << "GET /__cleanroom/requests failed";
      return {};
    }
    const std::string prefix = "/api/agents/";
    std::vector<std::string> ids;
    for (const auto& entry : json::parse(response->body)) {
      const auto path = entry.at("path").get<std::string>();
      if (entry.at("method") == "DELETE" && path.rfind(prefix, 0) == 0) ids.push_back(path.substr(prefix.size()));
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  }

  void addFault(const json& rule) {
    auto response = http_->Post("/__cleanroom/faults", rule.dump(), "application/json");
    ASSERT_TRUE(response && response->status == 201) << "POST /__cleanroom/faults failed";
  }

  std::unique_ptr<ChildProcess> mock_;
  std::string url_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(CleanroomCliTest, LsJsonListsTheRunsAgentsWithStateAndAge) {
  const std::string first = createAgent(kRunA, json::object(), {}, "first");
  const std::string second = createAgent(kRunA, json::object(), {}, "second");

  CommandResult ls = cli({"ls", "--run-id", kRunA, "--json"});

  EXPECT_EQ(ls.exitCode, 1) << "active agents are left, so ls exits 1\n" << ls.describe();
  json listed = parseJson(ls);
  ASSERT_TRUE(listed.is_array()) << ls.describe();
  EXPECT_EQ(idsIn(listed), sorted({first, second}));
  for (const auto& agent : listed) {
    EXPECT_EQ(agent.at("backend"), "http");
    EXPECT_EQ(agent.at("state"), "running");
    EXPECT_EQ(agent.at("status"), "running");
    EXPECT_EQ(agent.at("runId"), kRunA);
    EXPECT_EQ(agent.at("labels").at("cleanroom.run"), kRunA);
    EXPECT_TRUE(agent.at("createdAt").is_string()) << agent.dump();
    ASSERT_TRUE(agent.at("ageMs").is_number_integer()) << agent.dump();
    EXPECT_GE(agent.at("ageMs").get<long long>(), 0);
  }
}

TEST_F(CleanroomCliTest, LsTableShowsEveryColumnAndAgent) {
  const std::string id = createAgent(kRunA, json::object(), {}, "table-agent");

  CommandResult ls = cli({"ls", "--run-id", kRunA});

  EXPECT_EQ(ls.exitCode, 1) << ls.describe();
  for (const char* column : {"BACKEND", "ID", "NAME", "STATE", "STATUS", "AGE", "RUN"}) {
    EXPECT_THAT(ls.out, HasSubstr(column));
  }
  EXPECT_THAT(ls.out, HasSubstr(id));
  EXPECT_THAT(ls.out, HasSubstr("table-agent"));
  EXPECT_THAT(ls.out, HasSubstr(kRunA));
}

TEST_F(CleanroomCliTest, LsAcceptsDryRunAndFailFastAndChangesNothing) {
  const std::string id = createAgent(kRunA);

  CommandResult ls = cli({"ls", "--run-id", kRunA, "--dry-run", "--fail-fast", "--json"});

  EXPECT_EQ(ls.exitCode, 1) << "the agent is still active\n" << ls.describe();
  EXPECT_EQ(idsIn(parseJson(ls)), std::vector<std::string>{id});
  EXPECT_EQ(statusOf(id), "running");
  EXPECT_TRUE(deletedIds().empty()) << "ls must never stop anything";
}

TEST_F(CleanroomCliTest, LsExitsZeroWhenNothingMatches) {
  CommandResult ls = cli({"ls", "--run-id", kRunA, "--json"});

  EXPECT_EQ(ls.exitCode, 0) << ls.describe();
  EXPECT_EQ(parseJson(ls), json::array());
}

TEST_F(CleanroomCliTest, RunIdDefaultsToCleanroomRunId) {
  const std::string mine = createAgent(kRunA);
  createAgent(kRunB);

  CommandResult ls = cli({"ls", "--json"}, {{"CLEANROOM_RUN_ID", kRunA}});

  EXPECT_EQ(ls.exitCode, 1) << ls.describe();
  EXPECT_EQ(idsIn(parseJson(ls)), std::vector<std::string>{mine});
}

TEST_F(CleanroomCliTest, SweepDryRunTouchesNothing) {
  const std::string first = createAgent(kRunA);
  const std::string second = createAgent(kRunA);

  CommandResult sweep = cli({"sweep", "--run-id", kRunA, "--dry-run", "--json"});

  EXPECT_EQ(sweep.exitCode, 0) << "a dry run succeeds when the plan was made\n" << sweep.describe();
  json report = parseJson(sweep);
  EXPECT_EQ(report.at("dryRun"), true);
  EXPECT_EQ(report.at("totals").at("found"), 2);
  EXPECT_EQ(report.at("totals").at("cleaned"), 0);
  EXPECT_EQ(idsIn(report.at("resources")), sorted({first, second}));
  for (const auto& r : report.at("resources")) EXPECT_EQ(r.at("skipped"), true) << r.dump();
  EXPECT_EQ(statusOf(first), "running");
  EXPECT_EQ(statusOf(second), "running");
  EXPECT_TRUE(deletedIds().empty()) << "a dry run sent a DELETE";
  EXPECT_EQ(cli({"ls", "--run-id", kRunA}).exitCode, 1);
}

TEST_F(CleanroomCliTest, SweepDryRunTableSaysWhatWouldStop) {
  const std::string id = createAgent(kRunA);

  CommandResult sweep = cli({"sweep", "--run-id", kRunA, "--dry-run"});

  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  EXPECT_THAT(sweep.out, HasSubstr(id));
  EXPECT_THAT(sweep.out, HasSubstr("would stop"));
  EXPECT_THAT(sweep.out, HasSubstr("dry run"));
  EXPECT_TRUE(deletedIds().empty());
}

TEST_F(CleanroomCliTest, SweepStopsTheRunsAgentsAndReportsSuccess) {
  const std::string first = createAgent(kRunA, {{"exitDelayMs", 300}});
  const std::string second = createAgent(kRunA, {{"exitDelayMs", 300}});
  ASSERT_EQ(cli({"ls", "--run-id", kRunA}).exitCode, 1);

  CommandResult sweep = cli({"sweep", "--run-id", kRunA, "--json"});

  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  json report = parseJson(sweep);
  EXPECT_EQ(report.at("success"), true) << sweep.out;
  EXPECT_EQ(report.at("dryRun"), false);
  EXPECT_EQ(report.at("runId"), kRunA);
  EXPECT_EQ(report.at("totals").at("found"), 2);
  EXPECT_EQ(report.at("totals").at("cleaned"), 2);
  EXPECT_EQ(report.at("totals").at("remaining"), 0);
  for (const auto& r : report.at("resources")) EXPECT_EQ(r.at("cleaned"), true) << r.dump();
  for (const auto& id : {first, second}) EXPECT_THAT(statusOf(id), AnyOf(Eq("terminated"), Eq("deleted")));
  EXPECT_EQ(deletedIds(), sorted({first, second}));

  CommandResult after = cli({"ls", "--run-id", kRunA});
  EXPECT_EQ(after.exitCode, 0) << "nothing active is left after the sweep\n" << after.describe();
}

TEST_F(CleanroomCliTest, SweepTableSummarisesWhatWasCleaned) {
  const std::string id = createAgent(kRunA, {{"exitDelayMs", 200}});

  CommandResult sweep = cli({"sweep", "--run-id", kRunA});

  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  EXPECT_THAT(sweep.out, HasSubstr(id));
  EXPECT_THAT(sweep.out, HasSubstr("cleaned"));
  EXPECT_THAT(sweep.out, HasSubstr("1 cleaned"));
}

TEST_F(CleanroomCliTest, SweepTwiceIsANoOp) {
  createAgent(kRunA, {{"exitDelayMs", 100}});
  ASSERT_EQ(cli({"sweep", "--run-id", kRunA}).exitCode, 0);

  CommandResult again = cli({"sweep", "--run-id", kRunA, "--json"});

  EXPECT_EQ(again.exitCode, 0) << again.describe();
  EXPECT_EQ(parseJson(again).at("totals").at("found"), 0);
}

TEST_F(CleanroomCliTest, SweepingOneRunNeverTouchesAnotherRun) {
  const std::string a1 = createAgent(kRunA, {{"exitDelayMs", 200}});
  const std::string a2 = createAgent(kRunA, {{"exitDelayMs", 200}});
  const std::string b1 = createAgent(kRunB);

  CommandResult sweep = cli({"sweep", "--run-id", kRunA, "--json"});

  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  EXPECT_EQ(idsIn(parseJson(sweep).at("resources")), sorted({a1, a2}));
  EXPECT_EQ(statusOf(b1), "running");
  EXPECT_EQ(deletedIds(), sorted({a1, a2})) << "run B's agent got a DELETE";
  EXPECT_EQ(cli({"ls", "--run-id", kRunA}).exitCode, 0);
  EXPECT_EQ(cli({"ls", "--run-id", kRunB}).exitCode, 1);
}

TEST_F(CleanroomCliTest, AllRunsWidensListingAndSweep) {
  const std::string a = createAgent(kRunA, {{"exitDelayMs", 100}});
  const std::string b = createAgent(kRunB, {{"exitDelayMs", 100}});

  CommandResult ls = cli({"ls", "--all-runs", "--json"});
  EXPECT_EQ(ls.exitCode, 1) << ls.describe();
  EXPECT_EQ(idsIn(parseJson(ls)), sorted({a, b}));

  CommandResult sweep = cli({"sweep", "--all-runs", "--json"});
  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  EXPECT_EQ(parseJson(sweep).at("runId"), "*");
  EXPECT_EQ(deletedIds(), sorted({a, b}));
  EXPECT_EQ(cli({"ls", "--all-runs"}).exitCode, 0);
}

TEST_F(CleanroomCliTest, AllRunsIgnoresCleanroomRunId) {
  const std::string a = createAgent(kRunA);
  const std::string b = createAgent(kRunB);

  CommandResult ls = cli({"ls", "--all-runs", "--json"}, {{"CLEANROOM_RUN_ID", kRunA}});

  EXPECT_EQ(idsIn(parseJson(ls)), sorted({a, b})) << ls.describe();
}

TEST_F(CleanroomCliTest, LabelFilterSelectsOnlyMatchingAgents) {
  const std::string search = createAgent(kRunA, {{"exitDelayMs", 100}}, {{"team", "search"}});
  const std::string ads = createAgent(kRunA, {{"exitDelayMs", 100}}, {{"team", "ads"}});

  CommandResult ls = cli({"ls", "--run-id", kRunA, "--label", "team=search", "--json"});
  EXPECT_EQ(idsIn(parseJson(ls)), std::vector<std::string>{search}) << ls.describe();

  CommandResult sweep = cli({"sweep", "--run-id", kRunA, "--label", "team=search", "--json"});
  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  EXPECT_EQ(deletedIds(), std::vector<std::string>{search});
  EXPECT_EQ(statusOf(ads), "running");

  CommandResult none = cli({"ls", "--run-id", kRunA, "--label", "team=search", "--label", "tier=gold", "--json"});
  EXPECT_EQ(none.exitCode, 0) << "every --label must match\n" << none.describe();
  EXPECT_EQ(parseJson(none), json::array());
}

TEST_F(CleanroomCliTest, OlderThanFilterSelectsByAge) {
  const std::string id = createAgent(kRunA, {{"exitDelayMs", 100}});
  CommandResult first = cli({"ls", "--run-id", kRunA, "--json"});
  json listed = parseJson(first);
  ASSERT_EQ(listed.size(), 1u) << first.describe();
  // The agent is at least this old from now on: ages only grow.
  const std::string ageThen = std::to_string(listed[0].at("ageMs").get<long long>()) + "ms";

  CommandResult young = cli({"ls", "--run-id", kRunA, "--older-than", "1d", "--json"});
  EXPECT_EQ(young.exitCode, 0) << young.describe();
  EXPECT_EQ(parseJson(young), json::array());
  CommandResult sweepNone = cli({"sweep", "--run-id", kRunA, "--older-than", "24h", "--json"});
  EXPECT_EQ(parseJson(sweepNone).at("totals").at("found"), 0) << sweepNone.describe();
  EXPECT_TRUE(deletedIds().empty());

  CommandResult old = cli({"ls", "--run-id", kRunA, "--older-than", ageThen, "--json"});
  EXPECT_EQ(idsIn(parseJson(old)), std::vector<std::string>{id}) << old.describe();
  CommandResult sweep = cli({"sweep", "--run-id", kRunA, "--older-than", ageThen, "--json"});
  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  EXPECT_EQ(deletedIds(), std::vector<std::string>{id});
}

TEST_F(CleanroomCliTest, StateFilterSelectsByState) {
  const std::string running = createAgent(kRunA);
  const std::string finished = createAgent(kRunA, {{"runMs", 1}, {"lingerMs", 60000}});
  CommandResult wait = cli({"wait", finished});
  ASSERT_EQ(wait.exitCode, 0) << wait.describe();

  CommandResult terminal = cli({"ls", "--run-id", kRunA, "--state", "terminal", "--json"});
  EXPECT_EQ(terminal.exitCode, 0) << "nothing active is listed\n" << terminal.describe();
  json terminalList = parseJson(terminal);
  EXPECT_EQ(idsIn(terminalList), std::vector<std::string>{finished});
  EXPECT_EQ(terminalList[0].at("status"), "completed");

  CommandResult active = cli({"ls", "--run-id", kRunA, "--state", "running", "--json"});
  EXPECT_EQ(active.exitCode, 1) << active.describe();
  EXPECT_EQ(idsIn(parseJson(active)), std::vector<std::string>{running});

  CommandResult both = cli({"ls", "--run-id", kRunA, "--state", "running,terminal", "--json"});
  EXPECT_EQ(idsIn(parseJson(both)), sorted({running, finished})) << both.describe();
  CommandResult repeated = cli({"ls", "--run-id", kRunA, "--state", "running", "--state", "terminal", "--json"});
  EXPECT_EQ(idsIn(parseJson(repeated)), sorted({running, finished})) << repeated.describe();
}

TEST_F(CleanroomCliTest, SweepExitsOneAndListsAgentsItCouldNotStop) {
  const std::string id = createAgent(kRunA);
  addFault({{"match", {{"method", "DELETE"}, {"path", "/api/agents/*"}}}, {"status", 500}, {"count", 1000}});

  CommandResult sweep = cli({"sweep", "--run-id", kRunA, "--json"});

  EXPECT_EQ(sweep.exitCode, 1) << sweep.describe();
  json report = parseJson(sweep);
  EXPECT_EQ(report.at("success"), false);
  EXPECT_EQ(report.at("totals").at("remaining"), 1);
  ASSERT_EQ(report.at("resources").size(), 1u);
  EXPECT_FALSE(report.at("resources")[0].at("errors").empty());
  EXPECT_THAT(sweep.err, HasSubstr(id)) << "stderr lists what is left";
  EXPECT_EQ(statusOf(id), "running");
}

TEST_F(CleanroomCliTest, FailFastIsReported) {
  createAgent(kRunA);
  addFault({{"match", {{"method", "DELETE"}, {"path", "/api/agents/*"}}}, {"status", 500}, {"count", 1000}});

  CommandResult sweep = cli({"sweep", "--run-id", kRunA, "--fail-fast", "--json"});

  EXPECT_EQ(sweep.exitCode, 1) << sweep.describe();
  EXPECT_EQ(parseJson(sweep).at("failFast"), true);
}

TEST_F(CleanroomCliTest, ExplicitBackendIsUsed) {
  createAgent(kRunA);

  CommandResult ls = cli({"ls", "--backend", "http", "--run-id", kRunA, "--json"});

  EXPECT_EQ(ls.exitCode, 1) << ls.describe();
  EXPECT_EQ(parseJson(ls).size(), 1u);
}

TEST_F(CleanroomCliTest, VerboseSweepTracesEveryStep) {
  createAgent(kRunA, {{"exitDelayMs", 100}});

  CommandResult sweep = cli({"sweep", "--run-id", kRunA, "--verbose"});

  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  EXPECT_THAT(sweep.err, HasSubstr("step=list"));
  EXPECT_THAT(sweep.err, HasSubstr("step=stop"));
  CommandResult quiet = cli({"sweep", "--run-id", kRunA});
  EXPECT_THAT(quiet.err, ::testing::Not(HasSubstr("step="))) << "traces are off without --verbose";
}

TEST_F(CleanroomCliTest, UnreachableServerIsAFailureNotAUsageError) {
  const std::string url = url_;
  mock_->stop(std::chrono::seconds(10));

  CommandResult ls = cli({"ls", "--run-id", kRunA});
  EXPECT_EQ(ls.exitCode, 1) << "nobody can say the room is clean\n" << ls.describe();
  EXPECT_THAT(ls.err, HasSubstr("list failed"));
  EXPECT_THAT(ls.err, HasSubstr(url.substr(std::string("http://").size())));

  CommandResult sweep = cli({"sweep", "--run-id", kRunA, "--json"});
  EXPECT_EQ(sweep.exitCode, 1) << sweep.describe();
  EXPECT_EQ(parseJson(sweep).at("success"), false);
  EXPECT_FALSE(parseJson(sweep).at("errors").empty());
}

TEST_F(CleanroomCliTest, WaitPrintsCompletedWhenTheAgentFinishes) {
  const std::string id = createAgent(kRunA, {{"runMs", 100}});

  CommandResult wait = cli({"wait", id});

  EXPECT_EQ(wait.exitCode, 0) << wait.describe();
  EXPECT_EQ(wait.out, "completed\n");
}

TEST_F(CleanroomCliTest, WaitPrintsFailedForAFailingAgent) {
  const std::string id = createAgent(kRunA, {{"runMs", 50}, {"outcome", "failed"}});

  CommandResult wait = cli({"wait", id, "--timeout", "30s"});

  EXPECT_EQ(wait.exitCode, 0) << wait.describe();
  EXPECT_EQ(wait.out, "failed\n");
}

TEST_F(CleanroomCliTest, WaitPrintsTerminatedForAStoppedAgent) {
  const std::string id = createAgent(kRunA, {{"exitDelayMs", 200}});
  auto stop = http_->Delete("/api/agents/" + id + "?force=false");
  ASSERT_TRUE(stop && stop->status == 202);

  CommandResult wait = cli({"wait", id});

  EXPECT_EQ(wait.exitCode, 0) << wait.describe();
  EXPECT_EQ(wait.out, "terminated\n");
}

TEST_F(CleanroomCliTest, WaitPrintsDeletedForAnAgentThatIsGone) {
  CommandResult wait = cli({"wait", "no-such-agent"});

  EXPECT_EQ(wait.exitCode, 0) << wait.describe();
  EXPECT_EQ(wait.out, "deleted\n");
}

TEST_F(CleanroomCliTest, WaitTimesOutNamingTheAgentAndItsStatus) {
  const std::string id = createAgent(kRunA);

  CommandResult wait = cli({"wait", id, "--timeout", "200ms"});

  EXPECT_EQ(wait.exitCode, 1) << wait.describe();
  EXPECT_THAT(wait.err, HasSubstr(id));
  EXPECT_THAT(wait.err, HasSubstr("last status: running"));
  EXPECT_THAT(wait.err, HasSubstr("timed out"));
  EXPECT_EQ(statusOf(id), "running") << "wait must not stop the agent";
}

TEST_F(CleanroomCliTest, WaitJsonPrintsTheFinalStatusAndElapsedTime) {
  const std::string id = createAgent(kRunA, {{"runMs", 50}});

  CommandResult wait = cli({"wait", id, "--json"});

  EXPECT_EQ(wait.exitCode, 0) << wait.describe();
  json result = parseJson(wait);
  EXPECT_EQ(result.at("id"), id);
  EXPECT_EQ(result.at("status"), "completed");
  EXPECT_EQ(result.at("state"), "terminal");
  ASSERT_TRUE(result.at("elapsedMs").is_number_integer()) << result.dump();
  EXPECT_GE(result.at("elapsedMs").get<long long>(), 0);
  EXPECT_FALSE(result.contains("error")) << result.dump();
}

TEST_F(CleanroomCliTest, WaitJsonSaysDeletedForAnAgentThatIsGone) {
  CommandResult wait = cli({"wait", "no-such-agent", "--json"});

  EXPECT_EQ(wait.exitCode, 0) << wait.describe();
  json result = parseJson(wait);
  EXPECT_EQ(result.at("id"), "no-such-agent");
  EXPECT_EQ(result.at("status"), "deleted");
  EXPECT_EQ(result.at("state"), "gone");
}

TEST_F(CleanroomCliTest, WaitJsonTimeoutCarriesTheErrorAndTheLastStatus) {
  const std::string id = createAgent(kRunA);

  CommandResult wait = cli({"wait", id, "--timeout", "200ms", "--json"});

  EXPECT_EQ(wait.exitCode, 1) << wait.describe();
  json result = parseJson(wait);
  EXPECT_EQ(result.at("id"), id);
  EXPECT_EQ(result.at("status"), "running");
  EXPECT_EQ(result.at("state"), "running");
  ASSERT_TRUE(result.at("elapsedMs").is_number_integer()) << result.dump();
  ASSERT_TRUE(result.contains("error")) << result.dump();
  EXPECT_THAT(result.at("error").get<std::string>(), HasSubstr("timed out"));
  EXPECT_THAT(result.at("error").get<std::string>(), HasSubstr(id));
  EXPECT_THAT(wait.err, HasSubstr("timed out")) << "the error also goes to stderr";
  EXPECT_EQ(statusOf(id), "running") << "wait must not stop the agent";
}

// ---------------------------------------------------------------------------
// Usage and configuration errors: exit 2, naming the flag or variable. These
// fail before any request, so they need no server.

class CleanroomCliUsageTest : public ::testing::Test {
 protected:
  static constexpr const char* kUnusedUrl = "http://127.0.0.1:9";  // discard port: never contacted

  static CommandResult cli(const std::vector<std::string>& args, EnvironmentChanges environment = {}) {
    environment.emplace("CLEANROOM_AGENTS_URL", kUnusedUrl);
    return cleanroomCli(args, environment);
  }
};

TEST_F(CleanroomCliUsageTest, MissingRunIdIsRefusedNotWidened) {
  for (const char* command : {"ls", "sweep"}) {
    CommandResult result = cli({command});
    EXPECT_EQ(result.exitCode, 2) << result.describe();
    EXPECT_THAT(result.err, HasSubstr("--run-id"));
    EXPECT_THAT(result.err, HasSubstr("CLEANROOM_RUN_ID"));
    EXPECT_THAT(result.err, HasSubstr("--all-runs"));
    EXPECT_EQ(result.out, "");
  }
}

TEST_F(CleanroomCliUsageTest, MalformedRunIdNamesItsSource) {
  CommandResult flag = cli({"ls", "--run-id", "bad id!"});
  EXPECT_EQ(flag.exitCode, 2) << flag.describe();
  EXPECT_THAT(flag.err, HasSubstr("--run-id"));

  CommandResult variable = cli({"ls"}, {{"CLEANROOM_RUN_ID", "bad id!"}});
  EXPECT_EQ(variable.exitCode, 2) << variable.describe();
  EXPECT_THAT(variable.err, HasSubstr("CLEANROOM_RUN_ID"));
}

TEST_F(CleanroomCliUsageTest, RunIdAndAllRunsExcludeEachOther) {
  CommandResult result = cli({"ls", "--run-id", kRunA, "--all-runs"});

  EXPECT_EQ(result.exitCode, 2) << result.describe();
  EXPECT_THAT(result.err, HasSubstr("--all-runs"));
}

TEST_F(CleanroomCliUsageTest, BadOlderThanNamesTheFlagAndTheAcceptedForms) {
  for (const char* bad : {"5", "soon", "-3s", "10x"}) {
    CommandResult result = cli({"sweep", "--run-id", kRunA, "--older-than", bad});
    EXPECT_EQ(result.exitCode, 2) << result.describe();
    EXPECT_THAT(result.err, HasSubstr("--older-than"));
    EXPECT_THAT(result.err, HasSubstr("30m"));
  }
}

TEST_F(CleanroomCliUsageTest, BadLabelNamesTheFlag) {
  for (const char* bad : {"team", "=search"}) {
    CommandResult result = cli({"ls", "--run-id", kRunA, "--label", bad});
    EXPECT_EQ(result.exitCode, 2) << result.describe();
    EXPECT_THAT(result.err, HasSubstr("--label"));
    EXPECT_THAT(result.err, HasSubstr("KEY=VALUE"));
  }
}

TEST_F(CleanroomCliUsageTest, BadStateNamesTheFlagAndTheStates) {
  CommandResult result = cli({"ls", "--run-id", kRunA, "--state", "sleeping"});

  EXPECT_EQ(result.exitCode, 2) << result.describe();
  EXPECT_THAT(result.err, HasSubstr("--state"));
  EXPECT_THAT(result.err, HasSubstr("terminal"));
}

TEST_F(CleanroomCliUsageTest, MalformedAgentsUrlNamesTheVariable) {
  for (const char* command : {"ls", "sweep"}) {
    CommandResult result = cli({command, "--run-id", kRunA}, {{"CLEANROOM_AGENTS_URL", "localhost:8080"}});
    EXPECT_EQ(result.exitCode, 2) << result.describe();
    EXPECT_THAT(result.err, HasSubstr("CLEANROOM_AGENTS_URL"));
  }
  CommandResult wait = cli({"wait", "ag-1"}, {{"CLEANROOM_AGENTS_URL", "ftp://x"}});
  EXPECT_EQ(wait.exitCode, 2) << wait.describe();
  EXPECT_THAT(wait.err, HasSubstr("CLEANROOM_AGENTS_URL"));
}

TEST_F(CleanroomCliUsageTest, NoConfiguredBackendNamesTheVariable) {
  for (const char* command : {"ls", "sweep"}) {
    CommandResult result = cleanroomCli({command, "--run-id", kRunA});
    EXPECT_EQ(result.exitCode, 2) << result.describe();
    EXPECT_THAT(result.err, HasSubstr("CLEANROOM_AGENTS_URL"));
  }
  CommandResult wait = cleanroomCli({"wait", "ag-1"});
  EXPECT_EQ(wait.exitCode, 2) << wait.describe();
  EXPECT_THAT(wait.err, HasSubstr("CLEANROOM_AGENTS_URL"));
}

TEST_F(CleanroomCliUsageTest, MalformedLogLevelNamesTheVariable) {
  CommandResult result = cli({"ls", "--run-id", kRunA}, {{"CLEANROOM_LOG", "loud"}});

  EXPECT_EQ(result.exitCode, 2) << result.describe();
  EXPECT_THAT(result.err, HasSubstr("CLEANROOM_LOG"));
  EXPECT_THAT(result.err, HasSubstr("debug"));
}

TEST_F(CleanroomCliUsageTest, UnknownBackendIsNamed) {
  CommandResult result = cli({"ls", "--run-id", kRunA, "--backend", "kubernetes"});

  EXPECT_EQ(result.exitCode, 2) << result.describe();
  EXPECT_THAT(result.err, HasSubstr("kubernetes"));
}

TEST_F(CleanroomCliUsageTest, WaitNeedsAnAgentIdAndAValidTimeout) {
  CommandResult missing = cli({"wait"});
  EXPECT_EQ(missing.exitCode, 2) << missing.describe();
  EXPECT_THAT(missing.err, HasSubstr("AGENT_ID"));

  CommandResult badTimeout = cli({"wait", "ag-1", "--timeout", "forever"});
  EXPECT_EQ(badTimeout.exitCode, 2) << badTimeout.describe();
  EXPECT_THAT(badTimeout.err, HasSubstr("--timeout"));
}

TEST_F(CleanroomCliUsageTest, UnknownCommandsAndFlagsAreUsageErrors) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {}, {"explode"}, {"ls", "--frobnicate"}, {"wait", "ag-1", "--dry-run"}}) {
    CommandResult result = cli(args);
    EXPECT_EQ(result.exitCode, 2) << result.describe();
    EXPECT_THAT(result.err, HasSubstr("--help"));
  }
}

TEST_F(CleanroomCliUsageTest, VersionPrintsTheProjectVersion) {
  CommandResult command = cleanroomCli({"version"});
  EXPECT_EQ(command.exitCode, 0) << command.describe();
  EXPECT_EQ(command.out, std::string("cleanroom ") + CLEANROOM_EXPECTED_VERSION + "\n");

  CommandResult flag = cleanroomCli({"--version"});
  EXPECT_EQ(flag.exitCode, 0) << flag.describe();
  EXPECT_EQ(flag.out, command.out);
}

TEST_F(CleanroomCliUsageTest, HelpListsCommandsEnvironmentAndExitCodes) {
  CommandResult help = cleanroomCli({"--help"});

  EXPECT_EQ(help.exitCode, 0) << help.describe();
  for (const char* text : {"ls", "sweep", "wait", "version", "CLEANROOM_RUN_ID", "CLEANROOM_AGENTS_URL",
                           "CLEANROOM_LOG", "Exit codes", "0  nothing left", "1  something left", "2  usage"}) {
    EXPECT_THAT(help.out, HasSubstr(text));
  }
  for (const char* command : {"ls", "sweep"}) {
    CommandResult commandHelp = cleanroomCli({command, "--help"});
    EXPECT_EQ(commandHelp.exitCode, 0) << commandHelp.describe();
    for (const char* flag : {"--backend", "--run-id", "--all-runs", "--label", "--older-than", "--state", "--dry-run",
                             "--fail-fast", "--json", "--verbose"}) {
      EXPECT_THAT(commandHelp.out, HasSubstr(flag)) << command;
    }
  }
  CommandResult lsHelp = cleanroomCli({"ls", "--help"});
  EXPECT_THAT(lsHelp.out, HasSubstr("ls never changes anything"));
  CommandResult waitHelp = cleanroomCli({"wait", "--help"});
  for (const char* flag : {"--timeout", "--json", "--verbose"}) EXPECT_THAT(waitHelp.out, HasSubstr(flag));
}

}  // namespace
}  // namespace cleanroom::e2e
