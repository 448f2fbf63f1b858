#include "cleanroom/selector.h"

#include <gtest/gtest.h>

#include "cleanroom/run.h"
#include "fakes.h"

namespace cleanroom {
namespace {

using tests::makeResource;

const WallTime kNow = std::chrono::sys_days{std::chrono::year{2026} / 11 / 25};

TEST(SelectorTest, ThisRunIsTheDefaultScope) {
  Selector s = Selector::thisRun();
  ASSERT_TRUE(s.runId.has_value());
  EXPECT_EQ(*s.runId, run::id());
  EXPECT_TRUE(s.matches(makeResource("a", run::id()), kNow));
  EXPECT_FALSE(s.matches(makeResource("a", "someone-else"), kNow));
}

TEST(SelectorTest, AllRunsIsAnExplicitWidening) {
  Selector s = Selector::allRuns();
  EXPECT_FALSE(s.runId.has_value());
  EXPECT_TRUE(s.matches(makeResource("a", "x"), kNow));
  EXPECT_TRUE(s.matches(makeResource("b", ""), kNow));
}

TEST(SelectorTest, LabelsMustAllMatch) {
  Selector s = Selector::allRuns();
  s.labels = {{"team", "a"}, {"suite", "e2e"}};
  Resource r = makeResource("a", "x");
  r.labels["team"] = "a";
  EXPECT_FALSE(s.matches(r, kNow));
  r.labels["suite"] = "e2e";
  EXPECT_TRUE(s.matches(r, kNow));
  r.labels["suite"] = "unit";
  EXPECT_FALSE(s.matches(r, kNow));
}

TEST(SelectorTest, NamePrefixAndStates) {
  Selector s = Selector::allRuns();
  s.namePrefix = "agent-";
  s.states = {ResourceState::Running};
  Resource r = makeResource("a", "x");
  EXPECT_TRUE(s.matches(r, kNow));
  r.name = "other";
  EXPECT_FALSE(s.matches(r, kNow));
  r.name = "agent-1";
  r.state = ResourceState::Terminal;
  EXPECT_FALSE(s.matches(r, kNow));
}

TEST(SelectorTest, MinimumAgeNeedsACreationTime) {
  Selector s = Selector::allRuns();
  s.minAge = std::chrono::minutes(30);
  Resource r = makeResource("a", "x");
  EXPECT_FALSE(s.matches(r, kNow));
  r.createdAt = kNow - std::chrono::minutes(31);
  EXPECT_TRUE(s.matches(r, kNow));
  r.createdAt = kNow - std::chrono::minutes(29);
  EXPECT_FALSE(s.matches(r, kNow));
}

TEST(SelectorTest, ActiveOnlyExcludesFinishedResources) {
  Selector s = Selector::forRun("x").activeOnly();
  EXPECT_TRUE(s.matches(makeResource("a", "x", ResourceState::Running), kNow));
  EXPECT_FALSE(s.matches(makeResource("a", "x", ResourceState::Terminal), kNow));
  EXPECT_FALSE(s.matches(makeResource("a", "x", ResourceState::Gone), kNow));
}

TEST(SelectorTest, DescribeNamesEveryCriterion) {
  Selector s = Selector::forRun("abc");
  s.labels["team"] = "x";
  s.minAge = std::chrono::seconds(90);
  s.states = {ResourceState::Running};
  const std::string text = s.describe();
  EXPECT_NE(text.find("run=abc"), std::string::npos);
  EXPECT_NE(text.find("label:team=x"), std::string::npos);
  EXPECT_NE(text.find("older-than="), std::string::npos);
  EXPECT_NE(text.find("state=running"), std::string::npos);
  EXPECT_NE(Selector::allRuns().describe().find("run=*"), std::string::npos);
}

TEST(SelectorTest, IdsRestrictToTheNamedResources) {
  Selector s = Selector::forRun("abc");
  EXPECT_TRUE(s.matches(makeResource("c1", "abc"), kNow)) << "no ids = any id";
  s.ids = {"c1", "c3"};
  EXPECT_TRUE(s.matches(makeResource("c1", "abc"), kNow));
  EXPECT_TRUE(s.matches(makeResource("c3", "abc"), kNow));
  EXPECT_FALSE(s.matches(makeResource("c2", "abc"), kNow));
  EXPECT_FALSE(s.matches(makeResource("c1", "someone-else"), kNow)) << "ids never widen the run scope";
}

TEST(SelectorTest, DescribeNamesTheIds) {
  Selector s = Selector::forRun("abc");
  EXPECT_EQ(s.describe().find("id="), std::string::npos);
  s.ids = {"c2", "c1"};
  EXPECT_NE(s.describe().find(" id=c1|c2"), std::string::npos) << s.describe();
}

}  // namespace
}  // namespace cleanroom
