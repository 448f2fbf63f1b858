// End-to-end tests of the `cleanroom` CLI on containers and sandboxes: the
// real binary against real cleanroom-mock-docker (DOCKER_HOST) and
// cleanroom-mock-daytona (DAYTONA_API_URL, DAYTONA_API_KEY) processes on free
// loopback ports. Containers and sandboxes are created over the mocks' APIs
// with owner labels; old sandboxes are back-dated with the daytona mock's
// mock-only "cleanroom": {"ageMs"} (the docker mock cannot back-date a
// container, so age sweeps of containers are only shown to leave young ones
// alone). Every assertion reads what the CLI printed and exited with and what
// the mocks say happened. No sleeps: waits are the CLI's own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mock_server_process.h"
#include "run_command.h"

#ifndef CLEANROOM_CLI_PATH
#error "CLEANROOM_CLI_PATH must point at the cleanroom executable"
#endif
#ifndef CLEANROOM_MOCK_DOCKER_PATH
#error "CLEANROOM_MOCK_DOCKER_PATH must point at the cleanroom-mock-docker executable"
#endif
#ifndef CLEANROOM_MOCK_DAYTONA_PATH
#error "CLEANROOM_MOCK_DAYTONA_PATH must point at the cleanroom-mock-daytona executable"
#endif

namespace cleanroom::e2e {
namespace {

using nlohmann::json;
using ::testing::AnyOf;
using ::testing::Contains;
using ::testing::Eq;
using ::testing::HasSubstr;
using tests::MockServerProcess;

constexpr const char* kApiKey = "e2e-daytona-key";
constexpr long long kTwoDaysMs = 2LL * 24 * 60 * 60 * 1000;

std::string uniqueRunId(const std::string& what) {
  static std::atomic<int> counter{0};
  return "clc-" + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

json parseJson(const CommandResult& result) {
  json parsed = json::parse(result.out, nullptr, false);
  if (parsed.is_discarded()) ADD_FAILURE() << "stdout is not JSON:\n" << result.describe();
  return parsed;
}

std::vector<std::string> sorted(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> idsIn(const json& resources) {
  std::vector<std::string> ids;
  for (const auto& r : resources) ids.push_back(r.at("id").get<std::string>());
  return sorted(ids);
}

const json* entryFor(const json& resources, const std::string& id) {
  for (const auto& r : resources) {
    if (r.at("id") == id) return &r;
  }
  return nullptr;
}

class CliContainersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/crcl-e2e-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    directory_ = pattern;
    docker_ = std::make_unique<MockServerProcess>(CLEANROOM_MOCK_DOCKER_PATH,
                                                  std::vector<std::string>{"--log-level", "warn"});
    daytona_ = std::make_unique<MockServerProcess>(
        CLEANROOM_MOCK_DAYTONA_PATH,
        std::vector<std::string>{"--api-key", kApiKey, "--delete-delay-ms", "100", "--stop-delay-ms", "100",
                                 "--linger-ms", "60000", "--log-level", "warn"});
    dockerApi_ = std::make_unique<httplib::Client>(docker_->url());
    dockerApi_->set_read_timeout(30, 0);
    daytonaApi_ = std::make_unique<httplib::Client>(daytona_->url());
    daytonaApi_->set_read_timeout(30, 0);
    daytonaApi_->set_bearer_token_auth(kApiKey);
    run_ = uniqueRunId("a");
  }

  void TearDown() override {
    dockerApi_.reset();
    daytonaApi_.reset();
    for (auto* mock : {docker_.get(), daytona_.get()}) {
      if (mock == nullptr) continue;
      const ChildProcess::Ending ending = mock->process().stop(std::chrono::seconds(10));
      EXPECT_TRUE(ending.graceful) << "a mock did not stop on SIGTERM: " << ending.description;
    }
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  // The environment of a CLI run: both mocks configured, nothing inherited
  // that could point the CLI elsewhere.
  EnvironmentChanges environment() const {
    const std::string http = "http://";
    return {{"CLEANROOM_RUN_ID", std::nullopt},
            {"CLEANROOM_AGENTS_URL", std::nullopt},
            {"CLEANROOM_AGENTS_TOKEN", std::nullopt},
            {"CLEANROOM_TMUX", std::nullopt},
            {"CLEANROOM_TMUX_SOCKET", std::nullopt},
            {"CLEANROOM_WORKSPACE", std::nullopt},
            {"CLEANROOM_LOG", std::nullopt},
            {"CLEANROOM_JOURNAL_DIR", (directory_ / "journals").string()},
            {"DOCKER_API_VERSION", std::nullopt},
            {"DOCKER_HOST", "tcp://" + docker_->url().substr(http.size())},
            {"DAYTONA_API_URL", daytona_->url() + "/api"},
            {"DAYTONA_API_KEY", kApiKey}};
  }

  CommandResult cli(const std::vector<std::string>& args, const EnvironmentChanges& changes = {}) {
    std::vector<std::string> argv{CLEANROOM_CLI_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    EnvironmentChanges env = environment();
    for (const auto& [name, value] : changes) env[name] = value;
    return runCommand(argv, env);
  }

  // Creates and starts a container owned by `runId`; returns its id.
  std::string createContainer(const std::string& runId, std::map<std::string, std::string> labels = {},
                              const std::string& exitDelayMs = "100", long long ageMs = 0) {
    labels["cleanroom.run"] = runId;
    json body = {{"Image", "busybox"},
                 {"Cmd", {"sleep", "600"}},
                 {"Labels", labels},
                 {"Env", {"CLEANROOM_MOCK_EXIT_DELAY_MS=" + exitDelayMs}}};
    if (ageMs > 0) body["Env"].push_back("CLEANROOM_MOCK_AGE_MS=" + std::to_string(ageMs));
    auto created = dockerApi_->Post("/containers/create", body.dump(), "application/json");
    if (!created || created->status != 201) {
      ADD_FAILURE() << "create container: " << (created ? created->body : "no answer");
      return "";
    }
    const std::string id = json::parse(created->body).at("Id").get<std::string>();
    auto started = dockerApi_->Post(("/containers/" + id + "/start").c_str(), "", "application/json");
    if (!started || started->status != 204) ADD_FAILURE() << "start container " << id;
    return id;
  }

  // Creates a sandbox owned by `runId`, `ageMs` old; returns its id.
  std::string createSandbox(const std::string& runId, std::map<std::string, std::string> labels = {},
                            long long ageMs = 0) {
    labels["cleanroom.run"] = runId;
    json body = {{"labels", labels}};
    if (ageMs > 0) body["cleanroom"] = {{"ageMs", ageMs}};
    auto created = daytonaApi_->Post("/api/sandbox", body.dump(), "application/json");
    if (!created || created->status != 200) {
      ADD_FAILURE() << "create sandbox: " << (created ? created->body : "no answer");
      return "";
    }
    return json::parse(created->body).at("id").get<std::string>();
  }

  // "running"/"exited"/"created", or "removed" when the mock says 404.
  std::string containerState(const std::string& id) {
    auto response = dockerApi_->Get(("/containers/" + id + "/json").c_str());
    if (!response) return "no answer";
    if (response->status == 404) return "removed";
    return json::parse(response->body).at("State").at("Status").get<std::string>();
  }

  // The sandbox's state word, or "deleted" when the mock says 404.
  std::string sandboxState(const std::string& id) {
    auto response = daytonaApi_->Get(("/api/sandbox/" + id).c_str());
    if (!response) return "no answer";
    if (response->status == 404) return "deleted";
    return json::parse(response->body).at("state").get<std::string>();
  }

  // Ids of the containers the docker mock got a stop, kill or DELETE for.
  std::vector<std::string> stoppedContainers() {
    std::vector<std::string> ids;
    for (const auto& r : docker_->requests("")) {
      const std::string method = r.value("method", "");
      const std::string path = r.value("path", "");
      const auto at = path.find("/containers/");
      if (at == std::string::npos) continue;
      std::string rest = path.substr(at + std::string("/containers/").size());
      const std::string id = rest.substr(0, rest.find('/'));
      const bool stop = rest.find("/stop") != std::string::npos || rest.find("/kill") != std::string::npos;
      if (stop || method == "DELETE") ids.push_back(id);
    }
    ids = sorted(ids);
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  }

  // Ids of the sandboxes the daytona mock got a DELETE or stop for.
  std::vector<std::string> stoppedSandboxes() {
    std::vector<std::string> ids;
    const std::string prefix = "/api/sandbox/";
    for (const auto& r : daytona_->requests(prefix)) {
      std::string rest = r.value("path", "").substr(prefix.size());
      const bool stop = rest.find("/stop") != std::string::npos;
      if (stop || r.value("method", "") == "DELETE") ids.push_back(rest.substr(0, rest.find('/')));
    }
    ids = sorted(ids);
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  }

  std::filesystem::path directory_;
  std::unique_ptr<MockServerProcess> docker_;
  std::unique_ptr<MockServerProcess> daytona_;
  std::unique_ptr<httplib::Client> dockerApi_;
  std::unique_ptr<httplib::Client> daytonaApi_;
  std::string run_;
};

TEST_F(CliContainersTest, LsJsonListsTheRunsContainersAndSandboxes) {
  const std::string container = createContainer(run_, {{"team", "search"}});
  const std::string sandbox = createSandbox(run_, {{"team", "search"}});
  const std::string other = uniqueRunId("b");
  createContainer(other);
  createSandbox(other);

  CommandResult ls = cli({"ls", "--run-id", run_, "--json"});

  EXPECT_EQ(ls.exitCode, 1) << "active resources are left, so ls exits 1\n" << ls.describe();
  const json listed = parseJson(ls);
  ASSERT_TRUE(listed.is_array()) << ls.describe();
  EXPECT_EQ(idsIn(listed), sorted({container, sandbox}));
  const json* docker = entryFor(listed, container);
  ASSERT_NE(docker, nullptr);
  EXPECT_EQ(docker->at("backend"), "docker");
  EXPECT_EQ(docker->at("state"), "running");
  EXPECT_EQ(docker->at("status"), "running");
  EXPECT_EQ(docker->at("runId"), run_);
  EXPECT_EQ(docker->at("labels").at("team"), "search");
  EXPECT_TRUE(docker->at("ageMs").is_number_integer()) << docker->dump();
  const json* daytona = entryFor(listed, sandbox);
  ASSERT_NE(daytona, nullptr);
  EXPECT_EQ(daytona->at("backend"), "daytona");
  EXPECT_EQ(daytona->at("state"), "running");
  EXPECT_EQ(daytona->at("status"), "started");
  EXPECT_EQ(daytona->at("runId"), run_);
  EXPECT_TRUE(stoppedContainers().empty() && stoppedSandboxes().empty()) << "ls never stops anything";
}

TEST_F(CliContainersTest, LsTableShowsBothBackends) {
  const std::string container = createContainer(run_);
  const std::string sandbox = createSandbox(run_);

  CommandResult ls = cli({"ls", "--run-id", run_});

  EXPECT_EQ(ls.exitCode, 1) << ls.describe();
  for (const char* column : {"BACKEND", "ID", "STATE", "STATUS", "AGE", "RUN"}) EXPECT_THAT(ls.out, HasSubstr(column));
  EXPECT_THAT(ls.out, HasSubstr("docker"));
  EXPECT_THAT(ls.out, HasSubstr("daytona"));
  EXPECT_THAT(ls.out, HasSubstr(container.substr(0, 12)));
  EXPECT_THAT(ls.out, HasSubstr(sandbox));
  EXPECT_THAT(ls.out, HasSubstr("started"));
}

TEST_F(CliContainersTest, LsExitsZeroWhenNothingOfTheRunExists) {
  createContainer(uniqueRunId("b"));

  CommandResult ls = cli({"ls", "--run-id", run_, "--json"});

  EXPECT_EQ(ls.exitCode, 0) << ls.describe();
  EXPECT_EQ(parseJson(ls), json::array());
}

TEST_F(CliContainersTest, SweepRemovesEverythingOfTheRunAndExitsZero) {
  const std::string container = createContainer(run_, {}, "200");
  const std::string sandbox = createSandbox(run_);
  const std::string otherRun = uniqueRunId("b");
  const std::string otherContainer = createContainer(otherRun);
  const std::string otherSandbox = createSandbox(otherRun);

  CommandResult sweep = cli({"sweep", "--run-id", run_, "--json"});

  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  const json report = parseJson(sweep);
  EXPECT_EQ(report.at("success"), true) << sweep.out;
  EXPECT_EQ(report.at("totals").at("found"), 2);
  EXPECT_EQ(report.at("totals").at("cleaned"), 2);
  EXPECT_EQ(idsIn(report.at("resources")), sorted({container, sandbox}));
  EXPECT_EQ(containerState(container), "removed");
  EXPECT_THAT(sandboxState(sandbox), AnyOf(Eq("destroyed"), Eq("deleted")));
  EXPECT_EQ(containerState(otherContainer), "running");
  EXPECT_EQ(sandboxState(otherSandbox), "started");
  EXPECT_EQ(stoppedContainers(), std::vector<std::string>{container});
  EXPECT_EQ(stoppedSandboxes(), std::vector<std::string>{sandbox});

  CommandResult after = cli({"ls", "--run-id", run_});
  EXPECT_EQ(after.exitCode, 0) << "nothing active is left\n" << after.describe();
  CommandResult again = cli({"sweep", "--run-id", run_, "--json"});
  EXPECT_EQ(again.exitCode, 0) << again.describe();
  EXPECT_EQ(parseJson(again).at("totals").at("found"), 0) << "a second sweep finds nothing";
}

TEST_F(CliContainersTest, SweepOlderThan24hTakesOnlyOldContainersAndSandboxes) {
  const std::string old = createSandbox(run_, {}, kTwoDaysMs);
  const std::string young = createSandbox(run_);
  const std::string oldContainer = createContainer(run_, {}, "100", kTwoDaysMs);
  const std::string youngContainer = createContainer(run_);

  CommandResult ls = cli({"ls", "--run-id", run_, "--older-than", "24h", "--json"});
  EXPECT_EQ(ls.exitCode, 1) << ls.describe();
  EXPECT_EQ(idsIn(parseJson(ls)), sorted({old, oldContainer}));

  CommandResult sweep = cli({"sweep", "--run-id", run_, "--older-than", "24h", "--json"});

  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  const json report = parseJson(sweep);
  EXPECT_EQ(idsIn(report.at("resources")), sorted({old, oldContainer}));
  EXPECT_THAT(report.at("selector").get<std::string>(), HasSubstr("older-than"));
  EXPECT_THAT(sandboxState(old), AnyOf(Eq("destroyed"), Eq("deleted")));
  EXPECT_EQ(sandboxState(young), "started");
  EXPECT_EQ(containerState(oldContainer), "removed");
  EXPECT_EQ(containerState(youngContainer), "running");
  EXPECT_EQ(stoppedSandboxes(), std::vector<std::string>{old});
  EXPECT_EQ(stoppedContainers(), std::vector<std::string>{oldContainer});

  CommandResult none = cli({"ls", "--run-id", run_, "--older-than", "24h", "--json"});
  EXPECT_EQ(none.exitCode, 0) << none.describe();
  EXPECT_EQ(parseJson(none), json::array());
}

TEST_F(CliContainersTest, OldSandboxesOfEveryRunAreSweptWithAllRuns) {
  const std::string mine = createSandbox(run_, {}, kTwoDaysMs);
  const std::string theirs = createSandbox(uniqueRunId("b"), {}, kTwoDaysMs);
  const std::string youngOther = createSandbox(uniqueRunId("c"));

  CommandResult sweep = cli({"sweep", "--all-runs", "--older-than", "24h", "--json"});

  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  EXPECT_EQ(parseJson(sweep).at("runId"), "*");
  EXPECT_EQ(stoppedSandboxes(), sorted({mine, theirs}));
  EXPECT_EQ(sandboxState(youngOther), "started");
}

TEST_F(CliContainersTest, LabelFilterSelectsAcrossBothBackends) {
  const std::string searchContainer = createContainer(run_, {{"team", "search"}});
  const std::string adsContainer = createContainer(run_, {{"team", "ads"}});
  const std::string searchSandbox = createSandbox(run_, {{"team", "search"}});
  const std::string adsSandbox = createSandbox(run_, {{"team", "ads"}});

  CommandResult ls = cli({"ls", "--run-id", run_, "--label", "team=search", "--json"});
  EXPECT_EQ(idsIn(parseJson(ls)), sorted({searchContainer, searchSandbox})) << ls.describe();

  CommandResult sweep = cli({"sweep", "--run-id", run_, "--label", "team=search", "--json"});

  EXPECT_EQ(sweep.exitCode, 0) << sweep.describe();
  EXPECT_EQ(idsIn(parseJson(sweep).at("resources")), sorted({searchContainer, searchSandbox}));
  EXPECT_EQ(stoppedContainers(), std::vector<std::string>{searchContainer});
  EXPECT_EQ(stoppedSandboxes(), std::vector<std::string>{searchSandbox});
  EXPECT_EQ(containerState(adsContainer), "running");
  EXPECT_EQ(sandboxState(adsSandbox), "started");
}

TEST_F(CliContainersTest, DryRunListsThePlanAndTouchesNothing) {
  const std::string container = createContainer(run_);
  const std::string sandbox = createSandbox(run_);

  CommandResult planned = cli({"sweep", "--run-id", run_, "--dry-run", "--json"});
  CommandResult table = cli({"sweep", "--run-id", run_, "--dry-run"});

  EXPECT_EQ(planned.exitCode, 0) << planned.describe();
  const json report = parseJson(planned);
  EXPECT_EQ(report.at("dryRun"), true);
  EXPECT_EQ(report.at("totals").at("found"), 2);
  EXPECT_EQ(report.at("totals").at("cleaned"), 0);
  for (const auto& r : report.at("resources")) EXPECT_EQ(r.at("skipped"), true) << r.dump();
  EXPECT_EQ(table.exitCode, 0) << table.describe();
  EXPECT_THAT(table.out, HasSubstr("would stop"));
  EXPECT_THAT(table.out, HasSubstr(sandbox));
  EXPECT_EQ(containerState(container), "running");
  EXPECT_EQ(sandboxState(sandbox), "started");
  EXPECT_TRUE(stoppedContainers().empty());
  EXPECT_TRUE(stoppedSandboxes().empty());
}

// Every container's stop is refused with 403 (permanent). Continue-and-report
// still cleans the sandbox and reports each container; --fail-fast stops
// starting new work after the stops: nothing is awaited, so the sandbox
// whose delete was already requested is reported as not cleaned.
TEST_F(CliContainersTest, FailFastStopsAtTheFirstPermanentFailureAndContinueCollectsAll) {
  const std::string first = createContainer(run_);
  const std::string second = createContainer(run_);
  const std::string sandbox = createSandbox(run_);
  docker_->addFault({{"match", {{"method", "POST"}, {"path", "*/containers/*/stop"}}}, {"status", 403}});

  CommandResult all = cli({"sweep", "--run-id", run_, "--json"});

  EXPECT_EQ(all.exitCode, 1) << all.describe();
  const json collected = parseJson(all);
  EXPECT_EQ(collected.at("failFast"), false);
  EXPECT_EQ(collected.at("success"), false);
  EXPECT_EQ(collected.at("totals").at("failed"), 2);
  for (const auto& id : {first, second}) {
    const json* entry = entryFor(collected.at("resources"), id);
    ASSERT_NE(entry, nullptr) << id;
    EXPECT_THAT(entry->at("errors").dump(), HasSubstr("403")) << entry->dump();
    EXPECT_EQ(containerState(id), "running");
  }
  const json* deleted = entryFor(collected.at("resources"), sandbox);
  ASSERT_NE(deleted, nullptr);
  EXPECT_EQ(deleted->at("cleaned"), true) << "continue-and-report still cleans what it can";

  const std::string later = createSandbox(run_);
  CommandResult fast = cli({"sweep", "--run-id", run_, "--fail-fast", "--json"});

  EXPECT_EQ(fast.exitCode, 1) << fast.describe();
  const json stopped = parseJson(fast);
  EXPECT_EQ(stopped.at("failFast"), true);
  EXPECT_EQ(stopped.at("success"), false);
  EXPECT_THAT(stopped.at("resources").dump(), HasSubstr("403"));
  const json* unawaited = entryFor(stopped.at("resources"), later);
  ASSERT_NE(unawaited, nullptr) << stopped.dump(2);
  EXPECT_EQ(unawaited->at("cleaned"), false) << "fail-fast awaits nothing after the first failure";

  docker_->clearFaults();
  CommandResult cleanup = cli({"sweep", "--run-id", run_, "--json"});
  EXPECT_EQ(cleanup.exitCode, 0) << cleanup.describe();
}

TEST_F(CliContainersTest, AWrongDaytonaKeyIsAnErrorNamingDaytonaApiKey) {
  createSandbox(run_);

  CommandResult ls = cli({"ls", "--run-id", run_}, {{"DAYTONA_API_KEY", "wrong-key"}});
  CommandResult sweep = cli({"sweep", "--run-id", run_}, {{"DAYTONA_API_KEY", "wrong-key"}});

  EXPECT_THAT(ls.exitCode, AnyOf(1, 2)) << ls.describe();
  EXPECT_THAT(ls.err, HasSubstr("DAYTONA_API_KEY")) << ls.describe();
  EXPECT_THAT(sweep.exitCode, AnyOf(1, 2)) << sweep.describe();
  EXPECT_THAT(sweep.out + sweep.err, HasSubstr("DAYTONA_API_KEY")) << sweep.describe();
  EXPECT_THAT(ls.out + ls.err, ::testing::Not(HasSubstr("wrong-key"))) << "the key itself is never printed";
  EXPECT_TRUE(stoppedSandboxes().empty());
}

TEST_F(CliContainersTest, AnUnsetDaytonaKeyIsAUsageError) {
  CommandResult ls = cli({"ls", "--run-id", run_}, {{"DAYTONA_API_KEY", std::nullopt}});

  EXPECT_EQ(ls.exitCode, 2) << ls.describe();
  EXPECT_THAT(ls.err, HasSubstr("DAYTONA_API_KEY"));
}

TEST_F(CliContainersTest, AnUnparseableDockerHostIsAUsageErrorNamingIt) {
  for (const char* value : {"ssh://user@host", "tcp://127.0.0.1", "not a docker host"}) {
    CommandResult ls = cli({"ls", "--run-id", run_}, {{"DOCKER_HOST", value}});
    EXPECT_EQ(ls.exitCode, 2) << value << "\n" << ls.describe();
    EXPECT_THAT(ls.err, HasSubstr("DOCKER_HOST")) << value << "\n" << ls.describe();
    CommandResult sweep = cli({"sweep", "--run-id", run_}, {{"DOCKER_HOST", value}});
    EXPECT_EQ(sweep.exitCode, 2) << value << "\n" << sweep.describe();
    EXPECT_THAT(sweep.err, HasSubstr("DOCKER_HOST")) << value;
  }
}

TEST_F(CliContainersTest, AnUnreachableDockerSocketIsNamed) {
  const std::string missing = "unix://" + (directory_ / "no-such.sock").string();

  CommandResult ls = cli({"ls", "--run-id", run_}, {{"DOCKER_HOST", missing}});

  EXPECT_EQ(ls.exitCode, 1) << ls.describe();
  EXPECT_THAT(ls.err, HasSubstr("no-such.sock")) << ls.describe();
}

}  // namespace
}  // namespace cleanroom::e2e
