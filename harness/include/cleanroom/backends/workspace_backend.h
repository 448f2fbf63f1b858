// WorkspaceBackend ("workspace"): the files an agent leaves in a task
// workspace — a prompt file and JSONL logs — and their cleanup.
//
// Per agent id, with the default layout:
//   {workspace}/agent_prompt_{agent_id}.txt         deleted
//   {workspace}/logs/{id}_stream.jsonl              archived to {workspace}/archive/
//   {workspace}/progress/{id}_progress.jsonl        archived
//   {workspace}/findings/{id}_findings.jsonl        archived
// (`{agent_id}` and `{id}` both stand for the agent id.)
//
// Archiving never loses a file and never overwrites an earlier archive:
//   - same filesystem: one rename that refuses to replace (RENAME_NOREPLACE);
//   - across filesystems (EXDEV): copy to a temporary file in archive/, fsync,
//     rename into place, check the size, and only then delete the original;
//   - an archive of that name already exists: the next free name is used
//     (`x_stream.jsonl.1`, `.2`, …); both copies are kept.
// A log is deleted only after its archived copy is complete, so an
// interrupted cleanup at worst leaves a hidden `.x.partial-<pid>-<n>` in
// archive/ next to an intact original. With keepLogs=false the logs are
// deleted outright instead.
//
// Missing files are success (cleanup is idempotent). One file failing (no
// permission, disk full) does not stop the others; every failure is collected
// and names the file, the reason and what to do.
//
// As a Backend: files carry no labels, so a backend instance is made for one
// workspace owned by one run, and every resource it lists carries that run id.
// A resource is one agent with leftover files (id = agent id, label
// cleanroom.agent = agent id), state Running while any of its files remain
// and Gone once none do. Its stage is Files: the engine cleans it after every
// session and process is gone. requestStop (either mode) archives the logs
// and then deletes the prompt file; describeTeardown adds the agent's
// promptDeleted, logsArchived, archivedFiles and deletedFiles to the report's
// per-agent record. A workspace path that does not exist is a Permanent error
// naming it, from every call.
//
// Thread-safe: cleanups of the same or of different agents may run at once;
// each log is archived exactly once (the losers of a race find it missing).
//
// Trace lines (debug), one per file:
//   step=archive ref=workspace/a1 file=logs/a1_stream.jsonl to=archive/a1_stream.jsonl result=ok
//   step=delete ref=workspace/a1 file=agent_prompt_a1.txt result=missing
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "cleanroom/backend.h"

namespace cleanroom {

// Where an agent's files live, relative to the workspace root. A pattern
// holds the placeholder `{agent_id}` or `{id}` exactly once, in its file name
// (not in a directory part), and stays inside the workspace (relative, no
// `..`).
struct WorkspaceLayout {
  std::string promptPattern = "agent_prompt_{agent_id}.txt";
  std::vector<std::string> logPatterns = {"logs/{id}_stream.jsonl", "progress/{id}_progress.jsonl",
                                          "findings/{id}_findings.jsonl"};
  std::string archiveDir = "archive";

  // Returns success, or a Permanent error naming the bad pattern and saying
  // what a valid one looks like.
  Status validate() const;
  // Returns `pattern` with the placeholder replaced by `agentId`.
  static std::string expand(const std::string& pattern, const std::string& agentId);
  // Returns the agent id when `relativePath` (e.g. "logs/a1_stream.jsonl")
  // is an instance of `pattern`; nullopt otherwise.
  static std::optional<std::string> agentIdOf(const std::string& pattern, const std::string& relativePath);
};

// Returns success, or a Permanent error when `agentId` cannot name files
// safely (empty, ".", "..", or holding '/' or a NUL byte).
Status validateAgentId(const std::string& agentId);

// The file-system operations cleanup uses, one call each, so tests can make
// chosen paths fail (ENOSPC, EACCES, EXDEV). Every call returns an empty
// error_code on success or the errno-style error (std::errc; ENOENT for a
// missing file). Implementations must be thread-safe.
class WorkspaceFiles {
 public:
  virtual ~WorkspaceFiles() = default;

  // Renames `from` to `to` without ever replacing `to` (EEXIST when `to`
  // exists, EXDEV across filesystems) and makes the rename durable.
  virtual std::error_code renameNoReplace(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  // Creates `to` (EEXIST when it exists), copies `from`'s bytes into it and
  // fsyncs it. On failure a partly written `to` may remain; the caller
  // removes it. Blocks for as long as the copy takes.
  virtual std::error_code copyAndSync(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  // Removes one file (ENOENT when it does not exist).
  virtual std::error_code remove(const std::filesystem::path& file) = 0;
  // Sets `size` to the file's size in bytes (ENOENT when it does not exist).
  virtual std::error_code fileSize(const std::filesystem::path& file, std::uintmax_t& size) = 0;
  // Creates `dir` and its missing parents; existing is success.
  virtual std::error_code createDirectories(const std::filesystem::path& dir) = 0;
  // Sets `names` to the names of the entries in `dir` that are not
  // directories (ENOENT when `dir` does not exist).
  virtual std::error_code listFiles(const std::filesystem::path& dir, std::vector<std::string>& names) = 0;
  // Returns true when `path` is an existing directory (following symlinks).
  virtual bool isDirectory(const std::filesystem::path& path) = 0;

  // Returns the process-wide PosixWorkspaceFiles.
  static WorkspaceFiles& real();
};

// The real file operations: renameat2(RENAME_NOREPLACE) (link+unlink where
// the filesystem lacks it), open(O_EXCL)/read/write/fsync, unlink, stat, and
// std::filesystem for directories. Stateless; each call is one attempt.
class PosixWorkspaceFiles : public WorkspaceFiles {
 public:
  std::error_code renameNoReplace(const std::filesystem::path& from, const std::filesystem::path& to) override;
  std::error_code copyAndSync(const std::filesystem::path& from, const std::filesystem::path& to) override;
  std::error_code remove(const std::filesystem::path& file) override;
  std::error_code fileSize(const std::filesystem::path& file, std::uintmax_t& size) override;
  std::error_code createDirectories(const std::filesystem::path& dir) override;
  std::error_code listFiles(const std::filesystem::path& dir, std::vector<std::string>& names) override;
  bool isDirectory(const std::filesystem::path& path) override;
};

// What cleaning one agent's files did: the record the old per-agent cleanup
// returned (minus the session and zombie parts, which the tmux and process
// backends own).
struct WorkspaceCleanup {
  std::string agentId;
  // True when the prompt file is gone afterwards: deleted now or already absent.
  bool promptDeleted = false;
  // True when no log of this agent is left in place: each one was archived
  // (or deleted, keepLogs=false) or was already absent.
  bool logsArchived = false;
  // Archive copies made, relative to the workspace, e.g. "archive/a1_stream.jsonl.1".
  std::vector<std::string> archivedFiles;
  // Files deleted, relative to the workspace (the prompt; logs with keepLogs=false).
  std::vector<std::string> deletedFiles;
  // One line per failure: the file, the reason and what to do.
  std::vector<std::string> errors;

  // Returns true when nothing failed (missing files are not failures).
  bool success() const { return errors.empty(); }
  // Returns the errors joined with "; " (empty on success).
  std::string describeErrors() const;
};

struct WorkspaceConfig {
  std::filesystem::path root;   // the task workspace; must exist when cleanup runs
  WorkspaceLayout layout;
  bool keepLogs = true;         // false: delete logs instead of archiving them
  std::string runId;            // owner of everything in the workspace; empty = run::id()
  // File operations (not owned; must outlive the backend); nullptr = WorkspaceFiles::real().
  WorkspaceFiles* files = nullptr;

  // Returns the config a locator (WorkspaceBackend::locator()) describes,
  // owned by `runId`; a Permanent error names a missing "root".
  static Result<WorkspaceConfig> fromLocator(const std::map<std::string, std::string>& locator,
                                             const std::string& runId);
};

class WorkspaceBackend : public Backend {
 public:
  // Throws ConfigError when the layout is invalid or the root is empty. The
  // root need not exist yet (agents may create it later).
  explicit WorkspaceBackend(WorkspaceConfig config);

  std::string name() const override { return "workspace"; }
  // Returns one resource per agent with leftover files (nothing when
  // selector.runId names another run). name = the prompt file when present,
  // else the first leftover file; status = "leftover files: <files>";
  // createdAt is unknown. Blocks on directory reads only.
  Result<std::vector<Resource>> list(const Selector& selector) override;
  // Cleans the agent's files (archive logs, then delete the prompt) in
  // either mode. Missing files are success; failures are a Permanent error
  // listing every failed file.
  Status requestStop(const Resource& resource, StopMode mode) override;
  // Returns Running with status "leftover files: …" while any file remains,
  // Gone ("no files") once none does.
  Result<ResourceStatus> probe(const Resource& resource) override;
  CleanupStage stage() const override { return CleanupStage::Files; }
  // {"root", "keepLogs", "promptPattern", "logPatterns" (joined by '|'), "archiveDir"}.
  std::map<std::string, std::string> locator() const override;
  // Sets promptDeleted and logsArchived from the files left now and adds the
  // archive copies and deletions made by requestStop since the last call for
  // this agent. Blocks on a few stat calls.
  void describeTeardown(const Resource& resource, AgentTeardown& record) override;

  // Archives (or with keepLogs=false deletes) the agent's logs, then deletes
  // its prompt file. Never throws; a bad agent id or a missing workspace is
  // reported in `errors`. Blocks for as long as the file operations take
  // (a cross-filesystem copy reads and writes each log once).
  WorkspaceCleanup cleanAgentFiles(const std::string& agentId);
  // Archives (or deletes, keepLogs=false) the agent's logs only, adding to
  // `into` (logsArchived, archivedFiles, deletedFiles, errors).
  void archiveLogs(const std::string& agentId, WorkspaceCleanup& into);
  // Deletes the agent's prompt file only, adding to `into` (promptDeleted,
  // deletedFiles, errors).
  void deletePrompt(const std::string& agentId, WorkspaceCleanup& into);

  // Returns the agent's files that still exist, relative to the workspace
  // (prompt first, then logs in layout order), or a Permanent error when the
  // workspace does not exist or the id is unsafe.
  Result<std::vector<std::string>> leftoverFiles(const std::string& agentId);

  const WorkspaceConfig& config() const { return config_; }
  const std::string& runId() const { return runId_; }

 private:
  Status checkRoot();
  Status checkAgent(const std::string& agentId);
  Result<std::vector<std::string>> agentIdsOnDisk();
  // Each returns true when the file is no longer in place (done or missing).
  bool archiveOne(const std::string& agentId, const std::string& relative, WorkspaceCleanup& into);
  bool deleteOne(const std::string& agentId, const std::string& relative, const std::string& step,
                 WorkspaceCleanup& into);

  WorkspaceConfig config_;
  WorkspaceFiles* files_;
  std::string runId_;
  std::mutex doneMutex_;
  // What requestStop did per agent since describeTeardown last reported it.
  std::map<std::string, WorkspaceCleanup> done_;
};

}  // namespace cleanroom
