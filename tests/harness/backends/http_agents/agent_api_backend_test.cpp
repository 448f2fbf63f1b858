#include "cleanroom/backends/agent_api_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "cleanroom/mocks/agents/agent_api_mock.h"
#include "cleanroom/trace.h"
#include "http_test_server.h"
#include "scoped_env.h"

namespace cleanroom {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using json = nlohmann::json;
using namespace std::chrono_literals;

// A small in-process agent API (DESIGN 3.3) whose tests control every
// answer: agents are JSON objects set by the test; DELETE marks them
// terminating; a long-poll blocks until the test finishes the agent.
struct FakeAgentApiOptions {
  bool longPoll = true;            // answer ?waitFor=terminal with X-Cleanroom-Wait
  bool honourLabelFilter = false;  // filter GET /api/agents?label=k=v (else ignore it)
};

class FakeAgentApi {
 public:
  explicit FakeAgentApi(FakeAgentApiOptions options = {}) : options_(options) {
    auto& http = server_.server();
    http.Get("/api/agents", [this](const httplib::Request& req, httplib::Response& res) { listAgents(req, res); });
    http.Get(R"(/api/agents/([^/?]+))", [this](const httplib::Request& req, httplib::Response& res) { getAgent(req, res); });
    http.Delete(R"(/api/agents/([^/?]+))",
                [this](const httplib::Request& req, httplib::Response& res) { deleteAgent(req, res); });
    http.Post("/api/agents", [this](const httplib::Request& req, httplib::Response& res) { createAgent(req, res); });
    server_.start();
  }

  ~FakeAgentApi() {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    changed_.notify_all();
    server_.stop();
  }

  std::string url() const { return server_.url(); }

  void add(json agent) {
    std::string id = agent["id"];
    std::lock_guard lock(mutex_);
    agents_[id] = std::move(agent);
  }
  void setStatus(const std::string& id, const std::string& status) {
    {
      std::lock_guard lock(mutex_);
      agents_.at(id)["status"] = status;
    }
    changed_.notify_all();
  }
  std::string statusOf(const std::string& id) {
    std::lock_guard lock(mutex_);
    return agents_.at(id)["status"];
  }
  // Blocks until `count` long-polls are waiting in the server.
  void awaitLongPollers(int count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return longPollers_ >= count; });
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::vector<std::string> authorizations() {
    std::lock_guard lock(mutex_);
    return authorizations_;
  }
  json lastCreated() {
    std::lock_guard lock(mutex_);
    return lastCreated_;
  }

  // Called for every DELETE with the id and the force parameter.
  ::testing::MockFunction<void(const std::string& id, const std::string& force)> onDelete;

 private:
  static bool isTerminal(const json& agent) {
    std::string status = agent.value("status", "");
    return status == "completed" || status == "failed" || status == "terminated";
  }

  void record(const httplib::Request& req) {
    requests_.push_back(req.method + " " + req.target);
    authorizations_.push_back(req.get_header_value("Authorization"));
  }

  void listAgents(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    record(req);
    json list = json::array();
    std::string label = req.get_param_value("label");
    for (const auto& [id, agent] : agents_) {
      if (options_.honourLabelFilter && !label.empty() && !hasLabel(agent, label)) continue;
      list.push_back(agent);
    }
    res.set_content(list.dump(), "application/json");
  }

  static bool hasLabel(const json& agent, const std::string& keyValue) {
    size_t eq = keyValue.find('=');
    const json& labels = agent.value("labels", json::object());
    auto found = labels.find(keyValue.substr(0, eq));
    return found != labels.end() && *found == keyValue.substr(eq + 1);
  }

  void getAgent(const httplib::Request& req, httplib::Response& res) {
    std::unique_lock lock(mutex_);
    record(req);
    std::string id = req.matches[1];
    bool longPoll = options_.longPoll && req.get_param_value("waitFor") == "terminal";
    if (longPoll) {
      ++longPollers_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return closing_ || agents_.count(id) == 0 || isTerminal(agents_.at(id)); });
      --longPollers_;
      res.set_header("X-Cleanroom-Wait", "terminal");
    }
    auto agent = agents_.find(id);
    if (agent == agents_.end()) {
      res.status = 404;
      res.set_content(R"({"error":"no such agent"})", "application/json");
      return;
    }
    res.set_content(agent->second.dump(), "application/json");
  }

  void deleteAgent(const httplib::Request& req, httplib::Response& res) {
    std::string id = req.matches[1];
    std::string force = req.get_param_value("force");
    {
      std::lock_guard lock(mutex_);
      record(req);
    }
    onDelete.Call(id, force);
    std::lock_guard lock(mutex_);
    auto agent = agents_.find(id);
    if (agent == agents_.end()) {
      res.status = 404;
      return;
    }
    if (isTerminal(agent->second)) {
      agents_.erase(agent);
      res.status = 200;
      return;
    }
    agent->second["status"] = "terminating";
    res.status = 202;
    res.set_content(agent->second.dump(), "application/json");
  }

  void createAgent(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    record(req);
    lastCreated_ = json::parse(req.body);
    json agent = {{"id", "ag-" + std::to_string(agents_.size() + 1)},
                  {"status", "pending"},
                  {"createdAt", "2024-05-01T12:30:45.250Z"},
                  {"name", lastCreated_.value("name", "")},
                  {"labels", lastCreated_["labels"]}};
    agents_[agent["id"]] = agent;
    res.status = 201;
    res.set_content(agent.dump(), "application/json");
  }

  FakeAgentApiOptions options_;
  tests::HttpTestServer server_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, json> agents_;
  std::vector<std::string> requests_;
  std::vector<std::string> authorizations_;
  json lastCreated_;
  int longPollers_ = 0;
  bool closing_ = false;
};

json agentJson(const std::string& id, const std::string& status, const std::string& runId) {
  return {{"id", id},
          {"status", status},
          {"name", "agent " + id},
          {"createdAt", "2024-05-01T12:30:45Z"},
          {"labels", {{"cleanroom.run", runId}, {"team", "qa"}}}};
}

AgentApiConfig configFor(const std::string& url) {
  AgentApiConfig config;
  config.baseUrl = url;
  return config;
}

Resource resourceWithId(const std::string& id) {
  Resource resource;
  resource.backend = "http";
  resource.id = id;
  return resource;
}

Selector runSelector(const std::string& runId) {
  Selector selector;
  selector.runId = runId;
  return selector;
}

std::vector<std::string> idsOf(const std::vector<Resource>& resources) {
  std::vector<std::string> ids;
  for (const Resource& r : resources) ids.push_back(r.id);
  return ids;
}

WallTime utc(int64_t epochMillis) { return WallTime(std::chrono::milliseconds(epochMillis)); }

// --- parsing -------------------------------------------------------------------

TEST(AgentApiParseTest, ParsesAnAgent) {
  AgentApiBackend backend(configFor("http://127.0.0.1:9"));
  Result<Resource> agent = backend.parseAgent(agentJson("ag-1", "running", "run-a"));
  ASSERT_TRUE(agent.ok()) << agent.error().describe();
  EXPECT_EQ(agent->backend, "http");
  EXPECT_EQ(agent->id, "ag-1");
  EXPECT_EQ(agent->ref(), "http/ag-1");
  EXPECT_EQ(agent->name, "agent ag-1");
  EXPECT_EQ(agent->runId, "run-a");
  EXPECT_EQ(agent->labels.at("team"), "qa");
  EXPECT_EQ(agent->status, "running");
  EXPECT_EQ(agent->state, ResourceState::Running);
  EXPECT_EQ(agent->createdAt, utc(1714566645000));
}

TEST(AgentApiParseTest, ParsesCreationTimesInEveryAcceptedForm) {
  AgentApiBackend backend(configFor("http://127.0.0.1:9"));
  auto createdAt = [&](json value) {
    json agent = {{"id", "a"}, {"status", "running"}, {"createdAt", value}};
    return backend.parseAgent(agent).value().createdAt;
  };
  EXPECT_EQ(createdAt("2024-05-01T12:30:45.123Z"), utc(1714566645123));
  EXPECT_EQ(createdAt("2024-05-01T12:30:45.123456789Z"), utc(1714566645123) + std::chrono::microseconds(456));
  EXPECT_EQ(createdAt("2024-05-01T14:30:45+02:00"), utc(1714566645000));
  EXPECT_EQ(createdAt("2024-05-01T07:00:45-0530"), utc(1714566645000));
  EXPECT_EQ(createdAt("2024-05-01T12:30:45"), utc(1714566645000));  // no zone: UTC
  EXPECT_EQ(createdAt(1714566645), utc(1714566645000));             // epoch seconds
  EXPECT_EQ(createdAt(1714566645123), utc(1714566645123));          // epoch milliseconds
  EXPECT_EQ(createdAt(nullptr), std::nullopt);
}

TEST(AgentApiParseTest, MalformedCreationTimeNamesTheField) {
  AgentApiBackend backend(configFor("http://127.0.0.1:9"));
  Result<Resource> agent = backend.parseAgent({{"id", "a"}, {"status", "running"}, {"createdAt", "yesterday"}});
  ASSERT_FALSE(agent.ok());
  EXPECT_EQ(agent.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(agent.error().message, AllOf(HasSubstr("\"createdAt\""), HasSubstr("yesterday")));
}

TEST(AgentApiParseTest, MissingIdOrStatusNamesTheField) {
  AgentApiBackend backend(configFor("http://127.0.0.1:9"));
  Result<Resource> noId = backend.parseAgent({{"status", "running"}});
  ASSERT_FALSE(noId.ok());
  EXPECT_EQ(noId.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(noId.error().message, HasSubstr("field \"id\" is missing"));

  Result<Resource> noStatus = backend.parseAgent({{"id", "a"}});
  ASSERT_FALSE(noStatus.ok());
  EXPECT_THAT(noStatus.error().message, HasSubstr("field \"status\" is missing"));

  Result<Resource> badLabels = backend.parseAgent({{"id", "a"}, {"status", "running"}, {"labels", "x"}});
  ASSERT_FALSE(badLabels.ok());
  EXPECT_THAT(badLabels.error().message, HasSubstr("\"labels\""));
}

TEST(AgentApiParseTest, ClassifiesStatusWords) {
  AgentApiBackend backend(configFor("http://127.0.0.1:9"));
  EXPECT_EQ(backend.classify("pending"), ResourceState::Pending);
  EXPECT_EQ(backend.classify("running"), ResourceState::Running);
  EXPECT_EQ(backend.classify("terminating"), ResourceState::Stopping);
  EXPECT_EQ(backend.classify("completed"), ResourceState::Terminal);
  EXPECT_EQ(backend.classify("failed"), ResourceState::Terminal);
  EXPECT_EQ(backend.classify("terminated"), ResourceState::Terminal);
  EXPECT_EQ(backend.classify("hibernating"), ResourceState::Unknown);
}

TEST(AgentApiParseTest, MalformedBaseUrlThrowsConfigError) {
  EXPECT_THROW(AgentApiBackend(configFor("ftp://agents.example.com")), ConfigError);
  EXPECT_THROW(AgentApiBackend(configFor("garbage")), ConfigError);
}

TEST(AgentApiConfigTest, FromEnvironmentReadsUrlAndToken) {
  tests::ScopedEnv url("CLEANROOM_AGENTS_URL", "http://127.0.0.1:7070/");
  tests::ScopedEnv token("CLEANROOM_AGENTS_TOKEN", "tok-123");
  std::optional<Result<AgentApiConfig>> config = AgentApiConfig::fromEnvironment();
  ASSERT_TRUE(config.has_value());
  ASSERT_TRUE(config->ok()) << config->error().describe();
  EXPECT_EQ(config->value().baseUrl, "http://127.0.0.1:7070");
  EXPECT_EQ(config->value().authHeader, "Authorization");
  EXPECT_EQ(config->value().authValue, "Bearer tok-123");
}

TEST(AgentApiConfigTest, FromEnvironmentIsNulloptWhenUnsetAndAnErrorWhenMalformed) {
  {
    tests::ScopedEnv url("CLEANROOM_AGENTS_URL", std::nullopt);
    EXPECT_FALSE(AgentApiConfig::fromEnvironment().has_value());
  }
  tests::ScopedEnv url("CLEANROOM_AGENTS_URL", "127.0.0.1:7070");
  std::optional<Result<AgentApiConfig>> config = AgentApiConfig::fromEnvironment();
  ASSERT_TRUE(config.has_value());
  ASSERT_FALSE(config->ok());
  EXPECT_THAT(config->error().message, HasSubstr("CLEANROOM_AGENTS_URL"));
}

// --- list ------------------------------------------------------------------------

TEST(AgentApiListTest, SendsTheRunLabelAndKeepsOnlyThatRunsAgents) {
  FakeAgentApi api;  // ignores ?label=, as a user's API may
  api.add(agentJson("a1", "running", "run-a"));
  api.add(agentJson("a2", "terminating", "run-a"));
  api.add(agentJson("b1", "running", "run-b"));
  api.add({{"id", "u1"}, {"status", "running"}});  // unowned
  AgentApiBackend backend(configFor(api.url()));

  Result<std::vector<Resource>> agents = backend.list(runSelector("run-a"));

  ASSERT_TRUE(agents.ok()) << agents.error().describe();
  EXPECT_THAT(idsOf(*agents), UnorderedElementsAre("a1", "a2"));
  EXPECT_THAT(api.requests(), ElementsAre("GET /api/agents?label=cleanroom.run%3Drun-a"));
}

TEST(AgentApiListTest, AllRunsListsEverythingWithoutAQuery) {
  FakeAgentApi api;
  api.add(agentJson("a1", "running", "run-a"));
  api.add(agentJson("b1", "completed", "run-b"));
  api.add({{"id", "u1"}, {"status", "running"}});
  AgentApiBackend backend(configFor(api.url()));

  Result<std::vector<Resource>> agents = backend.list(Selector{});

  ASSERT_TRUE(agents.ok()) << agents.error().describe();
  EXPECT_THAT(idsOf(*agents), UnorderedElementsAre("a1", "b1", "u1"));
  EXPECT_THAT(api.requests(), ElementsAre("GET /api/agents"));
}

TEST(AgentApiListTest, UsesTheServersLabelFilterWhenItHasOne) {
  FakeAgentApi api({.longPoll = true, .honourLabelFilter = true});
  api.add(agentJson("a1", "running", "run-a"));
  api.add(agentJson("b1", "running", "run-b"));
  AgentApiBackend backend(configFor(api.url()));

  Result<std::vector<Resource>> agents = backend.list(runSelector("run-b"));

  ASSERT_TRUE(agents.ok()) << agents.error().describe();
  EXPECT_THAT(idsOf(*agents), ElementsAre("b1"));
  EXPECT_EQ((*agents)[0].state, ResourceState::Running);
}

// A user's API: different paths, field names, status words and a wrapped list.
class CustomTaskApi {
 public:
  CustomTaskApi() {
    auto& http = server_.server();
    http.Get("/v2/tasks", [](const httplib::Request&, httplib::Response& res) {
      json body = {{"items",
                    {{{"taskId", "t-1"}, {"state", "BUSY"}, {"title", "one"}, {"tags", {{"cleanroom.run", "r1"}}},
                      {"startedAt", 1714566645}},
                     {{"taskId", "t-2"}, {"state", "DONE"}, {"title", "two"}, {"tags", {{"cleanroom.run", "r1"}}}}}}};
      res.set_content(body.dump(), "application/json");
    });
    http.Get(R"(/v2/tasks/([^/]+)/state)", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(json{{"taskId", req.matches[1].str()}, {"state", "STOPPING"}}.dump(), "application/json");
    });
    http.Delete(R"(/v2/tasks/([^/]+)/state)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      deletes_.push_back(req.target);
      res.status = 204;
    });
    server_.start();
  }

  AgentApiConfig config() const {
    AgentApiConfig config;
    config.baseUrl = server_.url();
    config.listPath = "/v2/tasks";
    config.agentPath = "/v2/tasks/{id}/state";
    config.forceParam = "hard";
    config.itemsField = "items";
    config.idField = "taskId";
    config.statusField = "state";
    config.nameField = "title";
    config.labelsField = "tags";
    config.createdAtField = "startedAt";
    config.terminalStatuses = {"DONE"};
    config.stoppingStatuses = {"STOPPING"};
    config.runningStatuses = {"BUSY"};
    config.pendingStatuses = {};
    return config;
  }

  std::vector<std::string> deletes() {
    std::lock_guard lock(mutex_);
    return deletes_;
  }

 private:
  tests::HttpTestServer server_;
  std::mutex mutex_;
  std::vector<std::string> deletes_;
};

TEST(AgentApiCustomTest, SpeaksAUsersOwnApi) {
  CustomTaskApi api;
  AgentApiBackend backend(api.config());

  Result<std::vector<Resource>> tasks = backend.list(runSelector("r1"));
  ASSERT_TRUE(tasks.ok()) << tasks.error().describe();
  ASSERT_EQ(tasks->size(), 2u);
  EXPECT_EQ((*tasks)[0].id, "t-1");
  EXPECT_EQ((*tasks)[0].name, "one");
  EXPECT_EQ((*tasks)[0].state, ResourceState::Running);
  EXPECT_EQ((*tasks)[0].runId, "r1");
  EXPECT_EQ((*tasks)[0].createdAt, utc(1714566645000));
  EXPECT_EQ((*tasks)[1].state, ResourceState::Terminal);
  EXPECT_EQ((*tasks)[1].createdAt, std::nullopt);

  Result<ResourceStatus> status = backend.probe((*tasks)[0]);
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ(status->state, ResourceState::Stopping);
  EXPECT_EQ(status->status, "STOPPING");

  EXPECT_TRUE(backend.requestStop((*tasks)[0], StopMode::Force).ok());
  EXPECT_THAT(api.deletes(), ElementsAre("/v2/tasks/t-1/state?hard=true"));
}

TEST(AgentApiCustomTest, MissingItemsFieldIsAPermanentErrorNamingIt) {
  FakeAgentApi api;  // answers a bare array
  AgentApiConfig config = configFor(api.url());
  config.itemsField = "items";
  AgentApiBackend backend(config);

  Result<std::vector<Resource>> agents = backend.list(Selector{});
  ASSERT_FALSE(agents.ok());
  EXPECT_EQ(agents.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(agents.error().message, AllOf(HasSubstr("\"items\""), HasSubstr(api.url() + "/api/agents")));
}

// --- malformed answers -----------------------------------------------------------

class MalformedApi {
 public:
  explicit MalformedApi(std::string listBody) {
    server_.server().Get("/api/agents", [body = std::move(listBody)](const httplib::Request&, httplib::Response& res) {
      res.set_content(body, "application/json");
    });
    server_.start();
  }
  std::string url() const { return server_.url(); }

 private:
  tests::HttpTestServer server_;
};

TEST(AgentApiMalformedTest, NonJsonIsPermanentNamingTheUrl) {
  MalformedApi api("<html>oops</html>");
  AgentApiBackend backend(configFor(api.url()));
  Result<std::vector<Resource>> agents = backend.list(Selector{});
  ASSERT_FALSE(agents.ok());
  EXPECT_EQ(agents.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(agents.error().message,
              AllOf(HasSubstr("GET " + api.url() + "/api/agents"), HasSubstr("not JSON"), HasSubstr("oops")));
}

TEST(AgentApiMalformedTest, AnItemWithoutIdIsPermanentNamingTheFieldAndUrl) {
  MalformedApi api(R"([{"id":"a1","status":"running"},{"status":"running"}])");
  AgentApiBackend backend(configFor(api.url()));
  Result<std::vector<Resource>> agents = backend.list(Selector{});
  ASSERT_FALSE(agents.ok());
  EXPECT_EQ(agents.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(agents.error().message,
              AllOf(HasSubstr(api.url() + "/api/agents"), HasSubstr("item 1"), HasSubstr("\"id\"")));
}

TEST(AgentApiMalformedTest, AnObjectWhereAnArrayBelongsSuggestsItemsField) {
  MalformedApi api(R"({"agents":[]})");
  AgentApiBackend backend(configFor(api.url()));
  Result<std::vector<Resource>> agents = backend.list(Selector{});
  ASSERT_FALSE(agents.ok());
  EXPECT_THAT(agents.error().message, HasSubstr("itemsField"));
}

// --- stop and probe ----------------------------------------------------------------

TEST(AgentApiStopTest, GracefulAndForcedStopsSendTheForceParameter) {
  FakeAgentApi api;
  api.add(agentJson("a1", "running", "run-a"));
  api.add(agentJson("a2", "running", "run-a"));
  EXPECT_CALL(api.onDelete, Call("a1", "false"));
  EXPECT_CALL(api.onDelete, Call("a2", "true"));
  AgentApiBackend backend(configFor(api.url()));

  EXPECT_TRUE(backend.requestStop(resourceWithId("a1"), StopMode::Graceful).ok());
  EXPECT_TRUE(backend.requestStop(resourceWithId("a2"), StopMode::Force).ok());
  EXPECT_EQ(api.statusOf("a1"), "terminating");
  EXPECT_THAT(api.requests(), ElementsAre("DELETE /api/agents/a1?force=false", "DELETE /api/agents/a2?force=true"));
}

TEST(AgentApiStopTest, StoppingAVanishedAgentIsGone) {
  FakeAgentApi api;
  EXPECT_CALL(api.onDelete, Call("nope", "false"));
  AgentApiBackend backend(configFor(api.url()));

  Status status = backend.requestStop(resourceWithId("nope"), StopMode::Graceful);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::Gone);
  EXPECT_EQ(status.error().httpStatus, 404);
}

TEST(AgentApiStopTest, IdsAreUrlEncoded) {
  FakeAgentApi api;
  EXPECT_CALL(api.onDelete, Call("a b", "false"));
  AgentApiBackend backend(configFor(api.url()));
  (void)backend.requestStop(resourceWithId("a b"), StopMode::Graceful);
  EXPECT_THAT(api.requests(), ElementsAre("DELETE /api/agents/a%20b?force=false"));
}

TEST(AgentApiProbeTest, ReportsTheStatusAndGoneFor404) {
  FakeAgentApi api;
  api.add(agentJson("a1", "completed", "run-a"));
  AgentApiBackend backend(configFor(api.url()));

  Result<ResourceStatus> finished = backend.probe(resourceWithId("a1"));
  ASSERT_TRUE(finished.ok()) << finished.error().describe();
  EXPECT_EQ(finished->state, ResourceState::Terminal);
  EXPECT_EQ(finished->status, "completed");

  Result<ResourceStatus> gone = backend.agentStatus("missing");
  ASSERT_TRUE(gone.ok()) << gone.error().describe();
  EXPECT_EQ(gone->state, ResourceState::Gone);
  EXPECT_EQ(gone->status, "deleted");
}

TEST(AgentApiProbeTest, ServerErrorsAreRetryable) {
  tests::HttpTestServer server;
  server.server().Get(R"(/api/agents/([^/]+))", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_header("Retry-After", "1");
  });
  server.start();
  AgentApiBackend backend(configFor(server.url()));

  Result<ResourceStatus> status = backend.probe(resourceWithId("a1"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::Retryable);
  EXPECT_EQ(status.error().retryAfter, milliseconds(1000));
  EXPECT_THAT(status.error().message, HasSubstr("GET " + server.url() + "/api/agents/a1"));
}

// --- long-poll ---------------------------------------------------------------------

TEST(AgentApiAwaitTest, LongPollEndsWhenTheAgentFinishes) {
  FakeAgentApi api;
  api.add(agentJson("a1", "terminating", "run-a"));
  AgentApiBackend backend(configFor(api.url()));
  ASSERT_TRUE(backend.canAwait());

  auto awaited = std::async(std::launch::async, [&] { return backend.awaitFinished(resourceWithId("a1"), 30s); });
  api.awaitLongPollers(1);  // the request is parked in the server
  api.setStatus("a1", "terminated");
  Result<ResourceStatus> status = awaited.get();

  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ(status->state, ResourceState::Terminal);
  EXPECT_EQ(status->status, "terminated");
  EXPECT_TRUE(backend.canAwait());
  EXPECT_THAT(api.requests(), ElementsAre("GET /api/agents/a1?waitFor=terminal&timeoutMs=30000"));
}

TEST(AgentApiAwaitTest, ServerWithoutLongPollIsDetectedAndNotAskedAgain) {
  FakeAgentApi api({.longPoll = false, .honourLabelFilter = false});
  api.add(agentJson("a1", "terminating", "run-a"));
  AgentApiBackend backend(configFor(api.url()));
  ASSERT_TRUE(backend.canAwait());  // unknown until the server answers

  Result<ResourceStatus> first = backend.awaitFinished(resourceWithId("a1"), 30s);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_EQ(first->state, ResourceState::Stopping);
  EXPECT_FALSE(backend.canAwait());

  Result<ResourceStatus> second = backend.awaitFinished(resourceWithId("a1"), 30s);
  ASSERT_TRUE(second.ok()) << second.error().describe();
  EXPECT_THAT(api.requests(),
              ElementsAre("GET /api/agents/a1?waitFor=terminal&timeoutMs=30000", "GET /api/agents/a1"));
}

TEST(AgentApiAwaitTest, LongPollCanBeSwitchedOff) {
  FakeAgentApi api;
  api.add(agentJson("a1", "running", "run-a"));
  AgentApiConfig config = configFor(api.url());
  config.useLongPoll = false;
  AgentApiBackend backend(config);
  EXPECT_FALSE(backend.canAwait());

  Result<ResourceStatus> status = backend.awaitFinished(resourceWithId("a1"), 30s);
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ(status->state, ResourceState::Running);
  EXPECT_THAT(api.requests(), ElementsAre("GET /api/agents/a1"));
}

TEST(AgentApiAwaitTest, AVanishedAgentIsGone) {
  FakeAgentApi api;
  AgentApiBackend backend(configFor(api.url()));
  Result<ResourceStatus> status = backend.awaitFinished(resourceWithId("missing"), 30s);
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ(status->state, ResourceState::Gone);
}

// --- create ------------------------------------------------------------------------

TEST(AgentApiCreateTest, LabelsTheAgentWithItsRun) {
  FakeAgentApi api;
  AgentApiBackend backend(configFor(api.url()));
  AgentSpec spec;
  spec.prompt = "say hi";
  spec.name = "greeter";
  spec.labels = {{"team", "qa"}};
  spec.behavior = {{"runMs", 50}};
  spec.runId = "run-create";

  Result<Resource> agent = backend.createAgent(spec);

  ASSERT_TRUE(agent.ok()) << agent.error().describe();
  EXPECT_EQ(agent->id, "ag-1");
  EXPECT_EQ(agent->runId, "run-create");
  EXPECT_EQ(agent->state, ResourceState::Pending);
  EXPECT_EQ(agent->name, "greeter");
  json sent = api.lastCreated();
  EXPECT_EQ(sent["type"], "cli");
  EXPECT_EQ(sent["prompt"], "say hi");
  EXPECT_EQ(sent["name"], "greeter");
  EXPECT_EQ(sent["labels"], json({{"cleanroom.run", "run-create"}, {"team", "qa"}}));
  EXPECT_EQ(sent["behavior"], json({{"runMs", 50}}));
}

TEST(AgentApiCreateTest, DefaultsToThisProcesssRun) {
  FakeAgentApi api;
  AgentApiBackend backend(configFor(api.url()));
  Result<Resource> agent = backend.createAgent(AgentSpec{});
  ASSERT_TRUE(agent.ok()) << agent.error().describe();
  EXPECT_FALSE(agent->runId.empty());
  EXPECT_EQ(agent->runId, api.lastCreated()["labels"]["cleanroom.run"]);
}

// --- auth and tracing ----------------------------------------------------------------

TEST(AgentApiAuthTest, SendsTheAuthHeaderEverywhereAndNeverTracesIt) {
  FakeAgentApi api;
  api.add(agentJson("a1", "running", "run-a"));
  EXPECT_CALL(api.onDelete, Call("a1", "false"));
  AgentApiConfig config = configFor(api.url());
  config.authHeader = "Authorization";
  config.authValue = "Bearer very-secret-token";
  AgentApiBackend backend(config);

  TraceCapture capture;
  ASSERT_TRUE(backend.list(runSelector("run-a")).ok());
  ASSERT_TRUE(backend.requestStop(resourceWithId("a1"), StopMode::Graceful).ok());
  ASSERT_TRUE(backend.probe(resourceWithId("a1")).ok());

  EXPECT_THAT(api.authorizations(), ElementsAre("Bearer very-secret-token", "Bearer very-secret-token",
                                                "Bearer very-secret-token"));
  std::string trace = capture.text();
  EXPECT_THAT(trace, HasSubstr("step=http method=DELETE target=/api/agents/a1?force=false status=202 ms="));
  EXPECT_THAT(trace, Not(HasSubstr("very-secret-token")));
}

// --- against the real mock (cleanroom::mocks::AgentApiMock) ------------------------

TEST(AgentApiAgainstMockTest, CreateListStopAwaitAndPurge) {
  mocks::AgentApiMock mock;
  mock.start();
  AgentApiBackend backend(configFor(mock.url()));
  AgentSpec spec;
  spec.prompt = "work until stopped";
  spec.runId = "mock-run-1";
  spec.behavior = {{"exitDelayMs", 0}, {"lingerMs", 60000}};

  Result<Resource> created = backend.createAgent(spec);
  ASSERT_TRUE(created.ok()) << created.error().describe();
  EXPECT_EQ(created->runId, "mock-run-1");
  EXPECT_TRUE(created->createdAt.has_value());

  Result<std::vector<Resource>> mine = backend.list(runSelector("mock-run-1"));
  ASSERT_TRUE(mine.ok()) << mine.error().describe();
  EXPECT_THAT(idsOf(*mine), ElementsAre(created->id));
  Result<std::vector<Resource>> theirs = backend.list(runSelector("mock-run-2"));
  ASSERT_TRUE(theirs.ok()) << theirs.error().describe();
  EXPECT_TRUE(theirs->empty());

  ASSERT_TRUE(backend.requestStop(*created, StopMode::Graceful).ok());
  Result<ResourceStatus> finished = backend.awaitFinished(*created, 30s);
  ASSERT_TRUE(finished.ok()) << finished.error().describe();
  EXPECT_EQ(finished->state, ResourceState::Terminal);
  EXPECT_EQ(finished->status, "terminated");
  EXPECT_TRUE(backend.canAwait());  // the mock answers long-polls

  ASSERT_TRUE(backend.requestStop(*created, StopMode::Force).ok());  // purges a terminal agent
  Result<ResourceStatus> gone = backend.probe(*created);
  ASSERT_TRUE(gone.ok()) << gone.error().describe();
  EXPECT_EQ(gone->state, ResourceState::Gone);
  Status again = backend.requestStop(*created, StopMode::Graceful);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::Gone);
}

}  // namespace
}  // namespace cleanroom
