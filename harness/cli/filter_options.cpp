#include "filter_options.h"

#include <CLI/CLI.hpp>

#include "cleanroom/duration.h"
#include "cleanroom/run.h"

namespace cleanroom::cli {
namespace {

constexpr const char* kStateWords = "pending, running, stopping, stopped, terminal, gone or unknown";

// Returns the run id in scope: nullopt for --all-runs, else --run-id or the
// environment's, validated.
Result<std::optional<std::string>> runScope(const FilterOptions& options,
                                            const std::optional<std::string>& runIdFromEnvironment) {
  if (options.allRuns) return std::optional<std::string>();
  if (!options.runId.empty()) {
    Status valid = run::validateId(options.runId, "--run-id");
    if (!valid.ok()) return valid.error();
    return std::optional<std::string>(options.runId);
  }
  if (runIdFromEnvironment) {
    Status valid = run::validateId(*runIdFromEnvironment, "CLEANROOM_RUN_ID");
    if (!valid.ok()) return valid.error();
    return runIdFromEnvironment;
  }
  return Error::permanent(
      "no run id in scope: pass --run-id ID, set CLEANROOM_RUN_ID, or pass --all-runs to include every run");
}

Status addLabels(const std::vector<std::string>& texts, Selector& selector) {
  for (const auto& text : texts) {
    auto label = parseLabel(text);
    if (!label.ok()) return label.error();
    auto [it, inserted] = selector.labels.emplace(label.value());
    if (!inserted && it->second != label->second) {
      return Error::permanent("--label " + label->first + " is given twice with different values ('" + it->second +
                              "' and '" + label->second + "'); no resource can match both");
    }
  }
  return Status::success();
}

Status addStates(const std::vector<std::string>& words, Selector& selector) {
  for (const auto& word : words) {
    auto state = parseState(word);
    if (!state.ok()) return state.error();
    selector.states.insert(state.value());
  }
  return Status::success();
}

}  // namespace

void addFilterOptions(CLI::App& command, FilterOptions& options) {
  command.add_option("--backend", options.backends,
                     "Only these backends (repeat or comma-separate); default: every configured one")
      ->type_name("NAME")
      ->delimiter(',');
  auto* runId = command.add_option("--run-id", options.runId, "Owner run id (default: CLEANROOM_RUN_ID)")
                    ->type_name("ID");
  auto* allRuns = command.add_flag("--all-runs", options.allRuns, "Every run's resources (explicit widening)");
  runId->excludes(allRuns);
  command.add_option("--label", options.labels, "Only resources with this label (repeatable; all must match)")
      ->type_name("K=V");
  command.add_option("--older-than", options.olderThan, "Only resources at least this old: 90s, 30m, 24h, 2d")
      ->type_name("DURATION");
  command.add_option("--state", options.states,
                     "Only resources in these states (repeat or comma-separate): pending, running, stopping, stopped, "
                     "terminal, gone, unknown")
      ->type_name("STATE")
      ->delimiter(',');
}

Result<Selector> toSelector(const FilterOptions& options, const std::optional<std::string>& runIdFromEnvironment) {
  auto scope = runScope(options, runIdFromEnvironment);
  if (!scope.ok()) return scope.error();
  Selector selector;
  selector.runId = scope.value();
  if (Status labels = addLabels(options.labels, selector); !labels.ok()) return labels.error();
  if (!options.olderThan.empty()) {
    auto age = parseDuration(options.olderThan, "--older-than");
    if (!age.ok()) return age.error();
    selector.minAge = age.value();
  }
  if (Status states = addStates(options.states, selector); !states.ok()) return states.error();
  return selector;
}

Result<std::pair<std::string, std::string>> parseLabel(const std::string& text) {
  const auto equals = text.find('=');
  if (equals == std::string::npos) {
    return Error::permanent("--label \"" + text + "\" has no '=': use --label KEY=VALUE, e.g. --label team=search");
  }
  if (equals == 0) {
    return Error::permanent("--label \"" + text + "\" has an empty key: use --label KEY=VALUE, e.g. --label team=search");
  }
  return std::make_pair(text.substr(0, equals), text.substr(equals + 1));
}

Result<ResourceState> parseState(const std::string& word) {
  auto state = parseResourceState(word);
  if (!state) return Error::permanent("--state \"" + word + "\" is not a state: use " + kStateWords);
  return *state;
}

}  // namespace cleanroom::cli
