// The protocol side of the Docker Engine API mock: routes, query parameters and
// status codes over ContainerStore (state) and MockHttpServer (HTTP skeleton,
// control API, fault rules).
#include "cleanroom/mocks/docker/docker_engine_mock.h"

#include <signal.h>
#include <sys/un.h>

#include <charconv>
#include <regex>
#include <stdexcept>

#include "cleanroom/mocks/docker/container_store.h"
#include "cleanroom/mocks/docker/docker_json.h"
#include "cleanroom/mocks/http_server.h"

namespace cleanroom::mocks::docker {
namespace {

using nlohmann::json;
using Kind = Outcome::Kind;

HttpResponse dockerError(int status, const std::string& message) {
  return HttpResponse::json(status, json{{"message", message}});
}

template <class T>
HttpResponse badRequest(const ParseResult<T>& error) {
  return dockerError(400, error.message());
}

// Returns the answer for `outcome`: `okStatus` with no body when ok, else
// docker's status and {"message"} (304 has no body).
HttpResponse answer(const Outcome& outcome, int okStatus = 204) {
  switch (outcome.kind) {
    case Kind::ok: return HttpResponse::empty(okStatus);
    case Kind::notModified: return HttpResponse::empty(304);
    case Kind::notFound: return dockerError(404, outcome.message);
    case Kind::conflict: return dockerError(409, outcome.message);
    case Kind::badRequest: return dockerError(400, outcome.message);
    case Kind::unavailable: return dockerError(503, outcome.message);
  }
  return dockerError(500, "unexpected outcome");
}

bool isApiVersion(const std::string& segment) {
  static const std::regex pattern("v[0-9]+\\.[0-9]+");
  return std::regex_match(segment, pattern);
}

// Reads boolean query parameter `name`; false when absent.
ParseResult<bool> queryBool(const HttpRequest& request, const std::string& name) {
  const auto value = request.queryValue(name);
  if (!value) return ParseResult<bool>::ok(false);
  const auto parsed = parseQueryBool(*value);
  if (!parsed) return ParseResult<bool>::error(name, name + " must be 1/true/True or 0/false/False; got " + *value);
  return ParseResult<bool>::ok(*parsed);
}

// Reads integer query parameter `name`; nullopt when absent.
ParseResult<std::optional<int>> queryInt(const HttpRequest& request, const std::string& name) {
  using Result = ParseResult<std::optional<int>>;
  const auto value = request.queryValue(name);
  if (!value || value->empty()) return Result::ok(std::nullopt);
  int number = 0;
  const auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), number);
  if (error != std::errc() || end != value->data() + value->size()) {
    return Result::error(name, name + " must be an integer; got " + *value);
  }
  return Result::ok(number);
}

// Reads query parameter `signal`; `fallback` when absent.
ParseResult<std::optional<int>> querySignal(const HttpRequest& request, std::optional<int> fallback) {
  using Result = ParseResult<std::optional<int>>;
  const auto value = request.queryValue("signal");
  if (!value || value->empty()) return Result::ok(fallback);
  const auto signal = parseSignal(*value);
  if (!signal) return Result::error("signal", "Invalid signal: " + *value);
  return Result::ok(signal);
}

ParseResult<WaitCondition> waitCondition(const HttpRequest& request) {
  const std::string value = request.queryValue("condition").value_or("");
  if (value.empty() || value == "not-running") return ParseResult<WaitCondition>::ok(WaitCondition::notRunning);
  if (value == "next-exit") return ParseResult<WaitCondition>::ok(WaitCondition::nextExit);
  if (value == "removed") return ParseResult<WaitCondition>::ok(WaitCondition::removed);
  return ParseResult<WaitCondition>::error(
      "condition", "invalid condition: \"" + value + "\"; use not-running, next-exit or removed");
}

HttpResponse ping() {
  auto response = HttpResponse::text(200, "OK");
  response.headers.set("Api-Version", std::string(kApiVersion));
  response.headers.set("Ostype", "linux");
  response.headers.set("Docker-Experimental", "false");
  response.headers.set("Cache-Control", "no-cache, no-store, must-revalidate");
  response.headers.set("Pragma", "no-cache");
  return response;
}

MockHttpServerOptions serverOptions(const DockerEngineMockOptions& options) {
  if (!options.tcp && options.unixSocketPath.empty()) {
    throw std::invalid_argument("docker mock: nothing to serve: give a Unix socket path (--socket) or keep TCP");
  }
  if (options.unixSocketPath.size() >= sizeof(sockaddr_un::sun_path)) {
    throw std::invalid_argument("docker mock: the Unix socket path " + options.unixSocketPath + " is " +
                                std::to_string(options.unixSocketPath.size()) +
                                " bytes; it must be shorter than 108 (use a shorter directory)");
  }
  MockHttpServerOptions server;
  server.host = options.host;
  server.port = options.port;
  server.tcp = options.tcp;
  server.unixSocketPath = options.unixSocketPath;
  server.name = "docker";
  return server;
}

json inspectAll(const std::vector<Container>& containers) {
  json out = json::array();
  for (const auto& container : containers) out.push_back(containerInspectJson(container));
  return out;
}

}  // namespace

class DockerEngineMock::Impl {
 public:
  explicit Impl(const DockerEngineMockOptions& options) : options_(options), server_(serverOptions(options)) {
    addRoutes();
  }

  void start() { server_.start(); }
  void stop() {
    store_.shutdown();  // first: wakes long-polls so that their connections can end
    server_.stop();
  }
  std::string url() const { return options_.tcp ? server_.url() : unixDockerHost(); }
  std::string tcpDockerHost() const {
    if (!options_.tcp) return {};
    return "tcp://" + server_.url().substr(std::string("http://").size());
  }
  std::string unixDockerHost() const {
    return options_.unixSocketPath.empty() ? std::string() : "unix://" + options_.unixSocketPath;
  }
  std::uint16_t port() const { return options_.tcp ? server_.port() : 0; }

 private:
  // Adds `pattern` twice: bare, and behind any "/v1.NN" prefix.
  void api(const std::string& method, const std::string& pattern, Router::Handler handler);
  void addRoutes();
  HttpResponse create(const HttpRequest& request);
  HttpResponse list(const HttpRequest& request);
  HttpResponse inspect(const HttpRequest& request);
  HttpResponse stop(const HttpRequest& request);
  HttpResponse restart(const HttpRequest& request);
  HttpResponse kill(const HttpRequest& request);
  HttpResponse wait(const HttpRequest& request);
  HttpResponse logs(const HttpRequest& request);
  HttpResponse remove(const HttpRequest& request);
  HttpResponse prune(const HttpRequest& request);
  HttpResponse image(const HttpRequest& request);

  DockerEngineMockOptions options_;
  ContainerStore store_;
  MockHttpServer server_;
};

void DockerEngineMock::Impl::api(const std::string& method, const std::string& pattern, Router::Handler handler) {
  server_.route(method, pattern, handler);
  server_.route(method, "/{apiVersion}" + pattern, [handler](const HttpRequest& request) {
    if (!isApiVersion(request.param("apiVersion"))) return dockerError(404, "page not found");
    return handler(request);
  });
}

void DockerEngineMock::Impl::addRoutes() {
  api("GET", "/_ping", [](const HttpRequest&) { return ping(); });
  api("GET", "/version", [](const HttpRequest&) { return HttpResponse::json(200, versionJson()); });
  api("GET", "/info", [this](const HttpRequest&) {
    return HttpResponse::json(200, infoJson(store_.all(), store_.images().size()));
  });
  api("POST", "/containers/create", [this](const HttpRequest& r) { return create(r); });
  api("GET", "/containers/json", [this](const HttpRequest& r) { return list(r); });
  api("POST", "/containers/prune", [this](const HttpRequest& r) { return prune(r); });
  api("GET", "/containers/{id}/json", [this](const HttpRequest& r) { return inspect(r); });
  api("POST", "/containers/{id}/start", [this](const HttpRequest& r) { return answer(store_.start(r.param("id"))); });
  api("POST", "/containers/{id}/stop", [this](const HttpRequest& r) { return stop(r); });
  api("POST", "/containers/{id}/restart", [this](const HttpRequest& r) { return restart(r); });
  api("POST", "/containers/{id}/kill", [this](const HttpRequest& r) { return kill(r); });
  api("POST", "/containers/{id}/wait", [this](const HttpRequest& r) { return wait(r); });
  api("GET", "/containers/{id}/logs", [this](const HttpRequest& r) { return logs(r); });
  api("DELETE", "/containers/{id}", [this](const HttpRequest& r) { return remove(r); });
  for (const char* pattern : {"/images/{a}/json", "/images/{a}/{b}/json", "/images/{a}/{b}/{c}/json"}) {
    api("GET", pattern, [this](const HttpRequest& r) { return image(r); });
  }
  server_.onReset([this] { store_.reset(); });
  server_.onState([this] { return json{{"containers", inspectAll(store_.all())}}; });
}

HttpResponse DockerEngineMock::Impl::create(const HttpRequest& request) {
  auto spec = parseCreateRequest(request.body, request.queryValue("name").value_or(""));
  if (!spec) return badRequest(spec);
  Container created;
  const Outcome outcome = store_.create(std::move(spec).value(), &created);
  if (!outcome.ok()) return answer(outcome);
  return HttpResponse::json(201, json{{"Id", created.id}, {"Warnings", json::array()}});
}

HttpResponse DockerEngineMock::Impl::list(const HttpRequest& request) {
  const auto all = queryBool(request, "all");
  if (!all) return badRequest(all);
  const auto limit = queryInt(request, "limit");
  if (!limit) return badRequest(limit);
  auto filter = ContainerFilter::parse(request.queryValue("filters").value_or(""));
  if (!filter) return badRequest(filter);
  ListQuery query{all.value(), limit.value().value_or(-1), std::move(filter).value()};
  json out = json::array();
  const auto now = WallClock::now();
  for (const auto& container : store_.list(query)) out.push_back(containerSummaryJson(container, now));
  return HttpResponse::json(200, out);
}

HttpResponse DockerEngineMock::Impl::inspect(const HttpRequest& request) {
  const std::string ref = request.param("id");
  const auto container = store_.find(ref);
  if (!container) return dockerError(404, "No such container: " + ref);
  return HttpResponse::json(200, containerInspectJson(*container));
}

HttpResponse DockerEngineMock::Impl::stop(const HttpRequest& request) {
  const auto timeout = queryInt(request, "t");
  if (!timeout) return badRequest(timeout);
  const auto signal = querySignal(request, std::nullopt);
  if (!signal) return badRequest(signal);
  std::optional<std::chrono::seconds> seconds;
  if (timeout.value()) seconds = std::chrono::seconds(*timeout.value());
  return answer(store_.stop(request.param("id"), signal.value(), seconds));
}

HttpResponse DockerEngineMock::Impl::restart(const HttpRequest& request) {
  HttpResponse stopped = stop(request);
  if (stopped.status != 204 && stopped.status != 304) return stopped;
  return answer(store_.start(request.param("id")));
}

HttpResponse DockerEngineMock::Impl::kill(const HttpRequest& request) {
  const auto signal = querySignal(request, SIGKILL);
  if (!signal) return badRequest(signal);
  return answer(store_.kill(request.param("id"), *signal.value()));
}

HttpResponse DockerEngineMock::Impl::wait(const HttpRequest& request) {
  const auto condition = waitCondition(request);
  if (!condition) return badRequest(condition);
  const std::string ref = request.param("id");
  const auto ticket = store_.beginWait(ref);  // before the headers: no exit after them is missed
  if (!ticket) return dockerError(404, "No such container: " + ref);
  // Headers first, as the daemon does: `docker run -d` waits for them before it
  // sends start.
  bool answered = false;
  return HttpResponse::streamed(
      200, "application/json",
      [this, ticket = *ticket, condition = condition.value(), answered]() mutable -> std::optional<std::string> {
        if (answered) return std::nullopt;
        answered = true;
        int exitCode = 0;
        const Outcome outcome = store_.wait(ticket, condition, &exitCode);
        if (!outcome.ok()) {
          return json{{"StatusCode", -1}, {"Error", {{"Message", outcome.message}}}}.dump() + "\n";
        }
        return json{{"StatusCode", exitCode}, {"Error", nullptr}}.dump() + "\n";
      });
}

HttpResponse DockerEngineMock::Impl::logs(const HttpRequest& request) {
  const std::string ref = request.param("id");
  const auto query = parseLogsQuery(request.query);
  if (!query) return badRequest(query);
  const auto container = store_.find(ref);
  if (!container) return dockerError(404, "No such container: " + ref);
  const std::string contentType =
      container->spec.tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
  if (!query.value().follow) return HttpResponse::text(200, renderLogs(*container, query.value()), contentType);
  // follow: headers now, the log once the container is no longer running.
  const auto ticket = store_.beginWait(ref);
  if (!ticket) return dockerError(404, "No such container: " + ref);
  bool answered = false;
  return HttpResponse::streamed(
      200, contentType,
      [this, ref, ticket = *ticket, logs = query.value(), answered]() mutable -> std::optional<std::string> {
        if (answered) return std::nullopt;
        answered = true;
        if (!store_.wait(ticket, WaitCondition::notRunning, nullptr).ok()) return std::nullopt;
        const auto finished = store_.find(ref);
        return finished ? renderLogs(*finished, logs) : std::string();
      });
}

HttpResponse DockerEngineMock::Impl::remove(const HttpRequest& request) {
  for (const char* name : {"force", "v", "link"}) {
    const auto flag = queryBool(request, name);
    if (!flag) return badRequest(flag);
  }
  return answer(store_.remove(request.param("id"), queryBool(request, "force").value()));
}

HttpResponse DockerEngineMock::Impl::prune(const HttpRequest& request) {
  auto filter = ContainerFilter::parse(request.queryValue("filters").value_or(""));
  if (!filter) return badRequest(filter);
  const auto removed = store_.prune(filter.value());
  return HttpResponse::json(200, json{{"ContainersDeleted", removed.empty() ? json(nullptr) : json(removed)},
                                      {"SpaceReclaimed", 0}});
}

HttpResponse DockerEngineMock::Impl::image(const HttpRequest& request) {
  std::string name;
  for (const char* part : {"a", "b", "c"}) {
    const std::string segment = request.param(part);
    if (segment.empty()) continue;
    name += (name.empty() ? "" : "/") + segment;
  }
  const auto images = store_.images();
  const std::string latest = name.find(':') == std::string::npos ? name + ":latest" : name;
  const std::string bare = latest.size() > 7 && latest.compare(latest.size() - 7, 7, ":latest") == 0
                               ? latest.substr(0, latest.size() - 7)
                               : latest;
  if (images.count(name) == 0 && images.count(latest) == 0 && images.count(bare) == 0) {
    return dockerError(404, "No such image: " + name);
  }
  return HttpResponse::json(200, imageInspectJson(name));
}

DockerEngineMock::DockerEngineMock(DockerEngineMockOptions options) : impl_(std::make_unique<Impl>(options)) {}
DockerEngineMock::~DockerEngineMock() { stop(); }
void DockerEngineMock::start() { impl_->start(); }
void DockerEngineMock::stop() { impl_->stop(); }
std::string DockerEngineMock::url() const { return impl_->url(); }
std::string DockerEngineMock::tcpDockerHost() const { return impl_->tcpDockerHost(); }
std::string DockerEngineMock::unixDockerHost() const { return impl_->unixDockerHost(); }
std::uint16_t DockerEngineMock::port() const { return impl_->port(); }

}  // namespace cleanroom::mocks::docker
