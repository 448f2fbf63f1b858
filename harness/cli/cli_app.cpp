#include "cli_app.h"

#include <ostream>

#include <CLI/CLI.hpp>

#include "backend_choice.h"
#include "cleanroom/env.h"
#include "cleanroom/result.h"
#include "cleanroom/trace.h"
#include "commands.h"
#include "exit_code.h"

#ifndef CLEANROOM_VERSION
#error "CLEANROOM_VERSION must be defined by the build"
#endif

namespace cleanroom::cli {
namespace {

std::string footer() {
  return "\nBackends (used when their settings are present, or when named with --backend):\n" +
         describeBackendSettings() +
         "\nEnvironment:\n"
         "  CLEANROOM_RUN_ID        run id for ls and sweep when --run-id is not given\n"
         "  CLEANROOM_AGENTS_URL    agent REST API base URL, e.g. http://127.0.0.1:8080 (http backend)\n"
         "  CLEANROOM_AGENTS_TOKEN  bearer token for that API (never printed)\n"
         "  CLEANROOM_TMUX          tmux client to run (default: tmux on PATH; tmux backend)\n"
         "  CLEANROOM_TMUX_SOCKET   tmux server socket path (-S); default: your default server\n"
         "  CLEANROOM_WORKSPACE     task workspace with agent prompt files and JSONL logs (workspace backend)\n"
         "  CLEANROOM_JOURNAL_DIR   where runs journal what they create (default <tmp>/cleanroom-journals)\n"
         "  CLEANROOM_LOG           trace|debug|info|warn|error|off (default warn); --verbose means debug\n"
         "\nExit codes:\n"
         "  0  nothing left / success (sweep --dry-run: the plan was made)\n"
         "  1  something left or failed (listed); ls: something active matches; wait: timed out\n"
         "  2  usage or configuration error (the flag or variable is named)\n";
}

std::string failureMessage(const CLI::App* /*app*/, const CLI::Error& e) {
  return std::string("cleanroom: ") + e.what() + "\nRun 'cleanroom --help' (or 'cleanroom COMMAND --help') for usage.\n";
}

void addOutputFlags(CLI::App& command, bool& json, bool& verbose) {
  command.add_flag("--json", json, "Print JSON instead of text");
  command.add_flag("--verbose", verbose, "Print debug traces (every step, attempt and wait) on stderr");
}

struct ParsedFlags {
  LsOptions ls;
  SweepOptions sweep;
  ReapOptions reap;
  WaitOptions wait;
  bool verbose = false;
};

struct Commands {
  CLI::App* ls = nullptr;
  CLI::App* sweep = nullptr;
  CLI::App* reap = nullptr;
  CLI::App* wait = nullptr;
  CLI::App* version = nullptr;
};

Commands addCommands(CLI::App& app, ParsedFlags& flags) {
  Commands commands;
  commands.ls = app.add_subcommand(
      "ls", "List resources matching the filters (any state); exits 1 when any of them is still active");
  addFilterOptions(*commands.ls, flags.ls.filter);
  commands.ls->add_flag("--dry-run", flags.ls.dryRun, "Accepted like sweep's; ls never changes anything");
  commands.ls->add_flag("--fail-fast", flags.ls.failFast, "Accepted like sweep's; ls never changes anything");
  addOutputFlags(*commands.ls, flags.ls.json, flags.verbose);

  commands.sweep = app.add_subcommand(
      "sweep", "Stop every active resource matching the filters: graceful stop, await exit, force, verify");
  addFilterOptions(*commands.sweep, flags.sweep.filter);
  commands.sweep->add_flag("--dry-run", flags.sweep.dryRun, "Only list what would be stopped; touch nothing");
  commands.sweep->add_flag("--fail-fast", flags.sweep.failFast, "Stop starting new work at the first failure");
  addOutputFlags(*commands.sweep, flags.sweep.json, flags.verbose);

  commands.reap = app.add_subcommand(
      "reap", "Clean what run RUN_ID left (e.g. a crashed CI job): configured backends plus those its journal names");
  commands.reap->add_option("RUN_ID", flags.reap.runId, "The run whose resources to reap")->required();
  commands.reap->add_option("--journal", flags.reap.journal,
                            "The run's journal (default: $CLEANROOM_JOURNAL_DIR or <tmp>/cleanroom-journals, "
                            "/<RUN_ID>.jsonl)");
  commands.reap->add_option("--backend", flags.reap.backends, "Only these configured backends (repeatable)");
  commands.reap->add_option("--grace", flags.reap.grace, "How long a stopped resource may take to exit before it is forced")
      ->capture_default_str()
      ->type_name("DURATION");
  commands.reap->add_flag("--dry-run", flags.reap.dryRun, "Only list what would be stopped; touch nothing");
  addOutputFlags(*commands.reap, flags.reap.json, flags.verbose);

  commands.wait = app.add_subcommand(
      "wait", "Wait until an agent (http backend) is completed, failed, terminated or deleted; print that status");
  commands.wait->add_option("AGENT_ID", flags.wait.agentId, "The agent's id")->required();
  commands.wait->add_option("--timeout", flags.wait.timeout, "Give up after this long: 250ms, 60s, 5m")
      ->capture_default_str()
      ->type_name("DURATION");
  addOutputFlags(*commands.wait, flags.wait.json, flags.verbose);

  commands.version = app.add_subcommand("version", "Print the version");
  return commands;
}

// Returns an error naming CLEANROOM_LOG when it is set to something that is
// not a log level (the library would fall back to warn; the CLI refuses).
Status checkLogVariable() {
  const auto level = env::get("CLEANROOM_LOG");
  if (!level) return Status::success();
  for (const char* word : {"trace", "debug", "info", "warn", "warning", "error", "err", "critical", "off"}) {
    if (*level == word) return Status::success();
  }
  return Error::permanent("CLEANROOM_LOG='" + *level +
                          "' is not a log level: use trace, debug, info, warn, error or off, or unset it");
}

int runParsed(const Commands& commands, const ParsedFlags& flags, std::ostream& out, std::ostream& err) {
  if (commands.version->parsed()) {
    out << "cleanroom " << CLEANROOM_VERSION << '\n';
    return kExitClean;
  }
  if (Status log = checkLogVariable(); !log.ok()) {
    err << "cleanroom: " << log.error().message << '\n';
    return kExitUsage;
  }
  if (flags.verbose) setLogLevel("debug");
  if (commands.ls->parsed()) return runLs(flags.ls, out, err);
  if (commands.sweep->parsed()) return runSweep(flags.sweep, out, err);
  if (commands.reap->parsed()) return runReap(flags.reap, out, err);
  return runWait(flags.wait, out, err);
}

}  // namespace

int runCommandLine(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app("cleanroom: find and stop what end-to-end tests left running.", "cleanroom");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("cleanroom ") + CLEANROOM_VERSION);
  app.failure_message(failureMessage);
  ParsedFlags flags;
  Commands commands = addCommands(app, flags);
  for (CLI::App* command : {&app, commands.ls, commands.sweep, commands.reap, commands.wait}) command->footer(footer());
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return code == 0 ? kExitClean : kExitUsage;
  } catch (const ConfigError& e) {
    err << "cleanroom: " << e.what() << '\n';
    return kExitUsage;
  }
  try {
    return runParsed(commands, flags, out, err);
  } catch (const ConfigError& e) {
    err << "cleanroom: " << e.what() << '\n';
    return kExitUsage;
  }
}

}  // namespace cleanroom::cli
