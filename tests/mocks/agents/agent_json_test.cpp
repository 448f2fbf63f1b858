#include "cleanroom/mocks/agents/agent_json.h"

#include <cctype>

#include <gtest/gtest.h>

namespace cleanroom::mocks {
namespace {

using nlohmann::json;

TEST(AgentJsonTest, ParsesAFullCreateBody) {
  auto spec = parseAgentSpec(R"({"type": "claude", "prompt": "fix it", "name": "n1",
      "labels": {"cleanroom.run": "r1"},
      "behavior": {"runMs": 100, "outcome": "failed", "exitDelayMs": [10, 20], "ignoreSigterm": true,
                   "realProcess": true, "lingerMs": 5, "startMs": 7}})");
  ASSERT_TRUE(spec.ok()) << spec.message();
  const auto& value = spec.value();
  EXPECT_EQ(value.type, "claude");
  EXPECT_EQ(value.name, "n1");
  EXPECT_EQ(value.labels.at("cleanroom.run"), "r1");
  const auto& behavior = value.behavior;
  EXPECT_EQ(behavior.runMs, 100);
  EXPECT_EQ(behavior.outcome, AgentOutcome::failed);
  EXPECT_EQ(behavior.exitDelayMinMs, 10);
  EXPECT_EQ(behavior.exitDelayMaxMs, 20);
  EXPECT_TRUE(behavior.ignoreSigterm);
  EXPECT_TRUE(behavior.realProcess);
  EXPECT_EQ(behavior.lingerMs, 5);
  EXPECT_EQ(behavior.startMs, 7);
}

TEST(AgentJsonTest, DefaultsEveryBehaviorField) {
  auto spec = parseAgentSpec(R"({"type": "t", "prompt": "p"})");
  ASSERT_TRUE(spec.ok());
  const auto& behavior = spec.value().behavior;
  EXPECT_FALSE(behavior.runMs);
  EXPECT_EQ(behavior.outcome, AgentOutcome::completed);
  EXPECT_EQ(behavior.exitDelayMaxMs, 0);
  EXPECT_FALSE(behavior.realProcess);
  EXPECT_FALSE(behavior.lingerMs);
}

struct BadBody {
  std::string body;
  std::string field;
  std::string messagePart;
};

// Test names and ctest listings show the body, not the struct's bytes.
void PrintTo(const BadBody& bad, std::ostream* out) { *out << bad.body; }

class AgentSpecErrorTest : public ::testing::TestWithParam<BadBody> {};

TEST_P(AgentSpecErrorTest, NamesTheBadField) {
  auto spec = parseAgentSpec(GetParam().body);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.field(), GetParam().field);
  EXPECT_NE(spec.message().find(GetParam().messagePart), std::string::npos) << spec.message();
}

INSTANTIATE_TEST_SUITE_P(
    BadBodies, AgentSpecErrorTest,
    ::testing::Values(
        BadBody{"{", "body", "request body must be valid JSON"},
        BadBody{"[]", "body", "must be a JSON object"},
        BadBody{R"({"prompt": "p"})", "type", "type is required"},
        BadBody{R"({"type": 1, "prompt": "p"})", "type", "type must be a non-empty string"},
        BadBody{R"({"type": "t"})", "prompt", "prompt is required"},
        BadBody{R"({"type": "t", "prompt": "p", "name": 3})", "name", "name must be a string"},
        BadBody{R"({"type": "t", "prompt": "p", "labels": {"a": 1}})", "labels.a", "labels.a must be a string"},
        BadBody{R"({"type": "t", "prompt": "p", "behavior": 1})", "behavior", "behavior must be an object"},
        BadBody{R"({"type": "t", "prompt": "p", "behavior": {"exitDelayMs": "abc"}})", "behavior.exitDelayMs",
                "behavior.exitDelayMs must be a number of milliseconds or [min, max]"},
        BadBody{R"({"type": "t", "prompt": "p", "behavior": {"exitDelayMs": [5, 1]}})", "behavior.exitDelayMs",
                "min <= max"},
        BadBody{R"({"type": "t", "prompt": "p", "behavior": {"runMs": -1}})", "behavior.runMs",
                "behavior.runMs must be a number of milliseconds"},
        BadBody{R"({"type": "t", "prompt": "p", "behavior": {"outcome": "crashed"}})", "behavior.outcome",
                "must be \"completed\" or \"failed\""},
        BadBody{R"({"type": "t", "prompt": "p", "behavior": {"realProcess": "yes"}})", "behavior.realProcess",
                "must be true or false"},
        BadBody{R"({"type": "t", "prompt": "p", "behavior": {"sleepMs": 1}})", "behavior.sleepMs",
                "is not a behavior field; allowed: runMs"}),
    [](const ::testing::TestParamInfo<BadBody>& info) {
      std::string name = std::to_string(info.index) + "_" + info.param.field;
      for (auto& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

HttpRequest requestWithQuery(const std::string& query) {
  HttpRequest request;
  request.rawQuery = query;
  request.query = parseQuery(query);
  return request;
}

TEST(AgentJsonTest, ParsesListFilters) {
  auto filter = parseAgentFilter(requestWithQuery("label=a%3D1&label=b=2&status=running&status=pending"));
  ASSERT_TRUE(filter.ok());
  ASSERT_EQ(filter.value().labels.size(), 2u);
  EXPECT_EQ(filter.value().labels[1], (std::pair<std::string, std::string>{"b", "2"}));
  EXPECT_EQ(filter.value().statuses.size(), 2u);
  EXPECT_EQ(parseAgentFilter(requestWithQuery("label=nokey")).field(), "label");
  EXPECT_EQ(parseAgentFilter(requestWithQuery("status=sleeping")).field(), "status");
}

TEST(AgentJsonTest, ParsesAndCapsLongPollParameters) {
  EXPECT_EQ(parseWaitRequest(requestWithQuery("")).value().until, WaitRequest::Until::none);
  auto wait = parseWaitRequest(requestWithQuery("waitFor=terminal&timeoutMs=250"));
  ASSERT_TRUE(wait.ok());
  EXPECT_EQ(wait.value().until, WaitRequest::Until::terminal);
  EXPECT_EQ(parseWaitRequest(requestWithQuery("waitFor=gone")).value().until, WaitRequest::Until::gone);
  EXPECT_EQ(wait.value().timeout.count(), 250);
  EXPECT_EQ(parseWaitRequest(requestWithQuery("waitFor=terminal&timeoutMs=999999")).value().timeout, kMaxWaitTimeout);
  EXPECT_EQ(parseWaitRequest(requestWithQuery("waitFor=terminal")).value().timeout, kDefaultWaitTimeout);
  EXPECT_EQ(parseWaitRequest(requestWithQuery("waitFor=terminal&timeoutMs=-1")).field(), "timeoutMs");
  EXPECT_EQ(parseWaitRequest(requestWithQuery("waitFor=done")).field(), "waitFor");
}

TEST(AgentJsonTest, ParsesForce) {
  EXPECT_FALSE(parseForce(requestWithQuery("")).value());
  EXPECT_TRUE(parseForce(requestWithQuery("force=true")).value());
  EXPECT_FALSE(parseForce(requestWithQuery("force=false")).value());
  EXPECT_EQ(parseForce(requestWithQuery("force=maybe")).field(), "force");
}

TEST(AgentJsonTest, FormatsTimestampsAsUtcWithMilliseconds) {
  const auto time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795729728123));
  EXPECT_EQ(formatTimestamp(time), "2026-11-26T21:48:48.123Z");
}

TEST(AgentJsonTest, RendersOptionalFieldsOnlyWhenKnown) {
  Agent agent;
  agent.id = "ag-1";
  agent.spec.type = "t";
  agent.status = AgentStatus::running;
  auto running = agentToJson(agent);
  EXPECT_EQ(running["status"], "running");
  EXPECT_FALSE(running.contains("pid"));
  EXPECT_FALSE(running.contains("exitCode"));
  agent.pid = 42;
  agent.exitCode = 143;
  agent.statusReason = "sigterm";
  auto ended = agentToJson(agent);
  EXPECT_EQ(ended["pid"], 42);
  EXPECT_EQ(ended["exitCode"], 143);
  EXPECT_EQ(ended["statusReason"], "sigterm");
}

}  // namespace
}  // namespace cleanroom::mocks
