// Process tree: reading /proc, naming a process safely and signalling it.
//
// A pid alone is not a name for a process: once the process exits and is
// reaped, the kernel may hand the same pid to a stranger. A pid together with
// the process start time (field 22 of /proc/PID/stat, clock ticks since boot)
// names exactly one process for the life of the machine, so everything here
// that signals takes a ProcessIdentity and refuses (Error::gone) when the pid
// now belongs to a process with another start time.
//
// Processes escape process groups (setsid, double fork), so three inherited
// marks are used to find what a run started:
//   - descendantsOf(): the parent links in /proc at one moment;
//   - environment markers, which exec'd children inherit; processesMarkedWith()
//     finds them (readable only for processes of our own uid):
//       CLEANROOM_RUN_ID=<run id> (kRunMarkerVariable): the owner id; but a
//         CI job or a developer's shell may export it to everything,
//         including test binaries running side by side, so on its own it
//         does not prove a process is a leftover;
//       CLEANROOM_PROCESS_RUN_ID=<run id> (kLaunchMarkerVariable): set only
//         by cleanroom's process launcher on what it starts, so a process
//         carrying it is one of the launched processes or their descendants;
//   - becomeChildSubreaper(): orphans of our descendants are re-parented to
//     this process instead of PID 1, so they stay descendants and can be
//     reaped (PID 1 in containers often reaps nothing).
//
// Nothing here blocks except for short reads of /proc, and awaitExit(),
// which waits on pidfds until processes exit.
// Never waitpid(-1): callers (test processes) have other children. Reaping is
// always by specific pid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <compare>
#include <optional>
#include <string>
#include <vector>

#include "cleanroom/result.h"

namespace cleanroom {

// The environment variable carrying the run id into processes we start.
inline constexpr const char* kRunMarkerVariable = "CLEANROOM_RUN_ID";
// The environment variable cleanroom's process launcher sets (to the run id)
// on what it starts, and nobody else.
inline constexpr const char* kLaunchMarkerVariable = "CLEANROOM_PROCESS_RUN_ID";

// One process, for the life of the machine.
struct ProcessIdentity {
  pid_t pid = 0;
  unsigned long long startTime = 0;  // /proc/PID/stat field 22 (clock ticks since boot)

  auto operator<=>(const ProcessIdentity&) const = default;
  // Returns "4242@123456" (pid@start time), unique for the life of the machine.
  std::string text() const;
  // Parses text(); nullopt when malformed.
  static std::optional<ProcessIdentity> parse(const std::string& text);
};

// A snapshot of one process as /proc showed it.
struct ProcessInfo {
  ProcessIdentity id;
  pid_t ppid = 0;
  pid_t pgid = 0;
  pid_t sid = 0;
  char state = '?';  // /proc/PID/stat field 3: R, S, D, Z (zombie), T, ...
  uid_t uid = 0;     // real uid (owner of /proc/PID)
  // The command line joined by spaces, or "[comm]" when it is empty (kernel
  // threads, zombies).
  std::string command;
  // Value of CLEANROOM_RUN_ID in /proc/PID/environ (the environment the
  // process was exec'd with); nullopt when absent or unreadable.
  std::optional<std::string> runMarker;
  // Value of CLEANROOM_PROCESS_RUN_ID in the same environment.
  std::optional<std::string> launchMarker;

  bool isZombie() const { return state == 'Z' || state == 'X'; }
};

// Returns e.g. "4242 sleep 600" (pid, space, command).
std::string describe(const ProcessInfo& process);

// Returns a snapshot of process `pid`; Error::gone when there is no such
// process. Reads /proc/PID/stat, cmdline, environ and status (does not block).
Result<ProcessInfo> readProcess(pid_t pid);

// Returns the identity (pid + start time) of `pid`; Error::gone when there is
// no such process.
Result<ProcessIdentity> identityOf(pid_t pid);

// Returns all processes in /proc (those that vanish while reading are
// skipped). Costs one directory scan plus a few small reads per process.
std::vector<ProcessInfo> listProcesses();

// Returns all processes in /proc with only what /proc/PID/stat says: id,
// ppid, pgid, sid and state (command "", uid 0, markers unset). One read per
// process, so several times cheaper than listProcesses(); for walking parent
// links (descendantsOf) and finding candidates before reading more.
std::vector<ProcessInfo> listProcessStats();

// Returns the value of each of `variables` in /proc/PID/environ (the
// environment the process was exec'd with), in the same order; nullopt for
// a variable that is absent, and for all when the environment is unreadable
// (another uid, a zombie, no such process). One read (a few when the process
// is in the middle of exec and shows an empty environment).
std::vector<std::optional<std::string>> environmentValues(pid_t pid, const std::vector<std::string>& variables);

// Returns the descendants of `root` (children, their children, ...) found by
// walking parent links in one snapshot (`snapshot`, or a fresh
// listProcesses()). Empty when `root` is not alive with that start time. The
// root itself is not included. Includes zombies (check isZombie()).
std::vector<ProcessInfo> descendantsOf(const ProcessIdentity& root);
std::vector<ProcessInfo> descendantsOf(const ProcessIdentity& root,
                                       const std::vector<ProcessInfo>& snapshot);

// Returns true while the process exists with this start time and is not a
// zombie.
bool isAlive(const ProcessIdentity& process);

// Returns true when the pid exists with this start time (alive or zombie).
bool exists(const ProcessIdentity& process);

// Sends `sig` to exactly this process, race-free: opens a pidfd for the pid,
// checks the start time after opening it, then signals through the pidfd (a
// pidfd keeps naming the process it was opened for even if the pid is
// reused). Returns Error::gone when the process does not exist, the pid now
// belongs to another process (start time differs), or it already exited;
// Permanent on EPERM. Signalling a zombie is success (nothing to do).
Status signalProcess(const ProcessIdentity& process, int sig);

// Sends `sig` to process group `pgid`, but only when `leader` is still alive
// with its start time and is a member of that group (proof that the group is
// still ours). Returns Error::gone when the leader is gone or reused, or the
// group no longer exists. Note: a group whose leader has exited cannot be
// proven ours this way; signal its members one by one (signalProcess).
Status signalGroup(pid_t pgid, const ProcessIdentity& leader, int sig);

// Sends `sig` to `root` and to every descendant of it found in one snapshot,
// each through signalProcess (so no reused pid is hit). Descendants first
// listed, then the root. Returns the processes that were signalled (gone ones
// skipped silently). Zombies are not signalled.
std::vector<ProcessInfo> signalTree(const ProcessIdentity& root, int sig);

// Returns the live processes whose environment carries `variable`=`runId`
// (default CLEANROOM_RUN_ID; only processes of our uid are readable, zombies
// have no readable environment). Empty for an empty runId. Never includes
// this process or its ancestors (they may carry the same marker from a
// shell or CI job). Pass kLaunchMarkerVariable to find only what
// cleanroom's launcher started (and their descendants).
std::vector<ProcessInfo> processesMarkedWith(const std::string& runId,
                                             const char* variable = kRunMarkerVariable);

// Blocks until none of `processes` is alive (exited, zombie, or its pid now
// names another process) or `timeout` passes, whichever is first, and
// returns those still alive then (empty = all exited). Waits with poll() on
// a pidfd per process, so it wakes the moment the last one exits; where
// pidfds are unavailable it checks isAlive() every 10 ms instead. Reaps
// nothing (see reapZombieChildren). A timeout of 0 only checks.
std::vector<ProcessIdentity> awaitExit(const std::vector<ProcessIdentity>& processes,
                                       std::chrono::milliseconds timeout);

// If `pid` is a child of this process and has exited, reaps it
// (waitpid(pid, WNOHANG)) and returns its wait status; otherwise nullopt.
// Never blocks and never waits for any other pid.
std::optional<int> reapIfChild(pid_t pid);

// Reaps those of `processes` that are zombie children of this process (pid
// and start time checked first, so nothing else is reaped). Returns how many
// were reaped. After becomeChildSubreaper(), orphans of our descendants are
// our children: remember their identities while they are alive (e.g. from
// descendantsOf or processesMarkedWith) and reap them here once they exit.
int reapZombieChildren(const std::vector<ProcessIdentity>& processes);

// Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER), once.
// Returns whether the attribute is set (false when the kernel refused).
bool becomeChildSubreaper();

// Returns "exited with status N", "killed by SIGKILL" etc. for a wait status.
std::string describeWaitStatus(int waitStatus);

}  // namespace cleanroom
