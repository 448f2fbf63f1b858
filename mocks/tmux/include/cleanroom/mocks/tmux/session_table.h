// The mock tmux server's state: its sessions (one window, one pane each), how
// a `-t` target picks one the way tmux 3.3a does, and `#{...}` format
// expansion. Pure data: no processes, no sockets (see tmux_server.h).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace cleanroom::mocks::tmux {

// One session with its single pane.
struct Session {
  std::string name;       // sanitised (no '.' or ':')
  int id = 0;             // `#{session_id}` is "$<id>"
  std::int64_t created = 0;  // unix seconds
  pid_t panePid = 0;      // the pane's process: PID == PGID == SID
  int paneId = 0;         // `#{pane_id}` is "%<paneId>"
  int ptyMaster = -1;     // the server's end of the pane's terminal
};

// Returns `name` with '.' and ':' replaced by '_' (tmux's session_check_name).
std::string sanitiseSessionName(std::string name);

class SessionTable {
 public:
  // Adds a session named `name` (already sanitised, not a duplicate) and
  // returns it; ids and pane ids count up from 0 as in tmux.
  Session& add(const std::string& name, std::int64_t created, pid_t panePid, int ptyMaster);

  // Returns the session named exactly `name`, or nullptr.
  Session* findExact(const std::string& name);

  // Resolves a session target like tmux: an empty target = the most recently
  // created session; `=name` = exact name only; `$N` = session id; otherwise
  // the exact name, else the only session whose name starts with the target
  // (several → none). Anything from the first ':' on (window/pane) is ignored.
  // Returns nullptr when nothing matches.
  Session* findTarget(const std::string& target);

  // Returns the session whose pane process is `pid`, or nullptr.
  Session* findByPanePid(pid_t pid);

  // Removes the session named `name` (no-op when absent).
  void remove(const std::string& name);

  // Returns the sessions sorted by name (tmux lists them in this order).
  std::vector<Session*> sortedByName();

  // Returns the name tmux gives a session created without `-s`: the lowest
  // unused number, as text.
  std::string nextDefaultName() const;

  bool empty() const { return sessions_.empty(); }

 private:
  std::map<std::string, Session> sessions_;
  int nextSessionId_ = 0;
  int nextPaneId_ = 0;
};

// Looks up a format variable's value (e.g. "session_name"); returns false when
// the variable is unknown (it then expands to nothing, as in tmux).
using FormatLookup = std::function<bool(const std::string& variable, std::string& value)>;

// Expands `format`: `#{name}` → its value, `#{t:name}` → the unix time in
// `name` as ctime text ("Wed Nov 25 23:00:14 2026"), `##` → '#'. Unknown
// variables and unsupported modifiers expand to the empty string.
std::string expandFormat(const std::string& format, const FormatLookup& lookup);

}  // namespace cleanroom::mocks::tmux
