#include "cleanroom/mocks/tmux/command_line.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace cleanroom::mocks::tmux {
namespace {

constexpr const char* kUsage =
    "usage: tmux [-2CDlNuvV] [-c shell-command] [-f file] [-L socket-name]\n"
    "            [-S socket-path] [-T features] [command [flags]]";

// Flags of one supported subcommand, as tmux's getopt-style template.
struct CommandSpec {
  const char* name;
  const char* alias;
  const char* switches;  // flags without a value
  const char* valued;    // flags that take a value
  int maxArgs;           // -1 = any number
};

constexpr CommandSpec kCommands[] = {
    {"new-session", "new", "AdDEPX", "cefFnstxy", -1},
    {"has-session", "has", "", "t", 0},
    {"kill-session", "", "aC", "t", 0},
    {"list-sessions", "ls", "", "Ff", 0},
    {"list-panes", "lsp", "as", "Fft", 0},
    {"display-message", "display", "aINpv", "cdFt", 1},
    {"kill-server", "", "", "", 0},
};

const CommandSpec* findSpec(const std::string& name) {
  for (const auto& spec : kCommands) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

bool isDirectory(const char* path) {
  struct stat info {};
  return path != nullptr && *path != '\0' && ::stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

ParseResult<GlobalOptions> usageError(const std::string& line) {
  return ParseResult<GlobalOptions>::error("options", line + "\n" + kUsage);
}

}  // namespace

std::string socketDirectory() {
  const char* tmpdir = std::getenv("TMUX_TMPDIR");
  std::string base = isDirectory(tmpdir) ? tmpdir : "/tmp";
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base + "/tmux-" + std::to_string(::getuid());
}

ParseResult<GlobalOptions> parseGlobalOptions(const std::vector<std::string>& args) {
  GlobalOptions options;
  std::string socketName = "default";
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") {
      ++i;
      break;
    }
    if (word.size() < 2 || word[0] != '-') break;
    const char flag = word[1];
    if (flag != 'L' && flag != 'S') {
      return usageError(std::string("tmux: unknown option -- ") + flag);
    }
    std::string value = word.substr(2);
    if (value.empty()) {
      if (i + 1 == args.size()) {
        return usageError(std::string("tmux: option requires an argument -- ") + flag);
      }
      value = args[++i];
    }
    if (flag == 'L') {
      socketName = value;
      options.socketPath.clear();
    } else {
      options.socketPath = value;
    }
  }
  if (options.socketPath.empty()) options.socketPath = socketDirectory() + "/" + socketName;
  options.words.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  return ParseResult<GlobalOptions>::ok(std::move(options));
}

std::optional<std::string> Command::value(char flag) const {
  std::optional<std::string> last;
  auto [begin, end] = values.equal_range(flag);
  for (auto it = begin; it != end; ++it) last = it->second;
  return last;
}

std::vector<std::string> Command::allValues(char flag) const {
  std::vector<std::string> all;
  auto [begin, end] = values.equal_range(flag);
  for (auto it = begin; it != end; ++it) all.push_back(it->second);
  return all;
}

std::optional<std::string> canonicalCommandName(const std::string& word) {
  std::vector<std::string> matches;
  for (const auto& spec : kCommands) {
    if (word == spec.name || word == spec.alias) return std::string(spec.name);
    if (!word.empty() && std::string(spec.name).starts_with(word)) matches.emplace_back(spec.name);
  }
  if (matches.size() == 1) return matches.front();
  return std::nullopt;
}

ParseResult<Command> parseCommand(const std::vector<std::string>& words) {
  using Parsed = ParseResult<Command>;
  if (words.empty()) return Parsed::error("command", "no command given");
  const std::string& word = words.front();
  const auto name = canonicalCommandName(word);
  if (!name) {
    std::string candidates;
    for (const auto& spec : kCommands) {
      if (!word.empty() && std::string(spec.name).starts_with(word)) {
        candidates += (candidates.empty() ? "" : ", ") + std::string(spec.name);
      }
    }
    if (candidates.empty()) return Parsed::error("command", "unknown command: " + word);
    return Parsed::error("command", "ambiguous command: " + word + ", could be: " + candidates);
  }
  const CommandSpec& spec = *findSpec(*name);
  Command command;
  command.name = *name;
  std::size_t i = 1;
  for (; i < words.size(); ++i) {
    const std::string& arg = words[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;
    for (std::size_t k = 1; k < arg.size(); ++k) {
      const char flag = arg[k];
      if (std::string(spec.switches).find(flag) != std::string::npos) {
        command.switches.insert(flag);
        continue;
      }
      if (std::string(spec.valued).find(flag) == std::string::npos) {
        return Parsed::error("flag", "command " + command.name + ": unknown flag -" + flag);
      }
      std::string value = arg.substr(k + 1);
      if (value.empty()) {
        if (i + 1 == words.size()) {
          return Parsed::error("flag", "command " + command.name + ": -" + flag + " expects an argument");
        }
        value = words[++i];
      }
      command.values.emplace(flag, value);
      break;
    }
  }
  command.args.assign(words.begin() + static_cast<std::ptrdiff_t>(i), words.end());
  if (spec.maxArgs >= 0 && command.args.size() > static_cast<std::size_t>(spec.maxArgs)) {
    return Parsed::error("args", "command " + command.name + ": too many arguments (need at most " +
                                     std::to_string(spec.maxArgs) + ")");
  }
  return Parsed::ok(std::move(command));
}

}  // namespace cleanroom::mocks::tmux
