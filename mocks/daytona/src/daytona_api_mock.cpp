// The protocol side of the Daytona sandbox API mock: authentication, routes
// and status codes over SandboxStore (state) and MockHttpServer (HTTP skeleton
// and control API).
#include "cleanroom/mocks/daytona/daytona_api_mock.h"

#include "cleanroom/mocks/daytona/sandbox_json.h"
#include "cleanroom/mocks/daytona/sandbox_store.h"
#include "cleanroom/mocks/http_server.h"

namespace cleanroom::mocks::daytona {
namespace {

using nlohmann::json;

MockHttpServerOptions serverOptions(const DaytonaApiMockOptions& options) {
  MockHttpServerOptions server;
  server.host = options.host;
  server.port = options.port;
  server.name = "daytona";
  return server;
}

SandboxStoreOptions storeOptions(const DaytonaApiMockOptions& options) {
  SandboxStoreOptions store;
  store.stopDelay = options.stopDelay;
  store.deleteDelay = options.deleteDelay;
  store.startDelay = options.startDelay;
  store.archiveDelay = options.archiveDelay;
  store.linger = options.linger;
  return store;
}

json sandboxesToJson(const std::vector<Sandbox>& sandboxes) {
  json out = json::array();
  for (const auto& sandbox : sandboxes) out.push_back(sandboxToJson(sandbox));
  return out;
}

template <class T>
HttpResponse badRequest(const HttpRequest& request, const ParseResult<T>& error) {
  return nestError(400, request.path, error.message());
}

HttpResponse answer(const HttpRequest& request, const SandboxChange& change) {
  switch (change.kind) {
    case SandboxChange::Kind::ok: return HttpResponse::json(200, sandboxToJson(*change.sandbox));
    case SandboxChange::Kind::notFound: return nestError(404, request.path, "Sandbox not found");
    case SandboxChange::Kind::invalid: return nestError(400, request.path, change.message);
    case SandboxChange::Kind::conflict: return nestError(409, request.path, change.message);
    case SandboxChange::Kind::shutDown: break;
  }
  return nestError(503, request.path, "the Daytona mock is shutting down");
}

}  // namespace

class DaytonaApiMock::Impl {
 public:
  explicit Impl(const DaytonaApiMockOptions& options)
      : apiKey_(options.apiKey), store_(storeOptions(options)), server_(serverOptions(options)) {
    addRoutes();
  }

  void start() { server_.start(); }
  void stop() {
    store_.shutdown();
    server_.stop();
  }
  std::string url() const { return server_.url(); }
  std::uint16_t port() const { return server_.port(); }

 private:
  using Handler = HttpResponse (Impl::*)(const HttpRequest&);
  void addRoutes();
  void add(const char* method, const char* pattern, Handler handler);
  std::optional<HttpResponse> rejectUnauthorized(const HttpRequest& request) const;
  HttpResponse createSandbox(const HttpRequest& request);
  HttpResponse listSandboxes(const HttpRequest& request);
  HttpResponse getSandbox(const HttpRequest& request);
  HttpResponse startSandbox(const HttpRequest& request) { return answer(request, store_.start(request.param("id"))); }
  HttpResponse stopSandbox(const HttpRequest& request) { return answer(request, store_.stop(request.param("id"))); }
  HttpResponse archiveSandbox(const HttpRequest& request) {
    return answer(request, store_.archive(request.param("id")));
  }
  HttpResponse deleteSandbox(const HttpRequest& request);
  HttpResponse replaceLabels(const HttpRequest& request);

  std::string apiKey_;
  SandboxStore store_;
  MockHttpServer server_;
};

void DaytonaApiMock::Impl::addRoutes() {
  add("GET", "/api/sandbox", &Impl::listSandboxes);
  add("POST", "/api/sandbox", &Impl::createSandbox);
  add("GET", "/api/sandbox/{id}", &Impl::getSandbox);
  add("DELETE", "/api/sandbox/{id}", &Impl::deleteSandbox);
  add("POST", "/api/sandbox/{id}/start", &Impl::startSandbox);
  add("POST", "/api/sandbox/{id}/stop", &Impl::stopSandbox);
  add("POST", "/api/sandbox/{id}/archive", &Impl::archiveSandbox);
  add("PUT", "/api/sandbox/{id}/labels", &Impl::replaceLabels);
  server_.onReset([this] { store_.reset(); });
  server_.onState([this] {
    SandboxFilter everything;
    everything.includeErroredDeleted = true;
    return json{{"sandboxes", sandboxesToJson(store_.list(everything))}};
  });
}

void DaytonaApiMock::Impl::add(const char* method, const char* pattern, Handler handler) {
  server_.route(method, pattern, [this, handler](const HttpRequest& request) {
    if (auto rejected = rejectUnauthorized(request)) return *rejected;
    return (this->*handler)(request);
  });
}

std::optional<HttpResponse> DaytonaApiMock::Impl::rejectUnauthorized(const HttpRequest& request) const {
  static const std::string kBearer = "Bearer ";
  const std::string header = request.headers.value("Authorization");
  if (header.rfind(kBearer, 0) != 0 || header.size() == kBearer.size()) {
    return nestError(401, request.path, "No API key provided: send Authorization: Bearer <key>");
  }
  if (!apiKey_.empty() && header.substr(kBearer.size()) != apiKey_) {
    return nestError(401, request.path, "Invalid API key");
  }
  return std::nullopt;
}

HttpResponse DaytonaApiMock::Impl::createSandbox(const HttpRequest& request) {
  auto spec = parseSandboxSpec(request.body);
  if (!spec) return badRequest(request, spec);
  return answer(request, store_.create(std::move(spec).value()));
}

HttpResponse DaytonaApiMock::Impl::listSandboxes(const HttpRequest& request) {
  auto filter = parseSandboxFilter(request);
  if (!filter) return badRequest(request, filter);
  return HttpResponse::json(200, sandboxesToJson(store_.list(filter.value())));
}

HttpResponse DaytonaApiMock::Impl::getSandbox(const HttpRequest& request) {
  auto sandbox = store_.find(request.param("id"));
  if (!sandbox) return nestError(404, request.path, "Sandbox not found");
  return HttpResponse::json(200, sandboxToJson(*sandbox));
}

HttpResponse DaytonaApiMock::Impl::deleteSandbox(const HttpRequest& request) {
  auto force = parseForce(request);
  if (!force) return badRequest(request, force);
  return answer(request, store_.remove(request.param("id"), force.value()));
}

HttpResponse DaytonaApiMock::Impl::replaceLabels(const HttpRequest& request) {
  auto labels = parseLabelsBody(request.body);
  if (!labels) return badRequest(request, labels);
  SandboxChange change = store_.setLabels(request.param("id"), std::move(labels).value());
  if (change.kind != SandboxChange::Kind::ok) return answer(request, change);
  return HttpResponse::json(200, {{"labels", change.sandbox->spec.labels}});
}

DaytonaApiMock::DaytonaApiMock(DaytonaApiMockOptions options) : impl_(std::make_unique<Impl>(options)) {}
DaytonaApiMock::~DaytonaApiMock() { stop(); }
void DaytonaApiMock::start() { impl_->start(); }
void DaytonaApiMock::stop() { impl_->stop(); }
std::string DaytonaApiMock::url() const { return impl_->url(); }
std::string DaytonaApiMock::apiUrl() const { return impl_->url() + "/api"; }
std::uint16_t DaytonaApiMock::port() const { return impl_->port(); }

}  // namespace cleanroom::mocks::daytona
