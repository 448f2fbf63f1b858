// EcsSessionTasks ("ecs"): the ecs backend as a CleanupEngine should see it
// when the run has ECS sessions (ecs_sessions.h). It lists, probes and
// awaits the same tasks as the EcsBackend it wraps, but stopping a task that
// belongs to an open session runs that session's cleanup — upload logs ∥
// deregister target ∥ release state → stop task → mark cleaned — instead
// of a bare StopTask. So every engine cleanup (CleanroomTest's TearDown,
// cleanupRealAgents, the fail-safe's sweep, verifyTestIsolation's report)
// ships a session's logs and deregisters its target before its task is
// stopped: the per-test scope and the per-request scope run the SAME
// pipeline definition.
//
//   auto ecs = std::make_shared<EcsBackend>(options);
//   auto sessions = std::make_shared<aws::EcsSessions>(api, *ecs);
//   engine.addBackend(std::make_shared<aws::EcsSessionTasks>(ecs, sessions));
//
// requestStop(task):
//   the task of an open session  sessions->cleanup(session id); ok → success,
//                                else a Retryable error carrying the
//                                pipeline's summary (the session stays open,
//                                so the engine's retry runs it again; the
//                                mode does not matter: the pipeline's
//                                stop-task is ECS's only stop)
//   any other task               EcsBackend::requestStop
// It blocks for at most the session pipeline's bound (pipeline().bound()),
// else one request.
// Everything else (name "ecs", list, probe, awaitFinished, locator,
// stopConcurrency) is the wrapped backend's, so the journal and the reaper
// see a plain ecs backend. Safe from several threads.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cleanroom/aws/ecs_sessions.h"
#include "cleanroom/backend.h"
#include "cleanroom/backends/ecs_backend.h"

namespace cleanroom::aws {

class EcsSessionTasks : public Backend {
 public:
  // Both must be non-null (else std::invalid_argument); `sessions` must have
  // been built on `tasks`.
  EcsSessionTasks(std::shared_ptr<EcsBackend> tasks, std::shared_ptr<EcsSessions> sessions);

  std::string name() const override { return tasks_->name(); }
  Result<std::vector<Resource>> list(const Selector& selector) override { return tasks_->list(selector); }
  Status requestStop(const Resource& resource, StopMode mode) override;
  Result<ResourceStatus> probe(const Resource& resource) override { return tasks_->probe(resource); }
  std::map<std::string, std::string> locator() const override { return tasks_->locator(); }
  int stopConcurrency() const override { return tasks_->stopConcurrency(); }
  bool canAwait() const override { return tasks_->canAwait(); }
  Result<ResourceStatus> awaitFinished(const Resource& resource, milliseconds timeout) override {
    return tasks_->awaitFinished(resource, timeout);
  }

  // Returns the id of the open session whose task is `taskArn`, if any.
  std::optional<std::string> sessionOfTask(const std::string& taskArn) const;

  const std::shared_ptr<EcsBackend>& tasks() const { return tasks_; }
  const std::shared_ptr<EcsSessions>& sessions() const { return sessions_; }

 private:
  std::shared_ptr<EcsBackend> tasks_;
  std::shared_ptr<EcsSessions> sessions_;
};

}  // namespace cleanroom::aws
