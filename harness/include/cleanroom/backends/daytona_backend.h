// DaytonaBackend ("daytona"): Daytona sandboxes, spoken to over Daytona's
// REST API (protocol-notes §7) — the real service or cleanroom-mock-daytona.
//
// Configuration (DESIGN 3.4): DAYTONA_API_URL is the API base including the
// NestJS prefix, e.g. http://127.0.0.1:3000/api or https://app.daytona.io/api
// (routes are {url}/sandbox…; https:// verifies the server's certificate, see
// http_client.h); DAYTONA_API_KEY is sent as `Authorization: Bearer
// <key>` and never appears in traces, errors or locator(). A 401/403 answer is
// a Permanent error naming DAYTONA_API_KEY.
//
// Ownership (DESIGN 3.5): sandboxes carry the label cleanroom.run=<run id>.
//
//   list   GET /sandbox?labels={"cleanroom.run":"<run>",<selector labels>}
//              &includeErroredDeleted=true   (runId nullopt: no run label in
//              the filter = every run). Destroyed sandboxes are dropped; age
//              (Selector::minAge) is filtered with the backend's Clock.
//   probe  GET /sandbox/{id}; 404 or state destroyed = Gone
//   stop   DELETE /sandbox/{id} (graceful) or DELETE /sandbox/{id}?force=true
//              (force); 404 = Gone. Stopping a sandbox means deleting it: a
//              stopped sandbox still holds its disk and quota.
//
// Daytona state → ResourceState:
//   creating, starting, started, restoring, pending_build, building_snapshot,
//   pulling_snapshot, snapshotting, forking        → Running
//   stopping, archiving, destroying                → Stopping
//   stopped, archived, error, build_failed         → Stopped (not running,
//                                                    but it still exists and
//                                                    holds disk and quota: an
//                                                    active state, so the
//                                                    run's cleanup deletes it)
//   destroyed                                      → Gone
//   anything else                                  → Unknown
// After this instance asked a sandbox to be deleted, probe reports any state
// but destroyed/404 as Stopping, so a delete counts as done only when the
// sandbox is really gone.
//
// Sweeps are selectors: daytonaSweep(run, minAge) (every sandbox that still
// exists, e.g. older than 24h on every run) and stoppedSandboxes(run, minAge)
// (only the Stopped ones). The engine's default scope (active states) already
// includes Stopped, so a plain run-scoped cleanup deletes stopped sandboxes.
//
// Single attempts only (backend.h): the engine's RetryPolicy retries
// Retryable errors (connection failures, timeouts, 5xx, 429 with
// Retry-After). Each call blocks for at most config.requestTimeout.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "cleanroom/backend.h"
#include "cleanroom/http_client.h"

namespace cleanroom {

struct DaytonaConfig {
  std::string apiUrl;   // e.g. "http://127.0.0.1:3000/api" (DAYTONA_API_URL)
  std::string apiKey;   // DAYTONA_API_KEY; required, never logged
  milliseconds requestTimeout{5000};

  // Returns the config from DAYTONA_API_URL and DAYTONA_API_KEY; nullopt when
  // DAYTONA_API_URL is unset; a Permanent error naming DAYTONA_API_URL when it
  // is malformed, or DAYTONA_API_KEY when it is unset.
  static std::optional<Result<DaytonaConfig>> fromEnvironment();
  // Returns the config a locator (DaytonaBackend::locator()) describes, with
  // the key from DAYTONA_API_KEY; a Permanent error names a missing or
  // malformed "url" or an unset DAYTONA_API_KEY.
  static Result<DaytonaConfig> fromLocator(const std::map<std::string, std::string>& locator);
};

// What to create (tests and examples).
struct DaytonaSandboxSpec {
  std::string name;                           // "" = the server picks
  std::map<std::string, std::string> labels;  // cleanroom.run is added
  std::map<std::string, std::string> env;
  std::string runId;                          // owner; empty = run::id()
  // Extra top-level fields of the create body, e.g. {"snapshot": "…"} or, for
  // cleanroom-mock-daytona, {"cleanroom": {"stopDelayMs": 300}}.
  nlohmann::json extra = nlohmann::json::object();
};

class DaytonaBackend : public Backend {
 public:
  // Throws ConfigError naming DAYTONA_API_URL when config.apiUrl is malformed,
  // or DAYTONA_API_KEY when config.apiKey is empty. `clock` (used for age
  // filtering) must outlive the backend.
  explicit DaytonaBackend(DaytonaConfig config, Clock& clock = Clock::system());

  std::string name() const override { return "daytona"; }
  Result<std::vector<Resource>> list(const Selector& selector) override;
  Status requestStop(const Resource& resource, StopMode mode) override;
  Result<ResourceStatus> probe(const Resource& resource) override;
  // {"url": apiUrl} — never the key (a reaper reads DAYTONA_API_KEY itself).
  std::map<std::string, std::string> locator() const override;

  // Creates a sandbox owned by spec.runId (default: this run), records it in
  // the run's journal and returns it. One attempt; blocks for at most one
  // request timeout.
  Result<Resource> createSandbox(const DaytonaSandboxSpec& spec);
  // POST /sandbox/{id}/stop (the sandbox keeps existing, stopped). One attempt.
  Status stopSandbox(const std::string& id);

  const DaytonaConfig& config() const { return config_; }
  // Maps a Daytona state word to a ResourceState (table above).
  static ResourceState classify(const std::string& state);
  // Parses one Sandbox object; a Permanent error names the missing field.
  Result<Resource> parseSandbox(const nlohmann::json& sandbox) const;

 private:
  HttpRequest newRequest(const std::string& method, const std::string& target) const;
  Result<HttpResponse> send(HttpRequest request);
  Error answerError(const HttpResponse& response, const std::string& what) const;
  std::string describe(const std::string& method, const std::string& target) const;
  bool deleteRequested(const std::string& id) const;
  void forgetDelete(const std::string& id);

  DaytonaConfig config_;
  Clock& clock_;
  std::unique_ptr<HttpClient> http_;
  mutable std::mutex mutex_;
  std::set<std::string> deleting_;  // ids this instance asked to delete
};

// Returns a selector for every sandbox that still exists (the active states,
// Stopped included), owned by `runId` (nullopt = every run, explicit
// widening), at least `minAge` old: the "old sandboxes" sweep, e.g.
// daytonaSweep(std::nullopt, 24h).
Selector daytonaSweep(std::optional<std::string> runId, milliseconds minAge = milliseconds(0));
// Returns a selector for stopped, archived and errored sandboxes (Stopped)
// owned by `runId` (nullopt = every run), at least `minAge` old.
Selector stoppedSandboxes(std::optional<std::string> runId, milliseconds minAge = milliseconds(0));

}  // namespace cleanroom
