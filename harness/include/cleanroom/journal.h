// Journal: a run's append-only record of every resource it created through
// cleanroom, so that another process — cleanroom-reaper, `cleanroom reap
// RUN_ID`, the next CI job — can find and reap what a crashed run left.
//
// One file per run id, JSON lines, each written with a single write(2) on an
// O_APPEND descriptor before the call that records it returns (a crash of
// the writing process cannot lose it; several processes of one run may share
// the file):
//   {"event":"run","runId":"R","pid":4242,"startTime":8812345,"atMs":1795650000123}
//   {"event":"created","runId":"R","backend":"tmux","locator":{"socket":"/tmp/x/sock"},
//    "id":"cr-R-a1","name":"cr-R-a1","labels":{"cleanroom.run":"R"},"atMs":…}
//   {"event":"cleaned","runId":"R","backend":"tmux","id":"cr-R-a1","atMs":…}
//   {"event":"backend","runId":"R","backend":"workspace","locator":{"root":"/w"},"atMs":…}
//   {"event":"closed","runId":"R","pid":4242,"startTime":8812345,"atMs":…}
//   {"event":"service","runId":"R","pid":4250,"startTime":8812399,"name":"cleanroom-mock-agents","atMs":…}
// A "run" line names each process that wrote to the journal (pid + start
// time, process_tree.h): the proof a reaper needs that the process it
// watches owns the run. "locator" is how to reach the backend again
// (Backend::locator(); never a secret). A "backend" line names a backend the
// run uses without creating anything through it (a workspace its agents
// write into), so a reaper cleans it too. Times are Unix epoch milliseconds.
//
// Location: $CLEANROOM_JOURNAL_DIR/<run id>.jsonl, default
// <temp dir>/cleanroom-journals/<run id>.jsonl. Reading tolerates what a crash
// leaves: a last line cut mid-way is ignored and reported as a problem; a
// file that is not a journal (or another run's) is an error naming it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cleanroom/clock.h"
#include "cleanroom/resource.h"
#include "cleanroom/result.h"

namespace cleanroom {

class Backend;

// The environment variable naming the directory journals are written to.
inline constexpr const char* kJournalDirVariable = "CLEANROOM_JOURNAL_DIR";

struct JournalEntry {
  std::string event;  // "run", "created", "cleaned", "backend", "closed" or "service"
  std::string runId;
  // created / cleaned:
  std::string backend;
  std::string id;
  std::string name;                               // created and service
  std::map<std::string, std::string> labels;      // created only
  std::map<std::string, std::string> locator;     // created and backend
  // run, closed and service:
  pid_t pid = 0;
  unsigned long long startTime = 0;               // /proc/PID/stat field 22
  WallTime at{};

  nlohmann::json toJson() const;
  // Returns the entry, or a Permanent error saying what is missing.
  static Result<JournalEntry> fromJson(const nlohmann::json& line);
};

// What Journal::read found in one file.
struct JournalContents {
  std::filesystem::path path;
  std::string runId;
  std::vector<JournalEntry> entries;  // every readable line, in file order
  std::vector<std::string> problems;  // "line 9: cut off mid-line (ignored)"

  // The processes that wrote to the journal ("run" lines).
  std::vector<JournalEntry> owners() const;
  // Returns true when a "run" line names exactly this pid and start time.
  bool ownedBy(pid_t pid, unsigned long long startTime) const;
  // The "service" lines: processes started to serve the run's tests.
  std::vector<JournalEntry> services() const;
  // Returns true when a "closed" line names exactly this pid and start time
  // and no resource was created after it.
  bool closedBy(pid_t pid, unsigned long long startTime) const;
  // Resources created and not marked cleaned (by backend and id), as
  // Resources (backend, id, name, labels, runId, createdAt), in creation order.
  std::vector<Resource> outstanding() const;
  // The backends to reach ("created" and "backend" lines), by name, each
  // with the locators seen (distinct).
  std::map<std::string, std::vector<std::map<std::string, std::string>>> backends() const;
};

class Journal {
 public:
  // Returns the journal path of `runId`: $CLEANROOM_JOURNAL_DIR/<run id>.jsonl
  // or <temp dir>/cleanroom-journals/<run id>.jsonl.
  static std::filesystem::path pathFor(const std::string& runId);

  // A journal for `runId` at `path` (created with its directory on the first
  // write, mode 0600). Does not touch the file.
  Journal(std::filesystem::path path, std::string runId);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Appends a "created" line for `resource` (and this process's "run" line
  // first, once). Blocks on one or two write(2) calls. A Permanent error
  // names the file and the reason (e.g. a read-only directory).
  Status recordCreated(const std::string& backend, const std::map<std::string, std::string>& locator,
                       const Resource& resource);
  // Appends a "cleaned" line.
  Status recordCleaned(const std::string& backend, const std::string& id);
  // Appends a "backend" line (the run uses that backend at that locator).
  Status recordBackend(const std::string& backend, const std::map<std::string, std::string>& locator);
  // Appends this process's "run" line unless it did already.
  Status recordOwner();
  // Appends a "closed" line for this process.
  Status recordClosed();
  // Appends a "service" line.
  Status recordService(pid_t pid, unsigned long long startTime, const std::string& name);

  // Reads a journal. `expectedRunId` (when set) must match the journal's.
  // Errors (Permanent, naming the file and what to do): unreadable, empty,
  // not a cleanroom journal, another run's journal. A missing file is Gone.
  static Result<JournalContents> read(const std::filesystem::path& path,
                                      const std::optional<std::string>& expectedRunId = std::nullopt);

  const std::filesystem::path& path() const { return path_; }
  const std::string& runId() const { return runId_; }

 private:
  Status append(const JournalEntry& entry);
  Status appendLocked(const std::string& line);
  Status openLocked();

  std::filesystem::path path_;
  std::string runId_;
  std::mutex mutex_;
  int fd_ = -1;
  bool ownerWritten_ = false;
};

namespace journal {

// Records in the journal of resource.runId (process-wide journals, opened on
// first use) that `backend` created `resource`. Journaling failures are
// logged (warn) and returned, never thrown; the caller decides. Resources
// without a run id are not journaled (success).
Status recordCreated(const Backend& backend, const Resource& resource);

// Records in the journal of `runId` that the run uses `backend` (its name
// and locator), once per backend and locator per process. Errors are logged
// and returned.
Status recordBackend(const Backend& backend, const std::string& runId);

// Appends this process's "closed" line to the journal of `runId` when this
// process wrote to it. Errors are logged and returned.
Status recordClosed(const std::string& runId);

// Records that process `pid` (named `name`, e.g. "cleanroom-mock-agents")
// serves the tests of `runId`, so that a reaper ends it after the sweep. A
// Gone error when there is no such process.
Status recordService(const std::string& runId, pid_t pid, const std::string& name);

// Ends the journal's services that are still running (same pid and start
// time): SIGTERM, SIGKILL after `grace`, reaping those that are our
// children. Returns "PID NAME" of each one ended. Blocks at most 2 × grace.
std::vector<std::string> endServices(const JournalContents& journal, milliseconds grace);

// Removes the journal of `runId` (and its directory when that is left
// empty) when this process is its only writer; a later record starts a new
// file. Call it after a successful sweep of the run on every backend the
// journal names (resources that finished by themselves are never marked
// cleaned, so the sweep is the proof, not the journal). Returns whether it did.
bool removeIfDone(const std::string& runId);

// Marks `resource` cleaned in its run's journal when that journal file
// exists (a cleanup never creates journals). Errors are logged and returned.
Status recordCleaned(const Resource& resource);

}  // namespace journal

}  // namespace cleanroom
