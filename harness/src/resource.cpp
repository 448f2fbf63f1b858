#include "cleanroom/resource.h"

#include "cleanroom/backend.h"

namespace cleanroom {

const char* toString(ResourceState state) {
  switch (state) {
    case ResourceState::Pending: return "pending";
    case ResourceState::Running: return "running";
    case ResourceState::Stopping: return "stopping";
    case ResourceState::Terminal: return "terminal";
    case ResourceState::Gone: return "gone";
    case ResourceState::Unknown: return "unknown";
    case ResourceState::Stopped: return "stopped";
  }
  return "unknown";
}

std::optional<ResourceState> parseResourceState(const std::string& word) {
  for (auto s : {ResourceState::Pending, ResourceState::Running, ResourceState::Stopping,
                 ResourceState::Terminal, ResourceState::Gone, ResourceState::Unknown, ResourceState::Stopped}) {
    if (word == toString(s)) return s;
  }
  return std::nullopt;
}

const char* toString(StopMode mode) {
  return mode == StopMode::Graceful ? "graceful" : "force";
}

const char* toString(CleanupStage stage) {
  return stage == CleanupStage::Agents ? "agents" : "files";
}

}  // namespace cleanroom
