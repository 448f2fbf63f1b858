// TmuxBackend ("tmux"): agents running in tmux sessions, and everything
// their panes started.
//
// Ownership (DESIGN 3.5): a run's sessions are named `cr-<run id>-<suffix>`;
// the suffix names the agent (label cleanroom.agent on the run's sessions).
// Sessions without the prefix have runId "" and are only listed by
// Selector::allRuns(); a run's selector never matches them. The run id of a
// name is read up to the first '-' after the prefix, except that a selector
// for run R claims every session starting with `cr-R-` (so run ids with '-'
// work when listing for that run).
//
// The backend talks to tmux through its command line only (argv, never a
// shell string), one client per call, with TMUX, CLEANROOM_RUN_ID and
// CLEANROOM_TMUX_SESSION removed from the client's environment (so a server
// it starts carries no run marker). A client that does not answer within
// commandTimeout is killed (SIGKILL) and the call returns a Retryable error.
// Outcomes of tmux 3.3 (and cleanroom-mock-tmux):
//   "no server running on …", "error connecting to … (No such file or
//   directory)" or "(Connection refused)"  → no sessions (list is empty,
//                                              stop is Gone, probe is Gone)
//   "can't find session: …", or "no current target" (said by a server
//   left without sessions, about to exit) → that session is gone
//   "duplicate session: …", usage errors,
//   "(Permission denied)"                  → Permanent
//   any other failure, a client killed by a signal or timed out → Retryable
// Sessions are always addressed as `-t =NAME` (exact match; plain `-t NAME`
// would fall back to prefix matching).
//
// Pane processes escape the session (setsid, double fork), so stopping
// records, BEFORE signalling, the identity (pid + start time, see
// process_tree.h) of every pane process, of all their descendants, and of
// every process whose environment carries CLEANROOM_RUN_ID=<run id> and
// CLEANROOM_TMUX_SESSION=<session name> (createSession puts both into the
// pane's environment; descendants inherit them). Then:
//   Graceful  SIGTERM to each pane's process group and to every recorded
//             process outside those groups — and nothing more: tmux ends
//             the session itself when its pane exits, so an agent's TERM
//             handler runs to the end (kill-session would SIGHUP it). When
//             nothing could be signalled, `kill-session -t =NAME`.
//   Force     SIGKILL to the same, then `kill-session -t =NAME`
// A session is finished only when tmux no longer has it AND none of the
// recorded or session-marked processes is alive; until then probe says
// Stopping (Running when this instance did not stop it) with a status
// naming the survivors ("session gone; alive: 4242 sleep 600 (escaped with
// setsid)"), and list keeps showing it (so an isolation check names them).
// Recorded processes that are zombie children of this process (after
// becomeChildSubreaper(), orphans are) are reaped by probe and
// checkSessionGone. Recorded identities live in the backend instance.
//
// Survivors of sessions nobody stopped here — the session ended by itself
// (its pane exited) while a child it started with setsid lives on, or
// another process (the CLI, a reaper) stopped it — are found by their
// markers: list reports, for every session name tmux does not have, the
// live processes marked CLEANROOM_RUN_ID=<any> and CLEANROOM_TMUX_SESSION=
// <name> as one resource (id = name, run id from the marker unless a run's
// selector claims it, createdAt = the earliest survivor's start). Without a
// recorded pane, a survivor leading its own session is noted "escaped with
// setsid". requestStop on it records and signals those processes (SIGTERM,
// or SIGKILL when forced; Gone when none is alive), probe says Gone once
// none is. Only processes of this backend's server count: a marked process
// whose TMUX variable (set by the server in each pane: "<socket>,<pid>,
// <index>") names another socket is ignored (same session names on two
// servers never mix); one without TMUX counts. This process and its
// ancestors never count.
//
// Concurrent calls share their expensive reads: the `list-panes -a` listing,
// the /proc scan of parent links (stat only) and the /proc scan of
// environment markers are each made once for all threads that ask at about
// the same time. A call uses only a listing or parent-link scan that began
// after the call did (so every pane and every descendant that existed when
// it was made is seen); callers that arrive while one is in progress share
// the next one. The one exception: a stop may use a marker scan begun up to
// 250 ms before it, so a process that left its pane's tree (setsid, parent
// exited) within those 250 ms before the stop is not signalled by that stop;
// it is not missed: the check after the session ends (probe, awaitFinished,
// checkSessionGone, list) always scans afresh, records it and names it as a
// survivor, and a forced stop kills it. 50 concurrent stops cost a few
// listings and scans instead of 50.
//
// awaitFinished() waits on pidfds of the recorded processes (poll), so the
// engine learns of the last exit at once instead of at its next poll.
//
// Trace lines (debug), one per tmux call (values of -e are not shown):
//   step=tmux args="kill-session -t =cr-abc-1" rc=0 ms=2
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

// The environment variable that names a pane's session in the processes
// createSession starts (inherited by their descendants).
inline constexpr const char* kTmuxSessionVariable = "CLEANROOM_TMUX_SESSION";

struct TmuxConfig {
  std::string binary = "tmux";   // a path, or a name looked up in PATH
  std::string socketPath;        // `-S PATH` when set
  std::string socketName;        // `-L NAME` when set (and socketPath is not)
  milliseconds commandTimeout{5000};  // per tmux client call
  std::string sessionPrefix = "cr-";  // names are <prefix><run id>-<suffix>

  // Returns the default config with binary from CLEANROOM_TMUX and
  // socketPath from CLEANROOM_TMUX_SOCKET (an absolute path). Returns nullopt
  // when neither variable is set, or a Permanent error naming the variable
  // when one is malformed (a relative socket path, a binary path that is not
  // an executable file).
  static std::optional<Result<TmuxConfig>> fromEnvironment();
};

// What one tmux client call printed and how it ended.
struct TmuxOutput {
  int exitCode = 0;        // the client's exit status
  std::string out;         // stdout
  std::string err;         // stderr, trailing newline removed
  milliseconds elapsed{0};
};

// What createSession starts.
struct TmuxSessionSpec {
  // The session is named <prefix><run id>-<suffix>. 1–64 of [A-Za-z0-9_-]
  // (tmux would rewrite '.' and ':').
  std::string suffix;
  // Shell command run in the pane (tmux hands it to the default shell);
  // empty = an interactive shell.
  std::string command;
  std::string cwd;                            // `-c DIR` when set
  std::map<std::string, std::string> env;     // extra `-e K=V` for the pane
  std::string runId;                          // owner; empty = run::id()
};

// A process that outlived its session.
struct TmuxSurvivor {
  ProcessIdentity id;
  std::string command;
  std::string note;  // "escaped with setsid", "left the process group" or ""

  // Returns e.g. "4242 sleep 600 (escaped with setsid)".
  std::string describe() const;
};

// The result of checkSessionGone: what a per-agent teardown reports.
struct TmuxSessionCheck {
  bool sessionKilled = false;  // tmux no longer has the session
  bool noSurvivors = false;    // no recorded or marked process is alive
  bool noZombies = false;      // none of them is left as a zombie either
  std::vector<TmuxSurvivor> survivors;  // alive, with pid and command
  std::vector<TmuxSurvivor> zombies;    // exited but not reaped (not our children)

  bool clean() const { return sessionKilled && noSurvivors && noZombies; }
};

class TmuxBackend : public Backend {
 public:
  explicit TmuxBackend(TmuxConfig config = {});
  ~TmuxBackend() override;

  std::string name() const override { return "tmux"; }

  // Returns the sessions (one `list-sessions` call) plus the sessions tmux
  // does not have whose recorded or session-marked processes are alive
  // (state Stopping when this instance stopped them, else Running; status
  // "session gone; alive: …"). No server and no survivors → empty. Blocks
  // for one tmux call and one /proc scan (~1-2 ms for 70 processes; shared
  // with concurrent calls), plus one pane listing only when survivors were
  // found (to drop sessions created since the first call answered).
  Result<std::vector<Resource>> list(const Selector& selector) override;
  // Records the session's processes, signals them and kills the session (see
  // above). Gone when tmux has no such session and nothing recorded for it is
  // alive. Blocks for at most two pane listings and two /proc scans (shared
  // with concurrent calls) plus one tmux call.
  Status requestStop(const Resource& resource, StopMode mode) override;
  // Returns Running while tmux lists the session or its recorded or marked
  // processes survive it (Stopping once this instance requested a stop),
  // Gone after that. Reaps recorded zombie children. Blocks for at most one
  // tmux call and one /proc scan.
  Result<ResourceStatus> probe(const Resource& resource) override;
  // 256: concurrent stops share one pane listing and /proc scan, so every
  // session of a cleanup is stopped in one wave.
  int stopConcurrency() const override { return 256; }
  // {"binary", "socketPath", "socketName", "sessionPrefix"}: the server a
  // reaper must ask (journal.h).
  std::map<std::string, std::string> locator() const override;
  // True: awaitFinished blocks on the recorded processes' exits.
  bool canAwait() const override { return true; }
  // Blocks until the session is finished (tmux no longer has it and no
  // recorded or session-marked process is alive; Gone) or `timeout` passes,
  // and returns the state then (as probe would). Sleeps in poll() on pidfds
  // of the processes the stops recorded; once they have exited, asks tmux
  // (shared pane listing) whether the session is gone, re-asking 1 ms later,
  // doubling to at most 20 ms apart, while tmux has not yet noticed the
  // exit, then scans /proc once for marked processes that outlived it (they
  // are recorded and waited on too). A session no stop of this instance
  // recorded is probed once. Errors as probe.
  Result<ResourceStatus> awaitFinished(const Resource& resource, milliseconds timeout) override;

  // Starts `new-session -d -s <name> -e CLEANROOM_RUN_ID=<run> -e
  // CLEANROOM_TMUX_SESSION=<name> [-e K=V…] [-c DIR] [command]`, records it
  // in the run's journal (journal.h) and returns the session. Permanent
  // error for a bad suffix or run id, or a duplicate. One attempt; blocks
  // for at most one tmux call.
  Result<Resource> createSession(const TmuxSessionSpec& spec);

  // Returns the pid of every pane of session `name` (exact match); Gone when
  // there is no such session or no server. Blocks for at most one tmux call.
  Result<std::vector<pid_t>> panePids(const std::string& name);

  // Adds the session's recorded processes that are still alive (survivors,
  // clearing sessionKilled) or left as zombies (clearing noZombies) to the
  // agent's record. Reads /proc for the recorded pids only; no tmux call.
  void describeTeardown(const Resource& resource, AgentTeardown& record) override;

  // Returns whether the session is gone and whether any process recorded by
  // requestStop or marked with the session (environment) is still alive or
  // a zombie, reaping zombie children first. Errors only when tmux cannot be
  // asked. Blocks for at most one tmux call plus two /proc scans (shared).
  Result<TmuxSessionCheck> checkSessionGone(const std::string& name);

  // Runs one tmux client with the configured binary and socket options
  // followed by `args`. A non-zero exit is a value; errors are only: the
  // client could not be started (Permanent, naming the binary) or did not
  // finish within commandTimeout (Retryable; it was killed). Blocks for at
  // most commandTimeout.
  Result<TmuxOutput> tmux(const std::vector<std::string>& args) const;

  // Returns the session name <prefix><run id>-<suffix>.
  std::string sessionName(const std::string& runId, const std::string& suffix) const;
  // Returns the run id a session name carries: the text between the prefix
  // and the next '-'; "" when the name has no prefix or no run id.
  std::string runIdOf(const std::string& sessionName) const;

  const TmuxConfig& config() const { return config_; }

 private:
  struct SessionRecord {
    std::vector<ProcessIdentity> panes;
    std::vector<ProcessInfo> processes;  // as first seen, panes included
    bool stopRequested = false;
    bool finished = false;  // seen absent with nothing alive: never checked again by list
  };
  enum class Presence { Listed, Absent };

  struct SharedReads;  // the shared pane listing and /proc scan
  struct ProcessScan;  // one /proc scan, with the session markers read

  Result<Presence> sessionPresence(const std::string& name);
  // The session's pane pids from a shared listing begun after this call;
  // Gone when tmux has no such session or no server.
  Result<std::vector<pid_t>> sharedPanePids(const std::string& name);
  // A shared /proc scan begun after this call.
  std::shared_ptr<const ProcessScan> freshScan();
  // Whether tmux has the session, from the shared listing (one has-session
  // call of its own when that listing failed).
  Result<Presence> sharedPresence(const std::string& name);
  // Records the session's processes now; returns the merged record.
  SessionRecord recordProcesses(const std::string& name, const std::vector<pid_t>& panes);
  std::vector<TmuxSurvivor> survivorsOf(const std::string& name, std::vector<TmuxSurvivor>* zombies,
                                        const ProcessScan& scan);
  // probe's answer once tmux's answer is known.
  ResourceStatus statusAfter(const std::string& name, Presence presence);
  // The recorded processes of a session this instance stopped (empty if none).
  std::vector<ProcessIdentity> recordedIdentities(const std::string& name);
  Result<std::vector<Resource>> outlivedSessions(const Selector& selector, const std::set<std::string>& listed);
  // Whether a selector for run `runId` claims session `name` (prefix match).
  bool claims(const std::string& runId, const std::string& name) const;
  bool stopRequested(const std::string& name);
  Resource sessionResource(const std::string& name, std::optional<WallTime> createdAt) const;
  // Sets (or clears) label cleanroom.agent from r.id and r.runId.
  void labelAgent(Resource& r) const;

  TmuxConfig config_;
  mutable std::mutex mutex_;
  std::map<std::string, SessionRecord> records_;
  std::unique_ptr<SharedReads> shared_;
};

}  // namespace cleanroom
