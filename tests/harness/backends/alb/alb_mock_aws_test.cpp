// AlbBackend against cleanroom-mock-aws in-process (ELBv2 and ECS over real
// HTTP, SigV4 verified): two runs sharing a cluster and a target group each
// list only their own targets, a target of an unknown IP is never listed,
// deregistration drains and then the target is gone, throttling is
// Retryable, and settings errors name the variable. The newest-task rule for
// a reused IP runs with the ECS part answered by FakeEcs (the mock never
// reuses an IP).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <string>

#include "backends/ecs/ecs_test_support.h"
#include "cleanroom/aws/aws_client.h"
#include "cleanroom/aws/xml.h"
#include "cleanroom/backends/alb_backend.h"
#include "cleanroom/engine.h"
#include "cleanroom/mocks/aws/aws_mock.h"
#include "cleanroom/wait.h"
#include "scoped_env.h"

namespace cleanroom {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr milliseconds kTimeout{5000};
constexpr const char* kRunA = "run-alb-a";
constexpr const char* kRunB = "run-alb-b";

mocks::aws::AwsMockOptions mockOptions() {
  mocks::aws::AwsMockOptions o;
  o.taskStart = milliseconds(10);
  o.taskStop = milliseconds(30);
  o.targetHealthy = milliseconds(10);
  o.deregistrationDelay = milliseconds(600000);  // draining stays visible (AWS: 300 s)
  return o;
}

struct RunningTask {
  std::string arn;
  std::string ip;
};

class AlbMockAwsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mock_.start();
    config_.region = "us-east-1";
    config_.credentials = {"cleanroom", "cleanroom-secret", ""};
    config_.endpoints[""] = mock_.url();
    client_ = std::make_unique<aws::AwsClient>(config_);
    ASSERT_TRUE(ecs("CreateCluster", {{"clusterName", "agents"}}).ok());
    ASSERT_TRUE(ecs("RegisterTaskDefinition", {{"family", "agent"},
                                               {"networkMode", "awsvpc"},
                                               {"requiresCompatibilities", {"FARGATE"}},
                                               {"cpu", "256"},
                                               {"memory", "512"},
                                               {"containerDefinitions", {{{"name", "agent"}, {"image", "agent:1"}}}}})
                    .ok());
    group_ = createTargetGroup("agents", {});
    ASSERT_FALSE(group_.empty());
  }

  void TearDown() override { mock_.stop(); }

  Result<json> ecs(const std::string& operation, const json& body) {
    return client_->callJson("ecs", ecsTarget(operation), body, kTimeout);
  }

  Result<std::string> elb(std::vector<std::pair<std::string, std::string>> params) {
    params.insert(params.begin(), {"Version", "2015-12-01"});
    return client_->callQuery("elasticloadbalancing", params, kTimeout);
  }

  // Creates an "ip" target group; `delayMs` set = the mock's deregistration delay for it.
  std::string createTargetGroup(const std::string& name, std::optional<int> delayMs) {
    std::vector<std::pair<std::string, std::string>> params = {
        {"Action", "CreateTargetGroup"}, {"Name", name},          {"Protocol", "HTTP"},
        {"Port", "8080"},                {"VpcId", "vpc-cleanroom"}, {"TargetType", "ip"}};
    if (delayMs) {
      params.emplace_back("Tags.member.1.Key", "cleanroom.mock.deregistrationDelayMs");
      params.emplace_back("Tags.member.1.Value", std::to_string(*delayMs));
    }
    auto created = elb(params);
    EXPECT_TRUE(created.ok()) << created.error().describe();
    if (!created.ok()) return "";
    auto xml = aws::parseXml(created.value(), "CreateTargetGroup");
    return xml.ok() ? xml->textAt("CreateTargetGroupResult/TargetGroups/member/TargetGroupArn") : "";
  }

  // RunTask of `startedBy`, tagged cleanroom.run=<runId> when `runId` is set.
  RunningTask runTask(const std::string& startedBy, const std::string& runId) {
    json tags = json::array();
    if (!runId.empty()) tags.push_back({{"key", "cleanroom.run"}, {"value", runId}});
    tags.push_back({{"key", "session"}, {"value", "s-" + startedBy}});
    auto run = ecs("RunTask", {{"cluster", "agents"},
                               {"taskDefinition", "agent"},
                               {"launchType", "FARGATE"},
                               {"startedBy", startedBy},
                               {"tags", tags},
                               {"networkConfiguration",
                                {{"awsvpcConfiguration", {{"subnets", {"subnet-cleanroom"}}}}}}});
    EXPECT_TRUE(run.ok()) << run.error().describe();
    if (!run.ok()) return {};
    const json task = run.value()["tasks"][0];
    RunningTask out{task["taskArn"], ""};
    for (const auto& detail : task["attachments"][0]["details"]) {
      if (detail["name"] == "privateIPv4Address") out.ip = detail["value"];
    }
    return out;
  }

  void registerTarget(const std::string& group, const std::string& ip) {
    auto registered = elb({{"Action", "RegisterTargets"},
                           {"TargetGroupArn", group},
                           {"Targets.member.1.Id", ip},
                           {"Targets.member.1.Port", "8080"}});
    ASSERT_TRUE(registered.ok()) << registered.error().describe();
  }

  void addFault(const json& rule) {
    httplib::Client control(mock_.url());
    auto answer = control.Post("/__cleanroom/faults", rule.dump(), "application/json");
    ASSERT_TRUE(answer) << "fault injection failed";
    ASSERT_LT(answer->status, 300) << answer->body;
  }

  AlbBackendOptions options(std::vector<std::string> groups = {}) const {
    AlbBackendOptions o;
    o.aws = config_;
    o.targetGroupArns = groups.empty() ? std::vector<std::string>{group_} : groups;
    o.clusters = {"agents"};
    return o;
  }

  static std::vector<std::string> runIds(const std::vector<Resource>& resources) {
    std::vector<std::string> out;
    for (const auto& r : resources) out.push_back(r.runId);
    return out;
  }

  mocks::aws::AwsMock mock_{mockOptions()};
  aws::AwsConfig config_;
  std::unique_ptr<aws::AwsClient> client_;
  std::string group_;
};

std::string id(const std::string& ip, const std::string& group) { return ip + ":8080@" + group; }

TEST_F(AlbMockAwsTest, TwoRunsSharingAGroupEachListOnlyTheirOwnTargets) {
  const RunningTask a1 = runTask(kRunA, kRunA), a2 = runTask(kRunA, kRunA), b = runTask(kRunB, kRunB);
  for (const auto* task : {&a1, &a2, &b}) registerTarget(group_, task->ip);
  AlbBackend backend(options());

  auto listedA = backend.list(Selector::forRun(kRunA));
  ASSERT_TRUE(listedA.ok()) << listedA.error().describe();
  ASSERT_EQ(listedA->size(), 2u);
  for (const Resource& r : *listedA) {
    EXPECT_EQ(r.backend, "alb");
    EXPECT_EQ(r.runId, kRunA);
    EXPECT_EQ(r.state, ResourceState::Running) << r.status;
    EXPECT_EQ(r.labels.at("session"), std::string("s-") + kRunA) << "the owning task's tags";
    EXPECT_TRUE(r.createdAt.has_value());
    auto ref = AlbBackend::parseId(r.id);
    ASSERT_TRUE(ref.ok()) << ref.error().describe();
    EXPECT_EQ(ref->targetGroupArn, group_);
    EXPECT_EQ(ref->port, 8080);
    EXPECT_EQ(r.name, "agents/" + ref->ip + ":8080");
    EXPECT_EQ(r.labels.at(kAlbTaskLabel), ref->ip == a1.ip ? a1.arn : a2.arn);
  }
  auto listedB = backend.list(Selector::forRun(kRunB));
  ASSERT_TRUE(listedB.ok()) << listedB.error().describe();
  ASSERT_EQ(listedB->size(), 1u);
  EXPECT_EQ(listedB->front().id, id(b.ip, group_));

  auto all = backend.list(Selector::allRuns());
  ASSERT_TRUE(all.ok()) << all.error().describe();
  EXPECT_THAT(runIds(*all), UnorderedElementsAre(kRunA, kRunA, kRunB));

  Selector oneTarget = Selector::forRun(kRunA);
  oneTarget.ids = {id(a2.ip, group_)};
  oneTarget.namePrefix = "agents/";
  auto one = backend.list(oneTarget);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().labels.at(kAlbTaskLabel), a2.arn);
}

TEST_F(AlbMockAwsTest, ATargetOfAnUnknownIpOrOfAnUntaggedTaskIsNeverListedForAllRuns) {
  const RunningTask mine = runTask(kRunA, kRunA);
  const RunningTask untagged = runTask("other-tool", "");
  registerTarget(group_, mine.ip);
  registerTarget(group_, untagged.ip);
  registerTarget(group_, "192.168.77.7");  // an EC2 instance, another tool: no task has it
  AlbBackend backend(options());

  auto all = backend.list(Selector::allRuns());
  ASSERT_TRUE(all.ok()) << all.error().describe();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().id, id(mine.ip, group_));
  for (const char* run : {kRunA, kRunB, "other-tool"}) {
    auto listed = backend.list(Selector::forRun(run));
    ASSERT_TRUE(listed.ok());
    for (const Resource& r : *listed) EXPECT_NE(r.id, id("192.168.77.7", group_)) << run;
  }
  auto state = mock_.state();
  int registered = 0;
  for (const auto& group : state["targetGroups"]) registered += static_cast<int>(group["targets"].size());
  EXPECT_EQ(registered, 3) << "nothing was deregistered by listing";
}

TEST_F(AlbMockAwsTest, DeregistrationDrainsAtOnceAndTheTargetIsGoneAfterTheDelay) {
  const RunningTask task = runTask(kRunA, kRunA);
  const std::string quick = createTargetGroup("quick", 30);
  registerTarget(group_, task.ip);
  registerTarget(quick, task.ip);
  AlbBackend backend(options({group_, quick}));
  auto listed = backend.list(Selector::forRun(kRunA));
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  ASSERT_EQ(listed->size(), 2u);

  for (const Resource& r : *listed) ASSERT_TRUE(backend.requestStop(r, StopMode::Graceful).ok()) << r.id;
  const Resource& slow = listed->at(0).id == id(task.ip, group_) ? listed->at(0) : listed->at(1);
  const Resource& fast = listed->at(0).id == id(task.ip, group_) ? listed->at(1) : listed->at(0);
  auto draining = backend.probe(slow);
  ASSERT_TRUE(draining.ok()) << draining.error().describe();
  EXPECT_EQ(draining->state, ResourceState::Terminal) << "draining: no new traffic, nothing to wait for";
  EXPECT_THAT(draining->status, HasSubstr("draining"));
  EXPECT_TRUE(backend.requestStop(slow, StopMode::Force).ok()) << "deregistering a draining target again is fine";
  auto active = backend.list(Selector::forRun(kRunA).activeOnly());
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(active->empty()) << "a draining target is no leftover";

  std::optional<Result<ResourceStatus>> last;
  const WaitOutcome gone = waitUntil(Clock::system(), Clock::system().now() + kTimeout,
                                     AdaptiveWait{milliseconds(5), 1.5, milliseconds(100)}, [&] {
                                       last = backend.probe(fast);
                                       return !last->ok() || last->value().state == ResourceState::Gone;
                                     });
  ASSERT_TRUE(gone.met) << (last->ok() ? last->value().status : last->error().describe());
  Status again = backend.requestStop(fast, StopMode::Graceful);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::Gone) << again.error().describe();
}

TEST_F(AlbMockAwsTest, TheEngineDeregistersOneRunsTargetsThroughThrottling) {
  const RunningTask a1 = runTask(kRunA, kRunA), a2 = runTask(kRunA, kRunA), b = runTask(kRunB, kRunB);
  for (const auto* task : {&a1, &a2, &b}) registerTarget(group_, task->ip);
  addFault({{"match", {{"operation", "elasticloadbalancing:DeregisterTargets"}}}, {"status", 400},
            {"errorCode", "Throttling"}, {"count", 1}});
  auto backend = std::make_shared<AlbBackend>(options());
  CleanupEngine engine;
  engine.addBackend(backend);

  CleanupReport report = engine.cleanup(Selector::forRun(kRunA));

  EXPECT_TRUE(report.success) << report.summary();
  EXPECT_EQ(report.resources.size(), 2u);
  EXPECT_GE(report.failedAttempts(), 1) << "the throttled DeregisterTargets is recorded";
  auto other = backend->probe(backend->list(Selector::forRun(kRunB)).value().at(0));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->state, ResourceState::Running) << "run B's target still serves: " << other->status;
}

TEST_F(AlbMockAwsTest, ThrottlingOfEitherServiceIsRetryable) {
  const RunningTask task = runTask(kRunA, kRunA);
  registerTarget(group_, task.ip);
  AlbBackend backend(options());
  addFault({{"match", {{"operation", "elasticloadbalancing:DescribeTargetHealth"}}}, {"status", 400},
            {"errorCode", "Throttling"}, {"count", 1}});
  auto throttled = backend.list(Selector::forRun(kRunA));
  ASSERT_FALSE(throttled.ok());
  EXPECT_EQ(throttled.error().kind, ErrorKind::Retryable) << throttled.error().describe();
  EXPECT_THAT(throttled.error().message, HasSubstr("Throttling"));

  addFault({{"match", {{"operation", "ecs:ListTasks"}}}, {"status", 400}, {"errorCode", "ThrottlingException"},
            {"count", 1}});
  auto ecsThrottled = backend.list(Selector::forRun(kRunA));
  ASSERT_FALSE(ecsThrottled.ok());
  EXPECT_EQ(ecsThrottled.error().kind, ErrorKind::Retryable) << ecsThrottled.error().describe();

  auto after = backend.list(Selector::forRun(kRunA));
  ASSERT_TRUE(after.ok()) << after.error().describe();
  EXPECT_EQ(after->size(), 1u);
}

TEST_F(AlbMockAwsTest, AMissingTargetGroupIsAPermanentErrorNamingItAndTheVariable) {
  const std::string missing = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gone/0123456789abcdef";
  AlbBackend backend(options({missing}));
  auto listed = backend.list(Selector::forRun(kRunA));
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(listed.error().message, HasSubstr(missing));
  EXPECT_THAT(listed.error().message, HasSubstr(kAlbTargetGroupsVariable));

  Resource target;
  target.backend = "alb";
  target.id = id("10.0.0.9", missing);
  Status stopped = backend.requestStop(target, StopMode::Graceful);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(stopped.error().message, HasSubstr(missing));
  EXPECT_THAT(stopped.error().message, HasSubstr(kAlbTargetGroupsVariable));
  auto probed = backend.probe(target);
  ASSERT_TRUE(probed.ok()) << probed.error().describe();
  EXPECT_EQ(probed->state, ResourceState::Gone);
}

TEST_F(AlbMockAwsTest, ATargetThatWasNeverRegisteredProbesGoneAndStopsGone) {
  AlbBackend backend(options());
  Resource target;
  target.backend = "alb";
  target.id = id("10.0.99.1", group_);
  auto probed = backend.probe(target);
  ASSERT_TRUE(probed.ok()) << probed.error().describe();
  EXPECT_EQ(probed->state, ResourceState::Gone) << probed->status;
  Status stopped = backend.requestStop(target, StopMode::Force);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().kind, ErrorKind::Gone) << stopped.error().describe();
}

// ---- newest task owns a reused IP (ECS answered by FakeEcs) ----------------

json taskWithIp(const std::string& id, const std::string& runId, const std::string& ip, double createdAt,
                const std::string& lastStatus) {
  json task = tests::ecsTask(id, lastStatus, runId, "agents", lastStatus);
  task["createdAt"] = createdAt;
  task["attachments"] = {{{"type", "ElasticNetworkInterface"},
                          {"details", {{{"name", "privateIPv4Address"}, {"value", ip}}}}}};
  return task;
}

TEST_F(AlbMockAwsTest, AReusedIpBelongsToTheRunOfTheNewestTaskThatHadIt) {
  // Run A's task had 10.0.50.5 and stopped; run B's newer task got the same
  // IP. ListTasks answers the newer one first, so order does not decide.
  const json tasks = json::array({taskWithIp("new", kRunB, "10.0.50.5", 1795651300.0, "RUNNING"),
                                  taskWithIp("old", kRunA, "10.0.50.5", 1795651200.0, "STOPPED")});
  auto fake = std::make_shared<tests::FakeEcs>([&](const std::string& operation, const json& body) {
    if (operation == "ListTasks") {
      json arns = json::array();
      for (const auto& task : tasks) {
        if (task["desiredStatus"] == body["desiredStatus"]) arns.push_back(task["taskArn"]);
      }
      return tests::FakeEcs::ok({{"taskArns", arns}});
    }
    json described = json::array();
    for (const auto& task : tasks) {
      for (const auto& arn : body["tasks"]) {
        if (task["taskArn"] == arn) described.push_back(task);
      }
    }
    return tests::FakeEcs::ok({{"tasks", described}, {"failures", json::array()}});
  });
  registerTarget(group_, "10.0.50.5");
  AlbBackend backend(options(), Clock::system(), {{"ecs", fake}});

  auto listedA = backend.list(Selector::forRun(kRunA));
  ASSERT_TRUE(listedA.ok()) << listedA.error().describe();
  EXPECT_TRUE(listedA->empty()) << "run A's old task no longer owns the IP";
  auto listedB = backend.list(Selector::forRun(kRunB));
  ASSERT_TRUE(listedB.ok()) << listedB.error().describe();
  ASSERT_EQ(listedB->size(), 1u);
  EXPECT_EQ(listedB->front().labels.at(kAlbTaskLabel), tests::ecsTaskArn("new", "agents"));
  EXPECT_FALSE(fake->calls("DescribeTasks").empty());
  for (const auto& call : fake->calls("ListTasks")) EXPECT_FALSE(call.body.contains("startedBy")) << "every task";
}

// ---- settings --------------------------------------------------------------

class AlbSettingsTest : public ::testing::Test {
 protected:
  tests::ScopedEnv region_{"AWS_REGION", "us-east-1"};
  tests::ScopedEnv key_{"AWS_ACCESS_KEY_ID", "cleanroom"};
  tests::ScopedEnv secret_{"AWS_SECRET_ACCESS_KEY", "cleanroom-secret"};
  tests::ScopedEnv token_{"AWS_SESSION_TOKEN", std::nullopt};
  tests::ScopedEnv endpoint_{"AWS_ENDPOINT_URL", "http://127.0.0.1:4566"};
  tests::ScopedEnv cluster_{kEcsClusterVariable, std::nullopt};
  const std::string group_ = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/agents/0123456789abcdef";
};

TEST_F(AlbSettingsTest, MissingOrMalformedTargetGroupsAreErrorsNamingTheVariable) {
  for (std::optional<std::string> value :
       {std::optional<std::string>(), std::optional<std::string>("arn:aws:ecs:us-east-1:123456789012:cluster/agents"),
        std::optional<std::string>(group_ + ",,"), std::optional<std::string>("agents")}) {
    tests::ScopedEnv groups(kAlbTargetGroupsVariable, value);
    auto options = AlbBackendOptions::fromEnvironment();
    ASSERT_FALSE(options.ok()) << value.value_or("(unset)");
    EXPECT_EQ(options.error().kind, ErrorKind::Permanent);
    EXPECT_THAT(options.error().message, HasSubstr(kAlbTargetGroupsVariable)) << value.value_or("(unset)");
  }
  tests::ScopedEnv groups(kAlbTargetGroupsVariable, group_);
  tests::ScopedEnv cluster(kEcsClusterVariable, "no spaces!");
  auto options = AlbBackendOptions::fromEnvironment();
  ASSERT_FALSE(options.ok());
  EXPECT_THAT(options.error().message, HasSubstr(kEcsClusterVariable));
}

TEST_F(AlbSettingsTest, TheConstructorRejectsAMalformedTargetGroupNamingTheVariable) {
  AlbBackendOptions options;
  options.aws.region = "us-east-1";
  options.aws.endpoints[""] = "http://127.0.0.1:4566";
  options.targetGroupArns = {"targetgroup/agents"};
  try {
    AlbBackend backend(options);
    FAIL() << "a malformed ARN was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr(kAlbTargetGroupsVariable));
  }
}

TEST_F(AlbSettingsTest, TheLocatorRoundTripsWithoutSecrets) {
  tests::ScopedEnv groups(kAlbTargetGroupsVariable, group_ + ", " + group_ + "2");
  tests::ScopedEnv cluster(kEcsClusterVariable, "agents,ci");
  auto options = AlbBackendOptions::fromEnvironment();
  ASSERT_TRUE(options.ok()) << options.error().describe();
  AlbBackend backend(*options);
  const auto locator = backend.locator();
  for (const auto& [key, value] : locator) EXPECT_THAT(value, ::testing::Not(HasSubstr("cleanroom-secret"))) << key;
  EXPECT_EQ(locator.at("target_groups"), group_ + "," + group_ + "2");

  auto rebuilt = AlbBackendOptions::fromLocator(locator);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().describe();
  EXPECT_EQ(rebuilt->targetGroupArns, options->targetGroupArns);
  EXPECT_EQ(rebuilt->clusters, (std::vector<std::string>{"agents", "ci"}));
  EXPECT_EQ(rebuilt->aws.region, "us-east-1");
  EXPECT_EQ(AlbBackend(*rebuilt).locator(), locator);

  auto incomplete = AlbBackendOptions::fromLocator({{"region", "us-east-1"}});
  ASSERT_FALSE(incomplete.ok());
  EXPECT_THAT(incomplete.error().message, HasSubstr("target_groups"));
}

TEST(AlbIdTest, IdsRoundTripAndMalformedOnesArePermanentErrors) {
  const std::string group = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/agents/0123456789abcdef";
  const std::string id = AlbBackend::idOf({"10.0.0.7", 8080, group});
  EXPECT_EQ(id, "10.0.0.7:8080@" + group);
  auto ref = AlbBackend::parseId(id);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->ip, "10.0.0.7");
  EXPECT_EQ(ref->port, 8080);
  EXPECT_EQ(ref->targetGroupArn, group);
  EXPECT_EQ(AlbBackend::targetGroupName(group), "agents");
  const std::vector<std::string> malformed = {"10.0.0.7@" + group, "10.0.0.7:0@" + group,  "10.0.0.7:8080",
                                              "10.0.0.7:8080@arn:x", ":8080@" + group, "10.0.0.7:80a@" + group};
  for (const std::string& bad : malformed) {
    auto parsed = AlbBackend::parseId(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().kind, ErrorKind::Permanent);
    EXPECT_THAT(parsed.error().message, HasSubstr("alb target id"));
  }
}

TEST(AlbClassifyTest, HealthStatesMapAsDocumented) {
  for (const char* live : {"initial", "healthy", "unhealthy", "unavailable"}) {
    EXPECT_EQ(AlbBackend::classify(live), ResourceState::Running) << live;
  }
  EXPECT_EQ(AlbBackend::classify("unused", "Target.NotInUse"), ResourceState::Running) << "registered, still a leak";
  EXPECT_EQ(AlbBackend::classify("draining", "Target.DeregistrationInProgress"), ResourceState::Terminal);
  EXPECT_EQ(AlbBackend::classify("unused", "Target.NotRegistered"), ResourceState::Gone);
  EXPECT_EQ(AlbBackend::classify("surprising"), ResourceState::Unknown);
}

}  // namespace
}  // namespace cleanroom
