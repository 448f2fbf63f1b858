// The protocol side of the agent REST API mock: routes and status codes over
// AgentStore (state) and MockHttpServer (HTTP skeleton + control API).
#include "cleanroom/mocks/agents/agent_api_mock.h"

#include "cleanroom/mocks/agents/agent_json.h"
#include "cleanroom/mocks/agents/agent_store.h"
#include "cleanroom/mocks/http_server.h"

namespace cleanroom::mocks {
namespace {

using nlohmann::json;

template <class T>
HttpResponse badRequest(const ParseResult<T>& error) {
  return HttpResponse::json(400, {{"error", error.message()}, {"field", error.field()}});
}

HttpResponse notFound(const std::string& id) { return HttpResponse::error(404, "agent " + id + " not found"); }

HttpResponse stopping() { return HttpResponse::error(503, "the agent API mock is stopping"); }

MockHttpServerOptions serverOptions(const AgentApiMockOptions& options) {
  MockHttpServerOptions server;
  server.host = options.host;
  server.port = options.port;
  server.name = "agents";
  return server;
}

json agentsToJson(const std::vector<Agent>& agents) {
  json out = json::array();
  for (const auto& agent : agents) out.push_back(agentToJson(agent));
  return out;
}

}  // namespace

class AgentApiMock::Impl {
 public:
  explicit Impl(const AgentApiMockOptions& options)
      : store_(AgentStoreOptions{options.linger}),
        server_(serverOptions(options)) {
    addRoutes();
  }

  void start() { server_.start(); }
  void stop() {
    store_.shutdown();  // first: wakes long-polls so that their connections can end
    server_.stop();
  }
  std::string url() const { return server_.url(); }
  std::uint16_t port() const { return server_.port(); }

 private:
  void addRoutes();
  HttpResponse createAgent(const HttpRequest& request);
  HttpResponse listAgents(const HttpRequest& request);
  HttpResponse getAgent(const HttpRequest& request);
  HttpResponse deleteAgent(const HttpRequest& request);

  AgentStore store_;
  MockHttpServer server_;
};

void AgentApiMock::Impl::addRoutes() {
  server_.route("POST", "/api/agents", [this](const HttpRequest& r) { return createAgent(r); });
  server_.route("GET", "/api/agents", [this](const HttpRequest& r) { return listAgents(r); });
  server_.route("GET", "/api/agents/{id}", [this](const HttpRequest& r) { return getAgent(r); });
  server_.route("DELETE", "/api/agents/{id}", [this](const HttpRequest& r) { return deleteAgent(r); });
  server_.onReset([this] { store_.reset(); });
  server_.onState([this] { return json{{"agents", agentsToJson(store_.list())}}; });
}

HttpResponse AgentApiMock::Impl::createAgent(const HttpRequest& request) {
  auto spec = parseAgentSpec(request.body);
  if (!spec) return badRequest(spec);
  auto agent = store_.create(std::move(spec).value());
  if (!agent) return stopping();
  return HttpResponse::json(201, agentToJson(*agent));
}

HttpResponse AgentApiMock::Impl::listAgents(const HttpRequest& request) {
  auto filter = parseAgentFilter(request);
  if (!filter) return badRequest(filter);
  return HttpResponse::json(200, agentsToJson(store_.list(filter.value())));
}

HttpResponse AgentApiMock::Impl::getAgent(const HttpRequest& request) {
  const std::string id = request.param("id");
  auto wait = parseWaitRequest(request);
  if (!wait) return badRequest(wait);
  const auto& [until, timeout] = wait.value();
  if (until == WaitRequest::Until::terminal) store_.waitUntilTerminal(id, timeout);
  if (until == WaitRequest::Until::gone) store_.waitUntilGone(id, timeout);
  auto agent = store_.find(id);
  HttpResponse response = agent ? HttpResponse::json(200, agentToJson(*agent)) : notFound(id);
  response.headers.set("X-Cleanroom-Wait", "terminal");
  return response;
}

HttpResponse AgentApiMock::Impl::deleteAgent(const HttpRequest& request) {
  const std::string id = request.param("id");
  auto force = parseForce(request);
  if (!force) return badRequest(force);
  auto result = store_.stop(id, force.value() ? StopMode::force : StopMode::graceful);
  switch (result.kind) {
    case StopResult::Kind::notFound: return notFound(id);
    case StopResult::Kind::unavailable: return stopping();
    case StopResult::Kind::purged: return HttpResponse::json(200, agentToJson(*result.agent));
    case StopResult::Kind::accepted: return HttpResponse::json(202, agentToJson(*result.agent));
  }
  return stopping();
}

AgentApiMock::AgentApiMock(AgentApiMockOptions options) : impl_(std::make_unique<Impl>(options)) {}
AgentApiMock::~AgentApiMock() { stop(); }
void AgentApiMock::start() { impl_->start(); }
void AgentApiMock::stop() { impl_->stop(); }
std::string AgentApiMock::url() const { return impl_->url(); }
std::uint16_t AgentApiMock::port() const { return impl_->port(); }

}  // namespace cleanroom::mocks
