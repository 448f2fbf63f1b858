// ProcessBackend ("process"): local processes a test started through
// cleanroom (launch) or handed over by pid (adopt), and everything they
// started — even what left the process group with setsid or a double fork.
//
// launch() starts a program
//   - in a process group of its own (pgid = pid), so one signal reaches it
//     and the children that stay in the group;
//   - with CLEANROOM_RUN_ID=<run id> and CLEANROOM_PROCESS_RUN_ID=<run id> in
//     its environment (inherited by everything it execs; the second one is set
//     only here, so it proves a process came from a launch and not from a
//     shell or CI job that exports CLEANROOM_RUN_ID to everything);
//   - with this process made a child subreaper (once), so orphans of launched
//     processes are re-parented to us rather than to PID 1, and get reaped;
//   - where the machine allows (a writable cgroup v2 hierarchy), in a cgroup
//     of its own, so a forced stop can use cgroup.kill and no descendant can
//     hide. Without one it falls back silently (a debug trace says why).
// Each process is recorded with pid, pgid, start time (so a reused pid is
// never signalled), command and creation time.
//
//   list     tracked processes (launched or adopted; alive or finished), each
//            descendant that escaped its group (role "escaped"), and every
//            process carrying this run's launch marker that nothing tracks
//            (role "leftover"). Resource ids are "pid@starttime"; escaped
//            and leftover resources are named by their command line.
//   stop     Graceful: SIGTERM to the group and to each descendant outside it;
//            Force: SIGKILL to the same set, and cgroup.kill.
//   probe    a tracked process is finished only when it and every descendant
//            seen are gone: "exited with status 0; descendants alive: 4242
//            sleep 600" is still Running/Stopping. Zombies of our own
//            children (and of orphans re-parented to us) are reaped on every
//            list and probe, by pid, never with waitpid(-1).
// Nothing is signalled unless it is proven ours: a tracked identity, one of
// its descendants (seen while it was alive), or a process carrying the
// launch marker of the resource's run. A selector for another run matches
// nothing of this run.
//
// Thread-safe; every call reads /proc (a few milliseconds) and never waits
// for a process to exit.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cleanroom/backend.h"
#include "cleanroom/process_tree.h"

namespace cleanroom {

// Resource label saying what a process resource is: "launched", "adopted",
// "escaped" (a descendant outside its root's group) or "leftover" (carries
// the run's launch marker, nothing tracks it).
inline constexpr const char* kProcessRoleLabel = "cleanroom.process.role";
// On escaped resources: the id of the tracked process it descends from.
inline constexpr const char* kProcessRootLabel = "cleanroom.process.root";

struct ProcessBackendConfig {
  // Owner of launched and adopted processes; empty = run::id().
  std::string runId;
  // Put each launched process in a cgroup of its own when possible.
  bool useCgroups = true;
  // A cgroup v2 directory to create per-process cgroups in; empty = the
  // cgroup of this process in the first cgroup2 mount found.
  std::string cgroupParent;
};

struct LaunchOptions {
  std::string name;                                // default: basename of argv[0]
  std::map<std::string, std::string> labels;      // cleanroom.run and role are added
  std::map<std::string, std::string> environment;  // added to (or replacing in) the inherited one
  bool inheritEnvironment = true;
  std::string workingDirectory;                    // empty = ours
  // stdout and stderr appended to this file; empty = inherited from us.
  std::string outputPath;
};

class ProcessBackend : public Backend {
 public:
  explicit ProcessBackend(ProcessBackendConfig config = {});
  ~ProcessBackend() override;
  ProcessBackend(const ProcessBackend&) = delete;
  ProcessBackend& operator=(const ProcessBackend&) = delete;

  std::string name() const override { return "process"; }
  Result<std::vector<Resource>> list(const Selector& selector) override;
  Status requestStop(const Resource& resource, StopMode mode) override;
  Result<ResourceStatus> probe(const Resource& resource) override;

  // Starts argv (argv[0] a path, or a name looked up in PATH) as described
  // above, records it in the run's journal (journal.h) and returns its
  // resource. Blocks until exec has succeeded or
  // failed (microseconds to milliseconds). A Permanent error names the
  // program and why it could not be started.
  Result<Resource> launch(const std::vector<std::string>& argv, const LaunchOptions& options = {});

  // Tracks a process someone else started: its start time is recorded now,
  // descendants are found from now on. Its process group is never signalled
  // (a shell may have put processes that are not its descendants in it): it
  // and its descendants are signalled one by one. Returns Error::gone when there is no such process, Permanent
  // for a zombie or a pid that is this process or one of its ancestors.
  Result<Resource> adopt(pid_t pid, const std::string& name = "",
                         const std::map<std::string, std::string>& labels = {});

  // Returns the live descendants (seen so far, plus those found now) of a
  // tracked process; empty for an unknown resource.
  std::vector<ProcessInfo> survivorsOf(const Resource& resource);

  // Forgets tracked processes that are finished (their cgroups are removed).
  // Returns how many were forgotten.
  int forgetFinished();

  // Returns the cgroup directory of a launched process, or nullopt when it
  // runs without one.
  std::optional<std::string> cgroupOf(const Resource& resource);

  const std::string& runId() const { return runId_; }

 private:
  struct Tracked;
  Tracked* find(const std::string& id);
  void refresh(Tracked& tracked, const std::vector<ProcessInfo>& snapshot);
  ResourceStatus statusOf(Tracked& tracked, const std::vector<ProcessInfo>& snapshot);
  Resource resourceOf(Tracked& tracked, const std::vector<ProcessInfo>& snapshot);
  Status stopTracked(Tracked& tracked, StopMode mode);
  Status stopUntracked(const Resource& resource, StopMode mode);
  bool isProvenOurs(const ProcessInfo& process, const std::string& runId) const;
  void reapKnownZombies(const std::vector<ProcessInfo>& snapshot);
  std::optional<std::string> makeCgroup();

  ProcessBackendConfig config_;
  std::string runId_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Tracked>> tracked_;  // by resource id
  // Leftovers seen alive with their run's launch marker, by identity, with
  // that run id: proof of ownership once the marker is no longer readable
  // (an exiting process), and zombies to reap by pid (they may come back to
  // us through the subreaper).
  std::map<ProcessIdentity, std::string> seen_;
  std::optional<std::string> cgroupParent_;  // resolved on first launch
  bool cgroupParentResolved_ = false;
  int launches_ = 0;
};

}  // namespace cleanroom
