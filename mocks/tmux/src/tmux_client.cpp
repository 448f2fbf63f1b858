#include "cleanroom/mocks/tmux/tmux_client.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <variant>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/tmux/command_line.h"
#include "cleanroom/mocks/tmux/fault_plan.h"
#include "cleanroom/mocks/tmux/tmux_server.h"

extern char** environ;

namespace cleanroom::mocks::tmux {
namespace {

using nlohmann::json;

CommandOutput failed(const std::string& message) { return CommandOutput{1, "", message + "\n"}; }

// Connects to the server socket; returns the fd, or -1 with errno set.
int connectTo(const std::string& path) {
  sockaddr_un address {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
  const int error = errno;
  ::close(fd);
  errno = error;
  return -1;
}

std::string connectError(const std::string& path, int error) {
  if (error == ECONNREFUSED) return "no server running on " + path;
  return "error connecting to " + path + " (" + std::strerror(error) + ")";
}

// Sends one request line and reads the one-line answer; blocks until the
// server answers or closes the connection.
CommandOutput exchangeWithServer(int fd, const json& request) {
  const std::string line = request.dump() + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const json reply = json::parse(answer, nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) return failed("server exited unexpectedly");
  return CommandOutput{reply.value("rc", 1), reply.value("out", std::string()), reply.value("err", std::string())};
}

std::string currentDirectory() {
  char buffer[PATH_MAX];
  return ::getcwd(buffer, sizeof buffer) != nullptr ? buffer : "/";
}

std::vector<std::string> environmentStrings() {
  std::vector<std::string> entries;
  for (char** entry = environ; *entry != nullptr; ++entry) entries.emplace_back(*entry);
  return entries;
}

// Starts a server for new-session, serialised with other clients by a lock
// file next to the socket (as tmux does); returns the connected fd or a message.
std::variant<int, std::string> startServerAndConnect(const std::string& path) {
  const char* faultsText = std::getenv("CLEANROOM_MOCK_TMUX_FAULTS");
  std::vector<FaultRule> faults;
  if (faultsText != nullptr && *faultsText != '\0') {
    auto parsed = parseFaultRules(faultsText);
    if (!parsed) return "CLEANROOM_MOCK_TMUX_FAULTS: " + parsed.message();
    faults = parsed.value();
  }
  const std::string directory = socketDirectory();
  if (path.starts_with(directory + "/")) ::mkdir(directory.c_str(), S_IRWXU);
  const std::string lockPath = path + ".lock";
  const int lock = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (lock >= 0) ::flock(lock, LOCK_EX);
  int fd = connectTo(path);
  std::optional<std::string> error;
  if (fd < 0) error = startServerDaemon(path, faults);
  if (fd < 0 && !error) fd = connectTo(path);
  if (fd < 0 && !error) error = connectError(path, errno);
  if (lock >= 0) {
    ::unlink(lockPath.c_str());
    ::close(lock);
  }
  if (error) return *error;
  return fd;
}

CommandOutput armFault(const std::string& path, const std::vector<std::string>& words) {
  if (words.size() != 2) return failed("usage: cleanroom-mock-tmux [-L NAME | -S PATH] __fault 'JSON RULE'");
  auto rules = parseFaultRules(words[1]);
  if (!rules) return failed(rules.message());
  const int fd = connectTo(path);
  if (fd < 0) {
    std::ofstream file(pendingFaultsPath(path), std::ios::app);
    if (!file) return failed("cannot write " + pendingFaultsPath(path) + ": " + std::strerror(errno));
    file << json::parse(words[1]).dump() << "\n";
    return CommandOutput{};
  }
  ::close(fd);
  for (const auto& rule : json::parse(words[1]).is_array() ? json::parse(words[1]) : json::array({json::parse(words[1])})) {
    const int ruleFd = connectTo(path);
    if (ruleFd < 0) return failed(connectError(path, errno));
    CommandOutput output = exchangeWithServer(ruleFd, json{{"fault", rule}});
    if (output.rc != 0) return output;
  }
  return CommandOutput{};
}

}  // namespace

CommandOutput runTmuxCommandLine(const std::vector<std::string>& args) {
  auto options = parseGlobalOptions(args);
  if (!options) return failed(options.message());
  const std::string& path = options.value().socketPath;
  std::vector<std::string> words = options.value().words;
  if (words.empty()) words = {"new-session"};
  if (words.front() == "__fault") return armFault(path, words);

  int fd = connectTo(path);
  if (fd < 0 && canonicalCommandName(words.front()) == "new-session") {
    auto started = startServerAndConnect(path);
    if (std::holds_alternative<std::string>(started)) return failed(std::get<std::string>(started));
    fd = std::get<int>(started);
  }
  if (fd < 0) return failed(connectError(path, errno));
  json request{{"words", words}, {"cwd", currentDirectory()}};
  if (canonicalCommandName(words.front()) == "new-session") request["env"] = environmentStrings();
  return exchangeWithServer(fd, request);
}

std::string usageText() {
  return R"(cleanroom-mock-tmux: a tmux 3.3a-compatible command line for tests (real processes,
real server daemon, tmux's messages and exit codes) with fault injection.

usage: cleanroom-mock-tmux [-L socket-name | -S socket-path] command [flags]
  -L NAME   socket $TMUX_TMPDIR/tmux-<uid>/NAME (TMUX_TMPDIR unset: /tmp); default NAME: default
  -S PATH   socket at exactly PATH
  -V        print "tmux 3.3a"

commands (unique prefixes and tmux's aliases work):
  new-session (new) -d [-s NAME] [-c DIR] [-e VAR=VALUE]... [-x W -y H ignored] [-P [-F FORMAT]] [command...]
        one command word runs as SHELL -c WORD, none runs SHELL as a login shell; names: '.' ':' -> '_'
        SHELL is tmux's default-shell: $SHELL, else the user's shell in /etc/passwd, else /bin/sh
  has-session (has) [-t TARGET]          kill-session [-a] [-t TARGET]
  list-sessions (ls) [-F FORMAT]         list-panes (lsp) [-a | -t TARGET] [-F FORMAT]
  display-message (display) -p [-t TARGET] FORMAT
  kill-server
targets: =NAME exact; NAME exact, else the only session with that prefix; $ID
formats: #{session_name} #{session_id} #{session_created} #{t:session_created} #{session_attached}
         #{session_windows} #{pane_pid} #{pane_id} #{pane_current_command} #{pane_index}
         #{window_index} #{window_name} #{pid} (server pid) #{socket_path}; ## is #
errors (stderr, exit 1): error connecting to PATH (No such file or directory) | no server running on PATH
         | can't find session: NAME | duplicate session: NAME | unknown command: X

the server: the first new-session forks a daemon (setsid) that owns the sessions; each pane is
its child on a pty, a session leader (PID == PGID == SID); kill-session / kill-server send
SIGHUP to the pane's process group; a session ends when its pane process exits; the server
exits when the last session is gone and leaves the socket file (stale) behind.

fault injection (tests):
  cleanroom-mock-tmux -S SOCK __fault 'RULE'   arm in the running server, or (no server)
        append to SOCK.faults, read by the next server started on SOCK
  CLEANROOM_MOCK_TMUX_FAULTS='RULE or [RULES]' armed by the server this client starts
  RULE is one of:
    {"fail": N, "command": "kill-session", "message": "..."}  next N calls (of that command, or
        any) fail with the message (default "server exited unexpectedly"), exit 1, no effect
    {"hang_ms": T, "command": "has-session", "times": N}       next N calls wait T ms in the
        server before running and answering (others are served meanwhile)
    {"orphan": N}    next N new-session panes get an escaped child (setsid, `sleep 600`) that
        survives kill-session; its pid is appended to SOCK.orphans
    {"clear": true}  drop all armed rules
)";
}

}  // namespace cleanroom::mocks::tmux
