#include "cleanroom/mocks/aws/elb_store.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

#include "cleanroom/mocks/deadline_scheduler.h"

namespace cleanroom::mocks::aws {
namespace {

using std::chrono::milliseconds;
using Form = std::multimap<std::string, std::string>;
using Tags = std::vector<std::pair<std::string, std::string>>;

AwsError validation(std::string message) { return {400, "ValidationError", std::move(message)}; }
AwsError invalidTarget(std::string message) { return {400, "InvalidTarget", std::move(message)}; }
AwsError groupsNotFound() { return {400, "TargetGroupNotFound", "One or more target groups not found"}; }

std::string formValue(const Form& form, const std::string& name, std::string fallback = {}) {
  auto it = form.find(name);
  return it == form.end() ? fallback : it->second;
}

std::optional<int> parseInt(const std::string& text) {
  if (text.empty() || text.size() > 9 || !std::all_of(text.begin(), text.end(), ::isdigit)) return std::nullopt;
  return std::stoi(text);
}

std::string element(const std::string& name, const std::string& value) {
  return "<" + name + ">" + xmlEscape(value) + "</" + name + ">";
}

std::string randomHex16() {
  static std::mutex mutex;
  static std::mt19937_64 random{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::lock_guard lock(mutex);
  std::uint64_t word = random();
  std::string out;
  for (int i = 0; i < 16; ++i, word >>= 4) out += kHex[word & 0xF];
  return out;
}

bool validName(const std::string& name) {
  if (name.empty() || name.size() > 32 || name.front() == '-' || name.back() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

bool isIpv4(const std::string& text) {
  unsigned char buffer[4];
  return ::inet_pton(AF_INET, text.c_str(), buffer) == 1;
}

Tags formTags(const Form& form) {
  Tags tags;
  for (const auto& member : structMembers(form, "Tags")) {
    auto key = member.find("Key");
    if (key == member.end()) continue;
    auto value = member.find("Value");
    tags.emplace_back(key->second, value == member.end() ? "" : value->second);
  }
  return tags;
}

std::string tagsXml(const Tags& tags) {
  std::string xml;
  for (const auto& [key, value] : tags) xml += "<member>" + element("Key", key) + element("Value", value) + "</member>";
  return "<Tags>" + xml + "</Tags>";
}

struct Target {
  std::uint64_t seq = 0;
  std::string id, availabilityZone;
  int port = 0;
  std::string state = "initial", reason = "Elb.RegistrationInProgress";
  std::string description = "Target registration is in progress";
  std::vector<DeadlineScheduler::TaskId> timers{};
};

struct TargetGroup {
  std::uint64_t seq = 0;
  std::string name, arn, protocol, vpcId, targetType, healthCheckPath;
  std::optional<int> port;
  Tags tags;
  std::map<std::string, Target> targets;  // by "id:port"
};

std::string targetKey(const std::string& id, int port) { return id + ":" + std::to_string(port); }

std::string targetGroupXml(const TargetGroup& group) {
  std::string xml = element("TargetGroupArn", group.arn) + element("TargetGroupName", group.name);
  if (group.targetType != "lambda") {
    xml += element("Protocol", group.protocol) + element("Port", std::to_string(group.port.value_or(0))) +
           element("VpcId", group.vpcId) + element("HealthCheckProtocol", group.protocol) +
           element("HealthCheckPort", "traffic-port");
  }
  xml += element("HealthCheckEnabled", "true") + element("HealthCheckIntervalSeconds", "30") +
         element("HealthCheckTimeoutSeconds", "5") + element("HealthyThresholdCount", "5") +
         element("UnhealthyThresholdCount", "2") + element("HealthCheckPath", group.healthCheckPath) +
         "<Matcher><HttpCode>200</HttpCode></Matcher><LoadBalancerArns/>" + element("TargetType", group.targetType);
  if (group.protocol == "HTTP" || group.protocol == "HTTPS") xml += element("ProtocolVersion", "HTTP1");
  xml += element("IpAddressType", "ipv4");
  return "<member>" + xml + "</member>";
}

}  // namespace

class ElbStore::Impl {
 public:
  explicit Impl(ElbStoreOptions options) : options_(std::move(options)) {}

  AwsResult<std::string> call(const std::string& action, const Form& form) {
    using Action = AwsResult<std::string> (Impl::*)(const Form&);
    static const std::map<std::string, Action, std::less<>> kActions = {
        {"CreateTargetGroup", &Impl::createTargetGroup},
        {"DescribeTargetGroups", &Impl::describeTargetGroups},
        {"DeleteTargetGroup", &Impl::deleteTargetGroup},
        {"RegisterTargets", &Impl::registerTargets},
        {"DeregisterTargets", &Impl::deregisterTargets},
        {"DescribeTargetHealth", &Impl::describeTargetHealth},
        {"AddTags", &Impl::addTags},
        {"RemoveTags", &Impl::removeTags},
        {"DescribeTags", &Impl::describeTags},
    };
    const auto it = kActions.find(action);
    if (it == kActions.end()) {
      return AwsError{400, "InvalidAction", "cleanroom-mock-aws does not implement ELBv2 action '" + action + "'"};
    }
    std::lock_guard lock(mutex_);
    if (closed_) return AwsError{503, "ServiceUnavailable", "cleanroom-mock-aws is shutting down", "Receiver"};
    return (this->*(it->second))(form);
  }

  nlohmann::json state() const {
    std::lock_guard lock(mutex_);
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& [seq, arn] : order_) {
      const TargetGroup& group = groups_.at(arn);
      nlohmann::json targets = nlohmann::json::array();
      for (const Target* target : sortedTargets(group)) {
        targets.push_back({{"id", target->id}, {"port", target->port}, {"state", target->state}, {"reason", target->reason}});
      }
      nlohmann::json tags = nlohmann::json::object();
      for (const auto& [key, value] : group.tags) tags[key] = value;
      groups.push_back({{"targetGroupArn", group.arn}, {"targetGroupName", group.name}, {"protocol", group.protocol},
                        {"port", group.port ? nlohmann::json(*group.port) : nlohmann::json(nullptr)},
                        {"vpcId", group.vpcId}, {"targetType", group.targetType}, {"tags", tags},
                        {"targets", targets}});
    }
    return {{"targetGroups", groups}};
  }

  void reset() {
    std::lock_guard lock(mutex_);
    for (auto& [arn, group] : groups_) cancelTimers(group);
    groups_.clear();
    order_.clear();
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
  void cancelTimers(TargetGroup& group) {
    for (auto& [key, target] : group.targets) {
      for (const auto timer : target.timers) scheduler_.cancel(timer);
    }
  }

  static std::vector<const Target*> sortedTargets(const TargetGroup& group) {
    std::vector<const Target*> targets;
    for (const auto& [key, target] : group.targets) targets.push_back(&target);
    std::sort(targets.begin(), targets.end(), [](const Target* a, const Target* b) { return a->seq < b->seq; });
    return targets;
  }

  // Returns the group an ARN names, or the error naming the ARN.
  AwsResult<TargetGroup*> groupFor(const std::string& arn) {
    if (arn.empty()) {
      return validation("1 validation error detected: Value null at 'targetGroupArn' failed to satisfy constraint: "
                        "Member must not be null");
    }
    if (!arn.starts_with("arn:aws:elasticloadbalancing:") || arn.find(":targetgroup/") == std::string::npos) {
      return validation("'" + arn + "' is not a valid target group ARN");
    }
    auto it = groups_.find(arn);
    if (it == groups_.end()) return AwsError{400, "TargetGroupNotFound", "Target groups '" + arn + "' not found"};
    return &it->second;
  }

  AwsResult<std::string> createTargetGroup(const Form& form) {
    TargetGroup group;
    group.name = formValue(form, "Name");
    group.targetType = formValue(form, "TargetType", "instance");
    group.protocol = formValue(form, "Protocol");
    group.vpcId = formValue(form, "VpcId");
    group.healthCheckPath = formValue(form, "HealthCheckPath", "/");
    group.tags = formTags(form);
    if (!validName(group.name)) {
      return validation("Target group name '" + group.name +
                        "' must be 1-32 alphanumeric characters or hyphens, not beginning or ending with a hyphen");
    }
    const std::string types[] = {"instance", "ip", "lambda", "alb"};
    if (std::find(std::begin(types), std::end(types), group.targetType) == std::end(types)) {
      return validation("Target type '" + group.targetType + "' must be one of instance, ip, lambda, alb");
    }
    if (group.targetType != "lambda") {
      const auto port = parseInt(formValue(form, "Port"));
      if (group.protocol.empty()) return validation("A protocol must be specified");
      if (!port || *port < 1 || *port > 65535) return validation("A port between 1 and 65535 must be specified");
      if (group.vpcId.empty()) return validation("A VPC ID must be specified");
      group.port = port;
    }
    for (auto& [arn, existing] : groups_) {
      if (existing.name != group.name) continue;
      if (existing.protocol != group.protocol || existing.port != group.port || existing.vpcId != group.vpcId) {
        return AwsError{400, "DuplicateTargetGroupName",
                        "A target group with the same name '" + group.name + "' exists, but with different settings"};
      }
      return "<TargetGroups>" + targetGroupXml(existing) + "</TargetGroups>";
    }
    group.seq = ++nextSeq_;
    group.arn = "arn:aws:elasticloadbalancing:" + options_.region + ":" + options_.accountId + ":targetgroup/" +
                group.name + "/" + randomHex16();
    order_[group.seq] = group.arn;
    const TargetGroup& stored = groups_[group.arn] = std::move(group);
    return "<TargetGroups>" + targetGroupXml(stored) + "</TargetGroups>";
  }

  AwsResult<std::string> describeTargetGroups(const Form& form) {
    const auto names = listMembers(form, "Names");
    const auto arns = listMembers(form, "TargetGroupArns");
    const std::string marker = formValue(form, "Marker");
    const auto pageSize = parseInt(formValue(form, "PageSize", "400"));
    if (!pageSize || *pageSize < 1 || *pageSize > 400) return validation("PageSize must be between 1 and 400");
    if (!formValue(form, "LoadBalancerArn").empty()) {
      return AwsError{400, "LoadBalancerNotFound", "One or more load balancers not found"};
    }
    std::vector<const TargetGroup*> selected;
    if (!names.empty() || !arns.empty()) {
      for (const auto& arn : arns) {
        auto it = groups_.find(arn);
        if (it == groups_.end()) return groupsNotFound();
        selected.push_back(&it->second);
      }
      for (const auto& name : names) {
        const TargetGroup* found = nullptr;
        for (const auto& [arn, group] : groups_) found = group.name == name ? &group : found;
        if (found == nullptr) return groupsNotFound();
        selected.push_back(found);
      }
    } else {
      for (const auto& [seq, arn] : order_) selected.push_back(&groups_.at(arn));
    }
    return page(selected, marker, static_cast<std::size_t>(*pageSize));
  }

  AwsResult<std::string> page(const std::vector<const TargetGroup*>& groups, const std::string& marker, std::size_t size) {
    std::uint64_t from = 0;
    if (!marker.empty()) {
      const auto parsed = marker.starts_with("cr1-") ? parseInt(marker.substr(4)) : std::nullopt;
      if (!parsed) return validation("Invalid Marker '" + marker + "': send the NextMarker of the previous answer");
      from = static_cast<std::uint64_t>(*parsed);
    }
    std::string members, next;
    std::size_t count = 0;
    for (const TargetGroup* group : groups) {
      if (group->seq < from) continue;
      if (count == size) {
        next = element("NextMarker", "cr1-" + std::to_string(group->seq));
        break;
      }
      members += targetGroupXml(*group);
      ++count;
    }
    return "<TargetGroups>" + members + "</TargetGroups>" + next;
  }

  AwsResult<std::string> deleteTargetGroup(const Form& form) {
    const std::string arn = formValue(form, "TargetGroupArn");
    auto group = groupFor(arn);
    if (!group) return group.error().code == "TargetGroupNotFound" ? AwsResult<std::string>(std::string()) : group.error();
    cancelTimers(*group.value());
    order_.erase(group.value()->seq);
    groups_.erase(arn);
    return std::string();
  }

  struct TargetRef {
    std::string id, availabilityZone;
    int port = 0;
  };

  AwsResult<std::vector<TargetRef>> parseTargets(const Form& form, const TargetGroup& group) {
    std::vector<TargetRef> targets;
    for (const auto& member : structMembers(form, "Targets")) {
      TargetRef ref;
      ref.id = member.count("Id") ? member.at("Id") : "";
      ref.availabilityZone = member.count("AvailabilityZone") ? member.at("AvailabilityZone") : "";
      if (ref.id.empty()) return validation("Each target needs an Id");
      if (member.count("Port")) {
        const auto port = parseInt(member.at("Port"));
        if (!port || *port < 1 || *port > 65535) return validation("Target port must be between 1 and 65535");
        ref.port = *port;
      } else {
        ref.port = group.port.value_or(0);
      }
      if (group.targetType == "ip" && !isIpv4(ref.id)) {
        return invalidTarget("The IP address '" + ref.id + "' is not a valid IPv4 address");
      }
      if (group.targetType == "instance" && !ref.id.starts_with("i-")) {
        return invalidTarget("The following targets are not valid instances: '" + ref.id + "'");
      }
      targets.push_back(ref);
    }
    return targets;
  }

  void scheduleTarget(const std::string& arn, const std::string& key, Target& target, milliseconds delay, bool healthy) {
    target.timers.push_back(scheduler_.after(delay, [this, arn, key, healthy] {
      std::lock_guard lock(mutex_);
      auto group = groups_.find(arn);
      if (group == groups_.end()) return;
      auto it = group->second.targets.find(key);
      if (it == group->second.targets.end()) return;
      if (!healthy) {
        group->second.targets.erase(it);
        return;
      }
      it->second.state = "healthy";
      it->second.reason.clear();
      it->second.description.clear();
    }));
  }

  void cancelTarget(Target& target) {
    for (const auto timer : target.timers) scheduler_.cancel(timer);
    target.timers.clear();
  }

  AwsResult<std::string> registerTargets(const Form& form) {
    auto group = groupFor(formValue(form, "TargetGroupArn"));
    if (!group) return group.error();
    TargetGroup& tg = *group.value();
    auto targets = parseTargets(form, tg);
    if (!targets) return targets.error();
    if (targets.value().empty()) return validation("Targets must contain at least one target");
    for (const auto& ref : targets.value()) {
      const std::string key = targetKey(ref.id, ref.port);
      Target& target = tg.targets[key];
      if (target.seq != 0 && target.state != "draining") continue;  // already registered
      cancelTarget(target);
      target = Target{++nextSeq_, ref.id, ref.availabilityZone, ref.port};
      if (options_.healthyDelay.count() == 0) {
        target.state = "healthy";
        target.reason.clear();
        target.description.clear();
      } else {
        scheduleTarget(tg.arn, key, target, options_.healthyDelay, true);
      }
    }
    return std::string();
  }

  milliseconds deregistrationDelay(const TargetGroup& group) const {
    for (const auto& [key, value] : group.tags) {
      if (key != "cleanroom.mock.deregistrationDelayMs") continue;
      if (const auto ms = parseInt(value)) return milliseconds(*ms);
    }
    return options_.deregistrationDelay;
  }

  AwsResult<std::string> deregisterTargets(const Form& form) {
    auto group = groupFor(formValue(form, "TargetGroupArn"));
    if (!group) return group.error();
    TargetGroup& tg = *group.value();
    auto targets = parseTargets(form, tg);
    if (!targets) return targets.error();
    if (targets.value().empty()) return validation("Targets must contain at least one target");
    for (const auto& ref : targets.value()) {
      if (!tg.targets.count(targetKey(ref.id, ref.port))) {
        return invalidTarget("The following targets are not registered in target group '" + tg.arn + "': '" +
                             ref.id + "'");
      }
    }
    const milliseconds delay = deregistrationDelay(tg);
    for (const auto& ref : targets.value()) {
      const std::string key = targetKey(ref.id, ref.port);
      Target& target = tg.targets.at(key);
      if (target.state == "draining") continue;
      cancelTarget(target);
      if (delay.count() == 0) {
        tg.targets.erase(key);
        continue;
      }
      target.state = "draining";
      target.reason = "Target.DeregistrationInProgress";
      target.description = "Target deregistration is in progress";
      scheduleTarget(tg.arn, key, target, delay, false);
    }
    return std::string();
  }

  static std::string healthXml(const std::string& id, int port, const std::string& state, const std::string& reason,
                               const std::string& description) {
    std::string health = element("State", state);
    if (!reason.empty()) health += element("Reason", reason) + element("Description", description);
    return "<member><Target>" + element("Id", id) + element("Port", std::to_string(port)) + "</Target>" +
           element("HealthCheckPort", std::to_string(port)) + "<TargetHealth>" + health + "</TargetHealth></member>";
  }

  AwsResult<std::string> describeTargetHealth(const Form& form) {
    auto group = groupFor(formValue(form, "TargetGroupArn"));
    if (!group) return group.error();
    const TargetGroup& tg = *group.value();
    std::string members;
    if (form.count("Targets.member.1.Id") == 0) {
      for (const Target* target : sortedTargets(tg)) {
        members += healthXml(target->id, target->port, target->state, target->reason, target->description);
      }
      return "<TargetHealthDescriptions>" + members + "</TargetHealthDescriptions>";
    }
    auto targets = parseTargets(form, tg);
    if (!targets) return targets.error();
    for (const auto& ref : targets.value()) {
      auto it = tg.targets.find(targetKey(ref.id, ref.port));
      if (it == tg.targets.end()) {
        members += healthXml(ref.id, ref.port, "unused", "Target.NotRegistered", "Target is not registered to the target group");
      } else {
        members += healthXml(ref.id, ref.port, it->second.state, it->second.reason, it->second.description);
      }
    }
    return "<TargetHealthDescriptions>" + members + "</TargetHealthDescriptions>";
  }

  AwsResult<std::vector<TargetGroup*>> resources(const Form& form) {
    std::vector<TargetGroup*> groups;
    const auto arns = listMembers(form, "ResourceArns");
    if (arns.empty()) return validation("ResourceArns must contain at least one ARN");
    for (const auto& arn : arns) {
      auto group = groupFor(arn);
      if (!group) return group.error();
      groups.push_back(group.value());
    }
    return groups;
  }

  AwsResult<std::string> addTags(const Form& form) {
    auto groups = resources(form);
    if (!groups) return groups.error();
    const Tags added = formTags(form);
    for (TargetGroup* group : groups.value()) {
      for (const auto& [key, value] : added) {
        auto it = std::find_if(group->tags.begin(), group->tags.end(), [&](const auto& tag) { return tag.first == key; });
        if (it != group->tags.end()) {
          it->second = value;
        } else {
          group->tags.emplace_back(key, value);
        }
      }
    }
    return std::string();
  }

  AwsResult<std::string> removeTags(const Form& form) {
    auto groups = resources(form);
    if (!groups) return groups.error();
    const auto keys = listMembers(form, "TagKeys");
    for (TargetGroup* group : groups.value()) {
      std::erase_if(group->tags, [&](const auto& tag) { return std::find(keys.begin(), keys.end(), tag.first) != keys.end(); });
    }
    return std::string();
  }

  AwsResult<std::string> describeTags(const Form& form) {
    auto groups = resources(form);
    if (!groups) return groups.error();
    std::string members;
    for (const TargetGroup* group : groups.value()) {
      members += "<member>" + element("ResourceArn", group->arn) + tagsXml(group->tags) + "</member>";
    }
    return "<TagDescriptions>" + members + "</TagDescriptions>";
  }

  ElbStoreOptions options_;
  mutable std::mutex mutex_;
  bool closed_ = false;
  std::map<std::string, TargetGroup> groups_;     // by ARN
  std::map<std::uint64_t, std::string> order_;    // creation sequence → ARN
  std::uint64_t nextSeq_ = 0;
  DeadlineScheduler scheduler_;  // last: its thread stops before the state above goes
};

ElbStore::ElbStore(ElbStoreOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
ElbStore::~ElbStore() { shutdown(); }
AwsResult<std::string> ElbStore::call(const std::string& action, const std::multimap<std::string, std::string>& form) {
  return impl_->call(action, form);
}
nlohmann::json ElbStore::state() const { return impl_->state(); }
void ElbStore::reset() { impl_->reset(); }
void ElbStore::shutdown() { impl_->shutdown(); }

}  // namespace cleanroom::mocks::aws
