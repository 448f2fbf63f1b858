// Backend catalog: one entry per backend, each knowing how to build itself
// from the environment.
#include "cleanroom/backend_catalog.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>

#include "cleanroom/backends/agent_api_backend.h"
#include "cleanroom/backends/daytona_backend.h"
#include "cleanroom/backends/docker_backend.h"
#include "cleanroom/backends/alb_backend.h"
#include "cleanroom/backends/ecs_backend.h"
#include "cleanroom/backends/s3_backend.h"
#include "cleanroom/backends/process_backend.h"
#include "cleanroom/backends/tmux_backend.h"
#include "cleanroom/backends/workspace_backend.h"
#include "cleanroom/env.h"

namespace cleanroom {
namespace {

// Returns nullopt when the backend's settings are absent, else the backend or
// an error naming the malformed setting.
// `owner` is the run id that backends without owner labels (workspace,
// process) are built for; empty = this process's run id.
using FromEnvironment = std::function<std::optional<Result<std::shared_ptr<Backend>>>(const std::string& owner)>;

using Locator = std::map<std::string, std::string>;
// Builds the backend a journal locator describes, owned by a run id.
using FromLocator = std::function<Result<std::shared_ptr<Backend>>(const Locator&, const std::string&)>;

struct CatalogItem {
  BackendCatalogEntry entry;
  std::string example;  // a valid setting, shown when it is missing
  FromEnvironment build;
  // Part of the automatic set when its settings are present. A backend that
  // needs no settings (process) is used only when named.
  bool automatic = true;
  FromLocator fromLocator = nullptr;
  // How it is built when named (--backend NAME) although its settings are
  // absent, e.g. Docker's default socket; nullptr = `build`.
  FromEnvironment buildWhenNamed = nullptr;
};

using BuiltBackend = std::optional<Result<std::shared_ptr<Backend>>>;

// Builds backend T from a config Result; a constructor's ConfigError becomes
// a Permanent error.
template <class T, class Config>
Result<std::shared_ptr<Backend>> buildFrom(Result<Config> config) {
  if (!config.ok()) return config.error();
  try {
    return std::shared_ptr<Backend>(std::make_shared<T>(std::move(config).value()));
  } catch (const ConfigError& e) {
    return Error::permanent(e.what());
  }
}

Result<std::shared_ptr<Backend>> agentApiFromLocator(const Locator& locator, const std::string&) {
  return buildFrom<AgentApiBackend>(AgentApiConfig::fromLocator(locator));
}

Result<std::shared_ptr<Backend>> processFromLocator(const Locator&, const std::string& runId) {
  ProcessBackendConfig config;
  config.runId = runId;
  return buildFrom<ProcessBackend>(Result<ProcessBackendConfig>(config));
}

Result<std::shared_ptr<Backend>> tmuxFromLocator(const Locator& locator, const std::string&) {
  TmuxConfig config;
  if (auto it = locator.find("binary"); it != locator.end() && !it->second.empty()) config.binary = it->second;
  if (auto it = locator.find("socketPath"); it != locator.end()) config.socketPath = it->second;
  if (auto it = locator.find("socketName"); it != locator.end()) config.socketName = it->second;
  if (auto it = locator.find("sessionPrefix"); it != locator.end() && !it->second.empty()) {
    config.sessionPrefix = it->second;
  }
  return buildFrom<TmuxBackend>(Result<TmuxConfig>(config));
}

Result<std::shared_ptr<Backend>> workspaceFromLocator(const Locator& locator, const std::string& runId) {
  return buildFrom<WorkspaceBackend>(WorkspaceConfig::fromLocator(locator, runId));
}

// Builds backend T from `config` (a Result of its config, or nullopt when its
// settings are absent); a constructor's ConfigError becomes a Permanent error.
template <class T, class Config>
BuiltBackend build(std::optional<Result<Config>> config) {
  if (!config) return std::nullopt;
  if (!config->ok()) return Result<std::shared_ptr<Backend>>(config->error());
  try {
    std::shared_ptr<Backend> backend = std::make_shared<T>(std::move(*config).value());
    return Result<std::shared_ptr<Backend>>(std::move(backend));
  } catch (const ConfigError& e) {
    return Result<std::shared_ptr<Backend>>(Error::permanent(e.what()));
  }
}

BuiltBackend agentApiFromEnvironment(const std::string&) { return build<AgentApiBackend>(AgentApiConfig::fromEnvironment()); }

// Processes this run launched through cleanroom, found by their launch
// marker; needs no settings.
BuiltBackend processFromEnvironment(const std::string& owner) {
  ProcessBackendConfig config;
  config.runId = owner;
  return build<ProcessBackend>(std::optional<Result<ProcessBackendConfig>>(config));
}

// Agent files in the workspace CLEANROOM_WORKSPACE names.
std::optional<Result<WorkspaceConfig>> workspaceConfigFromEnvironment(const std::string& owner) {
  std::optional<std::string> root = env::get("CLEANROOM_WORKSPACE");
  if (!root) return std::nullopt;
  if (!std::filesystem::is_directory(*root)) {
    return Result<WorkspaceConfig>(Error::permanent(
        "CLEANROOM_WORKSPACE=" + *root + " is not a directory: set it to the task workspace agents write into"));
  }
  WorkspaceConfig config;
  config.root = *root;
  config.runId = owner;
  return Result<WorkspaceConfig>(std::move(config));
}

BuiltBackend workspaceFromEnvironment(const std::string& owner) {
  return build<WorkspaceBackend>(workspaceConfigFromEnvironment(owner));
}

// Sessions on the tmux server CLEANROOM_TMUX_SOCKET selects, through the
// client CLEANROOM_TMUX names.
BuiltBackend tmuxFromEnvironment(const std::string&) { return build<TmuxBackend>(TmuxConfig::fromEnvironment()); }

// Containers of the daemon DOCKER_HOST names: automatic only when it is set
// (a developer's own daemon is never swept unasked); named, the default
// socket unix:///var/run/docker.sock.
BuiltBackend dockerFromEnvironment(const std::string& owner);
BuiltBackend dockerWhenNamed(const std::string&) {
  return build<DockerBackend>(std::optional<Result<DockerBackendOptions>>(DockerBackendOptions::fromEnvironment()));
}
BuiltBackend dockerFromEnvironment(const std::string& owner) {
  if (!env::get("DOCKER_HOST")) return std::nullopt;
  return dockerWhenNamed(owner);
}
Result<std::shared_ptr<Backend>> dockerFromLocator(const Locator& locator, const std::string&) {
  return buildFrom<DockerBackend>(DockerBackendOptions::fromLocator(locator));
}

// Sandboxes of the Daytona API DAYTONA_API_URL names (key: DAYTONA_API_KEY,
// which a journal never holds: the reaper reads it from its environment).
BuiltBackend daytonaFromEnvironment(const std::string&) { return build<DaytonaBackend>(DaytonaConfig::fromEnvironment()); }
Result<std::shared_ptr<Backend>> daytonaFromLocator(const Locator& locator, const std::string&) {
  return buildFrom<DaytonaBackend>(DaytonaConfig::fromLocator(locator));
}

// ECS tasks of the clusters CLEANROOM_ECS_CLUSTER names (default "default"):
// automatic only when CLEANROOM_ECS_CLUSTER or AWS_ENDPOINT_URL_ECS is set
// (AWS credentials or AWS_ENDPOINT_URL alone may be there for S3, or for
// someone's real account); credentials come from the environment, never
// from a journal.
BuiltBackend ecsWhenNamed(const std::string&) {
  return build<EcsBackend>(std::optional<Result<EcsBackendOptions>>(EcsBackendOptions::fromEnvironment()));
}
BuiltBackend ecsFromEnvironment(const std::string& owner) {
  if (!env::get(kEcsClusterVariable) && !env::get("AWS_ENDPOINT_URL_ECS")) return std::nullopt;
  return ecsWhenNamed(owner);
}
Result<std::shared_ptr<Backend>> ecsFromLocator(const Locator& locator, const std::string&) {
  return buildFrom<EcsBackend>(EcsBackendOptions::fromLocator(locator));
}

// ALB targets of the target groups CLEANROOM_ALB_TARGET_GROUPS names, owned
// through the ECS task behind each target's IP (clusters from
// CLEANROOM_ECS_CLUSTER): automatic only when that variable is set.
BuiltBackend albWhenNamed(const std::string&) {
  return build<AlbBackend>(std::optional<Result<AlbBackendOptions>>(AlbBackendOptions::fromEnvironment()));
}
BuiltBackend albFromEnvironment(const std::string& owner) {
  if (!env::get("CLEANROOM_ALB_TARGET_GROUPS")) return std::nullopt;
  return albWhenNamed(owner);
}
Result<std::shared_ptr<Backend>> albFromLocator(const Locator& locator, const std::string&) {
  return buildFrom<AlbBackend>(AlbBackendOptions::fromLocator(locator));
}

// Log uploads of a run in the bucket CLEANROOM_LOG_BUCKET names (listed as
// finished: a record, never deleted): automatic only when it is set.
BuiltBackend s3WhenNamed(const std::string&) {
  return build<S3Backend>(std::optional<Result<S3BackendOptions>>(S3BackendOptions::fromEnvironment()));
}
BuiltBackend s3FromEnvironment(const std::string& owner) {
  if (!env::get("CLEANROOM_LOG_BUCKET")) return std::nullopt;
  return s3WhenNamed(owner);
}
Result<std::shared_ptr<Backend>> s3FromLocator(const Locator& locator, const std::string&) {
  return buildFrom<S3Backend>(S3BackendOptions::fromLocator(locator));
}

const std::vector<CatalogItem>& catalogItems() {
  static const std::vector<CatalogItem> items{
      {{"http", "CLEANROOM_AGENTS_URL"}, "CLEANROOM_AGENTS_URL=http://127.0.0.1:8080", agentApiFromEnvironment, true,
       agentApiFromLocator},
      {{"process", "nothing (use --backend process)"}, "--backend process", processFromEnvironment, false,
       processFromLocator},
      {{"tmux", "CLEANROOM_TMUX_SOCKET or CLEANROOM_TMUX"}, "CLEANROOM_TMUX_SOCKET=/tmp/cleanroom-tmux/sock",
       tmuxFromEnvironment, true, tmuxFromLocator},
      {{"workspace", "CLEANROOM_WORKSPACE"}, "CLEANROOM_WORKSPACE=/path/to/task/workspace", workspaceFromEnvironment,
       true, workspaceFromLocator},
      {{"docker", "DOCKER_HOST"}, "DOCKER_HOST=unix:///var/run/docker.sock", dockerFromEnvironment, true,
       dockerFromLocator, dockerWhenNamed},
      {{"daytona", "DAYTONA_API_URL and DAYTONA_API_KEY"}, "DAYTONA_API_URL=http://127.0.0.1:3000/api",
       daytonaFromEnvironment, true, daytonaFromLocator},
      {{"ecs", "CLEANROOM_ECS_CLUSTER or AWS_ENDPOINT_URL_ECS (with AWS_REGION, AWS_ACCESS_KEY_ID, "
               "AWS_SECRET_ACCESS_KEY)"},
       "CLEANROOM_ECS_CLUSTER=default", ecsFromEnvironment, true, ecsFromLocator, ecsWhenNamed},
      {{"alb", "CLEANROOM_ALB_TARGET_GROUPS (with CLEANROOM_ECS_CLUSTER and the AWS settings)"},
       "CLEANROOM_ALB_TARGET_GROUPS=arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID",
       albFromEnvironment, true, albFromLocator, albWhenNamed},
      {{"s3", "CLEANROOM_LOG_BUCKET (with CLEANROOM_LOG_PREFIX and the AWS settings)"},
       "CLEANROOM_LOG_BUCKET=my-session-logs", s3FromEnvironment, true, s3FromLocator, s3WhenNamed},
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

Result<std::vector<std::shared_ptr<Backend>>> everyConfigured(const std::string& owner) {
  std::vector<std::shared_ptr<Backend>> backends;
  for (const CatalogItem& item : catalogItems()) {
    if (!item.automatic) continue;
    std::optional<Result<std::shared_ptr<Backend>>> backend = item.build(owner);
    if (!backend) continue;
    if (!backend->ok()) return backend->error();
    backends.push_back(backend->value());
  }
  return backends;
}

Result<std::shared_ptr<Backend>> named(const std::string& name, const std::string& owner) {
  const CatalogItem* item = findItem(name);
  if (item == nullptr) {
    return Error::permanent("unknown backend \"" + name + "\"; known backends: " + knownNames());
  }
  std::optional<Result<std::shared_ptr<Backend>>> backend =
      item->buildWhenNamed ? item->buildWhenNamed(owner) : item->build(owner);
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

Result<std::vector<std::shared_ptr<Backend>>> backendsFromEnvironment(const std::vector<std::string>& names,
                                                                      const std::string& owner) {
  if (names.empty()) return everyConfigured(owner);
  std::vector<std::shared_ptr<Backend>> backends;
  std::set<std::string> seen;
  for (const std::string& name : names) {
    if (!seen.insert(name).second) continue;
    Result<std::shared_ptr<Backend>> backend = named(name, owner);
    if (!backend) return backend.error();
    backends.push_back(backend.value());
  }
  return backends;
}

Result<std::shared_ptr<Backend>> backendFromLocator(const std::string& name, const Locator& locator,
                                                    const std::string& runId) {
  const CatalogItem* item = findItem(name);
  if (item == nullptr || !item->fromLocator) {
    return Error::permanent("the journal names an unknown backend \"" + name + "\"; known backends: " + knownNames());
  }
  return item->fromLocator(locator, runId);
}

std::vector<std::shared_ptr<Backend>> withJournalBackends(std::vector<std::shared_ptr<Backend>> backends,
                                                          const JournalContents& journal,
                                                          std::vector<std::string>& errors) {
  for (const auto& [name, locators] : journal.backends()) {
    for (const Locator& locator : locators) {
      const bool known = std::any_of(backends.begin(), backends.end(), [&](const std::shared_ptr<Backend>& b) {
        return b->name() == name && (b->locator() == locator || locator.empty());
      });
      if (known) continue;
      Result<std::shared_ptr<Backend>> built = backendFromLocator(name, locator, journal.runId);
      if (!built) {
        errors.push_back(name + " (from the journal " + journal.path.string() + "): " + built.error().message);
        continue;
      }
      backends.push_back(built.value());
    }
  }
  return backends;
}

}  // namespace cleanroom
