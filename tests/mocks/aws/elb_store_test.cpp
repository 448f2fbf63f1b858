// ElbStore: the ELBv2 state model of cleanroom-mock-aws — target health
// lifecycle (initial → healthy, draining → gone), NotRegistered, pagination,
// tags and errors.
#include "cleanroom/mocks/aws/elb_store.h"

#include <gtest/gtest.h>

#include "cleanroom/clock.h"
#include "cleanroom/wait.h"

namespace cleanroom::mocks::aws {
namespace {

using namespace std::chrono_literals;
using Form = std::multimap<std::string, std::string>;

class ElbStoreTest : public ::testing::Test {
 protected:
  explicit ElbStoreTest(std::chrono::milliseconds healthy = 0ms, std::chrono::milliseconds drain = 0ms)
      : store_(ElbStoreOptions{"us-east-1", "123456789012", healthy, drain}) {}

  void SetUp() override { arn_ = create("sessions"); }

  std::string ok(const std::string& action, const Form& form) {
    auto result = store_.call(action, form);
    EXPECT_TRUE(result.ok()) << action << ": " << (result.ok() ? "" : result.error().code + " " + result.error().message);
    return result.ok() ? result.value() : "";
  }

  AwsError fails(const std::string& action, const Form& form) {
    auto result = store_.call(action, form);
    EXPECT_FALSE(result.ok()) << action << " unexpectedly succeeded: " << (result.ok() ? result.value() : "");
    return result.ok() ? AwsError{} : result.error();
  }

  std::string create(const std::string& name) {
    const std::string xml = ok("CreateTargetGroup", {{"Name", name}, {"Protocol", "HTTP"}, {"Port", "8080"},
                                                     {"VpcId", "vpc-1"}, {"TargetType", "ip"}});
    const auto start = xml.find("<TargetGroupArn>") + 16;
    return xml.substr(start, xml.find("</TargetGroupArn>") - start);
  }

  Form withTarget(const std::string& action, const std::string& ip) {
    (void)action;
    return {{"TargetGroupArn", arn_}, {"Targets.member.1.Id", ip}, {"Targets.member.1.Port", "8080"}};
  }

  std::string health(const std::string& ip) { return ok("DescribeTargetHealth", withTarget("", ip)); }

  bool waitForHealth(const std::string& ip, const std::string& needle) {
    Clock& clock = Clock::system();
    return waitUntil(clock, clock.now() + 10s, AdaptiveWait{}, [&] {
             return health(ip).find(needle) != std::string::npos;
           }).met;
  }

  ElbStore store_;
  std::string arn_;
};

class ElbStoreTimedTest : public ElbStoreTest {
 protected:
  ElbStoreTimedTest() : ElbStoreTest(40ms, 80ms) {}
};

TEST_F(ElbStoreTest, CreateTargetGroupAnswersTheGroupWithItsArn) {
  EXPECT_EQ(arn_.rfind("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/sessions/", 0), 0u) << arn_;
  const std::string xml = ok("DescribeTargetGroups", {{"Names.member.1", "sessions"}});
  EXPECT_NE(xml.find("<TargetGroupName>sessions</TargetGroupName>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<HealthCheckPort>traffic-port</HealthCheckPort>"), std::string::npos);
  EXPECT_NE(xml.find("<TargetType>ip</TargetType>"), std::string::npos);
  EXPECT_EQ(create("sessions"), arn_);  // same settings: the same group
  EXPECT_EQ(fails("CreateTargetGroup", {{"Name", "sessions"}, {"Protocol", "HTTP"}, {"Port", "9090"}, {"VpcId", "vpc-1"}}).code,
            "DuplicateTargetGroupName");
}

TEST_F(ElbStoreTimedTest, TargetsGoInitialHealthyDrainingGone) {
  ok("RegisterTargets", withTarget("", "10.0.0.5"));
  const std::string initial = health("10.0.0.5");
  EXPECT_NE(initial.find("<State>initial</State><Reason>Elb.RegistrationInProgress</Reason>"), std::string::npos) << initial;
  ASSERT_TRUE(waitForHealth("10.0.0.5", "<State>healthy</State>"));
  ok("DeregisterTargets", withTarget("", "10.0.0.5"));
  const std::string draining = health("10.0.0.5");
  EXPECT_NE(draining.find("<State>draining</State><Reason>Target.DeregistrationInProgress</Reason>"), std::string::npos)
      << draining;
  ASSERT_TRUE(waitForHealth("10.0.0.5", "<State>unused</State><Reason>Target.NotRegistered</Reason>"));
  EXPECT_EQ(ok("DescribeTargetHealth", {{"TargetGroupArn", arn_}}), "<TargetHealthDescriptions></TargetHealthDescriptions>");
}

TEST_F(ElbStoreTimedTest, ReRegisteringADrainingTargetBringsItBack) {
  ok("RegisterTargets", withTarget("", "10.0.0.6"));
  ok("DeregisterTargets", withTarget("", "10.0.0.6"));
  ok("RegisterTargets", withTarget("", "10.0.0.6"));
  ASSERT_TRUE(waitForHealth("10.0.0.6", "<State>healthy</State>"));
}

TEST_F(ElbStoreTest, DescribeTargetHealthListsRegisteredTargetsInOrder) {
  ok("RegisterTargets", {{"TargetGroupArn", arn_}, {"Targets.member.1.Id", "10.0.0.2"},
                         {"Targets.member.2.Id", "10.0.0.1"}, {"Targets.member.2.Port", "9000"}});
  const std::string xml = ok("DescribeTargetHealth", {{"TargetGroupArn", arn_}});
  const auto first = xml.find("<Id>10.0.0.2</Id><Port>8080</Port>");
  const auto second = xml.find("<Id>10.0.0.1</Id><Port>9000</Port>");
  ASSERT_NE(first, std::string::npos) << xml;
  ASSERT_NE(second, std::string::npos) << xml;
  EXPECT_LT(first, second);
  EXPECT_NE(xml.find("<State>healthy</State>"), std::string::npos);
}

TEST_F(ElbStoreTest, ErrorsNameTheTargetGroupOrTarget) {
  const std::string unknown = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/0123456789abcdef";
  AwsError missing = fails("DescribeTargetHealth", {{"TargetGroupArn", unknown}});
  EXPECT_EQ(missing.code, "TargetGroupNotFound");
  EXPECT_NE(missing.message.find(unknown), std::string::npos);
  EXPECT_EQ(fails("DescribeTargetHealth", {{"TargetGroupArn", "not-an-arn"}}).code, "ValidationError");
  EXPECT_EQ(fails("RegisterTargets", withTarget("", "i-123")).code, "InvalidTarget");
  EXPECT_EQ(fails("DeregisterTargets", withTarget("", "10.9.9.9")).code, "InvalidTarget");
  EXPECT_EQ(fails("DescribeTargetGroups", {{"Names.member.1", "nope"}}).code, "TargetGroupNotFound");
  EXPECT_EQ(fails("ModifyListener", {}).code, "InvalidAction");
}

TEST_F(ElbStoreTest, DescribeTargetGroupsPaginatesWithMarker) {
  create("b");
  create("c");
  std::string first = ok("DescribeTargetGroups", {{"PageSize", "2"}});
  const auto start = first.find("<NextMarker>");
  ASSERT_NE(start, std::string::npos) << first;
  const std::string marker = first.substr(start + 12, first.find("</NextMarker>") - start - 12);
  std::string second = ok("DescribeTargetGroups", {{"PageSize", "2"}, {"Marker", marker}});
  EXPECT_NE(second.find("<TargetGroupName>c</TargetGroupName>"), std::string::npos) << second;
  EXPECT_EQ(second.find("<NextMarker>"), std::string::npos);
}

TEST_F(ElbStoreTest, TagsAreAddedDescribedAndRemoved) {
  ok("AddTags", {{"ResourceArns.member.1", arn_}, {"Tags.member.1.Key", "cleanroom.run"}, {"Tags.member.1.Value", "r1"}});
  EXPECT_NE(ok("DescribeTags", {{"ResourceArns.member.1", arn_}})
                .find("<Tags><member><Key>cleanroom.run</Key><Value>r1</Value></member></Tags>"),
            std::string::npos);
  ok("RemoveTags", {{"ResourceArns.member.1", arn_}, {"TagKeys.member.1", "cleanroom.run"}});
  EXPECT_NE(ok("DescribeTags", {{"ResourceArns.member.1", arn_}}).find("<Tags></Tags>"), std::string::npos);
}

TEST_F(ElbStoreTest, DeleteTargetGroupRemovesItAndStateShowsTargets) {
  ok("RegisterTargets", withTarget("", "10.0.0.7"));
  auto state = store_.state();
  ASSERT_EQ(state["targetGroups"].size(), 1u);
  EXPECT_EQ(state["targetGroups"][0]["targets"][0]["id"], "10.0.0.7");
  ok("DeleteTargetGroup", {{"TargetGroupArn", arn_}});
  EXPECT_TRUE(store_.state()["targetGroups"].empty());
  ok("DeleteTargetGroup", {{"TargetGroupArn", arn_}});  // already gone: no error
}

}  // namespace
}  // namespace cleanroom::mocks::aws
