#include "cleanroom/aws/ecs_session_tasks.h"

#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

#include "cleanroom/trace.h"

namespace cleanroom::aws {

EcsSessionTasks::EcsSessionTasks(std::shared_ptr<EcsBackend> tasks, std::shared_ptr<EcsSessions> sessions)
    : tasks_(std::move(tasks)), sessions_(std::move(sessions)) {
  if (!tasks_ || !sessions_) throw std::invalid_argument("cleanroom: EcsSessionTasks needs an ecs backend and sessions");
}

std::optional<std::string> EcsSessionTasks::sessionOfTask(const std::string& taskArn) const {
  for (const EcsSession& session : sessions_->openSessions()) {
    if (session.taskArn == taskArn) return session.id;
  }
  return std::nullopt;
}

Status EcsSessionTasks::requestStop(const Resource& resource, StopMode mode) {
  const std::optional<std::string> session = sessionOfTask(resource.id);
  if (!session) return tasks_->requestStop(resource, mode);
  logger().debug("step=session-stop ref=ecs/{} session={}", resource.id, *session);
  const PipelineReport report = sessions_->cleanup(*session);
  if (report.ok) return Status::success();
  return Error::retryable("cleanroom: the cleanup of ECS session " + *session + " did not finish: " + report.summary());
}

}  // namespace cleanroom::aws
