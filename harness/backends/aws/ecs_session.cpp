#include "cleanroom/aws/ecs_session.h"

#include <fstream>
#include <sstream>
#include <utility>


namespace cleanroom::aws {

namespace {

constexpr const char* kEcsPrefix = "AmazonEC2ContainerServiceV20141113.";

std::string trimSlashes(std::string text) {
  while (!text.empty() && text.back() == '/') text.pop_back();
  while (!text.empty() && text.front() == '/') text.erase(0, 1);
  return text;
}

Error withMessage(const Error& error, std::string message) {
  Error out = error;
  out.message = std::move(message);
  return out;
}

Result<std::string> readFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error::permanent("cannot read log file " + file.string() + ": check that it exists and is readable");
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return Error::permanent("reading log file " + file.string() + " failed");
  return content.str();
}

bool ecsTaskUnknown(const Error& error) {
  const std::string code = awsErrorCode(error);
  if (code == "ClusterNotFoundException") return true;
  return code == "InvalidParameterException" && error.message.find("not found") != std::string::npos;
}

}  // namespace

std::string EcsSession::logKey(const std::filesystem::path& relativePath) const {
  std::string key;
  const std::string prefix = trimSlashes(logKeyPrefix);
  if (!prefix.empty()) key = prefix + "/";
  return key + runId + "/" + id + "/" + relativePath.generic_string();
}

std::string EcsSession::clusterOfTask() const {
  if (!cluster.empty()) return cluster;
  const auto at = taskArn.find(":task/");
  if (at == std::string::npos) return "default";
  const std::string rest = taskArn.substr(at + 6);
  const auto slash = rest.find('/');
  if (slash == std::string::npos) return "default";
  return rest.substr(0, slash);
}

std::string EcsSession::problem() const {
  const std::string who = "session '" + id + "': ";
  if (id.empty()) return "session id is empty; give every session a unique id (e.g. the request id)";
  if (taskArn.empty()) return who + "taskArn is empty; set it to the task ARN RunTask returned";
  if (!taskArn.starts_with("arn:") || taskArn.find(":task/") == std::string::npos) {
    return who + "taskArn '" + taskArn + "' is not an ECS task ARN (arn:aws:ecs:<region>:<account>:task/...)";
  }
  if (!targetGroupArn.empty() && targetIp.empty()) {
    return who + "targetIp is empty but targetGroupArn is set; set the IP the target was registered with";
  }
  if (targetPort < 0 || targetPort > 65535) return who + "targetPort " + std::to_string(targetPort) + " is not 0-65535";
  if (!logDirectory.empty() && logBucket.empty()) {
    return who + "logBucket is empty but logDirectory is set; name the S3 bucket the logs go to";
  }
  return "";
}

std::string s3ObjectTarget(const std::string& bucket, const std::string& key) {
  std::string target = "/" + urlEncode(bucket);
  std::size_t start = 0;
  while (true) {
    const auto slash = key.find('/', start);
    target += "/" + urlEncode(key.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return target;
}

AwsSessionApi::AwsSessionApi(std::shared_ptr<AwsClient> client) : client_(std::move(client)) {}

Status AwsSessionApi::putObject(const std::string& bucket, const std::string& key, const std::filesystem::path& file,
                                milliseconds timeout) {
  auto content = readFile(file);
  if (!content) return content.error();
  HttpRequest request;
  request.method = "PUT";
  request.target = s3ObjectTarget(bucket, key);
  request.body = std::move(content).value();
  request.contentType = "application/octet-stream";
  auto response = client_->callRest("s3", std::move(request), timeout);
  if (response) return Status::success();
  const Error& error = response.error();
  if (awsErrorCode(error) == "NoSuchBucket") {
    return withMessage(error, "S3 bucket '" + bucket + "' does not exist (NoSuchBucket) uploading " + file.string() +
                                  ": create the bucket or fix the session's logBucket");
  }
  return withMessage(error, error.message + " (uploading " + file.string() + " to s3://" + bucket + "/" + key + ")");
}

Status AwsSessionApi::deregisterTarget(const std::string& targetGroupArn, const std::string& ip, int port,
                                       milliseconds timeout) {
  std::vector<std::pair<std::string, std::string>> params = {{"Action", "DeregisterTargets"},
                                                             {"Version", "2015-12-01"},
                                                             {"TargetGroupArn", targetGroupArn},
                                                             {"Targets.member.1.Id", ip}};
  if (port > 0) params.emplace_back("Targets.member.1.Port", std::to_string(port));
  auto answer = client_->callQuery("elasticloadbalancing", params, timeout);
  if (answer) return Status::success();
  const Error& error = answer.error();
  const std::string code = awsErrorCode(error);
  const std::string target = ip + (port > 0 ? ":" + std::to_string(port) : "");
  if (code == "InvalidTarget") {
    return Error::gone("target " + target + " is not registered in " + targetGroupArn + " (already deregistered)");
  }
  if (code == "TargetGroupNotFound") {
    return withMessage(error, "target group '" + targetGroupArn +
                                  "' does not exist (TargetGroupNotFound): check the session's targetGroupArn");
  }
  if (code == "ValidationError") {
    return withMessage(error, "target group ARN '" + targetGroupArn + "' or target " + target +
                                  " is not valid: " + error.message);
  }
  return error;
}

Status AwsSessionApi::stopTask(const std::string& cluster, const std::string& taskArn, const std::string& reason,
                               milliseconds timeout) {
  const nlohmann::json body = {{"cluster", cluster}, {"task", taskArn}, {"reason", reason}};
  auto answer = client_->callJson("ecs", std::string(kEcsPrefix) + "StopTask", body, timeout);
  if (answer) return Status::success();
  if (ecsTaskUnknown(answer.error())) return Error::gone("task " + taskArn + " is unknown to ECS (already gone)");
  return answer.error();
}

Result<std::string> AwsSessionApi::taskStatus(const std::string& cluster, const std::string& taskArn,
                                              milliseconds timeout) {
  const nlohmann::json body = {{"cluster", cluster}, {"tasks", nlohmann::json::array({taskArn})}};
  auto answer = client_->callJson("ecs", std::string(kEcsPrefix) + "DescribeTasks", body, timeout);
  if (!answer) {
    if (ecsTaskUnknown(answer.error())) return Error::gone("task " + taskArn + " is unknown to ECS");
    return answer.error();
  }
  const nlohmann::json& tasks = answer->value("tasks", nlohmann::json::array());
  for (const auto& task : tasks) {
    if (task.value("taskArn", "") == taskArn || tasks.size() == 1) return task.value("lastStatus", "UNKNOWN");
  }
  return Error::gone("task " + taskArn + " is unknown to ECS (DescribeTasks: MISSING)");
}

}  // namespace cleanroom::aws
