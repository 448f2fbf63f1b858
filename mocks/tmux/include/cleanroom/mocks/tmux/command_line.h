// The tmux command line that cleanroom-mock-tmux understands: global options
// (`-L NAME`, `-S PATH`) before the subcommand, and the subset of subcommands
// the cleanroom tmux backend and agent launchers use, parsed the way tmux 3.3a
// parses them (flags before positional arguments, unique-prefix and alias
// command names, `command X: unknown flag -Y` on a bad flag).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cleanroom/mocks/parse_result.h"

namespace cleanroom::mocks::tmux {

// What comes before the subcommand.
struct GlobalOptions {
  std::string socketPath;          // the server's Unix socket
  std::vector<std::string> words;  // the subcommand and its arguments (may be empty)
};

// Returns the socket directory tmux uses for `-L`: `$TMUX_TMPDIR` when it names
// an existing directory, otherwise `/tmp`, followed by `/tmux-<uid>`.
std::string socketDirectory();

// Parses the global options in `args` (argv without the program name).
// `-S PATH` selects PATH; `-L NAME` selects socketDirectory()/NAME; neither
// selects socketDirectory()/default. Fails (message = tmux's usage line) on an
// unknown global flag or a flag without its value.
ParseResult<GlobalOptions> parseGlobalOptions(const std::vector<std::string>& args);

// One parsed subcommand: its canonical name, its flags and its positional args.
struct Command {
  std::string name;                                   // canonical, e.g. "list-sessions"
  std::set<char> switches;                            // flags without value, e.g. 'd'
  std::multimap<char, std::string> values;            // flags with a value, in order
  std::vector<std::string> args;                      // positional arguments

  // Returns true if and only if switch `flag` was given.
  bool has(char flag) const { return switches.count(flag) != 0; }
  // Returns the last value given for `flag`, or nullopt.
  std::optional<std::string> value(char flag) const;
  // Returns every value given for `flag`, in order.
  std::vector<std::string> allValues(char flag) const;
};

// Returns the canonical name for `word` (a full name, an alias such as `ls` or
// `new`, or a unique prefix), or nullopt when it names no supported command.
std::optional<std::string> canonicalCommandName(const std::string& word);

// Parses `words` (subcommand first). Fails with tmux's message:
// `unknown command: X`, `ambiguous command: X, could be: ...`,
// `command X: unknown flag -Y`, `command X: -Y expects an argument`.
ParseResult<Command> parseCommand(const std::vector<std::string>& words);

}  // namespace cleanroom::mocks::tmux
