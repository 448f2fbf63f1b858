// The tmux backend's part of the per-agent teardown record (agent_teardown.h).
#include "cleanroom/backends/tmux_backend.h"

namespace cleanroom {

void TmuxBackend::labelAgent(Resource& r) const {
  r.labels.erase(kAgentLabel);
  if (r.runId.empty()) return;
  const std::string prefix = sessionName(r.runId, "");
  if (r.id.size() <= prefix.size() || r.id.rfind(prefix, 0) != 0) return;
  r.labels[kAgentLabel] = r.id.substr(prefix.size());
}

void TmuxBackend::describeTeardown(const Resource& resource, AgentTeardown& record) {
  std::vector<ProcessInfo> recorded;
  {
    std::lock_guard lock(mutex_);
    if (auto it = records_.find(resource.id); it != records_.end()) recorded = it->second.processes;
  }
  for (const ProcessInfo& before : recorded) {
    Result<ProcessInfo> now = readProcess(before.id.pid);
    if (!now || now->id != before.id) continue;
    if (now->isZombie()) {
      record.noZombies = false;
      record.zombies.push_back(describe(before) + " (zombie, parent " + std::to_string(now->ppid) + ")");
      continue;
    }
    record.sessionKilled = false;
    record.survivors.push_back(describe(*now));
  }
}

}  // namespace cleanroom
