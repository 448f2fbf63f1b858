#include "cleanroom/mocks/tmux/tmux_server.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/tmux/command_line.h"
#include "cleanroom/mocks/tmux/session_table.h"

extern char** environ;

namespace cleanroom::mocks::tmux {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

struct Reply {
  int rc = 0;
  std::string out;
  std::string err;
};

Reply failure(const std::string& message) { return Reply{1, "", message + "\n"}; }

std::string errnoText(int error) { return std::strerror(error); }

// Everything a pane needs, prepared before fork (the child only calls
// async-signal-safe functions).
struct PaneLaunch {
  std::string program;  // path, or a name looked up in PATH
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd;
  std::string home;
  bool orphan = false;
};

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

void resetSignalsInChild() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGPIPE, SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT}) signal(sig, SIG_DFL);
}

void moveStdioToDevNull() {
  const int null = ::open("/dev/null", O_RDWR);
  if (null < 0) return;
  for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
  if (null > 2) ::close(null);
}

bool usableShell(const std::string& path) { return path.starts_with('/') && ::access(path.c_str(), X_OK) == 0; }

// tmux's default-shell: the client's $SHELL when it is an executable absolute
// path, else the user's shell from the password database, else /bin/sh. (On
// Debian /bin/sh is dash, which does not exec the last command of `-c`, so the
// fallback decides whether a pane's process is the command or a shell.)
std::string defaultShell(const std::vector<std::string>& clientEnv) {
  for (const auto& entry : clientEnv) {
    if (entry.starts_with("SHELL=") && usableShell(entry.substr(6))) return entry.substr(6);
  }
  if (const passwd* user = ::getpwuid(::getuid()); user != nullptr && user->pw_shell != nullptr &&
                                                     usableShell(user->pw_shell)) {
    return user->pw_shell;
  }
  return "/bin/sh";
}

// The escaped process of an orphan fault: a child of the pane process that
// leaves the pane's session and process group, then runs `sleep 600`.
pid_t spawnEscapedProcess(char* const* envp) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::setsid();
  moveStdioToDevNull();
  char sleepName[] = "sleep";
  char duration[] = "600";
  char* argv[] = {sleepName, duration, nullptr};
  ::execve("/bin/sleep", argv, envp);
  ::_exit(127);
}

// In the forked pane child: become a session leader on the pty and exec.
[[noreturn]] void execPane(int slave, PaneLaunch& launch, int reportFd) {
  resetSignalsInChild();
  ::setsid();
  ::ioctl(slave, TIOCSCTTY, 0);
  struct winsize size {};
  size.ws_row = 24;
  size.ws_col = 80;
  ::ioctl(slave, TIOCSWINSZ, &size);
  for (int fd = 0; fd < 3; ++fd) ::dup2(slave, fd);
  if (::chdir(launch.cwd.c_str()) != 0 && ::chdir(launch.home.c_str()) != 0) {
    if (::chdir("/") != 0) ::_exit(127);
  }
  auto argv = pointers(launch.argv);
  auto envp = pointers(launch.env);
  pid_t escaped = 0;
  if (launch.orphan) escaped = spawnEscapedProcess(envp.data());
  if (::write(reportFd, &escaped, sizeof escaped) < 0) ::_exit(127);
  ::execvpe(launch.program.c_str(), argv.data(), envp.data());
  ::_exit(127);
}

// Reads the pane's foreground command like tmux does: the argv[0] basename of
// the terminal's foreground process group leader.
std::string currentCommand(const Session& session) {
  pid_t group = session.ptyMaster >= 0 ? ::tcgetpgrp(session.ptyMaster) : -1;
  if (group <= 0) group = session.panePid;
  std::ifstream cmdline("/proc/" + std::to_string(group) + "/cmdline");
  std::string first;
  std::getline(cmdline, first, '\0');
  if (first.empty()) {
    std::ifstream comm("/proc/" + std::to_string(group) + "/comm");
    std::getline(comm, first);
  }
  while (!first.empty() && first.front() == '-') first.erase(0, 1);
  const auto slash = first.rfind('/');
  return slash == std::string::npos ? first : first.substr(slash + 1);
}

class MockTmuxServer {
 public:
  MockTmuxServer(std::string socketPath, int listenFd, int signalFd, FaultPlan faults)
      : socketPath_(std::move(socketPath)), listenFd_(listenFd), signalFd_(signalFd),
        faults_(std::move(faults)) {}

  // Serves until the last session is gone or kill-server; returns the exit code.
  int run();

 private:
  struct Connection {
    int fd;
    std::string buffer;
  };
  struct DelayedCall {
    int fd;
    json request;
    SteadyClock::time_point due;
  };

  std::string socketPath_;
  int listenFd_;
  int signalFd_;
  FaultPlan faults_;
  SessionTable sessions_;
  std::vector<Connection> connections_;
  std::vector<DelayedCall> delayed_;
  std::vector<pid_t> dyingPanes_;
  bool stopping_ = false;

  int pollTimeoutMs() const;
  void acceptConnection();
  void readConnection(Connection& connection);
  void handleRequest(int fd, const json& request);
  void runCall(int fd, const json& request);
  void reply(int fd, const Reply& reply);
  void reapChildren();
  void drainPty(Session& session, short revents);
  void runDueCalls();
  void stopIfIdle();

  Reply execute(const Command& command, const json& request);
  Reply newSession(const Command& command, const json& request);
  Reply hasSession(const Command& command);
  Reply killSession(const Command& command);
  Reply listSessions(const Command& command);
  Reply listPanes(const Command& command);
  Reply displayMessage(const Command& command);
  Reply killServer();
  void hangUp(Session& session);
  FormatLookup lookupFor(Session* session);
};

int MockTmuxServer::pollTimeoutMs() const {
  if (delayed_.empty()) return -1;
  auto next = delayed_.front().due;
  for (const auto& call : delayed_) next = std::min(next, call.due);
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - SteadyClock::now());
  return static_cast<int>(std::max<std::int64_t>(0, wait.count() + 1));
}

int MockTmuxServer::run() {
  while (!stopping_) {
    std::vector<pollfd> fds;
    fds.push_back({listenFd_, POLLIN, 0});
    fds.push_back({signalFd_, POLLIN, 0});
    const std::size_t firstConnection = fds.size();
    for (const auto& connection : connections_) fds.push_back({connection.fd, POLLIN, 0});
    const std::size_t firstPty = fds.size();
    std::vector<std::string> ptyOwners;
    for (Session* session : sessions_.sortedByName()) {
      if (session->ptyMaster < 0) continue;
      fds.push_back({session->ptyMaster, POLLIN, 0});
      ptyOwners.push_back(session->name);
    }
    if (::poll(fds.data(), fds.size(), pollTimeoutMs()) < 0 && errno != EINTR) return 1;
    if (fds[1].revents != 0) reapChildren();
    for (std::size_t i = 0; i < ptyOwners.size(); ++i) {
      Session* session = sessions_.findExact(ptyOwners[i]);
      if (session != nullptr && fds[firstPty + i].revents != 0) drainPty(*session, fds[firstPty + i].revents);
    }
    std::vector<int> readable;
    for (std::size_t i = firstConnection; i < firstPty; ++i) {
      if (fds[i].revents != 0) readable.push_back(fds[i].fd);
    }
    for (int fd : readable) {
      for (auto& connection : connections_) {
        if (connection.fd == fd && !stopping_) {
          readConnection(connection);
          break;
        }
      }
    }
    if (!stopping_) runDueCalls();
    if (!stopping_ && fds[0].revents != 0) acceptConnection();
  }
  for (const auto& connection : connections_) ::close(connection.fd);
  for (const auto& call : delayed_) ::close(call.fd);
  return 0;
}

void MockTmuxServer::acceptConnection() {
  const int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) connections_.push_back(Connection{fd, ""});
}

void MockTmuxServer::readConnection(Connection& connection) {
  char chunk[4096];
  const ssize_t n = ::read(connection.fd, chunk, sizeof chunk);
  const int fd = connection.fd;
  if (n > 0) connection.buffer.append(chunk, static_cast<std::size_t>(n));
  const auto newline = connection.buffer.find('\n');
  if (n > 0 && newline == std::string::npos) return;
  std::string line = newline == std::string::npos ? "" : connection.buffer.substr(0, newline);
  std::erase_if(connections_, [fd](const Connection& c) { return c.fd == fd; });
  if (line.empty()) {
    ::close(fd);
    return;
  }
  const json request = json::parse(line, nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    reply(fd, failure("cleanroom-mock-tmux: bad request line (expected one JSON object)"));
    return;
  }
  handleRequest(fd, request);
}

void MockTmuxServer::handleRequest(int fd, const json& request) {
  if (request.contains("fault")) {
    auto rule = parseFaultRule(request["fault"]);
    if (!rule) return reply(fd, failure(rule.message()));
    faults_.arm(rule.value());
    return reply(fd, Reply{});
  }
  const auto words = request.value("words", std::vector<std::string>{});
  const auto name = words.empty() ? std::nullopt : canonicalCommandName(words.front());
  FaultDecision decision = faults_.nextCall(name.value_or(words.empty() ? "" : words.front()));
  json call = request;
  if (decision.failure) call["injected_failure"] = *decision.failure;
  if (decision.hang.count() > 0) {
    delayed_.push_back(DelayedCall{fd, call, SteadyClock::now() + decision.hang});
    return;
  }
  runCall(fd, call);
}

void MockTmuxServer::runCall(int fd, const json& request) {
  if (request.contains("injected_failure")) {
    return reply(fd, failure(request["injected_failure"].get<std::string>()));
  }
  auto command = parseCommand(request.value("words", std::vector<std::string>{}));
  if (!command) return reply(fd, failure(command.message()));
  reply(fd, execute(command.value(), request));
}

void MockTmuxServer::runDueCalls() {
  const auto now = SteadyClock::now();
  std::vector<DelayedCall> due;
  for (const auto& call : delayed_) {
    if (call.due <= now) due.push_back(call);
  }
  std::erase_if(delayed_, [now](const DelayedCall& call) { return call.due <= now; });
  for (const auto& call : due) {
    if (stopping_) {
      ::close(call.fd);
      continue;
    }
    runCall(call.fd, call.request);
  }
}

// Before answering: a server with no sessions left stops listening first, so
// a client that runs after this answer finds `no server running`.
void MockTmuxServer::stopIfIdle() {
  if (stopping_ || !sessions_.empty() || !delayed_.empty()) return;
  stopping_ = true;
}

void MockTmuxServer::reply(int fd, const Reply& answer) {
  stopIfIdle();
  if (stopping_ && listenFd_ >= 0) {
    ::close(listenFd_);
    listenFd_ = -1;
  }
  const std::string line = json{{"rc", answer.rc}, {"out", answer.out}, {"err", answer.err}}.dump() + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n <= 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

void MockTmuxServer::reapChildren() {
  signalfd_siginfo info {};
  while (::read(signalFd_, &info, sizeof info) == sizeof info) {
  }
  std::vector<std::string> ended;
  for (Session* session : sessions_.sortedByName()) {
    int status = 0;
    if (::waitpid(session->panePid, &status, WNOHANG) == session->panePid) ended.push_back(session->name);
  }
  for (const auto& name : ended) {
    Session* session = sessions_.findExact(name);
    if (session->ptyMaster >= 0) ::close(session->ptyMaster);
    sessions_.remove(name);
  }
  std::erase_if(dyingPanes_, [](pid_t pid) {
    int status = 0;
    return ::waitpid(pid, &status, WNOHANG) != 0;
  });
  if (!ended.empty()) stopIfIdle();
}

void MockTmuxServer::drainPty(Session& session, short revents) {
  char discard[4096];
  if ((revents & POLLIN) != 0 && ::read(session.ptyMaster, discard, sizeof discard) > 0) return;
  // Every writer closed the terminal (EIO/POLLHUP): keep the fd until the pane
  // process is reaped, but stop polling it.
  ::close(session.ptyMaster);
  session.ptyMaster = -1;
}

void MockTmuxServer::hangUp(Session& session) {
  ::kill(-session.panePid, SIGHUP);
  if (session.ptyMaster >= 0) ::close(session.ptyMaster);
  session.ptyMaster = -1;
  dyingPanes_.push_back(session.panePid);
}

FormatLookup MockTmuxServer::lookupFor(Session* session) {
  return [this, session](const std::string& variable, std::string& value) {
    if (variable == "pid") {
      value = std::to_string(::getpid());
      return true;
    }
    if (variable == "socket_path") {
      value = socketPath_;
      return true;
    }
    if (session == nullptr) return false;
    const std::map<std::string, std::function<std::string()>> variables = {
        {"session_name", [&] { return session->name; }},
        {"session_id", [&] { return "$" + std::to_string(session->id); }},
        {"session_created", [&] { return std::to_string(session->created); }},
        {"session_attached", [] { return std::string("0"); }},
        {"session_windows", [] { return std::string("1"); }},
        {"session_many_attached", [] { return std::string("0"); }},
        {"window_index", [] { return std::string("0"); }},
        {"window_id", [&] { return "@" + std::to_string(session->paneId); }},
        {"window_name", [&] { return currentCommand(*session); }},
        {"window_panes", [] { return std::string("1"); }},
        {"pane_index", [] { return std::string("0"); }},
        {"pane_active", [] { return std::string("1"); }},
        {"pane_dead", [] { return std::string("0"); }},
        {"pane_id", [&] { return "%" + std::to_string(session->paneId); }},
        {"pane_pid", [&] { return std::to_string(session->panePid); }},
        {"pane_current_command", [&] { return currentCommand(*session); }},
    };
    const auto it = variables.find(variable);
    if (it == variables.end()) return false;
    value = it->second();
    return true;
  };
}

Reply MockTmuxServer::execute(const Command& command, const json& request) {
  if (command.name == "new-session") return newSession(command, request);
  if (command.name == "has-session") return hasSession(command);
  if (command.name == "kill-session") return killSession(command);
  if (command.name == "list-sessions") return listSessions(command);
  if (command.name == "list-panes") return listPanes(command);
  if (command.name == "display-message") return displayMessage(command);
  return killServer();
}

Reply MockTmuxServer::newSession(const Command& command, const json& request) {
  if (!command.has('d')) return failure("open terminal failed: not a terminal");
  const auto requested = command.value('s');
  if (requested && requested->empty()) return failure("invalid session: ");
  const std::string name = requested ? sanitiseSessionName(*requested) : sessions_.nextDefaultName();
  if (sessions_.findExact(name) != nullptr) return failure("duplicate session: " + name);

  PaneLaunch launch;
  launch.env = request.value("env", std::vector<std::string>{});
  std::map<std::string, std::string> overrides;
  for (const auto& assignment : command.allValues('e')) {
    const auto eq = assignment.find('=');
    if (eq != std::string::npos && eq > 0) overrides[assignment.substr(0, eq)] = assignment.substr(eq + 1);
  }
  std::string shell = defaultShell(launch.env);
  for (const auto& entry : launch.env) {
    if (entry.starts_with("HOME=")) launch.home = entry.substr(5);
  }
  if (launch.home.empty()) launch.home = "/";
  std::erase_if(launch.env, [&](const std::string& entry) {
    const std::string key = entry.substr(0, entry.find('='));
    return overrides.count(key) != 0 || key == "TMUX" || key == "TMUX_PANE";
  });
  for (const auto& [key, value] : overrides) launch.env.push_back(key + "=" + value);
  launch.cwd = command.value('c').value_or(request.value("cwd", std::string("/")));
  if (command.args.size() == 1) {
    launch.program = shell;  // tmux's default-shell: $SHELL, else /bin/sh
    launch.argv = {shell.substr(shell.rfind('/') + 1), "-c", command.args.front()};
  } else if (command.args.empty()) {
    launch.program = shell;
    launch.argv = {"-" + shell.substr(shell.rfind('/') + 1)};  // a login shell, as tmux starts it
  } else {
    launch.program = command.args.front();
    launch.argv = command.args;
  }
  launch.orphan = faults_.takeOrphan();

  // The server opens the terminal's slave end itself, so the master never
  // sees a hang-up before the pane has it open.
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  char slaveName[128] = {};
  const int slave = master >= 0 && ::grantpt(master) == 0 && ::unlockpt(master) == 0 &&
                            ::ptsname_r(master, slaveName, sizeof slaveName) == 0
                        ? ::open(slaveName, O_RDWR | O_NOCTTY | O_CLOEXEC)
                        : -1;
  int report[2] = {-1, -1};
  if (slave < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
    const std::string reason = errnoText(errno);
    if (master >= 0) ::close(master);
    if (slave >= 0) ::close(slave);
    return failure("create pane failed: " + reason);
  }
  Session& session = sessions_.add(name, static_cast<std::int64_t>(std::time(nullptr)), 0, master);
  launch.env.push_back("TMUX=" + socketPath_ + "," + std::to_string(::getpid()) + "," +
                       std::to_string(session.id));
  launch.env.push_back("TMUX_PANE=%" + std::to_string(session.paneId));
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(report[0]);
    execPane(slave, launch, report[1]);
  }
  ::close(report[1]);
  pid_t escaped = 0;
  const bool reported = pid > 0 && ::read(report[0], &escaped, sizeof escaped) == sizeof escaped;
  ::close(report[0]);
  ::close(slave);
  if (pid < 0) {
    ::close(master);
    sessions_.remove(name);
    return failure("create pane failed: " + errnoText(errno));
  }
  session.panePid = pid;
  if (reported && escaped > 0) {
    std::ofstream(orphanPidsPath(socketPath_), std::ios::app) << escaped << "\n";
  }
  Reply answer;
  if (command.has('P')) {
    answer.out = expandFormat(command.value('F').value_or("#{session_name}:"), lookupFor(&session)) + "\n";
  }
  return answer;
}

Reply MockTmuxServer::hasSession(const Command& command) {
  const std::string target = command.value('t').value_or("");
  if (sessions_.findTarget(target) != nullptr) return Reply{};
  return failure("can't find session: " + (target.starts_with("=") ? target.substr(1) : target));
}

Reply MockTmuxServer::killSession(const Command& command) {
  const std::string target = command.value('t').value_or("");
  Session* session = sessions_.findTarget(target);
  if (session == nullptr) {
    return failure("can't find session: " + (target.starts_with("=") ? target.substr(1) : target));
  }
  const std::string keep = session->name;
  std::vector<std::string> victims;
  for (Session* candidate : sessions_.sortedByName()) {
    if (command.has('a') ? candidate->name != keep : candidate->name == keep) victims.push_back(candidate->name);
  }
  for (const auto& name : victims) {
    hangUp(*sessions_.findExact(name));
    sessions_.remove(name);
  }
  return Reply{};
}

Reply MockTmuxServer::listSessions(const Command& command) {
  const std::string format =
      command.value('F').value_or("#{session_name}: #{session_windows} windows (created #{t:session_created})");
  Reply answer;
  for (Session* session : sessions_.sortedByName()) answer.out += expandFormat(format, lookupFor(session)) + "\n";
  return answer;
}

Reply MockTmuxServer::listPanes(const Command& command) {
  const std::string format = command.value('F').value_or(
      "#{pane_index}: [80x24] [history 0/2000, 0 bytes] #{pane_id} (active)");
  std::vector<Session*> chosen;
  if (command.has('a')) {
    chosen = sessions_.sortedByName();
  } else {
    const std::string target = command.value('t').value_or("");
    Session* session = sessions_.findTarget(target);
    if (session == nullptr && target.find(':') == std::string::npos) return failure("can't find window: " + target);
    if (session == nullptr) {
      const std::string name = target.substr(target.starts_with("=") ? 1 : 0, target.find(':') - (target.starts_with("=") ? 1 : 0));
      return failure("can't find session: " + name);
    }
    chosen.push_back(session);
  }
  Reply answer;
  for (Session* session : chosen) answer.out += expandFormat(format, lookupFor(session)) + "\n";
  return answer;
}

Reply MockTmuxServer::displayMessage(const Command& command) {
  const std::string format = command.args.empty()
                                 ? command.value('F').value_or("[#{session_name}] 0:#{window_name}, current pane 0")
                                 : command.args.front();
  // tmux 3.3a quirk: a pane target `=name` without ':' finds nothing here
  // (use `=name:`), and a target that finds nothing expands to empty values.
  const std::string target = command.value('t').value_or("");
  const bool exactWithoutColon = target.starts_with("=") && target.find(':') == std::string::npos;
  Session* session = exactWithoutColon ? nullptr : sessions_.findTarget(target);
  return Reply{0, expandFormat(format, lookupFor(session)) + "\n", ""};
}

Reply MockTmuxServer::killServer() {
  std::vector<std::string> names;
  for (Session* session : sessions_.sortedByName()) {
    hangUp(*session);
    names.push_back(session->name);
  }
  for (const auto& name : names) sessions_.remove(name);
  stopping_ = true;
  return Reply{};
}

// ---- daemon start -------------------------------------------------------

std::optional<std::string> bindListeningSocket(const std::string& path, int& fd) {
  sockaddr_un address {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    return "error creating " + path + " (" + errnoText(ENAMETOOLONG) + ")";
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "error creating " + path + " (" + errnoText(errno) + ")";
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) == 0 && S_ISSOCK(existing.st_mode)) ::unlink(path.c_str());
  const mode_t previous = ::umask(S_IXUSR | S_IRWXG | S_IRWXO);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  const int bindError = errno;
  ::umask(previous);
  if (!bound || ::listen(fd, 64) != 0) {
    const int error = bound ? errno : bindError;
    ::close(fd);
    return "error creating " + path + " (" + errnoText(error) + ")";
  }
  return std::nullopt;
}

FaultPlan loadFaults(const std::string& socketPath, const std::vector<FaultRule>& armed) {
  FaultPlan plan;
  for (const auto& rule : armed) plan.arm(rule);
  std::ifstream file(pendingFaultsPath(socketPath));
  std::string line;
  while (std::getline(file, line)) {
    auto rules = parseFaultRules(line);
    if (!rules) continue;
    for (const auto& rule : rules.value()) plan.arm(rule);
  }
  ::unlink(pendingFaultsPath(socketPath).c_str());
  return plan;
}

[[noreturn]] void runDaemon(const std::string& socketPath, const std::vector<FaultRule>& faults, int readyFd) {
  ::setsid();
  moveStdioToDevNull();
  if (::dup2(readyFd, 3) < 0) ::_exit(1);
  ::close_range(4, ~0U, 0);
  readyFd = 3;
  if (::chdir("/") != 0) ::_exit(1);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  sigset_t children;
  sigemptyset(&children);
  sigaddset(&children, SIGCHLD);
  sigprocmask(SIG_BLOCK, &children, nullptr);
  const int signalFd = ::signalfd(-1, &children, SFD_CLOEXEC | SFD_NONBLOCK);
  int listenFd = -1;
  auto error = bindListeningSocket(socketPath, listenFd);
  if (!error && signalFd < 0) error = "error creating signalfd (" + errnoText(errno) + ")";
  const std::string status = error.value_or("ok");
  if (::write(readyFd, status.data(), status.size()) < 0 || error) ::_exit(1);
  ::close(readyFd);
  MockTmuxServer server(socketPath, listenFd, signalFd, loadFaults(socketPath, faults));
  ::_exit(server.run());
}

}  // namespace

std::string pendingFaultsPath(const std::string& socketPath) { return socketPath + ".faults"; }

std::string orphanPidsPath(const std::string& socketPath) { return socketPath + ".orphans"; }

std::optional<std::string> startServerDaemon(const std::string& socketPath,
                                             const std::vector<FaultRule>& faults) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return "error creating pipe (" + errnoText(errno) + ")";
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(ready[0]);
    ::close(ready[1]);
    return "fork failed (" + errnoText(errno) + ")";
  }
  if (pid == 0) {
    ::close(ready[0]);
    runDaemon(socketPath, faults, ready[1]);
  }
  ::close(ready[1]);
  std::string status;
  char chunk[512];
  for (;;) {
    const ssize_t n = ::read(ready[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    status.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(ready[0]);
  if (status == "ok") return std::nullopt;
  int ignored = 0;
  ::waitpid(pid, &ignored, 0);  // the daemon failed and exited: reap it
  return status.empty() ? "server exited unexpectedly" : status;
}

}  // namespace cleanroom::mocks::tmux
