// Backend catalog: one entry per backend, each knowing how to build itself
// from the environment.
#include "cleanroom/backend_catalog.h"

#include <functional>
#include <optional>
#include <set>

#include "cleanroom/backends/agent_api_backend.h"

namespace cleanroom {
namespace {

// Returns nullopt when the backend's settings are absent, else the backend or
// an error naming the malformed setting.
using FromEnvironment = std::function<std::optional<Result<std::shared_ptr<Backend>>>()>;

struct CatalogItem {
  BackendCatalogEntry entry;
  std::string example;  // a valid setting, shown when it is missing
  FromEnvironment build;
};

std::optional<Result<std::shared_ptr<Backend>>> agentApiFromEnvironment() {
  std::optional<Result<AgentApiConfig>> config = AgentApiConfig::fromEnvironment();
  if (!config) return std::nullopt;
  if (!config->ok()) return Result<std::shared_ptr<Backend>>(config->error());
  try {
    std::shared_ptr<Backend> backend = std::make_shared<AgentApiBackend>(config->value());
    return Result<std::shared_ptr<Backend>>(std::move(backend));
  } catch (const ConfigError& e) {
    return Result<std::shared_ptr<Backend>>(Error::permanent(e.what()));
  }
}

const std::vector<CatalogItem>& catalogItems() {
  static const std::vector<CatalogItem> items{
      {{"http", "CLEANROOM_AGENTS_URL"}, "CLEANROOM_AGENTS_URL=http://127.0.0.1:8080", agentApiFromEnvironment},
  };
  return items;
}

const CatalogItem* findItem(const std::string& name) {
  for (const CatalogItem& item : catalogItems()) {
    if (item.entry.name == name) return &item;
  }
  return nullptr;
}

std::string knownNames() {
  std::string names;
  for (const CatalogItem& item : catalogItems()) names += (names.empty() ? "" : ", ") + item.entry.name;
  return names;
}

Result<std::vector<std::shared_ptr<Backend>>> everyConfigured() {
  std::vector<std::shared_ptr<Backend>> backends;
  for (const CatalogItem& item : catalogItems()) {
    std::optional<Result<std::shared_ptr<Backend>>> backend = item.build();
    if (!backend) continue;
    if (!backend->ok()) return backend->error();
    backends.push_back(backend->value());
  }
  return backends;
}

Result<std::shared_ptr<Backend>> named(const std::string& name) {
  const CatalogItem* item = findItem(name);
  if (item == nullptr) {
    return Error::permanent("unknown backend \"" + name + "\"; known backends: " + knownNames());
  }
  std::optional<Result<std::shared_ptr<Backend>>> backend = item->build();
  if (!backend) {
    return Error::permanent("backend \"" + name + "\" is not configured: set " + item->entry.settings + " (e.g. " +
                            item->example + ")");
  }
  return *backend;
}

}  // namespace

const std::vector<BackendCatalogEntry>& backendCatalog() {
  static const std::vector<BackendCatalogEntry> entries = [] {
    std::vector<BackendCatalogEntry> out;
    for (const CatalogItem& item : catalogItems()) out.push_back(item.entry);
    return out;
  }();
  return entries;
}

Result<std::vector<std::shared_ptr<Backend>>> backendsFromEnvironment(const std::vector<std::string>& names) {
  if (names.empty()) return everyConfigured();
  std::vector<std::shared_ptr<Backend>> backends;
  std::set<std::string> seen;
  for (const std::string& name : names) {
    if (!seen.insert(name).second) continue;
    Result<std::shared_ptr<Backend>> backend = named(name);
    if (!backend) return backend.error();
    backends.push_back(backend.value());
  }
  return backends;
}

}  // namespace cleanroom
