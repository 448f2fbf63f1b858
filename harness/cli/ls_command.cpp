// `cleanroom ls`: what matching resources exist, and whether any is active.
#include <algorithm>
#include <ostream>

#include "backend_choice.h"
#include "cleanroom/engine.h"
#include "cleanroom/env.h"
#include "commands.h"
#include "exit_code.h"
#include "resource_view.h"

namespace cleanroom::cli {
namespace {

void sortForDisplay(std::vector<Resource>& resources) {
  std::sort(resources.begin(), resources.end(), [](const Resource& a, const Resource& b) {
    if (a.backend != b.backend) return a.backend < b.backend;
    if (a.createdAt != b.createdAt) return a.createdAt < b.createdAt;
    return a.id < b.id;
  });
}

void print(const std::vector<Resource>& resources, const Selector& selector, bool json, WallTime now,
           std::ostream& out) {
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : resources) list.push_back(resourceJson(r, now));
    out << list.dump(2) << '\n';
    return;
  }
  if (resources.empty()) {
    out << "no resources match " << selector.describe() << '\n';
    return;
  }
  out << resourceTable(resources, now);
}

}  // namespace

int runLs(const LsOptions& options, std::ostream& out, std::ostream& err) {
  auto selector = toSelector(options.filter, env::get("CLEANROOM_RUN_ID"));
  if (!selector.ok()) {
    err << "cleanroom ls: " << selector.error().message << '\n';
    return kExitUsage;
  }
  auto backends = chooseBackends(options.filter.backends, selector.value());
  if (!backends.ok()) {
    err << "cleanroom ls: " << backends.error().message << '\n';
    return kExitUsage;
  }
  CleanupEngine engine;
  for (auto& backend : backends.value()) engine.addBackend(backend);

  Inventory inventory = engine.list(selector.value());
  sortForDisplay(inventory.resources);
  print(inventory.resources, selector.value(), options.json, engine.clock().wallNow(), out);
  for (const auto& error : inventory.errors) err << "cleanroom ls: " << error << '\n';

  const bool anyActive = std::any_of(inventory.resources.begin(), inventory.resources.end(),
                                     [](const Resource& r) { return !isFinished(r.state); });
  return anyActive || !inventory.ok() ? kExitLeft : kExitClean;
}

}  // namespace cleanroom::cli
