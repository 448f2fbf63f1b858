// AlbBackend: ELBv2 targets owned by the newest ECS task with their IP.
// Single attempts only; the engine retries and waits.
#include "cleanroom/backends/alb_backend.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "cleanroom/aws/xml.h"
#include "cleanroom/env.h"
#include "cleanroom/trace.h"

namespace cleanroom {
namespace {

constexpr const char* kService = "elasticloadbalancing";
constexpr const char* kElbVersion = "2015-12-01";
constexpr const char* kTargetGroupsLocatorKey = "target_groups";
constexpr const char* kClustersLocatorKey = "clusters";
constexpr const char* kNotRegistered = "Target.NotRegistered";

using Params = std::vector<std::pair<std::string, std::string>>;

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, separator);) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.push_back("");
  return parts;
}

bool isAlnumOrHyphen(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; });
}

// "arn:<partition>:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>".
bool isTargetGroupArn(const std::string& arn) {
  const std::vector<std::string> fields = split(arn, ':');
  if (fields.size() != 6 || fields[0] != "arn" || fields[1].empty() || fields[2] != kService) return false;
  if (fields[3].empty() || fields[4].empty()) return false;
  const std::vector<std::string> resource = split(fields[5], '/');
  if (resource.size() != 3 || resource[0] != "targetgroup") return false;
  const std::string& name = resource[1];
  if (name.empty() || name.size() > 32 || !isAlnumOrHyphen(name)) return false;
  return !resource[2].empty() && isAlnumOrHyphen(resource[2]);
}

std::optional<int> parsePort(const std::string& text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return std::nullopt;
  }
  const int port = std::stoi(text);
  return port >= 1 && port <= 65535 ? std::optional<int>(port) : std::nullopt;
}

Error withMessage(const Error& error, std::string message) {
  Error out = error;
  out.message = std::move(message);
  return out;
}

// A TargetGroupNotFound answer, naming the ARN and where it was configured.
Error targetGroupMissing(const Error& error, const std::string& arn) {
  return withMessage(error, "target group " + arn + " does not exist (check " + kAlbTargetGroupsVariable +
                                "): " + error.message);
}

std::string targetText(const std::string& ip, int port) { return ip + ":" + std::to_string(port); }

}  // namespace

struct AlbBackend::Target {
  std::string ip;
  int port = 0;
  std::string targetGroupArn;
  std::string state;
  std::string reason;
};

// ---- options -------------------------------------------------------------

Result<std::vector<std::string>> AlbBackendOptions::parseTargetGroups(const std::string& value,
                                                                      const std::string& what) {
  std::vector<std::string> arns;
  for (std::string item : split(value, ',')) {
    item = trim(item);
    if (item.empty()) {
      return Error::permanent(what + " has an empty entry in \"" + value +
                              "\": list target group ARNs separated by commas");
    }
    if (!isTargetGroupArn(item)) {
      return Error::permanent(what + " entry \"" + item +
                              "\" is not an ELBv2 target group ARN "
                              "(arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)");
    }
    arns.push_back(item);
  }
  if (arns.empty()) {
    return Error::permanent(what + " is empty: name the target group ARNs whose targets the alb backend cleans");
  }
  return arns;
}

Result<AlbBackendOptions> AlbBackendOptions::fromEnvironment() {
  std::optional<std::string> groups = env::get(kAlbTargetGroupsVariable);
  if (!groups) {
    return Error::permanent(std::string(kAlbTargetGroupsVariable) +
                            " is not set: set it to the target group ARNs (comma-separated) the alb backend cleans");
  }
  AlbBackendOptions options;
  auto arns = parseTargetGroups(*groups, kAlbTargetGroupsVariable);
  if (!arns) return arns.error();
  options.targetGroupArns = std::move(arns).value();
  Result<aws::AwsConfig> config = aws::AwsConfig::fromEnvironment();
  if (!config) return config.error();
  options.aws = std::move(config).value();
  if (std::optional<std::string> clusters = env::get(kEcsClusterVariable)) {
    auto parsed = EcsBackendOptions::parseClusters(*clusters, kEcsClusterVariable);
    if (!parsed) return parsed.error();
    options.clusters = std::move(parsed).value();
  }
  return options;
}

Result<AlbBackendOptions> AlbBackendOptions::fromLocator(const std::map<std::string, std::string>& locator) {
  Result<aws::AwsConfig> config = aws::AwsConfig::fromLocator(locator);
  if (!config) return config.error();
  auto groups = locator.find(kTargetGroupsLocatorKey);
  auto clusters = locator.find(kClustersLocatorKey);
  if (groups == locator.end() || clusters == locator.end()) {
    return Error::permanent(
        "the alb backend's journal locator lacks \"target_groups\" or \"clusters\": the journal entry is incomplete");
  }
  AlbBackendOptions options;
  options.aws = std::move(config).value();
  auto arns = parseTargetGroups(groups->second, "the alb backend's journaled target groups");
  if (!arns) return arns.error();
  options.targetGroupArns = std::move(arns).value();
  auto parsed = EcsBackendOptions::parseClusters(clusters->second, "the alb backend's journaled clusters");
  if (!parsed) return parsed.error();
  options.clusters = std::move(parsed).value();
  return options;
}

// ---- construction and mapping ------------------------------------------------

namespace {

EcsBackendOptions ownershipOptions(const AlbBackendOptions& options) {
  EcsBackendOptions ecs;
  ecs.aws = options.aws;
  ecs.clusters = options.clusters;
  ecs.requestTimeout = options.requestTimeout;
  return ecs;
}

}  // namespace

AlbBackend::AlbBackend(AlbBackendOptions options, Clock& clock, aws::AwsClient::HttpClients injected)
    : options_(std::move(options)), clock_(clock) {
  auto groups = AlbBackendOptions::parseTargetGroups(join(options_.targetGroupArns), kAlbTargetGroupsVariable);
  if (!groups) throw ConfigError(groups.error().message);
  if (options_.stopConcurrency < 1) throw ConfigError("AlbBackendOptions: stopConcurrency must be at least 1");
  if (injected.count(kService) == 0) {
    auto endpoint = options_.aws.endpointFor(kService);
    if (!endpoint) throw ConfigError(endpoint.error().message);
  }
  tasks_ = std::make_unique<EcsBackend>(ownershipOptions(options_), clock_, injected);  // throws as documented
  client_ = std::make_unique<aws::AwsClient>(options_.aws, std::move(injected), clock_);
}

ResourceState AlbBackend::classify(const std::string& state, const std::string& reason) {
  if (state == "initial" || state == "healthy" || state == "unhealthy" || state == "unavailable") {
    return ResourceState::Running;
  }
  if (state == "draining") return ResourceState::Terminal;
  if (state == "unused") return reason == kNotRegistered ? ResourceState::Gone : ResourceState::Running;
  return ResourceState::Unknown;
}

std::string AlbBackend::idOf(const AlbTargetRef& target) {
  return targetText(target.ip, target.port) + "@" + target.targetGroupArn;
}

Result<AlbTargetRef> AlbBackend::parseId(const std::string& id) {
  const auto at = id.find('@');
  const auto colon = id.rfind(':', at);
  const auto bad = [&] {
    return Error::permanent("\"" + id + "\" is not an alb target id (<ip>:<port>@<target group ARN>)");
  };
  if (at == std::string::npos || colon == std::string::npos || colon == 0) return bad();
  AlbTargetRef ref;
  ref.ip = id.substr(0, colon);
  std::optional<int> port = parsePort(id.substr(colon + 1, at - colon - 1));
  ref.targetGroupArn = id.substr(at + 1);
  if (!port || !isTargetGroupArn(ref.targetGroupArn)) return bad();
  ref.port = *port;
  return ref;
}

std::string AlbBackend::targetGroupName(const std::string& targetGroupArn) {
  const auto marker = targetGroupArn.find(":targetgroup/");
  if (marker == std::string::npos) return "";
  const std::string rest = targetGroupArn.substr(marker + 13);
  return rest.substr(0, rest.find('/'));
}

Resource AlbBackend::toResource(const Target& target, const EcsTask& owner) const {
  Resource resource;
  resource.backend = name();
  resource.id = idOf({target.ip, target.port, target.targetGroupArn});
  resource.name = targetGroupName(target.targetGroupArn) + "/" + targetText(target.ip, target.port);
  resource.labels = owner.resource.labels;
  resource.labels[kAlbTaskLabel] = owner.taskArn;
  resource.runId = owner.resource.runId;
  resource.createdAt = owner.resource.createdAt;
  resource.state = classify(target.state, target.reason);
  resource.status = target.state + (target.reason.empty() ? "" : " (" + target.reason + ")");
  return resource;
}

// ---- requests --------------------------------------------------------------

Result<std::vector<AlbBackend::Target>> AlbBackend::describeHealth(const std::string& targetGroupArn,
                                                                   const AlbTargetRef* only) {
  Params params = {{"Action", "DescribeTargetHealth"}, {"Version", kElbVersion}, {"TargetGroupArn", targetGroupArn}};
  if (only != nullptr) {
    params.emplace_back("Targets.member.1.Id", only->ip);
    params.emplace_back("Targets.member.1.Port", std::to_string(only->port));
  }
  Result<std::string> answer = client_->callQuery(kService, params, options_.requestTimeout);
  if (!answer) return answer.error();
  Result<aws::XmlElement> xml = aws::parseXml(*answer, "elasticloadbalancing DescribeTargetHealth response");
  if (!xml) return xml.error();
  std::vector<Target> targets;
  const aws::XmlElement* list = xml->find("DescribeTargetHealthResult/TargetHealthDescriptions");
  if (list == nullptr) return targets;
  for (const aws::XmlElement* member : list->childrenNamed("member")) {
    Target target{member->textAt("Target/Id"), 0, targetGroupArn, member->textAt("TargetHealth/State"),
                  member->textAt("TargetHealth/Reason")};
    std::optional<int> port = parsePort(member->textAt("Target/Port"));
    if (target.ip.empty() || !port) continue;  // a Lambda or malformed target: not an ECS task's
    target.port = *port;
    targets.push_back(std::move(target));
  }
  return targets;
}

Result<std::vector<AlbBackend::Target>> AlbBackend::listTargets() {
  std::vector<Target> targets;
  for (const std::string& arn : options_.targetGroupArns) {
    Result<std::vector<Target>> found = describeHealth(arn, nullptr);
    if (!found) {
      if (aws::awsErrorCode(found.error()) == "TargetGroupNotFound") return targetGroupMissing(found.error(), arn);
      return found.error();
    }
    for (auto& target : *found) targets.push_back(std::move(target));
  }
  return targets;
}

// The newest task (by createdAt) of every private IP in the clusters.
Result<std::map<std::string, EcsTask>> AlbBackend::newestTaskByIp() {
  std::map<std::string, EcsTask> newest;
  for (const std::string& cluster : options_.clusters) {
    Result<std::vector<EcsTask>> tasks = tasks_->listTasks(EcsBackend::clusterName(cluster));
    if (!tasks) return tasks.error();
    for (auto& task : *tasks) {
      if (task.privateIp.empty()) continue;
      auto known = newest.find(task.privateIp);
      if (known != newest.end() && known->second.resource.createdAt >= task.resource.createdAt) continue;
      newest[task.privateIp] = std::move(task);
    }
  }
  return newest;
}

// ---- Backend ---------------------------------------------------------------

Result<std::vector<Resource>> AlbBackend::list(const Selector& selector) {
  Result<std::vector<Target>> targets = listTargets();
  if (!targets) return targets.error();
  std::vector<Resource> resources;
  if (targets->empty()) return resources;
  Result<std::map<std::string, EcsTask>> owners = newestTaskByIp();
  if (!owners) return owners.error();
  const WallTime now = clock_.wallNow();
  for (const Target& target : *targets) {
    auto owner = owners->find(target.ip);
    if (owner == owners->end()) continue;  // no known task: nobody's target, never touched
    Resource resource = toResource(target, owner->second);
    if (resource.state == ResourceState::Gone || resource.runId.empty()) continue;
    if (!selector.runId && resource.labels.count(kRunLabel) == 0) continue;  // never another tool's target
    if (!selector.matches(resource, now)) continue;
    resources.push_back(std::move(resource));
  }
  logger().debug("step=list backend=alb groups={} targets={} tasks_with_ip={} found={}",
                 options_.targetGroupArns.size(), targets->size(), owners->size(), resources.size());
  return resources;
}

Status AlbBackend::requestStop(const Resource& resource, StopMode mode) {
  Result<AlbTargetRef> ref = parseId(resource.id);
  if (!ref) return ref.error();
  Result<std::string> answer = client_->callQuery(kService,
                                                  {{"Action", "DeregisterTargets"},
                                                   {"Version", kElbVersion},
                                                   {"TargetGroupArn", ref->targetGroupArn},
                                                   {"Targets.member.1.Id", ref->ip},
                                                   {"Targets.member.1.Port", std::to_string(ref->port)}},
                                                  options_.requestTimeout);
  logger().debug("step=stop backend=alb ref={} mode={} result={}", resource.ref(), toString(mode),
                 answer ? "ok" : answer.error().describe());
  if (answer) return Status::success();
  const std::string code = aws::awsErrorCode(answer.error());
  if (code == "InvalidTarget") {
    Error out = answer.error();
    out.kind = ErrorKind::Gone;
    out.message = "target " + targetText(ref->ip, ref->port) + " is not registered in " + ref->targetGroupArn +
                  " (already deregistered): " + out.message;
    return out;
  }
  if (code == "TargetGroupNotFound") return targetGroupMissing(answer.error(), ref->targetGroupArn);
  return answer.error();
}

Result<ResourceStatus> AlbBackend::probe(const Resource& resource) {
  Result<AlbTargetRef> ref = parseId(resource.id);
  if (!ref) return ref.error();
  Result<std::vector<Target>> found = describeHealth(ref->targetGroupArn, &ref.value());
  if (!found) {
    if (aws::awsErrorCode(found.error()) == "TargetGroupNotFound") {
      return ResourceStatus{ResourceState::Gone, "target group not found"};
    }
    return found.error();
  }
  for (const Target& target : *found) {
    if (target.ip != ref->ip || target.port != ref->port) continue;
    return ResourceStatus{classify(target.state, target.reason),
                          target.state + (target.reason.empty() ? "" : " (" + target.reason + ")")};
  }
  return ResourceStatus{ResourceState::Gone, "not registered"};
}

std::map<std::string, std::string> AlbBackend::locator() const {
  std::map<std::string, std::string> out = options_.aws.locator();
  out[kTargetGroupsLocatorKey] = join(options_.targetGroupArns);
  out[kClustersLocatorKey] = join(options_.clusters);
  return out;
}

}  // namespace cleanroom
