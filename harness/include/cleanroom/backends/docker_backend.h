// DockerBackend ("docker"): containers behind the Docker Engine API, reached
// as DOCKER_HOST says (DESIGN 3.4): unix:///path (default
// unix:///var/run/docker.sock) or tcp://HOST:PORT (plain HTTP).
//
//   version GET  /_ping → header Api-Version (else GET /version → ApiVersion);
//           the prefix /v<min(1.45, server)> is used for every later call,
//           or DOCKER_API_VERSION when set. Negotiated once, on first use.
//   list    GET  /vX/containers/json?all=1&filters={"label":["cleanroom.run=<run>",…],
//           "status":[…],"name":[…]}; re-checked here, so a server that ignores
//           a filter still never hands out a foreign container
//   probe   GET  /vX/containers/{id}/json → State.Status; 404 = Gone
//   stop    graceful: POST /vX/containers/{id}/stop?t=<stopTimeout> (304 =
//           already stopped), then DELETE /vX/containers/{id}?v=1 (409 "still
//           running" is left to the forced stop)
//           force:    POST /vX/containers/{id}/kill (409 = not running), then
//           DELETE /vX/containers/{id}?force=1&v=1
//           404 anywhere = Error::gone. v=1 removes the anonymous volumes.
//
// Ownership: containers carry the label cleanroom.run=<run id> (DESIGN 3.5).
// Selector::allRuns() widens to every run but still only to containers that
// carry a cleanroom.run label: a container cleanroom did not create is never
// listed, so never touched.
//
// States: created → Pending; running, paused, restarting → Running;
// removing → Stopping; exited, dead → Stopped (it still exists and holds its
// disk until removed, so cleanup removes it); Resource::status keeps Docker's
// word.
//
//   create  POST /vX/containers/create?name=N {Image, Cmd, Env, Labels}, then
//           POST /vX/containers/{id}/start (createContainer: tests, examples)
//
// Single attempts only: errors carry their kind (connection failures,
// timeouts, 5xx and 429 with Retry-After are Retryable) and the engine's
// RetryPolicy retries. Every stop step is idempotent, so retrying a whole
// requestStop is safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/backend.h"
#include "cleanroom/clock.h"
#include "cleanroom/http_client.h"

namespace cleanroom {

// DOCKER_HOST's value when it is unset.
inline constexpr const char* kDefaultDockerHost = "unix:///var/run/docker.sock";
// The newest Engine API version this backend speaks.
inline constexpr const char* kMaxDockerApiVersion = "1.45";

// Where the Docker daemon listens, parsed from a DOCKER_HOST value.
struct DockerHost {
  enum class Transport { Unix, Tcp };
  Transport transport = Transport::Unix;
  std::string socketPath;  // Unix: absolute path
  std::string host;        // Tcp: name or address ("[::1]" for IPv6)
  int port = 0;            // Tcp
  // Returns the canonical DOCKER_HOST form, e.g. "unix:///var/run/docker.sock"
  // or "tcp://127.0.0.1:2375".
  std::string text() const;

  // Parses a DOCKER_HOST value. Returns a Permanent error naming DOCKER_HOST
  // and the accepted forms for anything else (ssh://, npipe://, fd://, a
  // missing port, a relative socket path, garbage).
  static Result<DockerHost> parse(const std::string& value);
  // Returns DOCKER_HOST parsed, or the default socket when it is unset or empty.
  static Result<DockerHost> fromEnvironment();
};

// Returns an HttpClient for `host`: the Unix-socket transport or plain HTTP
// over TCP. Errors name DOCKER_HOST. Does not connect.
Result<std::unique_ptr<HttpClient>> makeDockerHttpClient(const DockerHost& host);

// An Engine API version "MAJOR.MINOR", e.g. 1.45.
struct DockerApiVersion {
  int major = 1;
  int minor = 45;
  // Returns "1.45".
  std::string text() const;
  // Parses "1.45" (also "v1.45"); nullopt for anything else.
  static std::optional<DockerApiVersion> parse(const std::string& text);
  auto operator<=>(const DockerApiVersion&) const = default;
};

struct DockerBackendOptions {
  std::string dockerHost = kDefaultDockerHost;  // a DOCKER_HOST value
  std::string apiVersion;                       // "" = negotiate; "1.41" pins it
  milliseconds requestTimeout{5000};            // connect, and between bytes
  std::chrono::seconds stopTimeout{3};          // docker stop -t: SIGTERM, then the daemon kills
  int stopConcurrency = 64;                     // stops in flight at once (stopConcurrency())

  // Returns options from DOCKER_HOST (default socket when unset) and
  // DOCKER_API_VERSION; a Permanent error names the malformed variable.
  static Result<DockerBackendOptions> fromEnvironment();
  // Returns the options a locator (DockerBackend::locator()) describes; a
  // Permanent error names a missing or malformed "dockerHost".
  static Result<DockerBackendOptions> fromLocator(const std::map<std::string, std::string>& locator);
};

// What DockerBackend::createContainer creates (tests, examples, scoped use).
struct DockerContainerSpec {
  std::string image = "busybox";
  std::vector<std::string> command;            // Cmd; empty = the image's default
  std::string name;                            // "" = the daemon picks one
  std::map<std::string, std::string> labels;   // cleanroom.run is added
  std::map<std::string, std::string> env;      // Env as NAME=value (cleanroom-mock-docker
                                               // reads CLEANROOM_MOCK_* from it)
  std::string runId;                           // owner; empty = run::id()
  bool start = true;                           // false = leave it created
};

class DockerBackend : public Backend {
 public:
  // Throws ConfigError (naming DOCKER_HOST or DOCKER_API_VERSION) when the
  // options are malformed. Does not connect: the daemon is first asked on
  // the first call. `clock` measures ages for Selector::minAge.
  explicit DockerBackend(DockerBackendOptions options, Clock& clock = Clock::system());

  std::string name() const override { return "docker"; }
  // Blocks for at most two request timeouts (version negotiation on first use).
  Result<std::vector<Resource>> list(const Selector& selector) override;
  // Graceful blocks for up to stopTimeout plus a request timeout (the daemon
  // answers the stop once the container has exited or been killed), then
  // removes the container. Force kills and removes it.
  Status requestStop(const Resource& resource, StopMode mode) override;
  Result<ResourceStatus> probe(const Resource& resource) override;
  // {"dockerHost", "stopTimeoutSeconds", "apiVersion" (only when pinned)}.
  std::map<std::string, std::string> locator() const override;
  // Docker stops block for up to stopTimeout on the daemon: by default let
  // them all run at once (options.stopConcurrency; 1 = one after another).
  int stopConcurrency() const override { return options_.stopConcurrency; }

  // Creates a container owned by spec.runId (default: this run) — label
  // cleanroom.run=<run> added to spec.labels — records it in the run's
  // journal (journal::recordCreated) the moment the daemon has created it,
  // then starts it unless spec.start is false. Returns it as a Resource
  // (state Running "running", or Pending "created" when not started; name
  // as asked, createdAt = the backend clock's now). One attempt per request;
  // blocks for at most two request timeouts (plus version negotiation on
  // first use). When the start fails the error is returned and the created
  // container is left to the run's cleanup (it is labelled and journaled).
  Result<Resource> createContainer(const DockerContainerSpec& spec);

  // Returns the path prefix of the API version in use, e.g. "/v1.45" ("" =
  // the daemon's own version, when it names none), negotiating it on first
  // use. A transport failure is returned (and negotiation retried next time).
  Result<std::string> apiPrefix();

  const DockerBackendOptions& options() const { return options_; }
  // Maps Docker's State word (list State, inspect State.Status).
  static ResourceState classify(const std::string& dockerState);
  // Returns the filters JSON for `selector` (legacy list form, which every
  // daemon and docker-py accept).
  static nlohmann::json filtersFor(const Selector& selector);
  // Parses one item of GET /containers/json; a Permanent error names the
  // missing field.
  Result<Resource> parseListItem(const nlohmann::json& item) const;

 private:
  Result<HttpResponse> send(const std::string& method, const std::string& path, milliseconds timeout);
  Result<std::string> negotiate();
  static nlohmann::json createBody(const DockerContainerSpec& spec, const std::string& runId);
  Status postIgnoring(const std::string& path, int harmlessStatus, milliseconds timeout, const Resource& resource,
                      const char* step);
  Status remove(const Resource& resource, bool force);
  std::string describe(const std::string& method, const std::string& target) const;

  DockerBackendOptions options_;
  DockerHost host_;
  Clock& clock_;
  std::unique_ptr<HttpClient> http_;
  std::mutex versionMutex_;
  std::optional<std::string> prefix_;  // negotiated, guarded by versionMutex_
};

}  // namespace cleanroom
