#include "cleanroom/aws/ecs_session_site.h"

#include <utility>

#include <nlohmann/json.hpp>

#include "cleanroom/aws/xml.h"
#include "cleanroom/run.h"

namespace cleanroom::aws {
namespace {

using json = nlohmann::json;

constexpr const char* kEcsPrefix = "AmazonEC2ContainerServiceV20141113.";
constexpr const char* kElbVersion = "2015-12-01";
constexpr const char* kSessionTag = "cleanroom.session";

Error failed(const std::string& what, const Error& error) {
  Error named = error;
  named.message = "cleanroom: " + what + ": " + error.message;
  return named;
}

}  // namespace

Result<EcsSessionSite> EcsSessionSite::provision(std::shared_ptr<AwsClient> client, EcsSiteSpec spec) {
  if (!client) return Error::permanent("cleanroom: EcsSessionSite::provision needs an AwsClient");
  EcsSessionSite site(std::move(client), std::move(spec));
  for (Status (EcsSessionSite::*step)() : {&EcsSessionSite::createCluster, &EcsSessionSite::registerTaskDefinition,
                                          &EcsSessionSite::createTargetGroup, &EcsSessionSite::createBucket}) {
    if (Status made = (site.*step)(); !made.ok()) return made.error();
  }
  return site;
}

Status EcsSessionSite::createCluster() {
  auto answer = client_->callJson("ecs", std::string(kEcsPrefix) + "CreateCluster", {{"clusterName", spec_.cluster}},
                                  spec_.requestTimeout);
  if (!answer.ok()) return failed("cannot create the ECS cluster \"" + spec_.cluster + "\"", answer.error());
  clusterArn_ = answer.value()["cluster"].value("clusterArn", "");
  return Status::success();
}

Status EcsSessionSite::registerTaskDefinition() {
  const json body = {{"family", spec_.taskFamily},
                     {"networkMode", "awsvpc"},
                     {"requiresCompatibilities", {"FARGATE"}},
                     {"cpu", "256"},
                     {"memory", "512"},
                     {"containerDefinitions",
                      {{{"name", "agent"},
                        {"image", spec_.image},
                        {"portMappings", {{{"containerPort", spec_.targetPort}}}}}}}};
  auto answer = client_->callJson("ecs", std::string(kEcsPrefix) + "RegisterTaskDefinition", body, spec_.requestTimeout);
  if (!answer.ok()) {
    return failed("cannot register the task definition \"" + spec_.taskFamily + "\"", answer.error());
  }
  return Status::success();
}

Status EcsSessionSite::createTargetGroup() {
  auto answer = client_->callQuery("elasticloadbalancing",
                                   {{"Action", "CreateTargetGroup"},
                                    {"Version", kElbVersion},
                                    {"Name", spec_.targetGroupName},
                                    {"Protocol", "HTTP"},
                                    {"Port", std::to_string(spec_.targetPort)},
                                    {"VpcId", spec_.vpcId},
                                    {"TargetType", "ip"}},
                                   spec_.requestTimeout);
  const std::string what = "cannot create the target group \"" + spec_.targetGroupName + "\"";
  if (!answer.ok()) return failed(what, answer.error());
  Result<XmlElement> xml = parseXml(answer.value(), "elasticloadbalancing CreateTargetGroup response");
  if (!xml.ok()) return failed(what, xml.error());
  targetGroupArn_ = xml->textAt("CreateTargetGroupResult/TargetGroups/member/TargetGroupArn");
  if (targetGroupArn_.empty()) return Error::permanent("cleanroom: " + what + ": the answer names no TargetGroupArn");
  return Status::success();
}

Status EcsSessionSite::createBucket() {
  HttpRequest request;
  request.method = "PUT";
  request.target = "/" + spec_.logBucket;
  auto answer = client_->callRest("s3", request, spec_.requestTimeout);
  if (answer.ok() || awsErrorCode(answer.error()) == "BucketAlreadyOwnedByYou") return Status::success();
  return failed("cannot create the log bucket \"" + spec_.logBucket + "\"", answer.error());
}

Result<EcsSession> EcsSessionSite::launch(EcsBackend& tasks, const std::string& sessionId,
                                          const std::filesystem::path& logDirectory, milliseconds runningTimeout,
                                          const std::string& runId) const {
  const std::string owner = runId.empty() ? run::id() : runId;
  const std::string what = "session \"" + sessionId + "\"";
  EcsTaskSpec spec;
  spec.cluster = spec_.cluster;
  spec.taskDefinition = spec_.taskFamily;
  spec.subnets = spec_.subnets;
  spec.labels[kSessionTag] = sessionId;
  spec.runId = owner;
  Result<EcsTask> started = tasks.runTask(spec);
  if (!started.ok()) return failed(what + ": RunTask failed", started.error());
  Result<EcsTask> running = tasks.awaitRunning(started->taskArn, runningTimeout);
  if (!running.ok()) return failed(what + ": task " + started->taskArn + " did not start", running.error());
  if (running->privateIp.empty()) {
    return Error::permanent("cleanroom: " + what + ": task " + started->taskArn +
                            " has no private IP; the site's task definition must use awsvpc networking");
  }
  auto registered = client_->callQuery("elasticloadbalancing",
                                       {{"Action", "RegisterTargets"},
                                        {"Version", kElbVersion},
                                        {"TargetGroupArn", targetGroupArn_},
                                        {"Targets.member.1.Id", running->privateIp},
                                        {"Targets.member.1.Port", std::to_string(spec_.targetPort)}},
                                       spec_.requestTimeout);
  if (!registered.ok()) return failed(what + ": RegisterTargets failed", registered.error());

  EcsSession session;
  session.id = sessionId;
  session.runId = owner;
  session.cluster = spec_.cluster;
  session.taskArn = running->taskArn;
  session.targetGroupArn = targetGroupArn_;
  session.targetIp = running->privateIp;
  session.targetPort = spec_.targetPort;
  session.logDirectory = logDirectory;
  if (!logDirectory.empty()) {
    session.logBucket = spec_.logBucket;
    session.logKeyPrefix = spec_.logKeyPrefix;
  }
  session.labels[kSessionTag] = sessionId;
  return session;
}

}  // namespace cleanroom::aws
