// Resource: one thing a test started that cleanup must make disappear — an
// agent behind a REST API, a process, a tmux session, a container, a task.
//
// Every backend describes what it finds with this one struct; the engine,
// the report, the isolation check and the CLI all speak it.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "cleanroom/clock.h"

namespace cleanroom {

// The owner label every resource created through cleanroom carries
// (DESIGN 3.5): `cleanroom.run=<run id>`.
inline constexpr const char* kRunLabel = "cleanroom.run";

// Where a resource is in its life, as far as cleanup cares.
enum class ResourceState {
  Pending,   // created, not yet running
  Running,   // alive
  Stopping,  // asked to stop, still alive (e.g. "terminating")
  Terminal,  // finished: completed, failed, terminated — nothing left to do
  Gone,      // no longer exists (404, no such session)
  Unknown,   // the backend reported a status it does not map
  Stopped,   // not running, but it still exists and holds something (disk,
             // quota) until removed: an exited container, a stopped sandbox.
             // Active: cleanup removes it (its stop request does).
};

// Returns "pending", "running", "stopping", "terminal", "gone", "unknown"
// or "stopped".
const char* toString(ResourceState state);
// Parses the words above; returns nullopt for anything else.
std::optional<ResourceState> parseResourceState(const std::string& word);
// Returns true for Terminal and Gone: nothing is left running.
inline bool isFinished(ResourceState s) { return s == ResourceState::Terminal || s == ResourceState::Gone; }

// What a probe of one resource says now.
struct ResourceStatus {
  ResourceState state = ResourceState::Unknown;
  std::string status;  // the backend's own word, e.g. "terminating", "completed"
};

struct Resource {
  std::string backend;  // backend name, e.g. "http"
  std::string id;       // backend's id
  std::string name;     // human-readable name (may be empty)
  std::map<std::string, std::string> labels;
  std::string runId;    // owner run id (label cleanroom.run); empty if unowned
  std::optional<WallTime> createdAt;
  ResourceState state = ResourceState::Unknown;
  std::string status;   // the backend's own status word

  // Returns "backend/id", the form used in traces and messages.
  std::string ref() const { return backend + "/" + id; }
};

}  // namespace cleanroom
