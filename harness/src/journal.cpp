#include "cleanroom/journal.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cleanroom/backend.h"
#include "cleanroom/env.h"
#include "cleanroom/process_tree.h"
#include "cleanroom/trace.h"

namespace cleanroom {
namespace {

namespace fs = std::filesystem;

long long epochMs(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

WallTime fromEpochMs(long long ms) { return WallTime(std::chrono::milliseconds(ms)); }

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

template <class T>
std::optional<T> field(const nlohmann::json& line, const char* key) {
  auto it = line.find(key);
  if (it == line.end()) return std::nullopt;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

nlohmann::json JournalEntry::toJson() const {
  nlohmann::json line = {{"event", event}, {"runId", runId}};
  if (event == "run" || event == "closed" || event == "service") {
    line["pid"] = pid;
    line["startTime"] = startTime;
  } else {
    line["backend"] = backend;
    line["id"] = id;
  }
  if (event == "created") {
    line["name"] = name;
    line["labels"] = labels;
  }
  if (event == "service") line["name"] = name;
  if (event == "created" || event == "backend") line["locator"] = locator;
  if (event == "backend") line.erase("id");
  line["atMs"] = epochMs(at);
  return line;
}

Result<JournalEntry> JournalEntry::fromJson(const nlohmann::json& line) {
  if (!line.is_object()) return Error::permanent("not a JSON object");
  JournalEntry entry;
  auto event = field<std::string>(line, "event");
  auto runId = field<std::string>(line, "runId");
  if (!event || (*event != "run" && *event != "created" && *event != "cleaned" && *event != "backend" &&
                 *event != "closed" && *event != "service")) {
    return Error::permanent("no \"event\" of run, created, cleaned, backend, closed or service");
  }
  if (!runId || runId->empty()) return Error::permanent("no \"runId\"");
  entry.event = *event;
  entry.runId = *runId;
  entry.at = fromEpochMs(field<long long>(line, "atMs").value_or(0));
  if (entry.event == "run" || entry.event == "closed" || entry.event == "service") {
    entry.name = field<std::string>(line, "name").value_or("");
    auto pid = field<long long>(line, "pid");
    auto start = field<unsigned long long>(line, "startTime");
    if (!pid || *pid <= 0 || !start) {
      return Error::permanent("a " + entry.event + " line needs \"pid\" and \"startTime\"");
    }
    entry.pid = static_cast<pid_t>(*pid);
    entry.startTime = *start;
    return entry;
  }
  auto backend = field<std::string>(line, "backend");
  if (entry.event == "backend") {
    if (!backend || backend->empty()) return Error::permanent("a backend line needs \"backend\"");
    entry.backend = *backend;
    entry.locator =
        field<std::map<std::string, std::string>>(line, "locator").value_or(std::map<std::string, std::string>{});
    return entry;
  }
  auto id = field<std::string>(line, "id");
  if (!backend || backend->empty() || !id || id->empty()) {
    return Error::permanent("a " + entry.event + " line needs \"backend\" and \"id\"");
  }
  entry.backend = *backend;
  entry.id = *id;
  if (entry.event == "created") {
    entry.name = field<std::string>(line, "name").value_or("");
    entry.labels = field<std::map<std::string, std::string>>(line, "labels").value_or(std::map<std::string, std::string>{});
    entry.locator =
        field<std::map<std::string, std::string>>(line, "locator").value_or(std::map<std::string, std::string>{});
  }
  return entry;
}

std::vector<JournalEntry> JournalContents::owners() const {
  std::vector<JournalEntry> out;
  for (const auto& e : entries) {
    if (e.event == "run") out.push_back(e);
  }
  return out;
}

std::vector<JournalEntry> JournalContents::services() const {
  std::vector<JournalEntry> out;
  for (const auto& e : entries) {
    if (e.event == "service") out.push_back(e);
  }
  return out;
}

bool JournalContents::closedBy(pid_t pid, unsigned long long startTime) const {
  bool closed = false;
  for (const auto& e : entries) {
    if (e.event == "closed" && e.pid == pid && e.startTime == startTime) closed = true;
    if (e.event == "created") closed = false;  // created after closing: not clean any more
  }
  return closed;
}

bool JournalContents::ownedBy(pid_t pid, unsigned long long startTime) const {
  for (const auto& e : entries) {
    if (e.event == "run" && e.pid == pid && e.startTime == startTime) return true;
  }
  return false;
}

std::vector<Resource> JournalContents::outstanding() const {
  std::vector<Resource> out;
  for (const auto& e : entries) {
    auto same = [&](const Resource& r) { return r.backend == e.backend && r.id == e.id; };
    if (e.event == "cleaned") {
      std::erase_if(out, same);
      continue;
    }
    if (e.event != "created") continue;
    std::erase_if(out, same);  // created again after a clean: the later one counts
    Resource r;
    r.backend = e.backend;
    r.id = e.id;
    r.name = e.name;
    r.labels = e.labels;
    r.runId = e.runId;
    r.createdAt = e.at;
    r.state = ResourceState::Unknown;
    r.status = "journaled";
    out.push_back(std::move(r));
  }
  return out;
}

std::map<std::string, std::vector<std::map<std::string, std::string>>> JournalContents::backends() const {
  std::map<std::string, std::vector<std::map<std::string, std::string>>> out;
  for (const auto& e : entries) {
    if (e.event != "created" && e.event != "backend") continue;
    auto& locators = out[e.backend];
    if (std::find(locators.begin(), locators.end(), e.locator) == locators.end()) locators.push_back(e.locator);
  }
  return out;
}

fs::path Journal::pathFor(const std::string& runId) {
  std::optional<std::string> dir = env::get(kJournalDirVariable);
  const fs::path base = dir ? fs::path(*dir) : fs::temp_directory_path() / "cleanroom-journals";
  return base / (runId + ".jsonl");
}

Journal::Journal(fs::path path, std::string runId) : path_(std::move(path)), runId_(std::move(runId)) {}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

Status Journal::openLocked() {
  if (fd_ >= 0) return Status::success();
  std::error_code ec;
  if (!path_.parent_path().empty()) fs::create_directories(path_.parent_path(), ec);
  if (ec) {
    return Error::permanent("cannot create the journal directory " + quoted(path_.parent_path()) + ": " +
                            ec.message() + "; set " + kJournalDirVariable + " to a writable directory");
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    return Error::permanent("cannot open the journal " + quoted(path_) + ": " + std::strerror(errno) + "; set " +
                            kJournalDirVariable + " to a writable directory");
  }
  return Status::success();
}

Status Journal::appendLocked(const std::string& line) {
  if (Status opened = openLocked(); !opened) return opened;
  const std::string text = line + "\n";
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::permanent("cannot write the journal " + quoted(path_) + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  return Status::success();
}

Status Journal::append(const JournalEntry& entry) {
  std::lock_guard lock(mutex_);
  if (!ownerWritten_ && entry.event != "run") {
    JournalEntry owner;
    owner.event = "run";
    owner.runId = runId_;
    owner.pid = ::getpid();
    Result<ProcessIdentity> self = identityOf(::getpid());
    owner.startTime = self ? self->startTime : 0;
    owner.at = Clock::system().wallNow();
    if (Status written = appendLocked(owner.toJson().dump()); !written) return written;
    ownerWritten_ = true;
  }
  if (entry.event == "run" && ownerWritten_) return Status::success();
  if (Status written = appendLocked(entry.toJson().dump()); !written) return written;
  if (entry.event == "run") ownerWritten_ = true;
  return Status::success();
}

Status Journal::recordService(pid_t pid, unsigned long long startTime, const std::string& name) {
  JournalEntry service;
  service.event = "service";
  service.runId = runId_;
  service.pid = pid;
  service.startTime = startTime;
  service.name = name;
  service.at = Clock::system().wallNow();
  return append(service);
}

Status Journal::recordClosed() {
  JournalEntry closed;
  closed.event = "closed";
  closed.runId = runId_;
  closed.pid = ::getpid();
  Result<ProcessIdentity> self = identityOf(::getpid());
  closed.startTime = self ? self->startTime : 0;
  closed.at = Clock::system().wallNow();
  return append(closed);
}

Status Journal::recordOwner() {
  JournalEntry owner;
  owner.event = "run";
  owner.runId = runId_;
  owner.pid = ::getpid();
  Result<ProcessIdentity> self = identityOf(::getpid());
  owner.startTime = self ? self->startTime : 0;
  owner.at = Clock::system().wallNow();
  return append(owner);
}

Status Journal::recordCreated(const std::string& backend, const std::map<std::string, std::string>& locator,
                              const Resource& resource) {
  JournalEntry entry;
  entry.event = "created";
  entry.runId = runId_;
  entry.backend = backend;
  entry.id = resource.id;
  entry.name = resource.name;
  entry.labels = resource.labels;
  entry.locator = locator;
  entry.at = resource.createdAt.value_or(Clock::system().wallNow());
  return append(entry);
}

Status Journal::recordCleaned(const std::string& backend, const std::string& id) {
  JournalEntry entry;
  entry.event = "cleaned";
  entry.runId = runId_;
  entry.backend = backend;
  entry.id = id;
  entry.at = Clock::system().wallNow();
  return append(entry);
}

Status Journal::recordBackend(const std::string& backend, const std::map<std::string, std::string>& locator) {
  JournalEntry entry;
  entry.event = "backend";
  entry.runId = runId_;
  entry.backend = backend;
  entry.locator = locator;
  entry.at = Clock::system().wallNow();
  return append(entry);
}

Result<JournalContents> Journal::read(const fs::path& path, const std::optional<std::string>& expectedRunId) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Error::gone("no journal at " + quoted(path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::permanent("cannot read the journal " + quoted(path) + ": " + std::strerror(errno));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  JournalContents contents;
  contents.path = path;
  std::size_t lineNumber = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const bool complete = end != std::string::npos;
    const std::string line = text.substr(start, complete ? end - start : std::string::npos);
    start = complete ? end + 1 : text.size();
    ++lineNumber;
    if (line.empty()) continue;
    const auto where = "line " + std::to_string(lineNumber);
    nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
    Result<JournalEntry> entry =
        parsed.is_discarded() ? Result<JournalEntry>(Error::permanent("not JSON")) : JournalEntry::fromJson(parsed);
    if (!entry) {
      if (contents.entries.empty() && contents.problems.empty() && complete) {
        return Error::permanent(quoted(path) + " is not a cleanroom journal (" + where + ": " +
                                entry.error().message + "); pass the file cleanroom wrote, by default " +
                                quoted(pathFor("<run id>")));
      }
      contents.problems.push_back(where + (complete ? ": " + entry.error().message + " (ignored)"
                                                    : ": cut off mid-line (ignored)"));
      continue;
    }
    if (contents.runId.empty()) contents.runId = entry->runId;
    if (entry->runId != contents.runId) {
      contents.problems.push_back(where + ": belongs to run " + entry->runId + ", not " + contents.runId +
                                  " (ignored)");
      continue;
    }
    contents.entries.push_back(std::move(*entry));
  }
  if (contents.runId.empty()) {
    return Error::permanent("the journal " + quoted(path) + " holds no complete line" +
                            (contents.problems.empty() ? std::string() : " (" + contents.problems.front() + ")"));
  }
  if (expectedRunId && *expectedRunId != contents.runId) {
    return Error::permanent("the journal " + quoted(path) + " belongs to run " + contents.runId + ", not " +
                            *expectedRunId + "; pass the journal of run " + *expectedRunId);
  }
  return contents;
}

namespace journal {
namespace {

std::mutex& journalsMutex() {
  static std::mutex mutex;
  return mutex;
}

// Journals this process wrote to or opened, by path (never destroyed: the
// fail-safe may write at exit).
std::map<std::string, std::shared_ptr<Journal>>& journals() {
  static auto* open = new std::map<std::string, std::shared_ptr<Journal>>();
  return *open;
}

// The journal of `runId` at its current path (CLEANROOM_JOURNAL_DIR may
// change between calls, e.g. between tests).
std::shared_ptr<Journal> journalOf(const std::string& runId, bool create) {
  const fs::path path = Journal::pathFor(runId);
  std::lock_guard lock(journalsMutex());
  auto& open = journals();
  if (auto it = open.find(path.string()); it != open.end()) return it->second;
  std::error_code ec;
  if (!create && !fs::exists(path, ec)) return nullptr;
  auto journal = std::make_shared<Journal>(path, runId);
  open[path.string()] = journal;
  return journal;
}

}  // namespace

Status recordCreated(const Backend& backend, const Resource& resource) {
  if (resource.runId.empty()) return Status::success();
  Status written = journalOf(resource.runId, true)->recordCreated(backend.name(), backend.locator(), resource);
  if (!written) logger().warn("step=journal ref={} result=error error=\"{}\"", resource.ref(), written.error().message);
  return written;
}

Status recordBackend(const Backend& backend, const std::string& runId) {
  static std::mutex mutex;
  static auto* recorded = new std::set<std::string>();
  const std::string key = runId + "\n" + backend.name() + "\n" + nlohmann::json(backend.locator()).dump();
  {
    std::lock_guard lock(mutex);
    if (!recorded->insert(key).second) return Status::success();
  }
  Status written = journalOf(runId, true)->recordBackend(backend.name(), backend.locator());
  if (!written) logger().warn("step=journal backend={} result=error error=\"{}\"", backend.name(), written.error().message);
  return written;
}

Status recordClosed(const std::string& runId) {
  std::shared_ptr<Journal> journal = journalOf(runId, false);
  if (!journal) return Status::success();
  Status written = journal->recordClosed();
  if (!written) logger().warn("step=journal run={} result=error error=\"{}\"", runId, written.error().message);
  return written;
}

Status recordService(const std::string& runId, pid_t pid, const std::string& name) {
  Result<ProcessIdentity> identity = identityOf(pid);
  if (!identity) return identity.error();
  Status written = journalOf(runId, true)->recordService(pid, identity->startTime, name);
  if (!written) logger().warn("step=journal service={} result=error error=\"{}\"", name, written.error().message);
  return written;
}

std::vector<std::string> endServices(const JournalContents& journal, milliseconds grace) {
  std::vector<ProcessIdentity> running;
  std::vector<std::string> ended;
  for (const JournalEntry& service : journal.services()) {
    const ProcessIdentity id{service.pid, service.startTime};
    if (!isAlive(id)) continue;
    if (signalProcess(id, SIGTERM).ok()) {
      running.push_back(id);
      ended.push_back(std::to_string(service.pid) + " " + service.name);
    }
  }
  for (const ProcessIdentity& stubborn : awaitExit(running, grace)) (void)signalProcess(stubborn, SIGKILL);
  (void)awaitExit(running, grace);
  reapZombieChildren(running);
  for (const std::string& service : ended) logger().info("step=end-service service=\"{}\"", service);
  return ended;
}

bool removeIfDone(const std::string& runId) {
  const fs::path path = Journal::pathFor(runId);
  std::lock_guard lock(journalsMutex());
  Result<JournalContents> now = Journal::read(path, runId);
  if (!now.ok()) return false;
  for (const JournalEntry& owner : now->owners()) {
    if (owner.pid != ::getpid()) return false;
  }
  journals().erase(path.string());  // closes our descriptor; a later record starts a new file
  std::error_code ignored;
  fs::remove(path, ignored);
  fs::remove(path.parent_path(), ignored);  // only when empty: no other run's journal
  return true;
}

Status recordCleaned(const Resource& resource) {
  if (resource.runId.empty()) return Status::success();
  std::shared_ptr<Journal> journal = journalOf(resource.runId, false);
  if (!journal) return Status::success();
  Status written = journal->recordCleaned(resource.backend, resource.id);
  if (!written) logger().warn("step=journal ref={} result=error error=\"{}\"", resource.ref(), written.error().message);
  return written;
}

}  // namespace journal

}  // namespace cleanroom
