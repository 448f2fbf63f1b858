// TmuxBackend: tmux sessions named cr-<run id>-<suffix>, their pane
// processes and everything those started. Single attempts only; the engine
// retries and waits.
#include "cleanroom/backends/tmux_backend.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>

#include "cleanroom/env.h"
#include "cleanroom/journal.h"
#include "cleanroom/run.h"
#include "cleanroom/trace.h"
#include "cleanroom/wait.h"
#include "fresh_result.h"
#include "tmux_client.h"

namespace cleanroom {
namespace {

constexpr const char* kBinaryVariable = "CLEANROOM_TMUX";
constexpr const char* kSocketVariable = "CLEANROOM_TMUX_SOCKET";
constexpr const char* kListFormat = "#{session_name} #{session_created} #{pane_pid}";
constexpr const char* kPaneFormat = "#{session_name} #{pane_pid}";
constexpr size_t kMaxSuffixLength = 64;
// What tmux sets in each pane: "<socket path>,<server pid>,<session index>".
constexpr const char* kTmuxVariable = "TMUX";

// How tmux answered, as far as the backend cares.
enum class Answer {
  Ok,
  NoServer,   // no server on the socket: nothing exists
  NoSession,  // the server has no such session
  Failed,
};

bool contains(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

Answer classify(const TmuxOutput& output) {
  if (output.exitCode == 0) return Answer::Ok;
  const std::string& err = output.err;
  if (contains(err, "no server running on")) return Answer::NoServer;
  if (contains(err, "error connecting to") &&
      (contains(err, "(No such file or directory)") || contains(err, "(Connection refused)"))) {
    return Answer::NoServer;
  }
  if (contains(err, "can't find session")) return Answer::NoSession;
  // A server left without sessions (about to exit after its last one ended)
  // says this to has-session, kill-session and list-panes -a alike.
  if (contains(err, "no current target")) return Answer::NoSession;
  return Answer::Failed;
}

bool isPermanentFailure(const std::string& err) {
  for (const char* word : {"duplicate session", "unknown command", "unknown option", "usage:", "invalid",
                           "(Permission denied)", "bad session name", "not a terminal"}) {
    if (contains(err, word)) return true;
  }
  return false;
}

// Returns the error for a failed call; `what` names the call.
Error failure(const TmuxOutput& output, const std::string& what) {
  std::string message = what + " failed (exit " + std::to_string(output.exitCode) + ")";
  if (!output.err.empty()) message += ": " + output.err;
  if (output.exitCode > 128) return Error::retryable(message + " (client killed by a signal)");
  return isPermanentFailure(output.err) ? Error::permanent(message) : Error::retryable(message);
}

std::string joinForTrace(const std::vector<std::string>& args) {
  std::string text;
  bool environmentValue = false;
  for (const std::string& arg : args) {
    std::string shown = arg;
    // Values given with -e may be secrets: show the name only.
    if (environmentValue) shown = arg.substr(0, arg.find('=')) + "=…";
    environmentValue = arg == "-e";
    text += (text.empty() ? "" : " ") + shown;
  }
  return text;
}

std::optional<long long> parseNumber(std::string_view text) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// Splits "<name> <a> <b>" from the right: the name may contain spaces.
std::optional<std::pair<std::string, std::vector<std::string>>> splitTrailing(const std::string& line, int count) {
  std::vector<std::string> tail;
  size_t end = line.size();
  for (int i = 0; i < count; ++i) {
    const size_t space = line.rfind(' ', end - 1);
    if (space == std::string::npos || space == 0) return std::nullopt;
    tail.insert(tail.begin(), line.substr(space + 1, end - space - 1));
    end = space;
  }
  return std::make_pair(line.substr(0, end), tail);
}

Status checkSuffix(const std::string& suffix) {
  const bool valid = !suffix.empty() && suffix.size() <= kMaxSuffixLength &&
                     std::all_of(suffix.begin(), suffix.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
                     });
  if (valid) return Status::success();
  return Error::permanent("tmux session suffix '" + suffix + "' is not valid; use 1-" +
                          std::to_string(kMaxSuffixLength) + " of [A-Za-z0-9_-] (e.g. agent_1)");
}

// How old a /proc scan for environment markers a stop may share with other
// stops. Parent links are always read fresh.
constexpr milliseconds kMarkerScanReuse{250};

// Every pane of every session: session name → pane pids.
using PaneListing = std::map<std::string, std::vector<pid_t>>;

// How long awaitFinished waits between asking tmux whether a session whose
// recorded processes all exited is gone (tmux ends it a moment later).
constexpr AdaptiveWait kSessionEndPacing{milliseconds(1), 2.0, milliseconds(20)};

// Adds `process` unless a process with its identity is there; a scan's
// entry (no command read yet) gets its command line first.
void addUnique(std::vector<ProcessInfo>& into, const ProcessInfo& process) {
  auto same = [&](const ProcessInfo& p) { return p.id == process.id; };
  if (std::any_of(into.begin(), into.end(), same)) return;
  if (!process.command.empty()) {
    into.push_back(process);
    return;
  }
  Result<ProcessInfo> full = readProcess(process.id.pid);
  into.push_back(full && full->id == process.id ? *full : process);
}

const ProcessInfo* findPid(const std::vector<ProcessInfo>& snapshot, pid_t pid) {
  auto it = std::find_if(snapshot.begin(), snapshot.end(), [&](const ProcessInfo& p) { return p.id.pid == pid; });
  return it == snapshot.end() ? nullptr : &*it;
}

std::string noteFor(const ProcessInfo& now, const std::vector<ProcessIdentity>& panes) {
  // Panes nobody recorded (the session ended before any stop): a process
  // leading a session of its own escaped its pane's with setsid.
  if (panes.empty()) return now.sid == now.id.pid ? "escaped with setsid" : "";
  auto inSession = [&](const ProcessIdentity& pane) { return now.sid == pane.pid; };
  auto inGroup = [&](const ProcessIdentity& pane) { return now.pgid == pane.pid; };
  if (std::none_of(panes.begin(), panes.end(), inSession)) return "escaped with setsid";
  if (std::none_of(panes.begin(), panes.end(), inGroup)) return "left the process group";
  return "";
}

// `path` made absolute, without "..", "." or symlinks where they exist.
std::string canonicalPath(const std::string& path) {
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
  if (ec) return std::filesystem::path(path).lexically_normal().string();
  return canonical.string();
}

// The socket the configured server listens on, as tmux resolves it.
std::string serverSocketOf(const TmuxConfig& config) {
  if (!config.socketPath.empty()) return canonicalPath(config.socketPath);
  const char* tmpdir = std::getenv("TMUX_TMPDIR");
  const std::string dir = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  const std::string socket = config.socketName.empty() ? "default" : config.socketName;
  return canonicalPath(dir + "/tmux-" + std::to_string(::getuid()) + "/" + socket);
}

// When the earliest of `survivors` started (wall clock); nullopt when /proc
// does not say when the machine booted.
std::optional<WallTime> earliestStart(const std::vector<TmuxSurvivor>& survivors) {
  static const std::optional<long long> bootTime = [] () -> std::optional<long long> {
    std::ifstream stat("/proc/stat");
    for (std::string key; stat >> key;) {
      long long value = 0;
      if (key == "btime" && stat >> value) return value;
    }
    return std::nullopt;
  }();
  const long ticksPerSecond = ::sysconf(_SC_CLK_TCK);
  if (!bootTime || survivors.empty() || ticksPerSecond <= 0) return std::nullopt;
  unsigned long long earliest = survivors.front().id.startTime;
  for (const TmuxSurvivor& s : survivors) earliest = std::min(earliest, s.id.startTime);
  const auto sinceBoot = std::chrono::milliseconds(static_cast<long long>(earliest * 1000 / ticksPerSecond));
  return WallTime(std::chrono::seconds(*bootTime)) + sinceBoot;
}

std::string describeSurvivors(const std::vector<TmuxSurvivor>& survivors) {
  std::string text;
  for (const TmuxSurvivor& s : survivors) text += (text.empty() ? "" : ", ") + s.describe();
  return text;
}

}  // namespace

// One /proc scan, and the session each process carrying both markers
// createSession gives a pane belongs to: CLEANROOM_RUN_ID (any run: the
// session name already embeds the run id, and parsing it back is ambiguous
// for ids containing '-') and CLEANROOM_TMUX_SESSION=<session>. Only
// processes of this backend's tmux server count (see onServer); this
// process and its ancestors never do.
struct TmuxBackend::ProcessScan {
  struct Mark {
    std::string session;  // CLEANROOM_TMUX_SESSION
    std::string runId;    // CLEANROOM_RUN_ID
  };
  std::vector<ProcessInfo> processes;
  std::map<pid_t, Mark> marks;  // pid (in `processes`) → its markers

  static ProcessScan take(const std::string& serverSocket) {
    const SteadyTime start = Clock::system().now();
    ProcessScan scan;
    scan.processes = listProcessStats();  // commands are read for recorded processes only
    const std::set<pid_t> ancestry = selfAndAncestors(scan.processes);
    const std::vector<std::string> markers{kRunMarkerVariable, kTmuxSessionVariable, kTmuxVariable};
    for (const ProcessInfo& p : scan.processes) {
      if (ancestry.count(p.id.pid) != 0 || p.isZombie()) continue;  // a zombie's environment is empty
      std::vector<std::optional<std::string>> values = environmentValues(p.id.pid, markers);
      if (!values[0] || !values[1] || !onServer(values[2], serverSocket)) continue;
      scan.marks[p.id.pid] = Mark{*values[1], *values[0]};
    }
    logger().debug("step=tmux-scan processes={} marked={} ms={}", scan.processes.size(), scan.marks.size(),
                   millisBetween(start, Clock::system().now()).count());
    return scan;
  }

  // The processes marked with `session`.
  std::vector<ProcessInfo> markedWith(const std::string& session) const {
    std::vector<ProcessInfo> found;
    for (const ProcessInfo& p : processes) {
      auto mark = marks.find(p.id.pid);
      if (mark != marks.end() && mark->second.session == session) found.push_back(p);
    }
    return found;
  }

 private:
  static std::set<pid_t> selfAndAncestors(const std::vector<ProcessInfo>& snapshot) {
    std::set<pid_t> chain;
    for (pid_t pid = ::getpid(); pid > 0 && chain.insert(pid).second;) {
      const ProcessInfo* p = findPid(snapshot, pid);
      if (p == nullptr) break;
      pid = p->ppid;
    }
    return chain;
  }

  // Whether a process whose TMUX variable is `tmux` ("<socket>,<server
  // pid>,<session index>", set by the server for its panes) belongs to the
  // server on `serverSocket`. Without TMUX it cannot be told: it counts.
  static bool onServer(const std::optional<std::string>& tmux, const std::string& serverSocket) {
    if (!tmux || tmux->empty()) return true;
    const size_t last = tmux->rfind(',');
    const size_t second = last == std::string::npos || last == 0 ? std::string::npos : tmux->rfind(',', last - 1);
    if (second == std::string::npos) return true;
    return canonicalPath(tmux->substr(0, second)) == serverSocket;
  }
};

struct TmuxBackend::SharedReads {
  FreshResult<Result<PaneListing>> panes;
  FreshResult<std::vector<ProcessInfo>> stats;  // parent links (listProcessStats)
  FreshResult<ProcessScan> scan;                // with the environment markers
};

namespace {

// Lists every pane of every session (one tmux call; two for a
// tmux-compatible CLI without list-panes). No server → an empty listing.
Result<PaneListing> listAllPanes(const TmuxBackend& backend) {
  Result<TmuxOutput> output = backend.tmux({"list-panes", "-a", "-F", kPaneFormat});
  if (!output) return output.error();
  Answer answer = classify(*output);
  int fieldsAfterName = 1;
  if (answer == Answer::Failed && !isPermanentFailure(output->err)) return failure(*output, "tmux list-panes");
  if (answer == Answer::Failed) {
    // A tmux-compatible CLI without list-panes: the active pane of each
    // session, "<session> <created> <pane pid>".
    output = backend.tmux({"list-sessions", "-F", kListFormat});
    if (!output) return output.error();
    answer = classify(*output);
    fieldsAfterName = 2;
  }
  if (answer == Answer::NoServer || answer == Answer::NoSession) return PaneListing{};
  if (answer != Answer::Ok) return failure(*output, "tmux list-sessions");

  PaneListing panes;
  for (const std::string& line : lines(output->out)) {
    auto fields = splitTrailing(line, fieldsAfterName);
    if (!fields) continue;
    std::optional<long long> pid = parseNumber(fields->second.back());
    if (pid && *pid > 0) panes[fields->first].push_back(static_cast<pid_t>(*pid));
  }
  return panes;
}

Result<std::vector<pid_t>> panesIn(const Result<PaneListing>& listing, const std::string& name) {
  if (!listing) return listing.error();
  auto session = listing->find(name);
  if (session == listing->end() || session->second.empty()) return Error::gone("tmux has no session " + name);
  return session->second;
}

}  // namespace

std::string TmuxSurvivor::describe() const {
  std::string text = std::to_string(id.pid) + " " + command;
  if (!note.empty()) text += " (" + note + ")";
  return text;
}

std::optional<Result<TmuxConfig>> TmuxConfig::fromEnvironment() {
  std::optional<std::string> binary = env::get(kBinaryVariable);
  std::optional<std::string> socket = env::get(kSocketVariable);
  if (!binary && !socket) return std::nullopt;
  TmuxConfig config;
  if (binary) {
    if (binary->find('/') != std::string::npos && ::access(binary->c_str(), X_OK) != 0) {
      return Result<TmuxConfig>(Error::permanent(std::string(kBinaryVariable) + "='" + *binary +
                                                 "' is not an executable file; set it to the tmux binary "
                                                 "(e.g. /usr/bin/tmux) or a name found in PATH"));
    }
    config.binary = *binary;
  }
  if (socket) {
    if (socket->front() != '/') {
      return Result<TmuxConfig>(Error::permanent(std::string(kSocketVariable) + "='" + *socket +
                                                 "' is not an absolute path; set it to the tmux server socket "
                                                 "(as given to tmux -S), e.g. /tmp/cleanroom-tmux/sock"));
    }
    config.socketPath = *socket;
  }
  return Result<TmuxConfig>(std::move(config));
}

TmuxBackend::TmuxBackend(TmuxConfig config)
    : config_(std::move(config)),
      shared_(new SharedReads{FreshResult<Result<PaneListing>>([this] { return listAllPanes(*this); }),
                              FreshResult<std::vector<ProcessInfo>>([] { return listProcessStats(); }),
                              FreshResult<ProcessScan>([socket = serverSocketOf(config_)] { return ProcessScan::take(socket); })}) {
  if (config_.binary.empty()) throw ConfigError("tmux backend: binary is empty; set CLEANROOM_TMUX or TmuxConfig::binary");
  if (config_.commandTimeout <= milliseconds(0)) {
    throw ConfigError("tmux backend: commandTimeout must be positive (e.g. 5s)");
  }
  if (config_.sessionPrefix.empty()) throw ConfigError("tmux backend: sessionPrefix is empty (default \"cr-\")");
}

TmuxBackend::~TmuxBackend() = default;

Result<TmuxOutput> TmuxBackend::tmux(const std::vector<std::string>& args) const {
  std::vector<std::string> argv;
  if (!config_.socketPath.empty()) {
    argv = {"-S", config_.socketPath};
  } else if (!config_.socketName.empty()) {
    argv = {"-L", config_.socketName};
  }
  argv.insert(argv.end(), args.begin(), args.end());
  Result<TmuxOutput> output = tmux_client::run(config_.binary, argv, config_.commandTimeout);
  if (output) {
    if (output->exitCode == 0) {
      logger().debug("step=tmux args=\"{}\" rc=0 ms={}", joinForTrace(args), output->elapsed.count());
    } else {
      logger().debug("step=tmux args=\"{}\" rc={} ms={} err=\"{}\"", joinForTrace(args), output->exitCode,
                     output->elapsed.count(), output->err);
    }
  } else {
    logger().debug("step=tmux args=\"{}\" result={} error=\"{}\"", joinForTrace(args),
                   toString(output.error().kind), output.error().message);
  }
  return output;
}

std::string TmuxBackend::sessionName(const std::string& runId, const std::string& suffix) const {
  return config_.sessionPrefix + runId + "-" + suffix;
}

std::string TmuxBackend::runIdOf(const std::string& sessionName) const {
  if (sessionName.compare(0, config_.sessionPrefix.size(), config_.sessionPrefix) != 0) return "";
  const std::string rest = sessionName.substr(config_.sessionPrefix.size());
  const size_t dash = rest.find('-');
  if (dash == std::string::npos || dash == 0) return "";
  return rest.substr(0, dash);
}

Resource TmuxBackend::sessionResource(const std::string& name, std::optional<WallTime> createdAt) const {
  Resource r;
  r.backend = this->name();
  r.id = name;
  r.name = name;
  r.runId = runIdOf(name);
  if (!r.runId.empty()) r.labels[kRunLabel] = r.runId;
  labelAgent(r);
  r.createdAt = createdAt;
  r.state = ResourceState::Running;
  r.status = "running";
  return r;
}

Result<std::vector<Resource>> TmuxBackend::list(const Selector& selector) {
  Result<TmuxOutput> output = tmux({"list-sessions", "-F", kListFormat});
  if (!output) return output.error();
  const Answer answer = classify(*output);
  if (answer != Answer::Ok && answer != Answer::NoServer) return failure(*output, "tmux list-sessions");

  std::vector<Resource> resources;
  std::set<std::string> listed;
  for (const std::string& line : lines(output->out)) {
    auto fields = splitTrailing(line, 2);
    std::optional<long long> created = fields ? parseNumber(fields->second[0]) : std::nullopt;
    if (!created) return Error::permanent("tmux list-sessions printed an unexpected line: '" + line + "'");
    listed.insert(fields->first);
    Resource r = sessionResource(fields->first, WallTime(std::chrono::seconds(*created)));
    if (std::optional<long long> panePid = parseNumber(fields->second[1])) {
      // The pane's own marker names its run exactly (a name can't, for run ids with '-').
      Result<ProcessInfo> pane = readProcess(static_cast<pid_t>(*panePid));
      if (pane && pane->runMarker) {
        r.runId = *pane->runMarker;
        r.labels[kRunLabel] = r.runId;
      }
    }
    if (selector.runId) {
      // A run's selector claims exactly the names with its prefix.
      if (!claims(*selector.runId, fields->first)) continue;
      r.runId = *selector.runId;
      r.labels[kRunLabel] = r.runId;
    }
    labelAgent(r);
    if (stopRequested(r.id)) {
      r.state = ResourceState::Stopping;
      r.status = "stopping";
    }
    resources.push_back(std::move(r));
  }
  Result<std::vector<Resource>> outlived = outlivedSessions(selector, listed);
  if (!outlived) return outlived.error();
  resources.insert(resources.end(), outlived->begin(), outlived->end());
  return resources;
}

bool TmuxBackend::claims(const std::string& runId, const std::string& name) const {
  return name.rfind(sessionName(runId, ""), 0) == 0;
}

bool TmuxBackend::stopRequested(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto record = records_.find(name);
  return record != records_.end() && record->second.stopRequested;
}

// Sessions tmux did not list whose processes (recorded by a stop of this
// instance, or marked with the session's name) are alive. One /proc scan;
// one pane listing more only when there are any (to drop sessions created
// since list-sessions answered).
Result<std::vector<Resource>> TmuxBackend::outlivedSessions(const Selector& selector,
                                                            const std::set<std::string>& listed) {
  const std::shared_ptr<const ProcessScan> scan = freshScan();
  std::map<std::string, std::string> candidates;  // session → run id of its marker ("" = recorded only)
  for (const auto& [pid, mark] : scan->marks) candidates.emplace(mark.session, mark.runId);
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, record] : records_) {
      if (!record.finished) candidates.emplace(name, "");
    }
  }
  std::vector<Resource> out;
  for (const auto& [name, markerRun] : candidates) {
    if (listed.count(name) != 0) continue;
    if (selector.runId && !claims(*selector.runId, name)) continue;
    std::vector<TmuxSurvivor> survivors = survivorsOf(name, nullptr, *scan);
    if (survivors.empty()) continue;
    Resource r = sessionResource(name, earliestStart(survivors));
    r.runId = selector.runId ? *selector.runId : markerRun.empty() ? runIdOf(name) : markerRun;
    r.labels.erase(kRunLabel);
    if (!r.runId.empty()) r.labels[kRunLabel] = r.runId;
    labelAgent(r);
    r.state = stopRequested(name) ? ResourceState::Stopping : ResourceState::Running;
    r.status = "session gone; alive: " + describeSurvivors(survivors);
    out.push_back(std::move(r));
  }
  if (out.empty()) return out;
  const std::shared_ptr<const Result<PaneListing>> panes = shared_->panes.get();
  if (!*panes) return panes->error();
  std::erase_if(out, [&](const Resource& r) { return (*panes)->count(r.id) != 0; });
  return out;
}

Result<std::vector<pid_t>> TmuxBackend::panePids(const std::string& name) {
  return panesIn(listAllPanes(*this), name);
}

Result<std::vector<pid_t>> TmuxBackend::sharedPanePids(const std::string& name) {
  return panesIn(*shared_->panes.get(), name);
}

Result<TmuxBackend::Presence> TmuxBackend::sharedPresence(const std::string& name) {
  Result<std::vector<pid_t>> panes = sharedPanePids(name);
  if (panes) return Presence::Listed;
  if (panes.error().isGone()) return Presence::Absent;
  // tmux 3.3 answers "server exited unexpectedly" when the server exits (its
  // last session ended) while answering: ask this session alone.
  return sessionPresence(name);
}

std::shared_ptr<const TmuxBackend::ProcessScan> TmuxBackend::freshScan() { return shared_->scan.get(); }

Result<TmuxBackend::Presence> TmuxBackend::sessionPresence(const std::string& name) {
  Result<TmuxOutput> output = tmux({"has-session", "-t", "=" + name});
  if (!output) return output.error();
  switch (classify(*output)) {
    case Answer::Ok:
      return Presence::Listed;
    case Answer::NoServer:
    case Answer::NoSession:
      return Presence::Absent;
    case Answer::Failed:
      break;
  }
  return failure(*output, "tmux has-session -t =" + name);
}

TmuxBackend::SessionRecord TmuxBackend::recordProcesses(const std::string& name, const std::vector<pid_t>& panes) {
  // Parent links as they are now (after the pane listing); the environment
  // markers from a scan at most kMarkerScanReuse old (see the header).
  const std::shared_ptr<const std::vector<ProcessInfo>> stats = shared_->stats.get();
  const std::shared_ptr<const ProcessScan> scan = shared_->scan.get(kMarkerScanReuse);
  const std::vector<ProcessInfo>& snapshot = *stats;
  std::lock_guard lock(mutex_);
  SessionRecord& record = records_[name];
  record.finished = false;
  for (pid_t pid : panes) {
    const ProcessInfo* pane = findPid(snapshot, pid);
    if (pane == nullptr) continue;
    if (std::find(record.panes.begin(), record.panes.end(), pane->id) == record.panes.end()) {
      record.panes.push_back(pane->id);
    }
    addUnique(record.processes, *pane);
  }
  // Descendants of everything known so far (panes, and processes recorded by
  // an earlier stop that may have started new children since).
  const std::vector<ProcessInfo> known = record.processes;
  for (const ProcessInfo& p : known) {
    for (const ProcessInfo& child : descendantsOf(p.id, snapshot)) addUnique(record.processes, child);
  }
  for (const ProcessInfo& p : scan->markedWith(name)) addUnique(record.processes, p);
  return record;
}

Status TmuxBackend::requestStop(const Resource& resource, StopMode mode) {
  const std::string& name = resource.id;
  Result<std::vector<pid_t>> panes = sharedPanePids(name);
  if (!panes && !panes.error().isGone()) return panes.error();
  const bool listed = panes.ok();
  SessionRecord record = recordProcesses(name, listed ? *panes : std::vector<pid_t>{});
  {
    std::lock_guard lock(mutex_);
    records_[name].stopRequested = true;
  }

  const int sig = mode == StopMode::Graceful ? SIGTERM : SIGKILL;
  std::set<pid_t> signalledGroups;
  for (const ProcessIdentity& pane : record.panes) {
    if (signalGroup(pane.pid, pane, sig).ok()) signalledGroups.insert(pane.pid);
  }
  int signalled = static_cast<int>(signalledGroups.size());
  for (const ProcessInfo& p : record.processes) {
    Result<ProcessInfo> now = readProcess(p.id.pid);
    if (!now || now->id != p.id || now->isZombie()) continue;
    if (signalledGroups.count(now->pgid) != 0) continue;  // the group signal reached it
    if (signalProcess(p.id, sig).ok()) ++signalled;
  }
  logger().debug("step=tmux-signal ref={} signal={} panes={} recorded={} signalled={}", resource.ref(),
                 sig == SIGTERM ? "SIGTERM" : "SIGKILL", record.panes.size(), record.processes.size(), signalled);

  if (!listed) {
    if (signalled > 0) return Status::success();
    return Error::gone("tmux has no session " + name + " and none of its processes is alive");
  }
  // Graceful: SIGTERM only. kill-session would SIGHUP the pane and cut its
  // TERM handler short; tmux ends the session itself when the pane exits.
  // A pane that ignores SIGTERM is forced (SIGKILL + kill-session) after the
  // engine's grace period.
  if (mode == StopMode::Graceful && signalled > 0) return Status::success();
  Result<TmuxOutput> killed = tmux({"kill-session", "-t", "=" + name});
  if (!killed) return killed.error();
  switch (classify(*killed)) {
    case Answer::Ok:
      return Status::success();
    case Answer::NoServer:
    case Answer::NoSession:
      // It ended between the listing and now: by our signal, or on its own.
      if (signalled > 0) return Status::success();
      return Error::gone("tmux has no session " + name);
    case Answer::Failed:
      break;
  }
  // tmux 3.3 says "server exited unexpectedly" when the session's end (by
  // our signal) took the server down while it answered: ask again.
  if (signalled > 0) {
    Result<Presence> presence = sessionPresence(name);
    if (presence && *presence == Presence::Absent) return Status::success();
  }
  return failure(*killed, "tmux kill-session -t =" + name);
}

std::vector<TmuxSurvivor> TmuxBackend::survivorsOf(const std::string& name, std::vector<TmuxSurvivor>* zombies,
                                                   const ProcessScan& scan) {
  std::vector<ProcessInfo> candidates;
  std::vector<ProcessIdentity> panes;
  const std::vector<ProcessInfo> marked = scan.markedWith(name);
  {
    std::lock_guard lock(mutex_);
    auto record = records_.find(name);
    if (record != records_.end()) {
      // Marked processes that outlived the session are recorded too (so
      // awaitFinished waits on them and they are reaped later).
      for (const ProcessInfo& p : marked) addUnique(record->second.processes, p);
      candidates = record->second.processes;
      panes = record->second.panes;
    }
  }
  for (const ProcessInfo& p : marked) addUnique(candidates, p);
  std::vector<ProcessIdentity> ids;
  for (const ProcessInfo& p : candidates) ids.push_back(p.id);
  reapZombieChildren(ids);

  std::vector<TmuxSurvivor> survivors;
  for (const ProcessInfo& p : candidates) {
    Result<ProcessInfo> now = readProcess(p.id.pid);
    if (!now || now->id != p.id) continue;
    TmuxSurvivor survivor{p.id, p.command, noteFor(*now, panes)};
    if (!now->isZombie()) {
      survivors.push_back(std::move(survivor));
    } else if (zombies != nullptr) {
      zombies->push_back(std::move(survivor));
    }
  }
  return survivors;
}

Result<ResourceStatus> TmuxBackend::probe(const Resource& resource) {
  Result<Presence> presence = sessionPresence(resource.id);
  if (!presence) return presence.error();
  return statusAfter(resource.id, *presence);
}

ResourceStatus TmuxBackend::statusAfter(const std::string& name, Presence presence) {
  const ResourceState active = stopRequested(name) ? ResourceState::Stopping : ResourceState::Running;
  if (presence == Presence::Listed) {
    return ResourceStatus{active, active == ResourceState::Stopping ? "stopping" : "running"};
  }
  std::vector<TmuxSurvivor> survivors = survivorsOf(name, nullptr, *freshScan());
  if (!survivors.empty()) return ResourceStatus{active, "session gone; alive: " + describeSurvivors(survivors)};
  {
    std::lock_guard lock(mutex_);
    auto record = records_.find(name);
    if (record != records_.end()) record->second.finished = true;
  }
  return ResourceStatus{ResourceState::Gone, "gone"};
}

std::vector<ProcessIdentity> TmuxBackend::recordedIdentities(const std::string& name) {
  std::vector<ProcessIdentity> ids;
  std::lock_guard lock(mutex_);
  auto record = records_.find(name);
  if (record == records_.end() || !record->second.stopRequested) return ids;
  for (const ProcessInfo& p : record->second.processes) ids.push_back(p.id);
  return ids;
}

Result<ResourceStatus> TmuxBackend::awaitFinished(const Resource& resource, milliseconds timeout) {
  Clock& clock = Clock::system();
  const SteadyTime deadline = clock.now() + timeout;
  if (recordedIdentities(resource.id).empty()) return probe(resource);
  int lingering = 0;  // answers in which tmux still had the session
  for (;;) {
    const milliseconds left = std::max(millisBetween(clock.now(), deadline), milliseconds(0));
    if (!awaitExit(recordedIdentities(resource.id), left).empty()) return probe(resource);  // timed out
    Result<Presence> presence = sharedPresence(resource.id);
    if (!presence) return presence.error();
    ResourceStatus status = statusAfter(resource.id, *presence);
    if (isFinished(status.state) || clock.now() >= deadline) return status;
    // Listed: tmux has not noticed the exit yet, or the session has panes no
    // stop recorded. Absent with survivors: they are recorded now; wait on them.
    if (*presence == Presence::Listed) {
      clock.sleepUntil(std::min(deadline, clock.now() + kSessionEndPacing.intervalAfter(lingering++)));
    }
  }
}

Result<TmuxSessionCheck> TmuxBackend::checkSessionGone(const std::string& name) {
  Result<Presence> presence = sessionPresence(name);
  if (!presence) return presence.error();
  TmuxSessionCheck check;
  check.sessionKilled = *presence == Presence::Absent;
  check.survivors = survivorsOf(name, &check.zombies, *freshScan());
  check.noSurvivors = check.survivors.empty();
  check.noZombies = check.zombies.empty();
  logger().debug("step=tmux-check session={} killed={} survivors=\"{}\" zombies=\"{}\"", name, check.sessionKilled,
                 describeSurvivors(check.survivors), describeSurvivors(check.zombies));
  return check;
}

Result<Resource> TmuxBackend::createSession(const TmuxSessionSpec& spec) {
  const std::string runId = spec.runId.empty() ? run::id() : spec.runId;
  if (Status valid = run::validateId(runId, "tmux session run id"); !valid) return valid.error();
  if (Status valid = checkSuffix(spec.suffix); !valid) return valid.error();
  const std::string name = sessionName(runId, spec.suffix);

  std::vector<std::string> args{"new-session", "-d", "-s", name};
  args.insert(args.end(), {"-e", std::string(kRunMarkerVariable) + "=" + runId});
  args.insert(args.end(), {"-e", std::string(kTmuxSessionVariable) + "=" + name});
  for (const auto& [key, value] : spec.env) args.insert(args.end(), {"-e", key + "=" + value});
  if (!spec.cwd.empty()) args.insert(args.end(), {"-c", spec.cwd});
  if (!spec.command.empty()) args.push_back(spec.command);

  const WallTime before = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  Result<TmuxOutput> output = tmux(args);
  if (!output) return output.error();
  if (classify(*output) != Answer::Ok) return failure(*output, "tmux new-session -s " + name);
  Resource r = sessionResource(name, before);
  r.runId = runId;
  r.labels[kRunLabel] = runId;
  (void)journal::recordCreated(*this, r);
  return r;
}

std::map<std::string, std::string> TmuxBackend::locator() const {
  return {{"binary", config_.binary},
          {"socketPath", config_.socketPath},
          {"socketName", config_.socketName},
          {"sessionPrefix", config_.sessionPrefix}};
}

}  // namespace cleanroom
