// cleanroom tmux benchmark: print figures, assert nothing. Not run by ctest;
// run this binary directly. Options: `--tmux PATH` (e.g. the path of
// cleanroom-mock-tmux; default /usr/bin/tmux), `--agents 1,10,50` (the
// counts to run), `--no-old` (skip the old sequence), `--trace` (cleanroom's
// debug trace lines on stderr).
//
// 1, 10 and 50 agents, each in a tmux session on a private server
// (`-S <temp dir>/sock`), whose pane command exits 1-5 s after SIGTERM
// (spread evenly; one agent: 5 s):
//   cleanroom   CleanupEngine + TmuxBackend (grace period 10 s) cleaning the
//               run: total vs the slowest exit, `over = total - slowest`;
//               `after exit`: total minus the moment the last agent process
//               really exited (watched through pidfds);
//               stop p50/max: how long each graceful requestStop took
//   old         on fresh identical agents, one at a time: `tmux kill-session
//               -t NAME`, sleep 0.5 s, `ps aux` grepped for the session name;
//               total, what the scan found, and which of the agent's
//               processes were really still alive after its scan
//
// The process is a child subreaper, so the daemonised tmux server and every
// orphan of a pane are its children; each case ends with kill-server and
// reaps all of them by pid. The temp dir is removed at the end.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cleanroom/backends/tmux_backend.h"
#include "cleanroom/engine.h"
#include "cleanroom/process_tree.h"
#include "cleanroom/run.h"
#include "cleanroom/selector.h"
#include "cleanroom/trace.h"
#include "cleanroom/wait.h"
#include "bench_support.h"

namespace {

using namespace std::chrono_literals;
using cleanroom::bench::msSince;
using cleanroom::bench::percentile;
using cleanroom::bench::SteadyClock;

// Waits (adaptive polling, never a fixed sleep) until `condition` holds or
// `timeout` passes; returns whether it held.
bool waitFor(std::chrono::milliseconds timeout, const std::function<bool()>& condition) {
  auto& clock = cleanroom::Clock::system();
  return cleanroom::waitUntil(clock, clock.now() + timeout, cleanroom::AdaptiveWait{}, condition).met;
}

// One agent: its session and the processes its pane started.
struct Agent {
  std::string session;
  int exitDelayMs = 0;
  std::vector<cleanroom::ProcessIdentity> processes;  // pane + descendants, once started
};

int exitDelayMs(int index, int agents) { return agents == 1 ? 5000 : 1000 + 4000 * index / (agents - 1); }

std::string paneCommand(int delayMs) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", delayMs / 1000.0);
  return std::string("trap 'sleep ") + seconds + "; exit 0' TERM; sleep 600 & wait $!";
}

// The private tmux server of the benchmark and everything it ever ran.
class PrivateTmux {
 public:
  explicit PrivateTmux(std::string binary) {
    char pattern[] = "/tmp/cr-tmux-bench-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    config_.binary = std::move(binary);
    config_.socketPath = dir_ + "/sock";
    // The sessions' journal lives (and goes) with the private directory.
    ::setenv("CLEANROOM_JOURNAL_DIR", (dir_ + "/journals").c_str(), 1);
  }
  ~PrivateTmux() {
    endServer();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  const cleanroom::TmuxConfig& config() const { return config_; }

  // Starts `count` agents of a fresh run on a fresh backend; returns once
  // every pane has installed its TERM trap (its `sleep 600` is running).
  std::vector<Agent> startAgents(cleanroom::TmuxBackend& backend, const std::string& runId, int count) {
    std::vector<Agent> agents;
    for (int i = 0; i < count; ++i) {
      cleanroom::TmuxSessionSpec spec;
      spec.suffix = "a" + std::to_string(i);
      spec.runId = runId;
      spec.command = paneCommand(exitDelayMs(i, count));
      auto created = backend.createSession(spec);
      if (!created.ok()) throw std::runtime_error("createSession: " + created.error().describe());
      agents.push_back({created.value().name, exitDelayMs(i, count), {}});
    }
    const bool ready = waitFor(20s, [&] { return countCommand(runId, "sleep 600") == count; });
    if (!ready) throw std::runtime_error("panes did not start their `sleep 600` within 20 s");
    for (auto& agent : agents) recordProcesses(backend, agent);
    return agents;
  }

  // kill-server, then waits for everything recorded to exit and reaps it.
  void endServer() {
    cleanroom::TmuxBackend backend(config_);
    (void)backend.tmux({"kill-server"});  // "no server running" is fine
    for (const auto& process : remembered_) {
      if (cleanroom::isAlive(process)) (void)cleanroom::signalProcess(process, SIGKILL);  // gone is fine
    }
    waitFor(10s, [&] {
      return std::none_of(remembered_.begin(), remembered_.end(), [](const auto& p) { return cleanroom::isAlive(p); });
    });
    cleanroom::reapZombieChildren(remembered_);
    remembered_.clear();
  }

 private:
  static int countCommand(const std::string& runId, const std::string& command) {
    const auto marked = cleanroom::processesMarkedWith(runId);
    return static_cast<int>(std::count_if(marked.begin(), marked.end(), [&](const auto& p) { return p.command == command; }));
  }

  void recordProcesses(cleanroom::TmuxBackend& backend, Agent& agent) {
    auto panes = backend.panePids(agent.session);
    if (!panes.ok()) throw std::runtime_error("panePids: " + panes.error().describe());
    for (pid_t pane : panes.value()) {
      auto info = cleanroom::readProcess(pane);
      if (!info.ok()) continue;
      agent.processes.push_back(info.value().id);
      if (auto server = cleanroom::identityOf(info.value().ppid); server.ok()) remember(server.value());
      for (const auto& child : cleanroom::descendantsOf(info.value().id)) agent.processes.push_back(child.id);
    }
    for (const auto& process : agent.processes) remember(process);
  }

  void remember(const cleanroom::ProcessIdentity& process) {
    if (std::find(remembered_.begin(), remembered_.end(), process) == remembered_.end()) remembered_.push_back(process);
  }

  std::string dir_;
  cleanroom::TmuxConfig config_;
  std::vector<cleanroom::ProcessIdentity> remembered_;
};

int slowestOf(const std::vector<Agent>& agents) {
  int slowest = 0;
  for (const auto& agent : agents) slowest = std::max(slowest, agent.exitDelayMs);
  return slowest;
}

int aliveCount(const std::vector<cleanroom::ProcessIdentity>& processes) {
  return static_cast<int>(std::count_if(processes.begin(), processes.end(), [](const auto& p) { return cleanroom::isAlive(p); }));
}

// Returns the duration (ms) of every action called `name` in the report.
std::vector<double> actionDurations(const cleanroom::CleanupReport& report, const std::string& name) {
  std::vector<double> durations;
  for (const auto& resource : report.resources) {
    for (const auto& action : resource.actions) {
      if (action.name == name) durations.push_back(static_cast<double>(action.duration.count()));
    }
  }
  return durations;
}

void cleanroomCase(PrivateTmux& tmux, int count) {
  const std::string runId = cleanroom::run::generateId();
  auto backend = std::make_shared<cleanroom::TmuxBackend>(tmux.config());
  auto agents = tmux.startAgents(*backend, runId, count);

  cleanroom::CleanupOptions options;
  options.gracePeriod = 10s;
  cleanroom::CleanupEngine engine(options);
  engine.addBackend(backend);
  std::vector<cleanroom::ProcessIdentity> processes;
  for (const auto& agent : agents) processes.insert(processes.end(), agent.processes.begin(), agent.processes.end());
  const auto start = SteadyClock::now();
  // The moment the last agent process really exited (pidfds), to split
  // cleanroom's time into before the signal and after the exit.
  double lastExit = 0;
  std::thread watcher([&] {
    cleanroom::awaitExit(processes, std::chrono::milliseconds(60000));
    lastExit = msSince(start);
  });
  const auto report = engine.cleanup(cleanroom::Selector::forRun(runId));
  const double total = msSince(start);
  watcher.join();

  const auto alive = cleanroom::processesMarkedWith(runId).size();
  const int slowest = slowestOf(agents);
  const auto stops = actionDurations(report, "stop");
  std::printf("%-8d %10dms %10.0fms %10.0fms %10.0fms %10.0fms %10.0fms %6zu %7d  %s\n", count, slowest, total,
              total - slowest, total - lastExit, percentile(stops, 0.5), percentile(stops, 1.0), alive,
              report.totals.forced, report.success ? "clean" : "NOT CLEAN");
  tmux.endServer();
}

// Runs `ps aux` and returns how many lines contain `needle`.
int psAuxMatches(const std::string& needle) {
  FILE* ps = ::popen("ps aux", "r");
  if (ps == nullptr) return -1;
  int matches = 0;
  std::string line;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, ps) != nullptr) {
    line += buffer;
    if (line.back() != '\n') continue;
    if (line.find(needle) != std::string::npos) ++matches;
    line.clear();
  }
  ::pclose(ps);
  return matches;
}

void oldSequenceCase(PrivateTmux& tmux, int count) {
  const std::string runId = cleanroom::run::generateId();
  cleanroom::TmuxBackend backend(tmux.config());
  auto agents = tmux.startAgents(backend, runId, count);

  int killFailures = 0;
  int psHits = 0;
  int aliveAfterScan = 0;
  int agentsWithSurvivors = 0;
  double measured = 0;
  const auto start = SteadyClock::now();
  for (const auto& agent : agents) {
    auto killed = backend.tmux({"kill-session", "-t", agent.session});
    if (!killed.ok() || killed.value().exitCode != 0) ++killFailures;
    std::this_thread::sleep_for(500ms);  // the strategy under comparison, not ours
    psHits += psAuxMatches(agent.session);
    // Not part of the old sequence: what really was alive after its scan.
    const auto checkStart = SteadyClock::now();
    const int alive = aliveCount(agent.processes);
    measured += msSince(checkStart);
    aliveAfterScan += alive;
    if (alive > 0) ++agentsWithSurvivors;
  }
  const double total = msSince(start) - measured;

  const auto aliveAtEnd = cleanroom::processesMarkedWith(runId).size();
  auto sessions = backend.list(cleanroom::Selector::forRun(runId));
  const auto sessionsLeft = sessions.ok() ? sessions.value().size() : 0;
  std::printf("%-8d %10dms %10.0fms %8d %10d %10d %9zu %8zu%s\n", count, slowestOf(agents), total, psHits,
              aliveAfterScan, agentsWithSurvivors, aliveAtEnd, sessionsLeft,
              killFailures > 0 ? ("  (" + std::to_string(killFailures) + " kill-session failed)").c_str() : "");
  tmux.endServer();
}

void printMachine(const std::string& binary) {
  std::printf("# cleanroom tmux benchmarks\nmachine: %s; tmux: %s\n", cleanroom::bench::machineDescription().c_str(),
              binary.c_str());
}

// Parses "1,10,50"; empty when malformed.
std::vector<int> parseCounts(const std::string& text) {
  std::vector<int> counts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos || item.size() > 4) return {};
    counts.push_back(std::stoi(item));
    if (counts.back() == 0) return {};
    start = comma + 1;
  }
  return counts;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  std::string binary = "/usr/bin/tmux";
  std::vector<int> counts{1, 10, 50};
  bool runOld = true;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--tmux" && i + 1 < args.size()) {
      binary = args[++i];
      continue;
    }
    if (args[i] == "--agents" && i + 1 < args.size() && !parseCounts(args[i + 1]).empty()) {
      counts = parseCounts(args[++i]);
      continue;
    }
    if (args[i] == "--no-old") {
      runOld = false;
      continue;
    }
    if (args[i] == "--trace") {
      cleanroom::setLogLevel("debug");
      continue;
    }
    std::fprintf(stderr, "usage: cleanroom_tmux_bench [--tmux PATH] [--agents 1,10,50] [--no-old] [--trace]\n");
    return 2;
  }
  printMachine(binary);
  if (!cleanroom::becomeChildSubreaper()) std::printf("warning: could not become a child subreaper\n");
  try {
    PrivateTmux tmux(binary);
    std::printf("\n## cleanroom: CleanupEngine + TmuxBackend (grace 10 s), exits spread over 1-5 s after SIGTERM\n");
    std::printf("%-8s %12s %12s %12s %12s %12s %12s %6s %7s  %s\n", "agents", "slowest", "total", "over",
                "after exit", "stop p50", "stop max", "alive", "forced", "result");
    for (int count : counts) cleanroomCase(tmux, count);
    if (!runOld) return 0;

    std::printf("\n## old sequence: per agent kill-session, sleep 0.5 s, `ps aux | grep NAME`\n");
    std::printf("%-8s %12s %12s %8s %10s %10s %9s %8s\n", "agents", "slowest", "total", "ps hits", "alive@scan",
                "agents w/", "alive@end", "sessions");
    for (int count : counts) oldSequenceCase(tmux, count);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tmux bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
