// AgentTeardown: the per-agent record of a cleanup — what the hand-written
// teardown of an agent system used to return (session killed, prompt deleted,
// logs archived, no zombies), built from every resource that belongs to the
// agent across backends.
//
// A resource belongs to an agent when it carries the label
// `cleanroom.agent=<agent id>` (kAgentLabel): the tmux backend sets it on a
// run's sessions (`cr-<run id>-<agent id>`), the workspace backend on an
// agent's files, and a launched process carries it when the launcher passes
// it. CleanupEngine::cleanup() fills CleanupReport::agents: the engine marks
// what it knows (a resource of the Agents stage left running clears
// sessionKilled), then asks each backend to add what only it knows
// (Backend::describeTeardown: the files archived, the zombies seen).
//
// Critical steps decide success: the session and its processes, the prompt
// and the logs. The zombie check is informational unless the caller makes it
// critical (CleanupOptions::zombiesAreCritical): a zombie holds no resources
// but a pid, and only its parent can reap it.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace cleanroom {

// The label naming the agent a resource belongs to (DESIGN 3.5 style).
inline constexpr const char* kAgentLabel = "cleanroom.agent";

struct AgentTeardown {
  std::string agentId;
  // Every session and process of the agent is gone (nothing found = true).
  bool sessionKilled = true;
  // The prompt file is gone: deleted now or already absent.
  bool promptDeleted = true;
  // No log is left in place: archived (or deleted with keepLogs=false) or
  // already absent.
  bool logsArchived = true;
  // No process of the agent is left as an unreaped zombie.
  bool noZombies = true;
  // Whether noZombies counts for success (CleanupOptions::zombiesAreCritical).
  bool zombiesCritical = false;
  std::vector<std::string> archivedFiles;  // archive copies, relative to the workspace
  std::vector<std::string> deletedFiles;   // files deleted, relative to the workspace
  std::vector<std::string> survivors;      // processes alive: "4242 sleep 600 (escaped with setsid)"
  std::vector<std::string> zombies;        // "4243 sh (zombie, parent 1)"
  std::vector<std::string> resources;      // refs of the agent's resources, e.g. "tmux/cr-abc-a1"
  std::vector<std::string> errors;         // what failed, naming the file or resource

  // Returns true when every critical step succeeded (and noZombies when it
  // is critical). Errors are details of failed steps; they do not count twice.
  bool success() const {
    return sessionKilled && promptDeleted && logsArchived && (!zombiesCritical || noZombies);
  }
  // Returns one line: "a1: session killed, prompt deleted, logs archived (2), no zombies — ok",
  // naming what failed otherwise.
  std::string describe() const;
  nlohmann::json toJson() const;
};

}  // namespace cleanroom
