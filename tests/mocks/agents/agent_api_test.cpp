#include "cleanroom/mocks/agents/agent_api_mock.h"

#include <httplib.h>

#include <future>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "process_probe.h"

namespace cleanroom::mocks {
namespace {

using nlohmann::json;
using testing::childrenOfThisProcess;
using testing::processIsGone;

// Long-polls return on the transition; this timeout only bounds a broken mock.
const std::string kLongPoll = "?waitFor=terminal&timeoutMs=10000";

class AgentApiTest : public ::testing::Test {
 protected:
  void SetUp() override { mock_.start(); }

  httplib::Client client() {
    httplib::Client client(mock_.url());
    client.set_read_timeout(30, 0);
    return client;
  }

  httplib::Result post(const json& body) { return client().Post("/api/agents", body.dump(), "application/json"); }

  json create(const json& behavior = json::object(), const json& labels = json::object()) {
    auto response = post({{"type", "claude"}, {"prompt", "fix the bug"}, {"labels", labels}, {"behavior", behavior}});
    EXPECT_TRUE(response);
    EXPECT_EQ(response->status, 201) << response->body;
    return json::parse(response->body);
  }

  httplib::Result get(const std::string& target) { return client().Get(target.c_str()); }

  json getJson(const std::string& target, int expectedStatus = 200) {
    auto response = get(target);
    EXPECT_TRUE(response);
    EXPECT_EQ(response->status, expectedStatus) << target << ": " << response->body;
    return json::parse(response->body);
  }

  httplib::Result remove(const std::string& id, const std::string& query = "") {
    return client().Delete(("/api/agents/" + id + query).c_str());
  }

  AgentApiMock mock_;
};

TEST_F(AgentApiTest, CreatesAnAgentWithTheContractFields) {
  auto agent = create(json::object(), {{"cleanroom.run", "r1"}});
  EXPECT_EQ(agent["id"].get<std::string>().rfind("ag-", 0), 0u);
  EXPECT_EQ(agent["type"], "claude");
  EXPECT_EQ(agent["prompt"], "fix the bug");
  EXPECT_EQ(agent["status"], "running");
  EXPECT_EQ(agent["labels"]["cleanroom.run"], "r1");
  EXPECT_EQ(agent["createdAt"].get<std::string>().size(), 24u);  // 2026-11-25T21:48:48.123Z
  EXPECT_EQ(agent["createdAt"].get<std::string>().back(), 'Z');
  EXPECT_TRUE(agent.contains("name"));
  EXPECT_TRUE(agent.contains("updatedAt"));
}

TEST_F(AgentApiTest, RejectsBadBehaviorNamingTheField) {
  auto response = post({{"type", "t"}, {"prompt", "p"}, {"behavior", {{"exitDelayMs", "abc"}}}});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  auto body = json::parse(response->body);
  EXPECT_EQ(body["field"], "behavior.exitDelayMs");
  EXPECT_EQ(body["error"],
            "behavior.exitDelayMs must be a number of milliseconds or [min, max] (0 <= min <= max <= 86400000); "
            "got \"abc\"");
  auto malformed = client().Post("/api/agents", "{not json", "application/json");
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(json::parse(malformed->body)["field"], "body");
  EXPECT_TRUE(getJson("/api/agents").empty());
}

TEST_F(AgentApiTest, ListsAndFiltersByLabelAndStatus) {
  auto a = create(json::object(), {{"run", "r1"}, {"team", "x"}});
  create(json::object(), {{"run", "r1"}});
  auto c = create(json::object(), {{"run", "r2"}});
  remove(c["id"], "?force=true");
  EXPECT_EQ(getJson("/api/agents").size(), 3u);
  EXPECT_EQ(getJson("/api/agents?label=run=r1").size(), 2u);
  auto both = getJson("/api/agents?label=run%3Dr1&label=team=x");
  ASSERT_EQ(both.size(), 1u);
  EXPECT_EQ(both[0]["id"], a["id"]);
  EXPECT_EQ(getJson("/api/agents?status=running&status=pending").size(), 2u);
  EXPECT_EQ(getJson("/api/agents?status=terminated")[0]["id"], c["id"]);
  EXPECT_EQ(getJson("/api/agents?status=asleep", 400)["field"], "status");
  EXPECT_EQ(getJson("/api/agents?label=novalue", 400)["field"], "label");
}

TEST_F(AgentApiTest, GetsOneAgentOr404) {
  auto agent = create();
  const std::string id = agent["id"];
  auto response = get("/api/agents/" + id);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->get_header_value("X-Cleanroom-Wait"), "terminal");
  EXPECT_EQ(json::parse(response->body)["id"], id);
  auto missing = getJson("/api/agents/ag-0000000000000000", 404);
  EXPECT_EQ(missing["error"], "agent ag-0000000000000000 not found");
}

TEST_F(AgentApiTest, LongPollReturnsOnTheTransitionToTerminal) {
  auto agent = create({{"exitDelayMs", 150}});
  const std::string id = agent["id"];
  auto poll = std::async(std::launch::async, [&] { return getJson("/api/agents/" + id + kLongPoll); });
  auto deleted = remove(id);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 202);
  EXPECT_EQ(json::parse(deleted->body)["status"], "terminating");
  auto ended = poll.get();
  EXPECT_EQ(ended["status"], "terminated");
  EXPECT_EQ(ended["statusReason"], "sigterm");
}

TEST_F(AgentApiTest, LongPollValidatesItsParameters) {
  const std::string id = create()["id"];
  EXPECT_EQ(getJson("/api/agents/" + id + "?waitFor=terminal&timeoutMs=soon", 400)["field"], "timeoutMs");
  EXPECT_EQ(getJson("/api/agents/" + id + "?waitFor=forever", 400)["field"], "waitFor");
}

TEST_F(AgentApiTest, LongPollTimesOutWithTheCurrentAgent) {
  const std::string id = create()["id"];
  EXPECT_EQ(getJson("/api/agents/" + id + "?waitFor=terminal&timeoutMs=50")["status"], "running");
}

TEST_F(AgentApiTest, RunMsEndsCompletedOrFailed) {
  const std::string completed = create({{"runMs", 30}})["id"];
  const std::string failed = create({{"runMs", 30}, {"outcome", "failed"}})["id"];
  EXPECT_EQ(getJson("/api/agents/" + completed + kLongPoll)["status"], "completed");
  auto failedAgent = getJson("/api/agents/" + failed + kLongPoll);
  EXPECT_EQ(failedAgent["status"], "failed");
  EXPECT_EQ(failedAgent["statusReason"], "runMs elapsed");
}

TEST_F(AgentApiTest, IgnoringSigtermNeedsForce) {
  const std::string id = create({{"ignoreSigterm", true}})["id"];
  EXPECT_EQ(remove(id)->status, 202);
  EXPECT_EQ(remove(id)->status, 202);  // graceful again: a no-op
  EXPECT_EQ(getJson("/api/agents/" + id + "?waitFor=terminal&timeoutMs=100")["status"], "terminating");
  EXPECT_EQ(remove(id, "?force=maybe")->status, 400);
  EXPECT_EQ(remove(id, "?force=true")->status, 202);
  auto ended = getJson("/api/agents/" + id + kLongPoll);
  EXPECT_EQ(ended["status"], "terminated");
  EXPECT_EQ(ended["statusReason"], "sigkill");
}

TEST_F(AgentApiTest, DeletingATerminalAgentPurgesIt) {
  const std::string id = create({{"runMs", 0}})["id"];
  EXPECT_EQ(getJson("/api/agents/" + id + kLongPoll)["status"], "completed");
  auto purged = remove(id);
  ASSERT_TRUE(purged);
  EXPECT_EQ(purged->status, 200);
  getJson("/api/agents/" + id, 404);
  EXPECT_EQ(remove(id)->status, 404);
}

TEST_F(AgentApiTest, TerminalAgentsDisappearAfterLingerMs) {
  const std::string id = create({{"runMs", 0}, {"lingerMs", 50}})["id"];
  getJson("/api/agents/" + id + "?waitFor=gone&timeoutMs=10000", 404);
  EXPECT_TRUE(getJson("/api/agents").empty());
}

TEST_F(AgentApiTest, StateListsEveryAgentAndResetDropsThem) {
  create({{"runMs", 0}});
  create();
  EXPECT_EQ(getJson("/__cleanroom/state")["agents"].size(), 2u);
  EXPECT_EQ(client().Post("/__cleanroom/reset", "", "application/json")->status, 200);
  EXPECT_TRUE(getJson("/__cleanroom/state")["agents"].empty());
  EXPECT_TRUE(getJson("/__cleanroom/requests").empty());
}

TEST_F(AgentApiTest, FaultsApplyToTheAgentRoutes) {
  create();
  json rule = {{"match", {{"method", "DELETE"}, {"path", "/api/agents/*"}}}, {"status", 503}, {"count", 1},
               {"retryAfter", 1}};
  EXPECT_EQ(client().Post("/__cleanroom/faults", rule.dump(), "application/json")->status, 201);
  const std::string id = getJson("/api/agents")[0]["id"];
  auto failed = remove(id, "?force=true");
  EXPECT_EQ(failed->status, 503);
  EXPECT_EQ(failed->get_header_value("Retry-After"), "1");
  EXPECT_EQ(remove(id, "?force=true")->status, 202);
}

TEST_F(AgentApiTest, RealProcessLivesUntilTerminatedAndIsReaped) {
  auto agent = create({{"realProcess", true}, {"exitDelayMs", 100}});
  ASSERT_TRUE(agent.contains("pid"));
  const pid_t pid = agent["pid"];
  EXPECT_EQ(::kill(pid, 0), 0);
  EXPECT_EQ(remove(agent["id"])->status, 202);
  auto ended = getJson("/api/agents/" + agent["id"].get<std::string>() + kLongPoll);
  EXPECT_EQ(ended["status"], "terminated");
  EXPECT_EQ(ended["exitCode"], 143);
  EXPECT_TRUE(processIsGone(pid));
}

TEST_F(AgentApiTest, StopWakesLongPollsAndLeavesNoChildBehind) {
  std::vector<pid_t> pids;
  for (int i = 0; i < 2; ++i) pids.push_back(create({{"realProcess", true}, {"ignoreSigterm", true}})["pid"]);
  const std::string id = getJson("/api/agents")[0]["id"];
  auto poll = std::async(std::launch::async, [&] {
    httplib::Client longPoll(mock_.url());
    longPoll.set_read_timeout(30, 0);
    return longPoll.Get(("/api/agents/" + id + "?waitFor=terminal&timeoutMs=60000").c_str());
  });
  mock_.stop();
  poll.get();  // answered or cut off: either way it has returned
  for (pid_t pid : pids) EXPECT_TRUE(processIsGone(pid)) << pid;
  EXPECT_TRUE(childrenOfThisProcess().empty());
}

}  // namespace
}  // namespace cleanroom::mocks
