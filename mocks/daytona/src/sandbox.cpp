#include "cleanroom/mocks/daytona/sandbox.h"

#include <array>
#include <utility>

namespace cleanroom::mocks::daytona {
namespace {

constexpr std::array<std::pair<SandboxState, std::string_view>, 11> kNames{{
    {SandboxState::creating, "creating"},
    {SandboxState::started, "started"},
    {SandboxState::starting, "starting"},
    {SandboxState::stopping, "stopping"},
    {SandboxState::stopped, "stopped"},
    {SandboxState::archiving, "archiving"},
    {SandboxState::archived, "archived"},
    {SandboxState::destroying, "destroying"},
    {SandboxState::destroyed, "destroyed"},
    {SandboxState::error, "error"},
    {SandboxState::build_failed, "build_failed"},
}};

}  // namespace

std::string_view toString(SandboxState state) {
  for (const auto& [value, name] : kNames) {
    if (value == state) return name;
  }
  return "unknown";
}

std::optional<SandboxState> sandboxStateFromString(std::string_view name) {
  for (const auto& [value, word] : kNames) {
    if (word == name) return value;
  }
  return std::nullopt;
}

bool isErrored(SandboxState state) { return state == SandboxState::error || state == SandboxState::build_failed; }

bool SandboxFilter::matches(const Sandbox& sandbox) const {
  if (!includeErroredDeleted && (isErrored(sandbox.state) || sandbox.state == SandboxState::destroyed)) return false;
  for (const auto& [key, value] : labels) {
    auto found = sandbox.spec.labels.find(key);
    if (found == sandbox.spec.labels.end() || found->second != value) return false;
  }
  return true;
}

}  // namespace cleanroom::mocks::daytona
