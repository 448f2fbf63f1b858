// EcsStore: the in-memory ECS of cleanroom-mock-aws — clusters, task
// definitions and tasks — and the task lifecycle on timers (one
// DeadlineScheduler thread: no sleeps, no polling). Thread-safe; no call
// blocks on a timer. Requests and answers are the ECS JSON 1.1 bodies
// (protocol-notes §3): each operation takes the request body and returns the
// response body, or an AwsError in ECS's terms (ClusterNotFoundException,
// InvalidParameterException, ClientException, ...).
//
// Lifecycle of a task (every task gets an ENI with a unique private IPv4
// 10.0.x.y, never reused until reset):
//   RunTask → PROVISIONING → (startDelay/2) PENDING → (startDelay) RUNNING
//   StopTask → desiredStatus STOPPED, DEACTIVATING → (stopDelay/2)
//   DEPROVISIONING → (stopDelay) STOPPED; it is then still listed (under
//   desiredStatus=STOPPED) and described for `linger`, then forgotten.
// A zero delay makes the step immediate (RunTask answers RUNNING).
// Mock-only RunTask tags override the delays per task:
//   cleanroom.mock.startMs / cleanroom.mock.stopMs — milliseconds
//   cleanroom.mock.runMs   — the task exits by itself after this long
//                            RUNNING (stopCode EssentialContainerExited)
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/aws/aws_wire.h"

namespace cleanroom::mocks::aws {

struct EcsStoreOptions {
  std::string region = "us-east-1";
  std::string accountId = "123456789012";
  std::chrono::milliseconds taskStart{200};  // RunTask → RUNNING
  std::chrono::milliseconds taskStop{300};   // StopTask → STOPPED
  std::chrono::milliseconds stoppedLinger{60000};  // STOPPED tasks stay visible this long
};

class EcsStore {
 public:
  explicit EcsStore(EcsStoreOptions options = {});
  // Calls shutdown().
  ~EcsStore();
  EcsStore(const EcsStore&) = delete;
  EcsStore& operator=(const EcsStore&) = delete;

  // Runs one ECS operation ("RunTask", ...) on its request body. Returns the
  // response body, or an ECS error (UnknownOperationException for an
  // operation the mock does not implement, SerializationException for a
  // field of the wrong type). Never blocks on timers.
  AwsResult<nlohmann::json> call(const std::string& operation, const nlohmann::json& request);

  // Returns {"clusters": [...], "taskDefinitions": [...], "tasks": [Task
  // with tags, stopped ones included]} for the control API.
  nlohmann::json state() const;
  // Drops every cluster, task definition, task and pending transition.
  void reset();
  // reset() and stops the timer thread; later calls fail with ServerException. Idempotent.
  void shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cleanroom::mocks::aws
