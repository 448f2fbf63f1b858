#include "cleanroom/mocks/agents/agent.h"

#include <algorithm>
#include <array>

namespace cleanroom::mocks {
namespace {

constexpr std::array<std::pair<AgentStatus, std::string_view>, 6> kStatusNames{{
    {AgentStatus::pending, "pending"},
    {AgentStatus::running, "running"},
    {AgentStatus::terminating, "terminating"},
    {AgentStatus::completed, "completed"},
    {AgentStatus::failed, "failed"},
    {AgentStatus::terminated, "terminated"},
}};

}  // namespace

std::string_view toString(AgentStatus status) {
  for (const auto& [value, name] : kStatusNames) {
    if (value == status) return name;
  }
  return "unknown";
}

std::optional<AgentStatus> agentStatusFromString(std::string_view name) {
  for (const auto& [value, known] : kStatusNames) {
    if (known == name) return value;
  }
  return std::nullopt;
}

bool isTerminal(AgentStatus status) {
  return status == AgentStatus::completed || status == AgentStatus::failed ||
         status == AgentStatus::terminated;
}

bool AgentFilter::matches(const Agent& agent) const {
  for (const auto& [key, value] : labels) {
    auto found = agent.spec.labels.find(key);
    if (found == agent.spec.labels.end() || found->second != value) return false;
  }
  return statuses.empty() ||
         std::find(statuses.begin(), statuses.end(), agent.status) != statuses.end();
}

}  // namespace cleanroom::mocks
