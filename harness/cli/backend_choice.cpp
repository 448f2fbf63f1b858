#include "backend_choice.h"

#include <algorithm>

#include "cleanroom/backend_catalog.h"

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

}  // namespace

Result<std::vector<std::shared_ptr<Backend>>> chooseBackends(const std::vector<std::string>& names,
                                                             const Selector& selector) {
  // Workspaces and processes carry no owner label: they belong to the run in scope.
  auto chosen = backendsFromEnvironment(names, selector.runId.value_or(""));
  if (!chosen.ok()) return chosen.error();
  if (!chosen->empty()) return chosen;
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
