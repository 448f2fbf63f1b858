// FakeEcs: an in-test ECS endpoint behind the HttpClient interface, injected
// into EcsBackend's AwsClient. Each test answers the operations it cares
// about; every request is recorded (operation and JSON body).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/aws/aws_config.h"
#include "cleanroom/http_client.h"

namespace cleanroom::tests {

struct EcsCall {
  std::string operation;  // "ListTasks"
  nlohmann::json body;
};

class FakeEcs : public HttpClient {
 public:
  // Returns the answer to one operation; unhandled operations get 400
  // UnknownOperationException.
  using Handler = std::function<HttpResponse(const std::string& operation, const nlohmann::json& body)>;

  explicit FakeEcs(Handler handler = {}) : handler_(std::move(handler)) {}

  void setHandler(Handler handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
  }

  Result<HttpResponse> send(const HttpRequest& request, milliseconds) override {
    std::string operation;
    for (const auto& [key, value] : request.headers) {
      if (key == "X-Amz-Target") operation = value.substr(value.find('.') + 1);
    }
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    Handler handler;
    {
      std::lock_guard lock(mutex_);
      calls_.push_back({operation, body});
      handler = handler_;
    }
    if (!handler) return error(400, "UnknownOperationException", "no handler");
    return handler(operation, body);
  }
  std::string baseUrl() const override { return "http://127.0.0.1:18081"; }

  std::vector<EcsCall> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::vector<EcsCall> calls(const std::string& operation) const {
    std::vector<EcsCall> out;
    for (auto& call : calls()) {
      if (call.operation == operation) out.push_back(call);
    }
    return out;
  }

  static HttpResponse ok(const nlohmann::json& body) {
    HttpResponse response;
    response.status = 200;
    response.headers["content-type"] = "application/x-amz-json-1.1";
    response.body = body.dump();
    return response;
  }
  static HttpResponse error(int status, const std::string& code, const std::string& message) {
    HttpResponse response;
    response.status = status;
    response.headers["content-type"] = "application/x-amz-json-1.1";
    response.headers["x-amzn-errortype"] = code;
    response.body = nlohmann::json{{"__type", code}, {"message", message}}.dump();
    return response;
  }

 private:
  mutable std::mutex mutex_;
  Handler handler_;
  std::vector<EcsCall> calls_;
};

// A Task object as DescribeTasks returns it.
inline nlohmann::json ecsTask(const std::string& id, const std::string& lastStatus, const std::string& runId,
                              const std::string& cluster = "default", const std::string& desiredStatus = "RUNNING") {
  nlohmann::json task = {
      {"taskArn", "arn:aws:ecs:us-east-1:123456789012:task/" + cluster + "/" + id},
      {"clusterArn", "arn:aws:ecs:us-east-1:123456789012:cluster/" + cluster},
      {"taskDefinitionArn", "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"},
      {"lastStatus", lastStatus},
      {"desiredStatus", desiredStatus},
      {"group", "family:web"},
      {"launchType", "FARGATE"},
      {"createdAt", 1795651200.5},
      {"tags", nlohmann::json::array()},
  };
  if (!runId.empty()) {
    task["startedBy"] = runId;
    task["tags"].push_back({{"key", "cleanroom.run"}, {"value", runId}});
  }
  return task;
}

inline std::string ecsTaskArn(const std::string& id, const std::string& cluster = "default") {
  return "arn:aws:ecs:us-east-1:123456789012:task/" + cluster + "/" + id;
}

inline aws::AwsConfig ecsTestConfig() {
  aws::AwsConfig config;
  config.region = "us-east-1";
  config.credentials = {"AKIATEST", "test-secret-key", ""};
  config.endpoints["ecs"] = "http://127.0.0.1:18081";
  return config;
}

}  // namespace cleanroom::tests
