// FakeDocker: a few Docker Engine API routes on an in-process MockHttpServer
// (TCP or a Unix socket), enough to drive DockerBackend: /_ping, /version,
// containers/json with label/status/name filters (legacy list form),
// inspect, stop (304 when not running), kill (409 when not running), and
// DELETE (409 when running without force). Faults come from the server's
// FaultRuleSet; what was sent from its RequestLog.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/http_server.h"

namespace cleanroom::tests {

struct FakeContainer {
  std::string id;
  std::string name;
  std::map<std::string, std::string> labels;
  std::string state = "running";
  long long created = 0;  // unix seconds
  bool restartsOnStop = false;  // a graceful stop does not take (restart policy)
};

class FakeDocker {
 public:
  // `unixSocketPath` empty = TCP on 127.0.0.1.
  explicit FakeDocker(std::string unixSocketPath = "") : server_(optionsFor(unixSocketPath)) {
    server_.route("GET", "/_ping", [this](const mocks::HttpRequest&) { return ping(); });
    server_.route("GET", "/version", [this](const mocks::HttpRequest&) { return version(); });
    for (std::string prefix : {"/{version}", ""}) {
      server_.route("GET", prefix + "/containers/json", [this](const mocks::HttpRequest& r) { return list(r); });
      server_.route("GET", prefix + "/containers/{id}/json", [this](const mocks::HttpRequest& r) { return inspect(r); });
      server_.route("POST", prefix + "/containers/{id}/stop", [this](const mocks::HttpRequest& r) { return stop(r); });
      server_.route("POST", prefix + "/containers/{id}/kill", [this](const mocks::HttpRequest& r) { return kill(r); });
      server_.route("DELETE", prefix + "/containers/{id}", [this](const mocks::HttpRequest& r) { return remove(r); });
    }
    server_.start();
  }
  ~FakeDocker() { server_.stop(); }

  // DOCKER_HOST for this fake.
  std::string dockerHost() const {
    if (!server_.unixSocketPath().empty()) return "unix://" + server_.unixSocketPath();
    return "tcp://127.0.0.1:" + std::to_string(server_.port());
  }
  mocks::MockHttpServer& server() { return server_; }

  void add(FakeContainer container) {
    std::lock_guard<std::mutex> lock(mutex_);
    containers_[container.id] = std::move(container);
  }
  // Returns the container's state, or nullopt once removed.
  std::optional<std::string> state(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = containers_.find(id);
    if (found == containers_.end()) return std::nullopt;
    return found->second.state;
  }

  // Api-Version the ping names (nullopt = none); whether /version answers.
  std::optional<std::string> pingVersion = "1.45";
  std::optional<std::string> versionField;
  bool applyFilters = true;

  // "METHOD path?query" of every request, in order (control API excluded).
  std::vector<std::string> requests() {
    std::vector<std::string> out;
    for (const auto& entry : server_.requestLog().entries()) {
      out.push_back(entry.method + " " + entry.path + (entry.query.empty() ? "" : "?" + entry.query));
    }
    return out;
  }
  // The decoded filters JSON of the last containers/json request.
  nlohmann::json lastFilters() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return lastFilters_;
  }

 private:
  static mocks::MockHttpServerOptions optionsFor(const std::string& unixSocketPath) {
    mocks::MockHttpServerOptions options;
    options.name = "fake-docker";
    options.tcp = unixSocketPath.empty();
    options.unixSocketPath = unixSocketPath;
    return options;
  }

  static mocks::HttpResponse noSuch(const std::string& id) {
    return mocks::HttpResponse::json(404, {{"message", "No such container: " + id}});
  }

  mocks::HttpResponse ping() const {
    auto response = mocks::HttpResponse::text(200, "OK");
    if (pingVersion) response.headers.set("Api-Version", *pingVersion);
    return response;
  }

  mocks::HttpResponse version() const {
    if (!versionField) return mocks::HttpResponse::json(404, {{"message", "page not found"}});
    return mocks::HttpResponse::json(200, {{"ApiVersion", *versionField}, {"Version", "fake"}});
  }

  static bool hasLabel(const FakeContainer& c, const std::string& filter) {
    size_t eq = filter.find('=');
    auto found = c.labels.find(filter.substr(0, eq));
    if (found == c.labels.end()) return false;
    return eq == std::string::npos || found->second == filter.substr(eq + 1);
  }

  bool selected(const FakeContainer& c, const nlohmann::json& filters) const {
    if (!applyFilters) return true;
    for (const auto& label : filters.value("label", nlohmann::json::array())) {
      if (!hasLabel(c, label.get<std::string>())) return false;
    }
    if (filters.contains("status")) {
      bool any = false;
      for (const auto& status : filters["status"]) any = any || status == c.state;
      if (!any) return false;
    }
    for (const auto& name : filters.value("name", nlohmann::json::array())) {
      if (c.name.find(name.get<std::string>()) == std::string::npos) return false;
    }
    return true;
  }

  mocks::HttpResponse list(const mocks::HttpRequest& r) {
    nlohmann::json filters = nlohmann::json::parse(r.queryValue("filters").value_or("{}"));
    std::lock_guard<std::mutex> lock(mutex_);
    lastFilters_ = filters;
    nlohmann::json items = nlohmann::json::array();
    for (const auto& [id, c] : containers_) {
      if (!selected(c, filters)) continue;
      items.push_back({{"Id", c.id}, {"Names", {"/" + c.name}}, {"Labels", c.labels}, {"State", c.state},
                       {"Status", c.state == "running" ? "Up 1 minute" : "Exited (0) 1 second ago"},
                       {"Created", c.created}, {"Image", "busybox"}});
    }
    return mocks::HttpResponse::json(200, items);
  }

  mocks::HttpResponse inspect(const mocks::HttpRequest& r) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = containers_.find(r.param("id"));
    if (found == containers_.end()) return noSuch(r.param("id"));
    const FakeContainer& c = found->second;
    return mocks::HttpResponse::json(200, {{"Id", c.id}, {"Name", "/" + c.name},
                                           {"State", {{"Status", c.state}, {"Running", c.state == "running"}}},
                                           {"Config", {{"Labels", c.labels}}}});
  }

  mocks::HttpResponse stop(const mocks::HttpRequest& r) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = containers_.find(r.param("id"));
    if (found == containers_.end()) return noSuch(r.param("id"));
    FakeContainer& c = found->second;
    if (c.state != "running") return mocks::HttpResponse::empty(304);
    if (!c.restartsOnStop) c.state = "exited";
    return mocks::HttpResponse::empty(204);
  }

  mocks::HttpResponse kill(const mocks::HttpRequest& r) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = containers_.find(r.param("id"));
    if (found == containers_.end()) return noSuch(r.param("id"));
    FakeContainer& c = found->second;
    if (c.state != "running") {
      return mocks::HttpResponse::json(409, {{"message", "cannot kill container: " + c.id + " is not running"}});
    }
    c.state = "exited";
    return mocks::HttpResponse::empty(204);
  }

  mocks::HttpResponse remove(const mocks::HttpRequest& r) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = containers_.find(r.param("id"));
    if (found == containers_.end()) return noSuch(r.param("id"));
    bool force = r.queryValue("force").value_or("0") == "1";
    if (found->second.state == "running" && !force) {
      return mocks::HttpResponse::json(409, {{"message", "cannot remove container \"/" + found->second.name +
                                                             "\": container is running: stop the container before "
                                                             "removing or force remove"}});
    }
    containers_.erase(found);
    return mocks::HttpResponse::empty(204);
  }

  mocks::MockHttpServer server_;
  mutable std::mutex mutex_;
  std::map<std::string, FakeContainer> containers_;
  nlohmann::json lastFilters_;
};

}  // namespace cleanroom::tests
