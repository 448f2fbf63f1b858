#include "backend_choice.h"

#include <algorithm>

#include "cleanroom/backend_catalog.h"
#include "cleanroom/backends/workspace_backend.h"

namespace cleanroom::cli {
namespace {

std::string settingsList() {
  std::string list;
  for (const auto& entry : backendCatalog()) {
    if (!list.empty()) list += ", ";
    list += entry.settings + " (" + entry.name + ")";
  }
  return list;
}

// Returns the workspace backend `backend` owned by the selector's run (the
// catalog builds it for this process's run id); any other backend unchanged.
std::shared_ptr<Backend> ownedByRunInScope(std::shared_ptr<Backend> backend, const Selector& selector) {
  auto workspace = std::dynamic_pointer_cast<WorkspaceBackend>(backend);
  if (!workspace || !selector.runId || workspace->runId() == *selector.runId) return backend;
  WorkspaceConfig config = workspace->config();
  config.runId = *selector.runId;
  return std::make_shared<WorkspaceBackend>(std::move(config));
}

}  // namespace

Result<std::vector<std::shared_ptr<Backend>>> chooseBackends(const std::vector<std::string>& names,
                                                             const Selector& selector) {
  auto built = backendsFromEnvironment(names);
  if (!built.ok()) return built.error();
  std::vector<std::shared_ptr<Backend>> chosen;
  for (const auto& backend : built.value()) chosen.push_back(ownedByRunInScope(backend, selector));
  if (!chosen.empty()) return chosen;
  return Error::permanent("no backend is configured: set " + settingsList() +
                          ", e.g. CLEANROOM_AGENTS_URL=http://127.0.0.1:8080");
}

std::string describeBackendSettings() {
  std::size_t width = 0;
  for (const auto& entry : backendCatalog()) width = std::max(width, entry.name.size());
  std::string text;
  for (const auto& entry : backendCatalog()) {
    text += "  " + entry.name + std::string(width - entry.name.size() + 2, ' ') + entry.settings + "\n";
  }
  return text;
}

}  // namespace cleanroom::cli
