#include "cleanroom/mocks/aws/ecs_store.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

#include "cleanroom/mocks/deadline_scheduler.h"
#include "json_input.h"

namespace cleanroom::mocks::aws {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Tags = std::vector<std::pair<std::string, std::string>>;

constexpr std::size_t kMaxTags = 50;

AwsError ecsError(std::string code, std::string message) { return {400, std::move(code), std::move(message)}; }
AwsError invalidParameter(std::string message) { return ecsError("InvalidParameterException", std::move(message)); }
AwsError clusterNotFound() { return ecsError("ClusterNotFoundException", "Cluster not found."); }

double epochSeconds() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) / 1000.0;
}

std::string randomHex(std::size_t digits) {
  static std::mutex mutex;
  static std::mt19937_64 random{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::lock_guard lock(mutex);
  std::string out;
  while (out.size() < digits) {
    std::uint64_t word = random();
    for (int i = 0; i < 16 && out.size() < digits; ++i, word >>= 4) out += kHex[word & 0xF];
  }
  return out;
}

json tagsJson(const Tags& tags) {
  json out = json::array();
  for (const auto& [key, value] : tags) out.push_back({{"key", key}, {"value", value}});
  return out;
}

void mergeTags(Tags& into, const Tags& added) {
  for (const auto& [key, value] : added) {
    auto it = std::find_if(into.begin(), into.end(), [&](const auto& tag) { return tag.first == key; });
    if (it != into.end()) {
      it->second = value;
    } else {
      into.emplace_back(key, value);
    }
  }
}

std::optional<std::string> tagValue(const Tags& tags, std::string_view key) {
  for (const auto& [name, value] : tags) {
    if (name == key) return value;
  }
  return std::nullopt;
}

// Returns the milliseconds of a mock-only delay tag, or `fallback`.
milliseconds delayTag(const Tags& tags, std::string_view key, milliseconds fallback) {
  const auto value = tagValue(tags, key);
  if (!value) return fallback;
  try {
    const long long ms = std::stoll(*value);
    return ms >= 0 ? milliseconds(ms) : fallback;
  } catch (const std::exception&) {
    return fallback;
  }
}

// Returns the last '/'-separated part of an ARN or the text itself.
std::string lastPart(const std::string& ref) {
  const auto slash = ref.rfind('/');
  return slash == std::string::npos ? ref : ref.substr(slash + 1);
}

std::string jsonString(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump();
  return {};
}

struct Cluster {
  std::string name, arn;
  Tags tags;
};

struct TaskDefinition {
  std::string family, arn, status = "ACTIVE";
  int revision = 1;
  json body;  // the registered fields plus the computed ones
  Tags tags;
};

struct Container {
  std::string name, image, arn;
};

struct Task {
  std::uint64_t seq = 0;
  std::string id, arn, clusterName, clusterArn, taskDefinitionArn, family, startedBy, group, launchType;
  std::string cpu, memory, lastStatus = "PROVISIONING", desiredStatus = "RUNNING", stopCode, stoppedReason;
  std::string privateIp, eniId, attachmentId, subnetId, mac, attachmentStatus = "PRECREATED";
  std::vector<Container> containers;
  std::optional<int> exitCode;
  Tags tags;
  double createdAt = 0, pullStartedAt = 0, pullStoppedAt = 0, startedAt = 0, connectivityAt = 0;
  double stoppingAt = 0, executionStoppedAt = 0, stoppedAt = 0;
  int version = 1;
  bool enableExecuteCommand = false;
  milliseconds startDelay{0}, stopDelay{0};
  std::optional<milliseconds> runFor;
  std::vector<DeadlineScheduler::TaskId> timers{};
};

void setIfSet(json& out, const char* name, double value) {
  if (value > 0) out[name] = value;
}

std::string containerStatus(const Task& task) {
  if (task.lastStatus == "RUNNING") return "RUNNING";
  if (task.lastStatus == "DEPROVISIONING" || task.lastStatus == "STOPPED") return "STOPPED";
  if (task.lastStatus == "DEACTIVATING") return task.startedAt > 0 ? "RUNNING" : "PENDING";
  return "PENDING";
}

json containerJson(const Task& task, const Container& container) {
  json out = {{"containerArn", container.arn},
              {"taskArn", task.arn},
              {"name", container.name},
              {"image", container.image},
              {"lastStatus", containerStatus(task)},
              {"networkInterfaces", json::array({{{"attachmentId", task.attachmentId},
                                                   {"privateIpv4Address", task.privateIp}}})},
              {"healthStatus", "UNKNOWN"},
              {"cpu", "0"}};
  if (task.exitCode && containerStatus(task) == "STOPPED") out["exitCode"] = *task.exitCode;
  return out;
}

json attachmentJson(const Task& task) {
  const std::string dnsName = "ip-" + [&] {
    std::string dashed = task.privateIp;
    std::replace(dashed.begin(), dashed.end(), '.', '-');
    return dashed;
  }() + ".ec2.internal";
  return {{"id", task.attachmentId},
          {"type", "ElasticNetworkInterface"},
          {"status", task.attachmentStatus},
          {"details", json::array({{{"name", "subnetId"}, {"value", task.subnetId}},
                                   {{"name", "networkInterfaceId"}, {"value", task.eniId}},
                                   {{"name", "macAddress"}, {"value", task.mac}},
                                   {{"name", "privateDnsName"}, {"value", dnsName}},
                                   {{"name", "privateIPv4Address"}, {"value", task.privateIp}}})}};
}

json taskJson(const Task& task, bool withTags) {
  json out = {{"taskArn", task.arn},
              {"clusterArn", task.clusterArn},
              {"taskDefinitionArn", task.taskDefinitionArn},
              {"lastStatus", task.lastStatus},
              {"desiredStatus", task.desiredStatus},
              {"group", task.group},
              {"launchType", task.launchType},
              {"cpu", task.cpu},
              {"memory", task.memory},
              {"createdAt", task.createdAt},
              {"availabilityZone", "us-east-1a"},
              {"healthStatus", "UNKNOWN"},
              {"version", task.version},
              {"enableExecuteCommand", task.enableExecuteCommand},
              {"overrides", {{"containerOverrides", json::array()}, {"inferenceAcceleratorOverrides", json::array()}}},
              {"attachments", json::array({attachmentJson(task)})}};
  if (!task.startedBy.empty()) out["startedBy"] = task.startedBy;
  if (task.launchType == "FARGATE") out["platformVersion"] = "1.4.0";
  setIfSet(out, "pullStartedAt", task.pullStartedAt);
  setIfSet(out, "pullStoppedAt", task.pullStoppedAt);
  setIfSet(out, "startedAt", task.startedAt);
  setIfSet(out, "stoppingAt", task.stoppingAt);
  setIfSet(out, "executionStoppedAt", task.executionStoppedAt);
  setIfSet(out, "stoppedAt", task.stoppedAt);
  if (task.connectivityAt > 0) {
    out["connectivity"] = "CONNECTED";
    out["connectivityAt"] = task.connectivityAt;
  }
  if (!task.stopCode.empty()) out["stopCode"] = task.stopCode;
  if (!task.stoppedReason.empty()) out["stoppedReason"] = task.stoppedReason;
  json containers = json::array();
  for (const auto& container : task.containers) containers.push_back(containerJson(task, container));
  out["containers"] = std::move(containers);
  if (withTags) out["tags"] = tagsJson(task.tags);
  return out;
}

}  // namespace

class EcsStore::Impl {
 public:
  explicit Impl(EcsStoreOptions options) : options_(std::move(options)) {}

  AwsResult<json> call(const std::string& operation, const json& request) {
    using Operation = AwsResult<json> (Impl::*)(const json&);
    static const std::map<std::string, Operation, std::less<>> kOperations = {
        {"CreateCluster", &Impl::createCluster},
        {"DeleteCluster", &Impl::deleteCluster},
        {"ListClusters", &Impl::listClusters},
        {"DescribeClusters", &Impl::describeClusters},
        {"RegisterTaskDefinition", &Impl::registerTaskDefinition},
        {"DeregisterTaskDefinition", &Impl::deregisterTaskDefinition},
        {"DescribeTaskDefinition", &Impl::describeTaskDefinition},
        {"RunTask", &Impl::runTask},
        {"ListTasks", &Impl::listTasks},
        {"DescribeTasks", &Impl::describeTasks},
        {"StopTask", &Impl::stopTaskOperation},
        {"ListTagsForResource", &Impl::listTagsForResource},
        {"TagResource", &Impl::tagResource},
        {"UntagResource", &Impl::untagResource},
    };
    const auto it = kOperations.find(operation);
    if (it == kOperations.end()) {
      return AwsError{400, "UnknownOperationException",
                      "cleanroom-mock-aws does not implement ECS operation '" + operation + "'"};
    }
    std::lock_guard lock(mutex_);
    if (closed_) return AwsError{500, "ServerException", "cleanroom-mock-aws is shutting down"};
    return (this->*(it->second))(request);
  }

  json state() const {
    std::lock_guard lock(mutex_);
    json clusters = json::array(), definitions = json::array(), tasks = json::array();
    for (const auto& [name, cluster] : clusters_) clusters.push_back(clusterJson(cluster));
    for (const auto& [family, revisions] : definitions_) {
      for (const auto& definition : revisions) definitions.push_back(definition.body);
    }
    for (const auto& [seq, id] : order_) tasks.push_back(taskJson(tasks_.at(id), true));
    return {{"clusters", clusters}, {"taskDefinitions", definitions}, {"tasks", tasks}};
  }

  void reset() {
    std::lock_guard lock(mutex_);
    for (auto& [id, task] : tasks_) cancelTimers(task);
    clusters_.clear();
    definitions_.clear();
    tasks_.clear();
    order_.clear();
    clientTokens_.clear();
    nextIp_ = 0;
  }

  void shutdown() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    scheduler_.stop();
    reset();
  }

 private:
  // ---- clusters ----
  std::string clusterArn(const std::string& name) const {
    return "arn:aws:ecs:" + options_.region + ":" + options_.accountId + ":cluster/" + name;
  }

  json clusterJson(const Cluster& cluster, const std::string& status = "ACTIVE") const {
    int running = 0, pending = 0;
    for (const auto& [id, task] : tasks_) {
      if (task.clusterName != cluster.name || task.desiredStatus == "STOPPED") continue;
      (task.lastStatus == "RUNNING" ? running : pending)++;
    }
    return {{"clusterArn", cluster.arn},
            {"clusterName", cluster.name},
            {"status", status},
            {"registeredContainerInstancesCount", 0},
            {"runningTasksCount", running},
            {"pendingTasksCount", pending},
            {"activeServicesCount", 0},
            {"statistics", json::array()},
            {"tags", tagsJson(cluster.tags)},
            {"settings", json::array({{{"name", "containerInsights"}, {"value", "disabled"}}})},
            {"capacityProviders", json::array()},
            {"defaultCapacityProviderStrategy", json::array()}};
  }

  Cluster* findCluster(const std::string& ref) {
    auto it = clusters_.find(lastPart(ref.empty() ? "default" : ref));
    return it == clusters_.end() ? nullptr : &it->second;
  }

  AwsResult<json> createCluster(const json& request) {
    JsonInput in(request);
    const std::string name = in.str("clusterName", "default");
    const Tags tags = in.tags("tags");
    if (in.error()) return *in.error();
    if (name.empty() || name.size() > 255) return invalidParameter("clusterName must be 1-255 characters.");
    auto [it, created] = clusters_.try_emplace(name, Cluster{name, clusterArn(name), tags});
    if (!created) mergeTags(it->second.tags, tags);
    return json{{"cluster", clusterJson(it->second)}};
  }

  AwsResult<json> deleteCluster(const json& request) {
    JsonInput in(request);
    const std::string ref = in.str("cluster");
    if (in.error()) return *in.error();
    Cluster* cluster = findCluster(ref);
    if (cluster == nullptr || ref.empty()) return clusterNotFound();
    for (const auto& [id, task] : tasks_) {
      if (task.clusterName == cluster->name && task.lastStatus != "STOPPED") {
        return ecsError("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.");
      }
    }
    json out = {{"cluster", clusterJson(*cluster, "INACTIVE")}};
    clusters_.erase(cluster->name);
    return out;
  }

  AwsResult<json> listClusters(const json& request) {
    JsonInput in(request);
    if (in.error()) return *in.error();
    json arns = json::array();
    for (const auto& [name, cluster] : clusters_) arns.push_back(cluster.arn);
    return json{{"clusterArns", arns}};
  }

  AwsResult<json> describeClusters(const json& request) {
    JsonInput in(request);
    std::vector<std::string> refs = in.strings("clusters");
    if (in.error()) return *in.error();
    if (refs.empty()) refs.push_back("default");
    json clusters = json::array(), failures = json::array();
    for (const auto& ref : refs) {
      const Cluster* cluster = findCluster(ref);
      if (cluster != nullptr) {
        clusters.push_back(clusterJson(*cluster));
      } else {
        failures.push_back({{"arn", ref.starts_with("arn:") ? ref : clusterArn(ref)}, {"reason", "MISSING"}});
      }
    }
    return json{{"clusters", clusters}, {"failures", failures}};
  }

  // ---- task definitions ----
  AwsResult<json> registerTaskDefinition(const json& request) {
    JsonInput in(request);
    const std::string family = in.str("family");
    const json* containers = in.raw("containerDefinitions");
    const Tags tags = in.tags("tags");
    if (in.error()) return *in.error();
    if (family.empty()) return ecsError("ClientException", "Family can not be blank.");
    if (containers == nullptr || !containers->is_array() || containers->empty()) {
      return ecsError("ClientException", "Container.name should not be null or empty.");
    }
    for (const auto& container : *containers) {
      if (!container.is_object() || !container.contains("name") || !container["name"].is_string()) {
        return ecsError("ClientException", "Container.name should not be null or empty.");
      }
    }
    auto& revisions = definitions_[family];
    TaskDefinition definition;
    definition.family = family;
    definition.revision = static_cast<int>(revisions.size()) + 1;
    definition.arn = "arn:aws:ecs:" + options_.region + ":" + options_.accountId + ":task-definition/" + family +
                     ":" + std::to_string(definition.revision);
    definition.tags = tags;
    definition.body = request;
    definition.body.erase("tags");
    definition.body["taskDefinitionArn"] = definition.arn;
    definition.body["revision"] = definition.revision;
    definition.body["status"] = "ACTIVE";
    definition.body["compatibilities"] = json::array({"EC2", "FARGATE"});
    definition.body["registeredAt"] = epochSeconds();
    for (const char* field : {"cpu", "memory"}) {
      if (request.contains(field)) definition.body[field] = jsonString(request[field]);
    }
    if (!definition.body.contains("networkMode")) definition.body["networkMode"] = "bridge";
    revisions.push_back(definition);
    return json{{"taskDefinition", definition.body}, {"tags", tagsJson(tags)}};
  }

  // Finds "family", "family:rev" or an ARN; "family" = latest ACTIVE revision.
  TaskDefinition* findDefinition(const std::string& ref) {
    std::string name = lastPart(ref);
    std::optional<int> revision;
    if (const auto colon = name.rfind(':'); colon != std::string::npos) {
      try {
        revision = std::stoi(name.substr(colon + 1));
      } catch (const std::exception&) {
        return nullptr;
      }
      name.resize(colon);
    }
    auto it = definitions_.find(name);
    if (it == definitions_.end()) return nullptr;
    auto& revisions = it->second;
    if (revision) return *revision >= 1 && *revision <= static_cast<int>(revisions.size()) ? &revisions[*revision - 1] : nullptr;
    for (auto r = revisions.rbegin(); r != revisions.rend(); ++r) {
      if (r->status == "ACTIVE") return &*r;
    }
    return nullptr;
  }

  AwsResult<json> deregisterTaskDefinition(const json& request) {
    JsonInput in(request);
    const std::string ref = in.str("taskDefinition");
    if (in.error()) return *in.error();
    if (lastPart(ref).find(':') == std::string::npos) {
      return ecsError("ClientException", "Revision must be specified: use family:revision or the full ARN.");
    }
    TaskDefinition* definition = findDefinition(ref);
    if (definition == nullptr) return ecsError("ClientException", "The specified task definition does not exist.");
    definition->status = "INACTIVE";
    definition->body["status"] = "INACTIVE";
    definition->body["deregisteredAt"] = epochSeconds();
    return json{{"taskDefinition", definition->body}};
  }

  AwsResult<json> describeTaskDefinition(const json& request) {
    JsonInput in(request);
    const std::string ref = in.str("taskDefinition");
    if (in.error()) return *in.error();
    TaskDefinition* definition = findDefinition(ref);
    if (definition == nullptr) return ecsError("ClientException", "Unable to describe task definition.");
    return json{{"taskDefinition", definition->body}, {"tags", tagsJson(definition->tags)}};
  }

  // ---- tasks ----
  struct RunRequest {
    std::string cluster, taskDefinition, launchType, startedBy, group, clientToken, subnet, propagateTags;
    std::int64_t count = 1;
    bool enableExecuteCommand = false;
    Tags tags;
  };

  AwsResult<RunRequest> parseRun(const json& request) {
    JsonInput in(request);
    RunRequest run;
    run.cluster = in.str("cluster", "default");
    run.taskDefinition = in.str("taskDefinition");
    run.launchType = in.str("launchType", "EC2");
    run.startedBy = in.str("startedBy");
    run.group = in.str("group");
    run.clientToken = in.str("clientToken");
    run.propagateTags = in.str("propagateTags", "NONE");
    run.count = in.integer("count").value_or(1);
    run.enableExecuteCommand = in.boolean("enableExecuteCommand");
    run.tags = in.tags("tags");
    if (const json* network = in.raw("networkConfiguration"); network != nullptr && network->is_object()) {
      const json subnets = network->value("awsvpcConfiguration", json::object()).value("subnets", json::array());
      if (subnets.is_array() && !subnets.empty() && subnets[0].is_string()) run.subnet = subnets[0].get<std::string>();
    }
    if (in.error()) return *in.error();
    if (run.taskDefinition.empty()) return invalidParameter("TaskDefinition can not be blank.");
    if (run.count < 1 || run.count > 10) return invalidParameter("count must be between 1 and 10.");
    if (run.launchType != "EC2" && run.launchType != "FARGATE" && run.launchType != "EXTERNAL") {
      return invalidParameter("launchType must be one of EC2, FARGATE, EXTERNAL; got '" + run.launchType + "'.");
    }
    if (run.startedBy.size() > 128) return invalidParameter("startedBy must be at most 128 characters.");
    if (run.tags.size() > kMaxTags) return invalidParameter("A task can have at most 50 tags.");
    return run;
  }

  AwsResult<json> runTask(const json& request) {
    auto parsed = parseRun(request);
    if (!parsed) return parsed.error();
    const RunRequest& run = parsed.value();
    Cluster* cluster = findCluster(run.cluster);
    if (cluster == nullptr) return clusterNotFound();
    if (!run.clientToken.empty()) {
      if (auto it = clientTokens_.find(run.clientToken); it != clientTokens_.end()) return tasksAnswer(it->second);
    }
    TaskDefinition* definition = findDefinition(run.taskDefinition);
    if (definition == nullptr) return ecsError("ClientException", "Unable to describe task definition.");
    if (definition->status != "ACTIVE") return ecsError("ClientException", "TaskDefinition is inactive");
    std::vector<std::string> ids;
    for (std::int64_t i = 0; i < run.count; ++i) ids.push_back(startTask(run, *cluster, *definition));
    if (!run.clientToken.empty()) clientTokens_[run.clientToken] = ids;
    return tasksAnswer(ids);
  }

  json tasksAnswer(const std::vector<std::string>& ids) const {
    json tasks = json::array();
    for (const auto& id : ids) {
      if (auto it = tasks_.find(id); it != tasks_.end()) tasks.push_back(taskJson(it->second, true));
    }
    return {{"tasks", tasks}, {"failures", json::array()}};
  }

  std::string allocateIp() {
    const std::uint32_t n = nextIp_++ % (250u * 254u);
    return "10.0." + std::to_string(n / 254u) + "." + std::to_string(n % 254u + 1u);
  }

  std::string startTask(const RunRequest& run, const Cluster& cluster, const TaskDefinition& definition) {
    Task task;
    task.seq = ++nextSeq_;
    task.id = randomHex(32);
    task.arn = "arn:aws:ecs:" + options_.region + ":" + options_.accountId + ":task/" + cluster.name + "/" + task.id;
    task.clusterName = cluster.name;
    task.clusterArn = cluster.arn;
    task.taskDefinitionArn = definition.arn;
    task.family = definition.family;
    task.startedBy = run.startedBy;
    task.group = run.group.empty() ? "family:" + definition.family : run.group;
    task.launchType = run.launchType;
    task.cpu = definition.body.value("cpu", std::string("256"));
    task.memory = definition.body.value("memory", std::string("512"));
    task.enableExecuteCommand = run.enableExecuteCommand;
    task.tags = run.tags;
    if (run.propagateTags == "TASK_DEFINITION") mergeTags(task.tags, definition.tags);
    task.privateIp = allocateIp();
    task.eniId = "eni-" + randomHex(17);
    task.attachmentId = randomHex(8) + "-" + randomHex(4) + "-" + randomHex(4) + "-" + randomHex(4) + "-" + randomHex(12);
    task.subnetId = run.subnet.empty() ? "subnet-cleanroom0" : run.subnet;
    task.mac = "0e:" + randomHex(2) + ":" + randomHex(2) + ":" + randomHex(2) + ":" + randomHex(2) + ":" + randomHex(2);
    for (const auto& container : definition.body.value("containerDefinitions", json::array())) {
      if (!container.is_object()) continue;
      const std::string name = container.value("name", std::string("main"));
      task.containers.push_back({name, container.value("image", std::string()),
                                 "arn:aws:ecs:" + options_.region + ":" + options_.accountId + ":container/" +
                                     cluster.name + "/" + task.id + "/" + randomHex(32)});
    }
    task.createdAt = epochSeconds();
    task.startDelay = delayTag(task.tags, "cleanroom.mock.startMs", options_.taskStart);
    task.stopDelay = delayTag(task.tags, "cleanroom.mock.stopMs", options_.taskStop);
    if (tagValue(task.tags, "cleanroom.mock.runMs")) task.runFor = delayTag(task.tags, "cleanroom.mock.runMs", milliseconds(0));
    const std::string id = task.id;
    order_[task.seq] = id;
    Task& stored = tasks_[id] = std::move(task);
    scheduleStart(stored);
    return id;
  }

  // ---- lifecycle (callers hold mutex_) ----
  void scheduleStep(Task& task, milliseconds delay, void (Impl::*step)(Task&)) {
    const std::string id = task.id;
    task.timers.push_back(scheduler_.after(delay, [this, id, step] {
      std::lock_guard lock(mutex_);
      auto it = tasks_.find(id);
      if (it != tasks_.end()) (this->*step)(it->second);
    }));
  }

  void cancelTimers(Task& task) {
    for (const auto timer : task.timers) scheduler_.cancel(timer);
    task.timers.clear();
  }

  void scheduleStart(Task& task) {
    if (task.startDelay.count() == 0) {
      enterPending(task);
      enterRunning(task);
      return;
    }
    scheduleStep(task, task.startDelay / 2, &Impl::enterPending);
    scheduleStep(task, task.startDelay, &Impl::enterRunning);
  }

  void enterPending(Task& task) {
    task.lastStatus = "PENDING";
    task.attachmentStatus = "ATTACHED";
    task.pullStartedAt = epochSeconds();
    ++task.version;
  }

  void enterRunning(Task& task) {
    task.lastStatus = "RUNNING";
    task.pullStoppedAt = task.startedAt = task.connectivityAt = epochSeconds();
    ++task.version;
    if (task.runFor) scheduleStep(task, *task.runFor, &Impl::exitByItself);
  }

  void exitByItself(Task& task) {
    task.exitCode = 0;
    beginStop(task, "EssentialContainerExited", "Essential container in task exited");
  }

  void beginStop(Task& task, const std::string& stopCode, const std::string& reason) {
    if (task.desiredStatus == "STOPPED") return;
    cancelTimers(task);
    task.desiredStatus = "STOPPED";
    task.stopCode = stopCode;
    task.stoppedReason = reason;
    task.stoppingAt = epochSeconds();
    task.lastStatus = "DEACTIVATING";
    if (!task.exitCode && task.startedAt > 0) task.exitCode = 143;  // SIGTERM
    ++task.version;
    if (task.stopDelay.count() == 0) {
      enterDeprovisioning(task);
      enterStopped(task);
      return;
    }
    scheduleStep(task, task.stopDelay / 2, &Impl::enterDeprovisioning);
    scheduleStep(task, task.stopDelay, &Impl::enterStopped);
  }

  void enterDeprovisioning(Task& task) {
    task.lastStatus = "DEPROVISIONING";
    task.attachmentStatus = "DETACHED";
    task.executionStoppedAt = epochSeconds();
    ++task.version;
  }

  void enterStopped(Task& task) {
    task.lastStatus = "STOPPED";
    task.attachmentStatus = "DELETED";
    task.stoppedAt = epochSeconds();
    ++task.version;
    const std::string id = task.id;
    const std::uint64_t seq = task.seq;
    task.timers.push_back(scheduler_.after(options_.stoppedLinger, [this, id, seq] {
      std::lock_guard lock(mutex_);
      tasks_.erase(id);
      order_.erase(seq);
    }));
  }

  // ---- task queries ----
  Task* findTask(const std::string& clusterName, const std::string& ref) {
    auto it = tasks_.find(lastPart(ref));
    if (it == tasks_.end() || it->second.clusterName != clusterName) return nullptr;
    return &it->second;
  }

  AwsResult<json> listTasks(const json& request) {
    JsonInput in(request);
    const std::string clusterRef = in.str("cluster", "default");
    const std::string startedBy = in.str("startedBy");
    const std::string family = in.str("family");
    const std::string serviceName = in.str("serviceName");
    const std::string launchType = in.str("launchType");
    const std::string desired = in.str("desiredStatus", "RUNNING");
    const std::string nextToken = in.str("nextToken");
    const std::int64_t maxResults = in.integer("maxResults").value_or(100);
    if (in.error()) return *in.error();
    Cluster* cluster = findCluster(clusterRef);
    if (cluster == nullptr) return clusterNotFound();
    if (!startedBy.empty() && !serviceName.empty()) {
      return invalidParameter("startedBy may not be specified with serviceName.");
    }
    if (desired != "RUNNING" && desired != "PENDING" && desired != "STOPPED") {
      return invalidParameter("desiredStatus must be one of RUNNING, PENDING, STOPPED.");
    }
    if (maxResults < 1 || maxResults > 100) return invalidParameter("maxResults must be between 1 and 100.");
    std::uint64_t from = 0;
    if (!nextToken.empty()) {
      auto parsed = parseToken(nextToken);
      if (!parsed) return invalidParameter("Invalid nextToken: send the nextToken of the previous ListTasks answer.");
      from = *parsed;
    }
    json arns = json::array();
    for (auto it = order_.lower_bound(from); it != order_.end(); ++it) {
      const Task& task = tasks_.at(it->second);
      if (task.clusterName != cluster->name || task.desiredStatus != desired) continue;
      if ((!startedBy.empty() && task.startedBy != startedBy) || (!family.empty() && task.family != family)) continue;
      if (!serviceName.empty() || (!launchType.empty() && task.launchType != launchType)) continue;
      if (static_cast<std::int64_t>(arns.size()) == maxResults) {
        return json{{"taskArns", arns}, {"nextToken", "cr1-" + std::to_string(it->first)}};
      }
      arns.push_back(task.arn);
    }
    return json{{"taskArns", arns}};
  }

  static std::optional<std::uint64_t> parseToken(const std::string& token) {
    if (!token.starts_with("cr1-") || token.size() == 4) return std::nullopt;
    try {
      return std::stoull(token.substr(4));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  AwsResult<json> describeTasks(const json& request) {
    JsonInput in(request);
    const std::string clusterRef = in.str("cluster", "default");
    const std::vector<std::string> refs = in.strings("tasks");
    const std::vector<std::string> include = in.strings("include");
    if (in.error()) return *in.error();
    Cluster* cluster = findCluster(clusterRef);
    if (cluster == nullptr) return clusterNotFound();
    if (refs.empty()) return invalidParameter("Tasks cannot be empty.");
    if (refs.size() > 100) return invalidParameter("Tasks can have at most 100 items.");
    const bool withTags = std::find(include.begin(), include.end(), "TAGS") != include.end();
    json tasks = json::array(), failures = json::array();
    for (const auto& ref : refs) {
      if (const Task* task = findTask(cluster->name, ref)) {
        tasks.push_back(taskJson(*task, withTags));
      } else {
        const std::string arn = ref.starts_with("arn:") ? ref
                                    : "arn:aws:ecs:" + options_.region + ":" + options_.accountId + ":task/" +
                                          cluster->name + "/" + ref;
        failures.push_back({{"arn", arn}, {"reason", "MISSING"}});
      }
    }
    return json{{"tasks", tasks}, {"failures", failures}};
  }

  AwsResult<json> stopTaskOperation(const json& request) {
    JsonInput in(request);
    const std::string clusterRef = in.str("cluster", "default");
    const std::string ref = in.str("task");
    const std::string reason = in.str("reason");
    if (in.error()) return *in.error();
    Cluster* cluster = findCluster(clusterRef);
    if (cluster == nullptr) return clusterNotFound();
    if (ref.empty()) return invalidParameter("Task can not be blank.");
    Task* task = findTask(cluster->name, ref);
    if (task == nullptr) return invalidParameter("The referenced task was not found.");
    beginStop(*task, "UserInitiated", reason.empty() ? "Task stopped by user" : reason);
    return json{{"task", taskJson(*task, true)}};
  }

  // ---- tags ----
  Tags* findTagged(const std::string& arn) {
    if (arn.find(":task/") != std::string::npos) {
      auto it = tasks_.find(lastPart(arn));
      return it == tasks_.end() ? nullptr : &it->second.tags;
    }
    if (arn.find(":cluster/") != std::string::npos) {
      Cluster* cluster = findCluster(arn);
      return cluster == nullptr ? nullptr : &cluster->tags;
    }
    if (arn.find(":task-definition/") != std::string::npos) {
      TaskDefinition* definition = findDefinition(arn);
      return definition == nullptr ? nullptr : &definition->tags;
    }
    return nullptr;
  }

  AwsResult<Tags*> taggedResource(JsonInput& in) {
    const std::string arn = in.str("resourceArn");
    if (in.error()) return *in.error();
    if (!arn.starts_with("arn:")) return invalidParameter("resourceArn must be an ARN; got '" + arn + "'.");
    Tags* tags = findTagged(arn);
    if (tags == nullptr) return invalidParameter("The specified resource was not found: " + arn);
    return tags;
  }

  AwsResult<json> listTagsForResource(const json& request) {
    JsonInput in(request);
    auto tags = taggedResource(in);
    if (!tags) return tags.error();
    return json{{"tags", tagsJson(*tags.value())}};
  }

  AwsResult<json> tagResource(const json& request) {
    JsonInput in(request);
    const Tags added = in.tags("tags");
    auto tags = taggedResource(in);
    if (!tags) return tags.error();
    if (tags.value()->size() + added.size() > kMaxTags) return invalidParameter("A resource can have at most 50 tags.");
    mergeTags(*tags.value(), added);
    return json::object();
  }

  AwsResult<json> untagResource(const json& request) {
    JsonInput in(request);
    const std::vector<std::string> keys = in.strings("tagKeys");
    auto tags = taggedResource(in);
    if (!tags) return tags.error();
    std::erase_if(*tags.value(), [&](const auto& tag) {
      return std::find(keys.begin(), keys.end(), tag.first) != keys.end();
    });
    return json::object();
  }

  EcsStoreOptions options_;
  mutable std::mutex mutex_;
  bool closed_ = false;
  std::map<std::string, Cluster> clusters_;
  std::map<std::string, std::vector<TaskDefinition>> definitions_;
  std::map<std::string, Task> tasks_;                  // by task id
  std::map<std::uint64_t, std::string> order_;         // creation sequence → task id
  std::map<std::string, std::vector<std::string>> clientTokens_;
  std::uint64_t nextSeq_ = 0;
  std::uint32_t nextIp_ = 0;
  DeadlineScheduler scheduler_;  // last: its thread stops before the state above goes
};

EcsStore::EcsStore(EcsStoreOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
EcsStore::~EcsStore() { shutdown(); }
AwsResult<nlohmann::json> EcsStore::call(const std::string& operation, const nlohmann::json& request) {
  return impl_->call(operation, request);
}
nlohmann::json EcsStore::state() const { return impl_->state(); }
void EcsStore::reset() { impl_->reset(); }
void EcsStore::shutdown() { impl_->shutdown(); }

}  // namespace cleanroom::mocks::aws
