// Backend: one kind of resource cleanroom can find and stop (agent REST API,
// processes, tmux sessions, containers, cloud tasks…).
//
// A backend makes single attempts and reports expected failures as values
// (see result.h); the CleanupEngine owns retries, deadlines, waiting,
// escalation and the report. Implementations must be safe to call from
// several threads at once.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cleanroom/agent_teardown.h"
#include "cleanroom/clock.h"
#include "cleanroom/resource.h"
#include "cleanroom/result.h"
#include "cleanroom/selector.h"

namespace cleanroom {

enum class StopMode {
  Graceful,  // SIGTERM, DELETE ?force=false, docker stop
  Force,     // SIGKILL, DELETE ?force=true, docker kill
};
const char* toString(StopMode mode);  // "graceful" or "force"

// When a backend's resources are cleaned relative to other backends'. The
// engine finishes every Agents resource (stop, await, force) before it lists
// and cleans any Files resource, so no log is archived while its agent still
// writes to it.
enum class CleanupStage {
  Agents,  // things that run: agents, processes, sessions, containers, tasks
  Files,   // what they leave behind: prompt files, logs, archives
};
const char* toString(CleanupStage stage);  // "agents" or "files"

class Backend {
 public:
  virtual ~Backend() = default;

  // Returns the backend's short name, e.g. "http" (used in traces, the CLI's
  // --backend and Resource::backend).
  virtual std::string name() const = 0;

  // Returns the resources that may match `selector`. A backend may filter on
  // the server; the engine re-checks Selector::matches. Blocks for at most
  // one request timeout.
  virtual Result<std::vector<Resource>> list(const Selector& selector) = 0;

  // Asks one resource to stop. Already stopped is success; a vanished
  // resource is an Error of kind Gone (the engine treats it as success).
  // Does not wait for the exit. Blocks for at most one request timeout.
  virtual Status requestStop(const Resource& resource, StopMode mode) = 0;

  // Returns the resource's state now; a vanished resource is state Gone, not
  // an error. Blocks for at most one request timeout.
  virtual Result<ResourceStatus> probe(const Resource& resource) = 0;

  // Returns how another process (the reaper, `cleanroom reap`) reaches this
  // backend's resources again: the settings its catalog entry rebuilds it
  // from, e.g. {"socket": "/tmp/x/sock"}. Written to the run's journal with
  // every resource the backend creates, so never a secret. Default: empty
  // (the environment alone configures it).
  virtual std::map<std::string, std::string> locator() const { return {}; }

  // Returns how many stop requests to this backend may run at once at
  // least; the engine uses the larger of this and CleanupOptions::concurrency
  // (capped at 256). A backend whose concurrent stops share their expensive
  // reads (tmux) raises it so that every agent gets its signal at once.
  // Default 1 (no opinion).
  virtual int stopConcurrency() const { return 1; }

  // Returns when this backend's resources are cleaned; default Agents.
  virtual CleanupStage stage() const { return CleanupStage::Agents; }

  // Adds to `record` what cleaning `resource` (which carries kAgentLabel)
  // did for its agent that the engine cannot see itself: files archived and
  // deleted, processes that survived, zombies. Called once per resource
  // after the cleanup, never in a dry run. Must be cheap (no waiting).
  // Default: nothing.
  virtual void describeTeardown(const Resource& resource, AgentTeardown& record) {
    (void)resource;
    (void)record;
  }

  // Returns true when awaitFinished() blocks on the server (long-poll, event
  // stream) instead of returning at once.
  virtual bool canAwait() const { return false; }

  // Blocks until the resource is finished (terminal or gone) or `timeout`
  // passes, and returns its state then. The default probes once and returns.
  virtual Result<ResourceStatus> awaitFinished(const Resource& resource, milliseconds timeout) {
    (void)timeout;
    return probe(resource);
  }
};

}  // namespace cleanroom
