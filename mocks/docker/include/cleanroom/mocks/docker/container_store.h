// ContainerStore: the in-memory containers of the Docker Engine API mock and
// their lifecycle (created -> running -> exited -> running again on start, or
// removed), each running container backed by one real child process in its own
// process group (see container.h for how it behaves). Stops, kills and stop
// timeouts act on the real process; its exit (as waitid reports it) is what
// moves the container to exited. Children are forked from one long-lived
// thread (PR_SET_PDEATHSIG = SIGKILL, so they die with the mock even on its
// SIGKILL), reaped by one thread per child that waits on that pid only (never
// waitpid(-1)), and killed and reaped by reset(), shutdown() and the destructor.
// Thread-safe. Container references ("ref") are a full id, a name (with or
// without '/') or an unambiguous id prefix.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cleanroom/mocks/docker/container.h"
#include "cleanroom/mocks/docker/container_filter.h"

namespace cleanroom::mocks::docker {

// The outcome of an operation, as the protocol layer maps it to HTTP.
struct Outcome {
  enum class Kind {
    ok,           // 200/201/204
    notModified,  // 304: already started / already stopped
    notFound,     // 404
    conflict,     // 409
    badRequest,   // 400
    unavailable,  // 503: the store is shutting down
  };
  Kind kind = Kind::ok;
  std::string message;  // docker's error text for failures, "" when ok

  bool ok() const { return kind == Kind::ok; }
  static Outcome success() { return {}; }
  static Outcome failure(Kind kind, std::string message) { return {kind, std::move(message)}; }
};

// What GET /containers/json asked for.
struct ListQuery {
  bool all = false;  // include non-running containers (implied by limit > 0 or a status filter)
  int limit = -1;    // > 0 = only the newest `limit` containers
  ContainerFilter filter;
};

// POST /containers/{id}/wait?condition=...
enum class WaitCondition {
  notRunning,  // return at once unless running, else at its exit (default)
  nextExit,    // return at the next exit, whatever the state now (docker run -d)
  removed,     // return once the container is removed
};

class ContainerStore {
 public:
  ContainerStore();
  // Calls shutdown().
  ~ContainerStore();
  ContainerStore(const ContainerStore&) = delete;
  ContainerStore& operator=(const ContainerStore&) = delete;

  // Creates a container in status created; generates a name when spec.name is
  // "". Returns it, or conflict (name in use), badRequest (bad name) or
  // unavailable. Never blocks on processes.
  Outcome create(ContainerSpec spec, Container* created = nullptr);
  // Starts the container's process. Returns ok, notModified (already running),
  // notFound or unavailable. Blocks until the child is forked (milliseconds).
  Outcome start(const std::string& ref);
  // Sends `signal` (default: the container's StopSignal, else SIGTERM) and
  // waits up to `timeout` (default: its StopTimeout, else 10 s; negative = no
  // limit) for the exit; then SIGKILLs the process group and waits for that
  // exit. Returns ok once the container has exited, notModified when it was
  // not running, notFound, or unavailable when the store shuts down meanwhile.
  Outcome stop(const std::string& ref, std::optional<int> signal, std::optional<std::chrono::seconds> timeout);
  // Sends `signal` to the container's process (SIGKILL: to its whole group,
  // and waits for the exit). Returns ok, conflict (not running) or notFound.
  Outcome kill(const std::string& ref, int signal);
  // A wait that begins now (registering the container and its exit count) and
  // blocks later, so that an exit between the two is not missed (the protocol
  // sends the wait's headers in between). Opaque to callers.
  struct WaitTicket {
    std::shared_ptr<void> record;
    std::uint64_t exitsSeen = 0;
  };
  // Returns the ticket for `ref`, or nullopt when no such container exists.
  std::optional<WaitTicket> beginWait(const std::string& ref) const;
  // Blocks until `condition` holds, counting exits since the ticket was taken
  // (or the store shuts down: unavailable). Returns ok with the exit code in
  // *exitCode.
  Outcome wait(const WaitTicket& ticket, WaitCondition condition, int* exitCode);
  // beginWait + wait; notFound when there is no such container.
  Outcome wait(const std::string& ref, WaitCondition condition, int* exitCode);
  // Removes a container. A running one needs `force` (SIGKILL to its group,
  // waits for the exit), else conflict. Returns ok, conflict or notFound.
  // Wakes waiters of condition removed (and every other waiter on it).
  Outcome remove(const std::string& ref, bool force);
  // Removes every container that is not running and passes `filter`; returns
  // the removed ids.
  std::vector<std::string> prune(const ContainerFilter& filter);

  // Returns the container `ref` names, or nullopt.
  std::optional<Container> find(const std::string& ref) const;
  // Returns the containers selected by `query`, newest first.
  std::vector<Container> list(const ListQuery& query) const;
  // Returns every container, oldest first.
  std::vector<Container> all() const;
  // Returns the image names that containers were created from (the mock's
  // "local images"; kept after the containers are removed, dropped by reset).
  std::set<std::string> images() const;

  // Drops every container: SIGKILLs every process group and blocks until each
  // child is reaped (milliseconds); wakes every waiter (they answer notFound).
  void reset();
  // reset(), then refuses new work (unavailable) and stops the fork thread.
  // Idempotent.
  void shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Returns the number of signal `name` ("SIGTERM", "TERM", "term", "15"), or
// nullopt for an unknown name.
std::optional<int> parseSignal(std::string_view name);

}  // namespace cleanroom::mocks::docker
