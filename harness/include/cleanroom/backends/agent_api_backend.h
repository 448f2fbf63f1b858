// AgentApiBackend ("http"): agents behind a REST API — by default the agent
// API of DESIGN 3.3, spoken by cleanroom-mock-agents — and configurable for a
// user's own API: base URL, paths, JSON field names, status words and an auth
// header.
//
//   list   GET  {listPath}                  → JSON array (or {"<itemsField>": [...]})
//   probe  GET  {agentPath}                 → agent JSON, 404 = gone
//   await  GET  {agentPath}?waitFor=terminal&timeoutMs=N (long-poll, used when the
//              server answers with header X-Cleanroom-Wait; else adaptive polling)
//   stop   DELETE {agentPath}?{forceParam}=true|false, 404 = gone
//   create POST {createPath} (for tests and examples), labelled cleanroom.run=<run id>
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "cleanroom/backend.h"
#include "cleanroom/http_client.h"

namespace cleanroom {

struct AgentApiConfig {
  std::string baseUrl;                          // e.g. "http://127.0.0.1:8080"
  std::string listPath = "/api/agents";
  std::string agentPath = "/api/agents/{id}";   // {id} is replaced (url-encoded)
  std::string createPath = "/api/agents";
  std::string forceParam = "force";             // DELETE ?force=true|false
  std::string itemsField;                       // list body is {"<itemsField>": [...]} when set
  // JSON field names of an agent.
  std::string idField = "id";
  std::string statusField = "status";
  std::string nameField = "name";
  std::string labelsField = "labels";
  std::string createdAtField = "createdAt";     // ISO-8601 string or epoch seconds/ms number
  // Status words.
  std::set<std::string> terminalStatuses{"completed", "failed", "terminated"};
  std::set<std::string> stoppingStatuses{"terminating"};
  std::set<std::string> pendingStatuses{"pending"};
  std::set<std::string> runningStatuses{"running"};
  // Auth header sent with every request, e.g. {"Authorization", "Bearer …"}.
  // The value never appears in traces or errors.
  std::string authHeader;
  std::string authValue;
  milliseconds requestTimeout{5000};
  bool useLongPoll = true;                      // try ?waitFor=terminal

  // Returns the config a locator (AgentApiBackend::locator()) describes, with
  // the auth value from CLEANROOM_AGENTS_TOKEN when set; a Permanent error
  // names a missing or malformed "url".
  static Result<AgentApiConfig> fromLocator(const std::map<std::string, std::string>& locator);

  // Returns the default config with baseUrl from CLEANROOM_AGENTS_URL (and
  // authValue from CLEANROOM_AGENTS_TOKEN as a Bearer Authorization header
  // when set). Returns nullopt when CLEANROOM_AGENTS_URL is unset, or a
  // Permanent error naming the variable when it is malformed.
  static std::optional<Result<AgentApiConfig>> fromEnvironment();
};

// What to create (mock agent API; a user's API may ignore `behavior`).
struct AgentSpec {
  std::string type = "cli";
  std::string prompt = "cleanroom test agent";  // the mock requires a non-empty prompt
  std::string name;
  std::map<std::string, std::string> labels;  // cleanroom.run is added
  nlohmann::json behavior = nlohmann::json::object();
  std::string runId;                          // owner; empty = run::id()
};

class AgentApiBackend : public Backend {
 public:
  // Throws ConfigError when config.baseUrl is malformed.
  explicit AgentApiBackend(AgentApiConfig config);

  std::string name() const override { return "http"; }
  Result<std::vector<Resource>> list(const Selector& selector) override;
  Status requestStop(const Resource& resource, StopMode mode) override;
  Result<ResourceStatus> probe(const Resource& resource) override;
  bool canAwait() const override;
  Result<ResourceStatus> awaitFinished(const Resource& resource, milliseconds timeout) override;

  // {"url", paths, field names}: what a reaper needs to reach the API again
  // (the auth value is never included; it comes from CLEANROOM_AGENTS_TOKEN).
  std::map<std::string, std::string> locator() const override;

  // Creates an agent owned by spec.runId (default: this run), records it in
  // the run's journal (journal.h) and returns it. One attempt; blocks for at
  // most one request timeout.
  Result<Resource> createAgent(const AgentSpec& spec);
  // Returns one agent's state now (404 → Gone).
  Result<ResourceStatus> agentStatus(const std::string& id);

  const AgentApiConfig& config() const { return config_; }
  // Maps a status word to a ResourceState using the configured sets.
  ResourceState classify(const std::string& status) const;
  // Parses one agent object; returns a Permanent error naming the missing field.
  Result<Resource> parseAgent(const nlohmann::json& agent) const;

 private:
  std::string agentTarget(const std::string& id) const;
  Result<ResourceStatus> fetchStatus(const std::string& id, const std::string& query, milliseconds timeout);
  void noteLongPollSupport(const HttpResponse& response);
  HttpRequest newRequest(const std::string& method, const std::string& target) const;
  Result<HttpResponse> send(const std::string& method, const std::string& target, milliseconds timeout);
  Result<nlohmann::json> getJson(const std::string& target, milliseconds timeout);
  Result<nlohmann::json> parseBody(const HttpResponse& response, const std::string& what) const;
  std::string describe(const std::string& method, const std::string& target) const;

  AgentApiConfig config_;
  std::unique_ptr<HttpClient> http_;
  // Long-poll support: unknown until the server answers once.
  enum class LongPoll { Unknown, Yes, No };
  mutable std::atomic<LongPoll> longPoll_{LongPoll::Unknown};
};

}  // namespace cleanroom
