// WorkspaceBackend: an agent's prompt file and JSONL logs in a task
// workspace. Logs are archived (never overwriting, never deleted before the
// archived copy is complete), then the prompt file is deleted.
#include "cleanroom/backends/workspace_backend.h"

#include <unistd.h>

#include <atomic>
#include <set>

#include <spdlog/spdlog.h>

#include "cleanroom/run.h"
#include "cleanroom/trace.h"

namespace cleanroom {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPlaceholders[] = {"{agent_id}", "{id}"};
// Archive names tried for one log: x.jsonl, x.jsonl.1, … x.jsonl.<this>.
constexpr int kMaxArchiveSuffix = 9999;
constexpr const char* kKeptHint =
    "the original is kept; free disk space or fix permissions, then run the cleanup again";

struct Placeholder {
  size_t at = std::string::npos;
  size_t length = 0;
  int count = 0;
};

Placeholder findPlaceholder(const std::string& pattern) {
  Placeholder found;
  for (const std::string token : kPlaceholders) {
    for (size_t at = pattern.find(token); at != std::string::npos; at = pattern.find(token, at + token.size())) {
      ++found.count;
      found.at = at;
      found.length = token.size();
    }
  }
  return found;
}

Status checkRelative(const std::string& path, const std::string& what) {
  if (path.empty()) return Error::permanent(what + " is empty; give a path relative to the workspace");
  fs::path p(path);
  if (p.is_absolute()) {
    return Error::permanent(what + " \"" + path + "\" is absolute; give a path relative to the workspace");
  }
  for (const fs::path& part : p) {
    if (part == "..") {
      return Error::permanent(what + " \"" + path + "\" leaves the workspace (\"..\"); keep it inside the workspace");
    }
  }
  return Status::success();
}

Status checkPattern(const std::string& pattern, const std::string& what) {
  if (Status relative = checkRelative(pattern, what); !relative) return relative;
  Placeholder placeholder = findPlaceholder(pattern);
  if (placeholder.count != 1) {
    return Error::permanent(what + " \"" + pattern + "\" must hold {agent_id} or {id} exactly once, e.g. " +
                            "\"logs/{id}_stream.jsonl\"");
  }
  size_t lastSlash = pattern.rfind('/');
  if (lastSlash != std::string::npos && lastSlash > placeholder.at) {
    return Error::permanent(what + " \"" + pattern + "\" has the agent id in a directory; put it in the file name, " +
                            "e.g. \"logs/{id}_stream.jsonl\"");
  }
  return Status::success();
}

bool isMissing(const std::error_code& ec) {
  return ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory;
}

std::string joined(const std::vector<std::string>& items, const std::string& separator) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

std::string quoted(const fs::path& path) { return "\"" + path.string() + "\""; }

void traceFile(const std::string& step, const std::string& agentId, const std::string& file, const std::string& to,
               const std::string& result) {
  if (to.empty()) {
    logger().debug("step={} ref=workspace/{} file={} result={}", step, agentId, file, result);
    return;
  }
  logger().debug("step={} ref=workspace/{} file={} to={} result={}", step, agentId, file, to, result);
}

// What archiving one log did.
struct ArchiveOutcome {
  std::string archivedName;  // name in the archive directory; empty when no copy was placed there
  bool sourceMissing = false;
  bool copied = false;       // moved by copy (across filesystems) rather than rename
  std::string error;         // empty on success
};

struct PlacedName {
  std::error_code error;
  std::string name;
};

// Renames `from` into `archiveDir` under `base` or, when taken, the first
// free `base.N`. Never replaces an existing file.
PlacedName renameToFreeName(WorkspaceFiles& files, const fs::path& from, const fs::path& archiveDir,
                            const std::string& base) {
  for (int n = 0; n <= kMaxArchiveSuffix; ++n) {
    std::string name = n == 0 ? base : base + "." + std::to_string(n);
    std::error_code ec = files.renameNoReplace(from, archiveDir / name);
    if (ec != std::errc::file_exists) return {ec, name};
  }
  return {std::make_error_code(std::errc::file_exists), base + ".<1.." + std::to_string(kMaxArchiveSuffix) + ">"};
}

fs::path temporaryName(const fs::path& archiveDir, const std::string& base) {
  static std::atomic<unsigned long> counter{0};
  return archiveDir / ("." + base + ".partial-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
}

// Returns "" when `copy` has `source`'s size, else what is wrong.
std::string compareSizes(WorkspaceFiles& files, const fs::path& source, const fs::path& copy) {
  std::uintmax_t sourceSize = 0, copySize = 0;
  std::error_code ec = files.fileSize(source, sourceSize);
  if (!ec) ec = files.fileSize(copy, copySize);
  if (ec) return quoted(source) + ": could not compare its size with the copy " + quoted(copy) + ": " + ec.message();
  if (sourceSize == copySize) return "";
  return quoted(source) + ": the copy " + quoted(copy) + " has " + std::to_string(copySize) +
         " bytes but the original has " + std::to_string(sourceSize) + " (is the agent still writing? stop it first)";
}

// Across filesystems: copy to a temporary file in the archive directory
// (fsynced), check the size, rename into place without replacing, check
// again, then delete the original. Any failure before the last step keeps
// the original.
ArchiveOutcome copyAcrossFilesystems(WorkspaceFiles& files, const fs::path& source, const fs::path& archiveDir,
                                     const std::string& base) {
  ArchiveOutcome outcome;
  outcome.copied = true;
  fs::path temporary = temporaryName(archiveDir, base);
  if (std::error_code ec = files.copyAndSync(source, temporary)) {
    (void)files.remove(temporary);
    outcome.error = quoted(source) + ": could not copy it to " + quoted(temporary) + " (across filesystems): " +
                    ec.message() + "; the partial copy was removed and " + kKeptHint;
    return outcome;
  }
  if (std::string problem = compareSizes(files, source, temporary); !problem.empty()) {
    (void)files.remove(temporary);
    outcome.error = problem + "; the copy was removed and the original is kept, run the cleanup again";
    return outcome;
  }
  PlacedName placed = renameToFreeName(files, temporary, archiveDir, base);
  if (placed.error) {
    (void)files.remove(temporary);
    outcome.error = quoted(source) + ": could not rename its copy " + quoted(temporary) + " to " +
                    quoted(archiveDir / placed.name) + ": " + placed.error.message() + "; " + kKeptHint;
    return outcome;
  }
  outcome.archivedName = placed.name;
  fs::path archived = archiveDir / placed.name;
  if (std::string problem = compareSizes(files, source, archived); !problem.empty()) {
    outcome.error = problem + "; both copies are kept, check the archived one and run the cleanup again";
    return outcome;
  }
  if (std::error_code ec = files.remove(source); ec && !isMissing(ec)) {
    outcome.error = quoted(source) + ": archived to " + quoted(archived) + " but the original could not be deleted: " +
                    ec.message() + "; both copies exist, delete the original by hand";
  }
  return outcome;
}

// Moves `source` into `archiveDir`: one no-replace rename on the same
// filesystem, a verified copy across filesystems.
ArchiveOutcome archiveFile(WorkspaceFiles& files, const fs::path& source, const fs::path& archiveDir) {
  ArchiveOutcome outcome;
  if (std::error_code ec = files.createDirectories(archiveDir)) {
    outcome.error = quoted(source) + ": could not create the archive directory " + quoted(archiveDir) + ": " +
                    ec.message() + "; " + kKeptHint;
    return outcome;
  }
  std::string base = source.filename().string();
  PlacedName placed = renameToFreeName(files, source, archiveDir, base);
  if (!placed.error) {
    outcome.archivedName = placed.name;
    return outcome;
  }
  std::uintmax_t size = 0;
  if (isMissing(placed.error) && isMissing(files.fileSize(source, size))) {
    outcome.sourceMissing = true;  // vanished between the check and the rename
    return outcome;
  }
  if (placed.error == std::errc::cross_device_link) return copyAcrossFilesystems(files, source, archiveDir, base);
  outcome.error = quoted(source) + ": could not move it to " + quoted(archiveDir / placed.name) + ": " +
                  placed.error.message() + "; " + kKeptHint;
  return outcome;
}

}  // namespace

Status WorkspaceLayout::validate() const {
  if (Status archive = checkRelative(archiveDir, "workspace archiveDir"); !archive) return archive;
  if (Status prompt = checkPattern(promptPattern, "workspace promptPattern"); !prompt) return prompt;
  fs::path archive = fs::path(archiveDir).lexically_normal();
  for (const std::string& pattern : logPatterns) {
    if (Status log = checkPattern(pattern, "workspace log pattern"); !log) return log;
    if (fs::path(pattern).parent_path().lexically_normal() == archive) {
      return Error::permanent("workspace log pattern \"" + pattern + "\" lies in the archive directory \"" +
                              archiveDir + "\"; choose another archiveDir or log directory");
    }
  }
  return Status::success();
}

std::string WorkspaceLayout::expand(const std::string& pattern, const std::string& agentId) {
  Placeholder placeholder = findPlaceholder(pattern);
  if (placeholder.count == 0) return pattern;
  return std::string(pattern).replace(placeholder.at, placeholder.length, agentId);
}

std::optional<std::string> WorkspaceLayout::agentIdOf(const std::string& pattern, const std::string& relativePath) {
  Placeholder placeholder = findPlaceholder(pattern);
  if (placeholder.count != 1) return std::nullopt;
  std::string prefix = pattern.substr(0, placeholder.at);
  std::string suffix = pattern.substr(placeholder.at + placeholder.length);
  if (relativePath.size() <= prefix.size() + suffix.size()) return std::nullopt;
  if (relativePath.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  if (relativePath.compare(relativePath.size() - suffix.size(), suffix.size(), suffix) != 0) return std::nullopt;
  std::string id = relativePath.substr(prefix.size(), relativePath.size() - prefix.size() - suffix.size());
  if (!validateAgentId(id)) return std::nullopt;
  return id;
}

Status validateAgentId(const std::string& agentId) {
  bool unsafe = agentId.empty() || agentId == "." || agentId == ".." ||
                agentId.find('/') != std::string::npos || agentId.find('\0') != std::string::npos;
  if (!unsafe) return Status::success();
  return Error::permanent("agent id \"" + agentId + "\" cannot name a workspace file (empty, \".\", \"..\", or " +
                          "holding '/'); pass the id the agent's files are named with");
}

std::string WorkspaceCleanup::describeErrors() const { return joined(errors, "; "); }

WorkspaceBackend::WorkspaceBackend(WorkspaceConfig config)
    : config_(std::move(config)), files_(config_.files ? config_.files : &WorkspaceFiles::real()) {
  if (config_.root.empty()) throw ConfigError("workspace root is empty; set WorkspaceConfig::root to the task workspace");
  if (Status layout = config_.layout.validate(); !layout) throw ConfigError(layout.error().message);
  runId_ = config_.runId.empty() ? run::id() : config_.runId;
}

Status WorkspaceBackend::checkRoot() {
  if (files_->isDirectory(config_.root)) return Status::success();
  return Error::permanent("workspace " + quoted(config_.root) +
                          " does not exist or is not a directory; create it, or pass the directory the agents " +
                          "write their prompt and logs to (WorkspaceConfig::root)");
}

Result<std::vector<std::string>> WorkspaceBackend::leftoverFiles(const std::string& agentId) {
  if (Status root = checkRoot(); !root) return root.error();
  if (Status id = validateAgentId(agentId); !id) return id.error();
  std::vector<std::string> patterns{config_.layout.promptPattern};
  patterns.insert(patterns.end(), config_.layout.logPatterns.begin(), config_.layout.logPatterns.end());
  std::vector<std::string> leftovers;
  for (const std::string& pattern : patterns) {
    std::string relative = WorkspaceLayout::expand(pattern, agentId);
    std::uintmax_t size = 0;
    // Anything but "missing" counts as present: a file we cannot stat may still be there.
    if (!isMissing(files_->fileSize(config_.root / relative, size))) leftovers.push_back(relative);
  }
  return leftovers;
}

Result<std::vector<std::string>> WorkspaceBackend::agentIdsOnDisk() {
  std::vector<std::string> patterns{config_.layout.promptPattern};
  patterns.insert(patterns.end(), config_.layout.logPatterns.begin(), config_.layout.logPatterns.end());
  std::set<std::string> ids;
  for (const std::string& pattern : patterns) {
    fs::path directory = fs::path(pattern).parent_path();
    std::vector<std::string> names;
    std::error_code ec = files_->listFiles(config_.root / directory, names);
    if (isMissing(ec)) continue;
    if (ec) {
      return Error::permanent("could not read " + quoted(config_.root / directory) + ": " + ec.message() +
                              "; fix its permissions");
    }
    std::string filePattern = fs::path(pattern).filename().string();
    for (const std::string& name : names) {
      if (std::optional<std::string> id = WorkspaceLayout::agentIdOf(filePattern, name)) ids.insert(*id);
    }
  }
  return std::vector<std::string>(ids.begin(), ids.end());
}

Result<std::vector<Resource>> WorkspaceBackend::list(const Selector& selector) {
  if (Status root = checkRoot(); !root) return root.error();
  if (selector.runId && *selector.runId != runId_) return std::vector<Resource>{};
  Result<std::vector<std::string>> ids = agentIdsOnDisk();
  if (!ids) return ids.error();
  std::vector<Resource> resources;
  for (const std::string& id : *ids) {
    Result<std::vector<std::string>> leftovers = leftoverFiles(id);
    if (!leftovers) return leftovers.error();
    if (leftovers->empty()) continue;  // cleaned between the directory read and now
    Resource resource;
    resource.backend = name();
    resource.id = id;
    resource.name = leftovers->front();
    resource.runId = runId_;
    resource.labels[kRunLabel] = runId_;
    resource.labels[kAgentLabel] = id;
    resource.state = ResourceState::Running;
    resource.status = "leftover files: " + joined(*leftovers, " ");
    resources.push_back(std::move(resource));
  }
  return resources;
}

Status WorkspaceBackend::requestStop(const Resource& resource, StopMode mode) {
  (void)mode;  // files have no graceful stop: both modes archive and delete
  WorkspaceCleanup cleanup = cleanAgentFiles(resource.id);
  {
    std::lock_guard lock(doneMutex_);
    WorkspaceCleanup& done = done_[resource.id];
    done.archivedFiles.insert(done.archivedFiles.end(), cleanup.archivedFiles.begin(), cleanup.archivedFiles.end());
    done.deletedFiles.insert(done.deletedFiles.end(), cleanup.deletedFiles.begin(), cleanup.deletedFiles.end());
  }
  if (cleanup.success()) return Status::success();
  return Error::permanent("workspace cleanup of agent " + resource.id + " in " + quoted(config_.root) + ": " +
                          cleanup.describeErrors());
}

Result<ResourceStatus> WorkspaceBackend::probe(const Resource& resource) {
  Result<std::vector<std::string>> leftovers = leftoverFiles(resource.id);
  if (!leftovers) return leftovers.error();
  if (leftovers->empty()) return ResourceStatus{ResourceState::Gone, "no files"};
  return ResourceStatus{ResourceState::Running, "leftover files: " + joined(*leftovers, " ")};
}

std::map<std::string, std::string> WorkspaceBackend::locator() const {
  std::string logs;
  for (const std::string& pattern : config_.layout.logPatterns) logs += (logs.empty() ? "" : "|") + pattern;
  return {{"root", config_.root.string()},
          {"keepLogs", config_.keepLogs ? "true" : "false"},
          {"promptPattern", config_.layout.promptPattern},
          {"logPatterns", logs},
          {"archiveDir", config_.layout.archiveDir}};
}

Result<WorkspaceConfig> WorkspaceConfig::fromLocator(const std::map<std::string, std::string>& locator,
                                                     const std::string& runId) {
  auto root = locator.find("root");
  if (root == locator.end() || root->second.empty()) {
    return Error::permanent("the workspace backend's journal locator has no \"root\"");
  }
  WorkspaceConfig config;
  config.root = root->second;
  config.runId = runId;
  if (auto it = locator.find("keepLogs"); it != locator.end()) config.keepLogs = it->second != "false";
  if (auto it = locator.find("promptPattern"); it != locator.end()) config.layout.promptPattern = it->second;
  if (auto it = locator.find("archiveDir"); it != locator.end()) config.layout.archiveDir = it->second;
  if (auto it = locator.find("logPatterns"); it != locator.end()) {
    config.layout.logPatterns.clear();
    std::size_t start = 0;
    while (start <= it->second.size()) {
      const std::size_t bar = it->second.find('|', start);
      const std::string pattern = it->second.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
      if (!pattern.empty()) config.layout.logPatterns.push_back(pattern);
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
  }
  if (Status valid = config.layout.validate(); !valid) return valid.error();
  return config;
}

void WorkspaceBackend::describeTeardown(const Resource& resource, AgentTeardown& record) {
  WorkspaceCleanup done;
  {
    std::lock_guard lock(doneMutex_);
    if (auto it = done_.find(resource.id); it != done_.end()) {
      done = std::move(it->second);
      done_.erase(it);
    }
  }
  record.archivedFiles.insert(record.archivedFiles.end(), done.archivedFiles.begin(), done.archivedFiles.end());
  record.deletedFiles.insert(record.deletedFiles.end(), done.deletedFiles.begin(), done.deletedFiles.end());
  Result<std::vector<std::string>> leftovers = leftoverFiles(resource.id);
  if (!leftovers) {
    record.promptDeleted = false;
    record.logsArchived = false;
    record.errors.push_back("workspace: " + leftovers.error().message);
    return;
  }
  const std::string prompt = WorkspaceLayout::expand(config_.layout.promptPattern, resource.id);
  for (const std::string& file : *leftovers) {
    if (file == prompt) record.promptDeleted = false;
    else record.logsArchived = false;
  }
}

Status WorkspaceBackend::checkAgent(const std::string& agentId) {
  if (Status root = checkRoot(); !root) return root;
  return validateAgentId(agentId);
}

WorkspaceCleanup WorkspaceBackend::cleanAgentFiles(const std::string& agentId) {
  WorkspaceCleanup cleanup;
  cleanup.agentId = agentId;
  if (Status agent = checkAgent(agentId); !agent) {
    cleanup.errors.push_back(agent.error().message);
    return cleanup;
  }
  archiveLogs(agentId, cleanup);
  deletePrompt(agentId, cleanup);
  logger().debug("step=workspace-cleanup ref=workspace/{} prompt_deleted={} logs_archived={} archived={} errors={}",
                 agentId, cleanup.promptDeleted, cleanup.logsArchived, cleanup.archivedFiles.size(),
                 cleanup.errors.size());
  return cleanup;
}

void WorkspaceBackend::archiveLogs(const std::string& agentId, WorkspaceCleanup& into) {
  if (into.agentId.empty()) into.agentId = agentId;
  into.logsArchived = false;
  if (Status agent = checkAgent(agentId); !agent) {
    into.errors.push_back(agent.error().message);
    return;
  }
  bool allDone = true;
  for (const std::string& pattern : config_.layout.logPatterns) {
    std::string relative = WorkspaceLayout::expand(pattern, agentId);
    if (!archiveOne(agentId, relative, into)) allDone = false;
  }
  into.logsArchived = allDone;
}

void WorkspaceBackend::deletePrompt(const std::string& agentId, WorkspaceCleanup& into) {
  if (into.agentId.empty()) into.agentId = agentId;
  into.promptDeleted = false;
  if (Status agent = checkAgent(agentId); !agent) {
    into.errors.push_back(agent.error().message);
    return;
  }
  std::string relative = WorkspaceLayout::expand(config_.layout.promptPattern, agentId);
  into.promptDeleted = deleteOne(agentId, relative, "delete", into);
}

bool WorkspaceBackend::archiveOne(const std::string& agentId, const std::string& relative, WorkspaceCleanup& into) {
  fs::path source = config_.root / relative;
  std::uintmax_t size = 0;
  std::error_code ec = files_->fileSize(source, size);
  if (isMissing(ec)) {
    traceFile(config_.keepLogs ? "archive" : "delete", agentId, relative, "", "missing");
    return true;
  }
  if (ec) {
    into.errors.push_back(quoted(source) + ": could not read it: " + ec.message() + "; " + kKeptHint);
    traceFile("archive", agentId, relative, "", "error");
    return false;
  }
  if (!config_.keepLogs) return deleteOne(agentId, relative, "delete", into);

  ArchiveOutcome outcome = archiveFile(*files_, source, config_.root / config_.layout.archiveDir);
  std::string archived = outcome.archivedName.empty()
                             ? std::string()
                             : (fs::path(config_.layout.archiveDir) / outcome.archivedName).string();
  if (!archived.empty()) into.archivedFiles.push_back(archived);
  std::string result = outcome.sourceMissing ? "missing" : outcome.error.empty() ? "ok" : "error";
  if (outcome.copied) result += " via=copy";
  traceFile("archive", agentId, relative, archived, result);
  if (outcome.error.empty()) return true;
  into.errors.push_back(outcome.error);
  return false;
}

bool WorkspaceBackend::deleteOne(const std::string& agentId, const std::string& relative, const std::string& step,
                                 WorkspaceCleanup& into) {
  fs::path file = config_.root / relative;
  std::error_code ec = files_->remove(file);
  if (isMissing(ec)) {
    traceFile(step, agentId, relative, "", "missing");
    return true;
  }
  if (ec) {
    into.errors.push_back(quoted(file) + ": could not delete it: " + ec.message() +
                          "; fix its permissions (or delete it by hand), then run the cleanup again");
    traceFile(step, agentId, relative, "", "error");
    return false;
  }
  into.deletedFiles.push_back(relative);
  traceFile(step, agentId, relative, "", "ok");
  return true;
}

}  // namespace cleanroom
