// Fail-safe: when this process ends — it returns from main, calls exit(), or
// receives SIGINT, SIGTERM or SIGHUP — run the run-scoped sweep once, so a
// test program that never reaches its TearDown leaves nothing behind.
// SIGKILL cannot be caught; cleanroom-reaper (a sidecar process) covers it.
//
//   cleanroom::installFailSafe({.engine = engine});   // e.g. in main() or an Environment
//
// How: an atexit handler, and signal handlers that only write the signal
// number to a pipe (async-signal-safe). A watcher thread reads the pipe,
// runs the sweep, restores the signal's default action and raises it again,
// so the process still dies of that signal (its exit status says so). A
// second signal while the sweep runs kills the process at once (the default
// action is restored before the sweep starts).
//
// The sweep cleans `selector` (default: this run) with the engine's backends
// plus, when its journal exists, the backends the run's journal names
// (journal.h: backends created in code, e.g. a private tmux socket), so
// every backend added later is covered without touching this code. It runs
// at most once per process, whichever trigger comes first; runFailSafe()
// triggers it explicitly (the gtest Environment's TearDown does), and later
// triggers find it done. After a clean sweep the run's journal is removed
// when this process is its only writer.
//
// Cleanups that must come first (e.g. ship an ECS session's logs and
// deregister its load-balancer target before its task is stopped) register
// with addFailSafeCleanup(): the sweep runs them before the engine's sweep,
// so the sweep itself only finds what is really left over.
//
// Trace lines (info): step=fail-safe trigger=SIGTERM found=2 cleaned=2 ms=310
#pragma once

#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cleanroom/engine.h"
#include "cleanroom/report.h"
#include "cleanroom/selector.h"

namespace cleanroom {

struct FailSafeOptions {
  // The engine whose backends and options the sweep uses; nullptr = the
  // backends configured in the environment (backend_catalog.h) with default
  // options.
  std::shared_ptr<CleanupEngine> engine;
  // What the sweep cleans.
  Selector selector = Selector::thisRun();
  // Signals that trigger the sweep (then kill the process as before).
  std::vector<int> signals = {SIGINT, SIGTERM, SIGHUP};
};

// Installs the process's fail-safe, or replaces its options when installed;
// after a finished sweep it arms it again.
// Thread-safe. Throws ConfigError when no engine is given and the
// environment configures no backend (the message names the variables).
void installFailSafe(FailSafeOptions options);

// Returns true once installFailSafe() was called and the sweep has not run.
bool failSafeArmed();

// Runs the sweep now unless it has run (or nothing is installed); `trigger`
// names why in the trace. With `endServices`, then ends the services the
// run's journal names (mock servers the process started, journal.h): what
// an exit or a signal needs, not an Environment's TearDown (it stops its own
// mock). Returns the report, or nullopt when it did not run. Blocks for as
// long as the cleanup takes (its engine's bounds).
std::optional<CleanupReport> runFailSafe(const std::string& trigger, bool endServices = true);

// A cleanup run by the fail-safe sweep before the engine's sweep; `trigger`
// is what set the sweep off ("exit", "SIGTERM", …).
using FailSafeCleanup = std::function<void(const std::string& trigger)>;

// Registers `cleanup` (named `name` in traces) to run at the start of the
// fail-safe sweep, in registration order, on the thread that triggered it.
// An exception it throws is caught and logged. Returns an id for
// removeFailSafeCleanup(). Thread-safe; never blocks on a running sweep's
// engine, only on registered cleanups that are running.
int addFailSafeCleanup(std::string name, FailSafeCleanup cleanup);

// Unregisters a cleanup; blocks while registered cleanups are running (so
// its owner may be destroyed right after). Must not be called from a
// registered cleanup. Unknown ids are ignored.
void removeFailSafeCleanup(int id);

}  // namespace cleanroom
