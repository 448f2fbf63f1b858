#include "cleanroom/mocks/fault_rules.h"

#include <cctype>

#include <gtest/gtest.h>

namespace cleanroom::mocks {
namespace {

using nlohmann::json;

FaultRule parseOrFail(const json& value) {
  auto parsed = FaultRule::fromJson(value);
  EXPECT_TRUE(parsed.ok()) << parsed.message();
  return parsed.ok() ? parsed.value() : FaultRule{};
}

TEST(FaultRuleTest, ParsesAStatusRuleWithCountAndRetryAfter) {
  auto rule = parseOrFail(
      {{"match", {{"method", "delete"}, {"path", "/api/agents/*"}}}, {"status", 503}, {"count", 2}, {"retryAfter", 1}});
  EXPECT_EQ(rule.method, "DELETE");
  EXPECT_EQ(rule.pathGlob, "/api/agents/*");
  EXPECT_EQ(rule.status, 503);
  EXPECT_EQ(rule.count, 2);
  EXPECT_EQ(rule.retryAfterSeconds, 1);
}

TEST(FaultRuleTest, StarMethodMatchesAnyMethod) {
  auto rule = parseOrFail({{"match", {{"method", "*"}}}, {"status", 500}});
  EXPECT_TRUE(rule.matches("PATCH", "/x"));
}

TEST(FaultRuleTest, ParsesDelayAndDropRulesWithoutMatch) {
  EXPECT_EQ(parseOrFail({{"delayMs", 800}}).delayMs, 800);
  EXPECT_TRUE(parseOrFail({{"drop", true}}).drop);
}

struct BadRule {
  json rule;
  std::string field;
  std::string messagePart;
};

// Test names and ctest listings show the rule, not the struct's bytes.
void PrintTo(const BadRule& bad, std::ostream* out) { *out << bad.rule.dump(); }

class FaultRuleErrorTest : public ::testing::TestWithParam<BadRule> {};

TEST_P(FaultRuleErrorTest, NamesTheBadField) {
  auto parsed = FaultRule::fromJson(GetParam().rule);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.field(), GetParam().field);
  EXPECT_NE(parsed.message().find(GetParam().messagePart), std::string::npos) << parsed.message();
}

INSTANTIATE_TEST_SUITE_P(
    BadRules, FaultRuleErrorTest,
    ::testing::Values(BadRule{{{"status", "x"}}, "status", "'status' must be an integer 100-599"},
                      BadRule{{{"status", 42}}, "status", "100-599"},
                      BadRule{{{"status", 503}, {"count", 0}}, "count", "'count' must be an integer >= 1"},
                      BadRule{{{"delayMs", -5}}, "delayMs", "'delayMs' must be"},
                      BadRule{{{"drop", "yes"}}, "drop", "'drop' must be true or false"},
                      BadRule{{{"drop", true}, {"status", 500}}, "drop", "cannot be combined"},
                      BadRule{{{"retryAfter", 1}, {"delayMs", 5}}, "retryAfter", "needs a 'status'"},
                      BadRule{{{"match", {{"path", "/x"}}}}, "status", "at least one effect"},
                      BadRule{{{"match", "x"}, {"status", 500}}, "match", "'match' must be an object"},
                      BadRule{{{"match", {{"host", "x"}}}, {"status", 500}}, "match.host", "unknown field"},
                      BadRule{{{"stauts", 500}}, "stauts", "unknown field 'stauts'"},
                      BadRule{json::array({1}), "rule", "must be a JSON object"}),
    [](const ::testing::TestParamInfo<BadRule>& info) {
      std::string name = std::to_string(info.index) + "_" + info.param.field;
      for (auto& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

TEST(GlobTest, StarMatchesAnyRunIncludingSlashes) {
  EXPECT_TRUE(globMatches("/api/agents/*", "/api/agents/ag-1"));
  EXPECT_TRUE(globMatches("/api/*", "/api/agents/ag-1/logs"));
  EXPECT_TRUE(globMatches("*", ""));
  EXPECT_TRUE(globMatches("/a*c*e", "/abcde"));
  EXPECT_FALSE(globMatches("/api/agents/*", "/api/agents"));
  EXPECT_FALSE(globMatches("/api/agents", "/api/agents/x"));
}

TEST(FaultRuleSetTest, ConsumesCountsAndFallsThroughToTheNextRule) {
  FaultRuleSet faults;
  ASSERT_TRUE(faults.addFromJson(json::array({{{"match", {{"method", "GET"}}}, {"status", 503}, {"count", 2}},
                                              {{"status", 500}}}))
                  .ok());
  EXPECT_EQ(faults.take("GET", "/a")->status, 503);
  EXPECT_EQ(faults.take("GET", "/a")->status, 503);
  EXPECT_EQ(faults.take("GET", "/a")->status, 500);
  EXPECT_EQ(faults.take("POST", "/a")->status, 500);
  EXPECT_EQ(faults.toJson()[0]["count"], 0);
  EXPECT_TRUE(faults.toJson()[1]["count"].is_null());
}

TEST(FaultRuleSetTest, AddsNothingWhenOneRuleOfAnArrayIsBad) {
  FaultRuleSet faults;
  auto added = faults.addFromJson(json::array({{{"status", 503}}, {{"status", "bad"}}}));
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.message().find("rule #1"), std::string::npos);
  EXPECT_FALSE(faults.take("GET", "/").has_value());
}

TEST(FaultRuleSetTest, MatchesNothingOnceCleared) {
  FaultRuleSet faults;
  faults.add(parseOrFail({{"drop", true}}));
  ASSERT_TRUE(faults.take("GET", "/")->drop);
  faults.clear();
  EXPECT_FALSE(faults.take("GET", "/").has_value());
}

TEST(FaultActionTest, DescribesEveryEffect) {
  FaultAction action{800, false, 503, std::nullopt, std::nullopt};
  EXPECT_EQ(action.describe(), "delay 800ms, status 503");
}


TEST(FaultRuleTest, OperationGlobWithoutColonMatchesTheOperationName) {
  auto rule = parseOrFail({{"match", {{"operation", "StopTask"}}}, {"status", 400}, {"errorCode", "ThrottlingException"}});
  EXPECT_TRUE(rule.matches("POST", "/", "ecs:StopTask"));
  EXPECT_FALSE(rule.matches("POST", "/", "ecs:RunTask"));
  EXPECT_FALSE(rule.matches("POST", "/", ""));
  EXPECT_EQ(rule.toJson()["match"]["operation"], "StopTask");
  EXPECT_EQ(rule.toJson()["errorCode"], "ThrottlingException");
}

TEST(FaultRuleTest, OperationGlobWithColonMatchesServiceAndOperation) {
  auto anyEcs = parseOrFail({{"match", {{"operation", "ecs:*"}}}, {"status", 500}});
  EXPECT_TRUE(anyEcs.matches("POST", "/", "ecs:ListTasks"));
  EXPECT_FALSE(anyEcs.matches("POST", "/", "elasticloadbalancing:DeregisterTargets"));
  auto one = parseOrFail({{"match", {{"operation", "elasticloadbalancing:DeregisterTargets"}}}, {"status", 500}});
  EXPECT_TRUE(one.matches("POST", "/", "elasticloadbalancing:DeregisterTargets"));
  EXPECT_FALSE(one.matches("POST", "/", "elasticloadbalancing:RegisterTargets"));
}

TEST(FaultRuleTest, RejectsABadOperationOrErrorCodeNamingTheField) {
  EXPECT_EQ(FaultRule::fromJson({{"match", {{"operation", 3}}}, {"status", 500}}).field(), "match.operation");
  EXPECT_EQ(FaultRule::fromJson({{"errorCode", ""}, {"status", 400}}).field(), "errorCode");
  EXPECT_EQ(FaultRule::fromJson({{"errorCode", "Throttling"}, {"delayMs", 5}}).field(), "errorCode");
}

TEST(FaultRuleSetTest, TakePassesTheOperationAndCarriesTheErrorCode) {
  FaultRuleSet faults;
  ASSERT_TRUE(faults.addFromJson({{"match", {{"operation", "RunTask"}}}, {"status", 400}, {"errorCode", "ThrottlingException"}}));
  EXPECT_FALSE(faults.take("POST", "/").has_value());
  auto action = faults.take("POST", "/", "ecs:RunTask");
  ASSERT_TRUE(action.has_value());
  EXPECT_EQ(action->errorCode, "ThrottlingException");
  EXPECT_EQ(action->describe(), "status 400 ThrottlingException");
}

}  // namespace
}  // namespace cleanroom::mocks
