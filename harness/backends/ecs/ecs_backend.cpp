// EcsBackend: ECS tasks over the ECS JSON 1.1 API via aws::AwsClient. Single
// attempts only; the engine retries and waits.
#include "cleanroom/backends/ecs_backend.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <future>
#include <random>
#include <set>
#include <sstream>

#include "cleanroom/env.h"
#include "cleanroom/journal.h"
#include "cleanroom/run.h"
#include "cleanroom/trace.h"

namespace cleanroom {
namespace {

constexpr const char* kTargetPrefix = "AmazonEC2ContainerServiceV20141113.";
constexpr const char* kDefaultCluster = "default";
constexpr const char* kClustersLocatorKey = "clusters";
constexpr size_t kDescribeBatch = 100;
constexpr int kListPageSize = 100;
constexpr size_t kExcerptLength = 160;

std::string excerpt(const nlohmann::json& json) {
  std::string text = json.dump();
  return text.size() <= kExcerptLength ? text : text.substr(0, kExcerptLength) + "...";
}

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// Cluster names: 1–255 of letters, digits, '-' and '_' (ECS's rule).
bool isClusterName(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
}

Error withContext(const Error& error, const std::string& context) {
  Error out = error;
  out.message = context + ": " + error.message;
  return out;
}

std::string text(const nlohmann::json& object, const char* field) {
  auto value = object.find(field);
  return value != object.end() && value->is_string() ? value->get<std::string>() : "";
}

std::map<std::string, std::string> tagsOf(const nlohmann::json& task) {
  std::map<std::string, std::string> tags;
  auto value = task.find("tags");
  if (value == task.end() || !value->is_array()) return tags;
  for (const auto& tag : *value) {
    if (!tag.is_object()) continue;
    const std::string key = text(tag, "key");
    if (!key.empty()) tags[key] = text(tag, "value");
  }
  return tags;
}

std::optional<WallTime> epochSeconds(const nlohmann::json& task, const char* field) {
  auto value = task.find(field);
  if (value == task.end() || !value->is_number()) return std::nullopt;
  const double seconds = value->get<double>();
  if (!std::isfinite(seconds) || seconds < 0) return std::nullopt;
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(seconds)));
}

// "arn:aws:ecs:R:A:task-definition/web:3" → "web:3".
std::string familyRevision(const std::string& taskDefinitionArn) {
  const auto slash = taskDefinitionArn.rfind('/');
  return slash == std::string::npos ? taskDefinitionArn : taskDefinitionArn.substr(slash + 1);
}

// The ENI's private IPv4: the awsvpc attachment's details, else a
// container's network interface.
std::string privateIpOf(const nlohmann::json& task) {
  if (auto attachments = task.find("attachments"); attachments != task.end() && attachments->is_array()) {
    for (const auto& attachment : *attachments) {
      auto details = attachment.find("details");
      if (details == attachment.end() || !details->is_array()) continue;
      for (const auto& detail : *details) {
        if (detail.is_object() && text(detail, "name") == "privateIPv4Address" && !text(detail, "value").empty()) {
          return text(detail, "value");
        }
      }
    }
  }
  if (auto containers = task.find("containers"); containers != task.end() && containers->is_array()) {
    for (const auto& container : *containers) {
      auto interfaces = container.find("networkInterfaces");
      if (interfaces == container.end() || !interfaces->is_array()) continue;
      for (const auto& interface : *interfaces) {
        if (interface.is_object() && !text(interface, "privateIpv4Address").empty()) {
          return text(interface, "privateIpv4Address");
        }
      }
    }
  }
  return "";
}

std::string freshClientToken() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::ostringstream out;
  out << std::hex;
  for (int i = 0; i < 2; ++i) out << random();
  return "cleanroom-" + out.str();
}

bool isNotFound(const Error& error) {
  const std::string code = aws::awsErrorCode(error);
  if (code == "ClusterNotFoundException") return true;
  if (code != "InvalidParameterException") return false;
  std::string lower = error.message;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find("not found") != std::string::npos;
}

Error gone(const Error& error) {
  Error out = error;
  out.kind = ErrorKind::Gone;
  return out;
}

// The owner of a task: its cleanroom.run tag, else its startedBy when that
// is a valid run id.
std::string ownerOf(const std::map<std::string, std::string>& tags, const std::string& startedBy) {
  if (auto tag = tags.find(kRunLabel); tag != tags.end()) return tag->second;
  if (!startedBy.empty() && run::validateId(startedBy).ok()) return startedBy;
  return "";
}

nlohmann::json tagList(const std::map<std::string, std::string>& tags) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [key, value] : tags) out.push_back({{"key", key}, {"value", value}});
  return out;
}

nlohmann::json overridesFor(const EcsTaskSpec& spec) {
  nlohmann::json containers = nlohmann::json::array();
  for (const auto& [container, variables] : spec.environment) {
    nlohmann::json environment = nlohmann::json::array();
    for (const auto& [key, value] : variables) environment.push_back({{"name", key}, {"value", value}});
    containers.push_back({{"name", container}, {"environment", environment}});
  }
  return {{"containerOverrides", containers}};
}

nlohmann::json runTaskBody(const EcsTaskSpec& spec, const std::string& cluster, const std::string& runId) {
  std::map<std::string, std::string> tags = spec.labels;
  tags[kRunLabel] = runId;
  nlohmann::json body = {{"cluster", cluster},
                         {"taskDefinition", spec.taskDefinition},
                         {"count", 1},
                         {"startedBy", runId},
                         {"tags", tagList(tags)},
                         {"clientToken", spec.clientToken.empty() ? freshClientToken() : spec.clientToken}};
  if (!spec.launchType.empty()) body["launchType"] = spec.launchType;
  if (!spec.group.empty()) body["group"] = spec.group;
  if (!spec.subnets.empty()) {
    body["networkConfiguration"] = {{"awsvpcConfiguration",
                                     {{"subnets", spec.subnets},
                                      {"securityGroups", spec.securityGroups},
                                      {"assignPublicIp", spec.assignPublicIp ? "ENABLED" : "DISABLED"}}}};
  }
  if (!spec.environment.empty()) body["overrides"] = overridesFor(spec);
  return body;
}

// RunTask failures: capacity ones ("RESOURCE:CPU", "AGENT") may pass.
Error runTaskFailure(const nlohmann::json& failures, const std::string& what) {
  const nlohmann::json first = failures.is_array() && !failures.empty() ? failures[0] : nlohmann::json::object();
  const std::string reason = text(first, "reason");
  std::string message = what + ": ECS started no task: " + (reason.empty() ? excerpt(failures) : reason);
  if (!text(first, "detail").empty()) message += " (" + text(first, "detail") + ")";
  const bool capacity = reason.rfind("RESOURCE:", 0) == 0 || reason == "AGENT";
  return capacity ? Error::retryable(message) : Error::permanent(message);
}

}  // namespace

std::string ecsTarget(const std::string& operation) { return kTargetPrefix + operation; }

// ---- options -------------------------------------------------------------

Result<std::vector<std::string>> EcsBackendOptions::parseClusters(const std::string& value, const std::string& what) {
  std::vector<std::string> clusters;
  std::stringstream in(value);
  for (std::string item; std::getline(in, item, ',');) {
    item = trim(item);
    if (item.empty()) {
      return Error::permanent(what + " has an empty entry in \"" + value +
                              "\": list cluster names or ARNs separated by commas, e.g. default,ci");
    }
    if (!isClusterName(EcsBackend::clusterName(item)) ||
        (item.rfind("arn:", 0) == 0 && item.find(":cluster/") == std::string::npos)) {
      return Error::permanent(what + " entry \"" + item +
                              "\" is neither a cluster name (letters, digits, - and _) nor a cluster ARN "
                              "(arn:aws:ecs:REGION:ACCOUNT:cluster/NAME)");
    }
    clusters.push_back(item);
  }
  if (clusters.empty()) clusters.push_back(kDefaultCluster);
  return clusters;
}

Result<EcsBackendOptions> EcsBackendOptions::fromEnvironment() {
  Result<aws::AwsConfig> config = aws::AwsConfig::fromEnvironment();
  if (!config) return config.error();
  EcsBackendOptions options;
  options.aws = std::move(config).value();
  if (std::optional<std::string> clusters = env::get(kEcsClusterVariable)) {
    auto parsed = parseClusters(*clusters, kEcsClusterVariable);
    if (!parsed) return parsed.error();
    options.clusters = std::move(parsed).value();
  }
  return options;
}

Result<EcsBackendOptions> EcsBackendOptions::fromLocator(const std::map<std::string, std::string>& locator) {
  Result<aws::AwsConfig> config = aws::AwsConfig::fromLocator(locator);
  if (!config) return config.error();
  EcsBackendOptions options;
  options.aws = std::move(config).value();
  auto clusters = locator.find(kClustersLocatorKey);
  if (clusters == locator.end()) {
    return Error::permanent("the ecs backend's journal locator has no \"clusters\": the journal entry is incomplete");
  }
  auto parsed = parseClusters(clusters->second, "the ecs backend's journaled clusters");
  if (!parsed) return parsed.error();
  options.clusters = std::move(parsed).value();
  return options;
}

// ---- construction and mapping ------------------------------------------------

EcsBackend::EcsBackend(EcsBackendOptions options, Clock& clock, aws::AwsClient::HttpClients injected)
    : options_(std::move(options)), clock_(clock) {
  if (options_.clusters.empty()) {
    throw ConfigError(std::string("the ecs backend has no cluster: set ") + kEcsClusterVariable + " (e.g. default)");
  }
  auto clusters = EcsBackendOptions::parseClusters(join(options_.clusters, ","), kEcsClusterVariable);
  if (!clusters) throw ConfigError(clusters.error().message);
  if (options_.listConcurrency < 1 || options_.stopConcurrency < 1) {
    throw ConfigError("EcsBackendOptions: listConcurrency and stopConcurrency must be at least 1");
  }
  if (injected.count("ecs") == 0) {
    auto endpoint = options_.aws.endpointFor("ecs");
    if (!endpoint) throw ConfigError(endpoint.error().message);
  }
  client_ = std::make_unique<aws::AwsClient>(options_.aws, std::move(injected), clock_);
}

std::string EcsBackend::clusterName(const std::string& nameOrArn) {
  const auto marker = nameOrArn.find(":cluster/");
  if (nameOrArn.rfind("arn:", 0) != 0 || marker == std::string::npos) return nameOrArn;
  return nameOrArn.substr(marker + 9);
}

std::string EcsBackend::clusterOfTask(const std::string& taskArn) {
  const auto marker = taskArn.find(":task/");
  if (marker == std::string::npos) return "";
  const std::string rest = taskArn.substr(marker + 6);
  const auto slash = rest.find('/');
  return slash == std::string::npos ? "" : rest.substr(0, slash);
}

std::string EcsBackend::clusterFor(const std::string& taskArn) const {
  std::string cluster = clusterOfTask(taskArn);
  return cluster.empty() ? clusterName(options_.clusters.front()) : cluster;
}

ResourceState EcsBackend::classify(const std::string& lastStatus, const std::string& desiredStatus) {
  static const std::set<std::string> pending{"PROVISIONING", "PENDING", "ACTIVATING"};
  static const std::set<std::string> stopping{"DEACTIVATING", "STOPPING", "DEPROVISIONING"};
  if (lastStatus == "STOPPED") return ResourceState::Terminal;
  if (lastStatus == "DELETED") return ResourceState::Gone;
  const bool live = pending.count(lastStatus) != 0 || lastStatus == "RUNNING" || stopping.count(lastStatus) != 0;
  if (live && desiredStatus == "STOPPED") return ResourceState::Stopping;
  if (pending.count(lastStatus) != 0) return ResourceState::Pending;
  if (lastStatus == "RUNNING") return ResourceState::Running;
  if (stopping.count(lastStatus) != 0) return ResourceState::Stopping;
  return ResourceState::Unknown;
}

Result<EcsTask> EcsBackend::parseTask(const nlohmann::json& task) const {
  if (!task.is_object()) return Error::permanent("an ECS task is not a JSON object: " + excerpt(task));
  EcsTask out;
  out.taskArn = text(task, "taskArn");
  if (out.taskArn.empty()) return Error::permanent("ECS task field \"taskArn\" is missing in " + excerpt(task));
  out.lastStatus = text(task, "lastStatus");
  if (out.lastStatus.empty()) return Error::permanent("ECS task field \"lastStatus\" is missing in " + excerpt(task));
  out.desiredStatus = text(task, "desiredStatus");
  out.cluster = clusterFor(out.taskArn);
  if (const std::string clusterArn = text(task, "clusterArn"); !clusterArn.empty()) out.cluster = clusterName(clusterArn);
  out.privateIp = privateIpOf(task);

  Resource& resource = out.resource;
  resource.backend = name();
  resource.id = out.taskArn;
  const std::string group = text(task, "group");
  resource.name = !group.empty() && group.rfind("family:", 0) != 0 ? group : familyRevision(text(task, "taskDefinitionArn"));
  resource.labels = tagsOf(task);
  resource.runId = ownerOf(resource.labels, text(task, "startedBy"));
  resource.createdAt = epochSeconds(task, "createdAt");
  resource.state = classify(out.lastStatus, out.desiredStatus);
  resource.status = out.lastStatus;
  if (!out.desiredStatus.empty() && out.desiredStatus != out.lastStatus && resource.state != ResourceState::Terminal) {
    resource.status += "→" + out.desiredStatus;
  }
  return out;
}

// ---- requests --------------------------------------------------------------

Result<nlohmann::json> EcsBackend::call(const std::string& operation, const nlohmann::json& body) {
  return client_->callJson("ecs", ecsTarget(operation), body, options_.requestTimeout);
}

Result<std::vector<std::string>> EcsBackend::listArns(const std::string& cluster, const std::string& desiredStatus,
                                                       const std::string& startedBy) {
  std::vector<std::string> arns;
  std::set<std::string> tokens;
  nlohmann::json body = {{"cluster", cluster}, {"desiredStatus", desiredStatus}, {"maxResults", kListPageSize}};
  if (!startedBy.empty()) body["startedBy"] = startedBy;
  for (;;) {
    Result<nlohmann::json> page = call("ListTasks", body);
    if (!page) return page.error();
    auto taskArns = page->find("taskArns");
    if (taskArns != page->end() && !taskArns->is_array()) {
      return Error::permanent("ecs ListTasks: \"taskArns\" is not an array in " + excerpt(*page));
    }
    if (taskArns != page->end()) {
      for (const auto& arn : *taskArns) {
        if (arn.is_string()) arns.push_back(arn.get<std::string>());
      }
    }
    const std::string next = text(*page, "nextToken");
    if (next.empty()) return arns;
    if (!tokens.insert(next).second) {
      return Error::permanent("ecs ListTasks: the server repeated nextToken \"" + next + "\" (a paging loop)");
    }
    body["nextToken"] = next;
  }
}

Result<std::vector<EcsTask>> EcsBackend::describe(const std::string& cluster, const std::vector<std::string>& arns) {
  std::vector<EcsTask> tasks;
  for (size_t begin = 0; begin < arns.size(); begin += kDescribeBatch) {
    const std::vector<std::string> batch(arns.begin() + static_cast<long>(begin),
                                         arns.begin() + static_cast<long>(std::min(arns.size(), begin + kDescribeBatch)));
    Result<nlohmann::json> answer =
        call("DescribeTasks", {{"cluster", cluster}, {"tasks", batch}, {"include", {"TAGS"}}});
    if (!answer) return answer.error();
    auto found = answer->find("tasks");
    if (found == answer->end() || !found->is_array()) continue;  // every one MISSING: gone meanwhile
    for (const auto& item : *found) {
      Result<EcsTask> task = parseTask(item);
      if (!task) return withContext(task.error(), "ecs DescribeTasks");
      tasks.push_back(std::move(task).value());
    }
  }
  return tasks;
}

// ---- Backend ---------------------------------------------------------------

Result<std::vector<EcsTask>> EcsBackend::tasksIn(const std::string& cluster, const std::string& startedBy) {
  std::vector<std::string> arns;
  for (const char* desired : {"RUNNING", "STOPPED"}) {
    Result<std::vector<std::string>> page = listArns(cluster, desired, startedBy);
    if (!page) {
      if (aws::awsErrorCode(page.error()) == "ClusterNotFoundException") {
        return withContext(page.error(), std::string("cluster \"") + cluster + "\" (check " + kEcsClusterVariable + ")");
      }
      return page.error();
    }
    arns.insert(arns.end(), page->begin(), page->end());
  }
  std::sort(arns.begin(), arns.end());
  arns.erase(std::unique(arns.begin(), arns.end()), arns.end());  // a task changing desiredStatus mid-list
  return describe(cluster, arns);
}

Result<std::vector<EcsTask>> EcsBackend::listTasks(const std::string& cluster) { return tasksIn(cluster, ""); }

Result<std::vector<Resource>> EcsBackend::listCluster(const std::string& cluster, const Selector& selector) {
  const bool byStartedBy = selector.runId.has_value() && !options_.scanAllTasks;
  Result<std::vector<EcsTask>> tasks = tasksIn(cluster, byStartedBy ? *selector.runId : "");
  if (!tasks) return tasks.error();
  const WallTime now = clock_.wallNow();
  std::vector<Resource> resources;
  for (auto& task : tasks.value()) {
    Resource& resource = task.resource;
    if (resource.state == ResourceState::Gone) continue;
    if (!selector.runId && resource.labels.count(kRunLabel) == 0) continue;  // never another tool's task
    if (!selector.matches(resource, now)) continue;  // owner re-checked: a server may ignore startedBy
    resources.push_back(std::move(resource));
  }
  logger().debug("step=list backend=ecs cluster={} by={} listed={} found={}", cluster,
                 byStartedBy ? "startedBy" : "scan", tasks->size(), resources.size());
  return resources;
}

Result<std::vector<Resource>> EcsBackend::list(const Selector& selector) {
  std::vector<Resource> resources;
  const auto& clusters = options_.clusters;
  for (size_t begin = 0; begin < clusters.size(); begin += static_cast<size_t>(options_.listConcurrency)) {
    const size_t end = std::min(clusters.size(), begin + static_cast<size_t>(options_.listConcurrency));
    std::vector<std::future<Result<std::vector<Resource>>>> inFlight;
    for (size_t i = begin; i < end; ++i) {
      inFlight.push_back(std::async(std::launch::async, [this, &selector, cluster = clusterName(clusters[i])] {
        return listCluster(cluster, selector);
      }));
    }
    std::optional<Error> failure;
    for (auto& listing : inFlight) {
      Result<std::vector<Resource>> found = listing.get();
      if (!found) {
        if (!failure) failure = found.error();
        continue;
      }
      for (auto& resource : *found) resources.push_back(std::move(resource));
    }
    if (failure) return *failure;
  }
  return resources;
}

Status EcsBackend::requestStop(const Resource& resource, StopMode mode) {
  const std::string reason = "cleanroom: run " + (resource.runId.empty() ? run::id() : resource.runId);
  Result<nlohmann::json> answer =
      call("StopTask", {{"cluster", clusterFor(resource.id)}, {"task", resource.id}, {"reason", reason}});
  logger().debug("step=stop backend=ecs ref={} mode={} result={}", resource.ref(), toString(mode),
                 answer ? "ok" : answer.error().describe());
  if (answer) return Status::success();
  if (isNotFound(answer.error())) return gone(answer.error());
  return answer.error();
}

Result<ResourceStatus> EcsBackend::describeState(const Resource& resource) {
  Result<EcsTask> task = describeTask(resource.id);
  if (task) return ResourceStatus{task->resource.state, task->resource.status};
  if (task.error().isGone()) return ResourceStatus{ResourceState::Gone, "MISSING"};
  return task.error();
}

Result<ResourceStatus> EcsBackend::probe(const Resource& resource) { return describeState(resource); }

Result<ResourceStatus> EcsBackend::awaitFinished(const Resource& resource, milliseconds timeout) {
  std::optional<Result<ResourceStatus>> last;
  const WaitOutcome outcome = waitUntil(clock_, clock_.now() + timeout, options_.pacing, [&] {
    last = describeState(resource);
    return !last->ok() || isFinished(last->value().state);
  });
  logger().debug("step=ecs-await ref={} result={} status={} polls={} ms={}", resource.ref(),
                 !last->ok() ? "error" : (outcome.met ? "finished" : "timeout"),
                 last->ok() ? last->value().status : last->error().describe(), outcome.polls, outcome.waited.count());
  return std::move(*last);
}

std::map<std::string, std::string> EcsBackend::locator() const {
  std::map<std::string, std::string> out = options_.aws.locator();
  out[kClustersLocatorKey] = join(options_.clusters, ",");
  return out;
}

// ---- tasks for tests and examples ------------------------------------------

Result<EcsTask> EcsBackend::describeTask(const std::string& taskArn) {
  const std::string cluster = clusterFor(taskArn);
  Result<nlohmann::json> answer =
      call("DescribeTasks", {{"cluster", cluster}, {"tasks", {taskArn}}, {"include", {"TAGS"}}});
  if (!answer) return isNotFound(answer.error()) ? gone(answer.error()) : answer.error();
  auto tasks = answer->find("tasks");
  if (tasks != answer->end() && tasks->is_array()) {
    for (const auto& item : *tasks) {
      Result<EcsTask> task = parseTask(item);
      if (!task) return withContext(task.error(), "ecs DescribeTasks");
      if (task->taskArn == taskArn || taskArn.find('/') == std::string::npos) return task;
    }
  }
  std::string reason = "MISSING";
  if (auto failures = answer->find("failures"); failures != answer->end() && failures->is_array() && !failures->empty()) {
    reason = text((*failures)[0], "reason");
  }
  return Error::gone("ecs DescribeTasks: task " + taskArn + " in cluster " + cluster + " not found (" + reason + ")");
}

Result<EcsTask> EcsBackend::awaitRunning(const std::string& taskArn, milliseconds timeout) {
  std::optional<Result<EcsTask>> last;
  waitUntil(clock_, clock_.now() + timeout, options_.pacing, [&] {
    last = describeTask(taskArn);
    if (!last->ok()) return true;
    const EcsTask& task = last->value();
    return task.lastStatus != "PROVISIONING" && task.lastStatus != "PENDING" && task.lastStatus != "ACTIVATING";
  });
  if (!last->ok()) return std::move(*last);
  const EcsTask& task = last->value();
  if (task.lastStatus == "RUNNING" && task.desiredStatus != "STOPPED") return std::move(*last);
  if (classify(task.lastStatus, task.desiredStatus) == ResourceState::Pending) {
    return Error::retryable("ecs task " + taskArn + " is still " + task.lastStatus + " after " +
                            std::to_string(timeout.count()) + "ms");
  }
  return Error::permanent("ecs task " + taskArn + " did not start: it is " + task.resource.status);
}

Result<EcsTask> EcsBackend::runTask(const EcsTaskSpec& spec) {
  if (spec.taskDefinition.empty()) {
    return Error::permanent("EcsTaskSpec.taskDefinition is empty: name a task definition (family[:revision] or ARN)");
  }
  const std::string runId = spec.runId.empty() ? run::id() : spec.runId;
  if (Status valid = run::validateId(runId, "EcsTaskSpec.runId"); !valid) return valid.error();
  const std::string cluster = clusterName(spec.cluster.empty() ? options_.clusters.front() : spec.cluster);
  const bool configured = std::any_of(options_.clusters.begin(), options_.clusters.end(),
                                      [&](const std::string& c) { return clusterName(c) == cluster; });
  if (!configured) {
    return Error::permanent("EcsTaskSpec.cluster \"" + cluster + "\" is not one of the backend's clusters (" +
                            join(options_.clusters, ",") + "): add it to " + kEcsClusterVariable +
                            " so that cleanup looks there");
  }

  Result<nlohmann::json> answer = call("RunTask", runTaskBody(spec, cluster, runId));
  if (!answer) return answer.error();
  auto tasks = answer->find("tasks");
  if (tasks == answer->end() || !tasks->is_array() || tasks->empty()) {
    return runTaskFailure(answer->value("failures", nlohmann::json::array()), "ecs RunTask " + spec.taskDefinition);
  }
  Result<EcsTask> parsed = parseTask((*tasks)[0]);
  if (!parsed) return withContext(parsed.error(), "ecs RunTask");
  EcsTask task = std::move(parsed).value();
  if (task.resource.runId.empty()) task.resource.runId = runId;  // a server that dropped tags and startedBy
  (void)journal::recordCreated(*this, task.resource);
  logger().debug("step=create backend=ecs ref={} cluster={} status={} ip={}", task.resource.ref(), task.cluster,
                 task.lastStatus, task.privateIp);
  return task;
}

}  // namespace cleanroom
