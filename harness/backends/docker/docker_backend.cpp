// DockerBackend: containers behind the Docker Engine API. Single attempts
// only; the engine retries and waits.
#include "cleanroom/backends/docker_backend.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>

#include "cleanroom/journal.h"
#include "cleanroom/run.h"
#include "cleanroom/trace.h"

namespace cleanroom {
namespace {

constexpr const char* kRemovedStatus = "removed";
constexpr size_t kExcerptLength = 160;

std::string excerpt(const nlohmann::json& json) {
  std::string text = json.dump();
  return text.size() <= kExcerptLength ? text : text.substr(0, kExcerptLength) + "...";
}

std::string excerpt(const std::string& text) {
  return text.size() <= kExcerptLength ? text : text.substr(0, kExcerptLength) + "...";
}

bool isSuccess(int status) { return status >= 200 && status <= 299; }

// Docker's words for each ResourceState (the status filter's values).
std::vector<std::string> dockerStatesOf(ResourceState state) {
  switch (state) {
    case ResourceState::Pending: return {"created"};
    case ResourceState::Running: return {"running", "paused", "restarting"};
    case ResourceState::Stopping: return {"removing"};
    case ResourceState::Stopped: return {"exited", "dead"};
    default: return {};
  }
}

// A name filter is a regular expression on the daemon: only send prefixes
// that mean the same as a plain substring (the result is re-checked here).
bool isPlainText(const std::string& text) {
  return std::none_of(text.begin(), text.end(), [](char c) { return std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos; });
}

// Older daemons omit "State" in lists; "Status" then says "Up 5 minutes",
// "Exited (0) 3 seconds ago", "Created"…
std::string stateFromStatusText(const std::string& status) {
  auto starts = [&](std::string_view prefix) { return status.rfind(prefix, 0) == 0; };
  if (starts("Up")) return status.find("(Paused)") != std::string::npos ? "paused" : "running";
  if (starts("Exited")) return "exited";
  if (starts("Created")) return "created";
  if (starts("Restarting")) return "restarting";
  if (starts("Removal")) return "removing";
  if (starts("Dead")) return "dead";
  return status;
}

Result<nlohmann::json> parseJson(const HttpResponse& response, const std::string& what) {
  nlohmann::json json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_discarded()) {
    return Error::permanent(what + ": answer (HTTP " + std::to_string(response.status) + ") is not JSON: " +
                            excerpt(response.body));
  }
  return json;
}

}  // namespace

DockerBackend::DockerBackend(DockerBackendOptions options, Clock& clock) : options_(std::move(options)), clock_(clock) {
  Result<DockerHost> host = DockerHost::parse(options_.dockerHost);
  if (!host) throw ConfigError(host.error().message);
  host_ = std::move(host).value();
  if (!options_.apiVersion.empty() && !DockerApiVersion::parse(options_.apiVersion)) {
    throw ConfigError("DOCKER_API_VERSION=\"" + options_.apiVersion +
                      "\" is not an API version; use MAJOR.MINOR, e.g. 1.41 (or unset it to negotiate)");
  }
  if (options_.stopConcurrency < 1) {
    throw ConfigError("DockerBackendOptions.stopConcurrency is " + std::to_string(options_.stopConcurrency) +
                      ": it must be at least 1");
  }
  Result<std::unique_ptr<HttpClient>> client = makeDockerHttpClient(host_);
  if (!client) throw ConfigError(client.error().message);
  http_ = std::move(client).value();
}

ResourceState DockerBackend::classify(const std::string& dockerState) {
  if (dockerState == "created") return ResourceState::Pending;
  if (dockerState == "running" || dockerState == "paused" || dockerState == "restarting") {
    return ResourceState::Running;
  }
  if (dockerState == "removing") return ResourceState::Stopping;
  if (dockerState == "exited" || dockerState == "dead") return ResourceState::Stopped;
  return ResourceState::Unknown;
}

nlohmann::json DockerBackend::filtersFor(const Selector& selector) {
  nlohmann::json labels = nlohmann::json::array();
  labels.push_back(selector.runId ? std::string(kRunLabel) + "=" + *selector.runId : std::string(kRunLabel));
  for (const auto& [key, value] : selector.labels) labels.push_back(key + "=" + value);
  nlohmann::json filters = {{"label", labels}};

  if (!selector.namePrefix.empty() && isPlainText(selector.namePrefix)) {
    filters["name"] = nlohmann::json::array({selector.namePrefix});
  }
  bool filterable = !selector.states.empty() && selector.states.count(ResourceState::Unknown) == 0;
  nlohmann::json statuses = nlohmann::json::array();
  for (ResourceState state : selector.states) {
    for (const std::string& word : dockerStatesOf(state)) statuses.push_back(word);
  }
  if (filterable && !statuses.empty()) filters["status"] = statuses;
  return filters;
}

Result<Resource> DockerBackend::parseListItem(const nlohmann::json& item) const {
  if (!item.is_object()) return Error::permanent("a container is not a JSON object: " + excerpt(item));
  auto id = item.find("Id");
  if (id == item.end() || !id->is_string() || id->get<std::string>().empty()) {
    return Error::permanent("container field \"Id\" is missing in " + excerpt(item));
  }
  Resource resource;
  resource.backend = name();
  resource.id = id->get<std::string>();

  auto state = item.find("State");
  auto statusText = item.find("Status");
  if (state != item.end() && state->is_string()) {
    resource.status = state->get<std::string>();
  } else if (statusText != item.end() && statusText->is_string()) {
    resource.status = stateFromStatusText(statusText->get<std::string>());
  } else {
    return Error::permanent("container field \"State\" is missing in " + excerpt(item));
  }
  resource.state = classify(resource.status);

  auto names = item.find("Names");
  if (names != item.end() && names->is_array() && !names->empty() && (*names)[0].is_string()) {
    std::string first = (*names)[0].get<std::string>();
    resource.name = !first.empty() && first.front() == '/' ? first.substr(1) : first;
  }
  auto labels = item.find("Labels");
  if (labels != item.end() && labels->is_object()) {
    for (const auto& [key, value] : labels->items()) {
      resource.labels[key] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  if (auto owner = resource.labels.find(kRunLabel); owner != resource.labels.end()) resource.runId = owner->second;
  auto created = item.find("Created");
  if (created != item.end() && created->is_number()) {
    resource.createdAt = WallTime(std::chrono::duration_cast<WallTime::duration>(
        std::chrono::seconds(created->get<int64_t>())));
  }
  return resource;
}

Result<std::vector<Resource>> DockerBackend::list(const Selector& selector) {
  Result<std::string> prefix = apiPrefix();
  if (!prefix) return prefix.error();
  std::string target = *prefix + "/containers/json?all=1&filters=" + urlEncode(filtersFor(selector).dump());
  Result<HttpResponse> response = send("GET", target, options_.requestTimeout);
  if (!response) return response.error();
  std::string what = describe("GET", target);
  if (!isSuccess(response->status)) return httpError(*response, what);
  Result<nlohmann::json> body = parseJson(*response, what);
  if (!body) return body.error();
  if (!body->is_array()) return Error::permanent(what + ": expected a JSON array of containers, got " + excerpt(*body));

  std::vector<Resource> resources;
  WallTime now = clock_.wallNow();
  for (size_t i = 0; i < body->size(); ++i) {
    Result<Resource> container = parseListItem((*body)[i]);
    if (!container) return Error::permanent(what + ": item " + std::to_string(i) + ": " + container.error().message);
    // Never trust the daemon's filtering with ownership.
    if (container->labels.count(kRunLabel) == 0) continue;
    if (!selector.matches(*container, now)) continue;
    resources.push_back(std::move(container).value());
  }
  logger().debug("step=list backend=docker host={} selector=\"{}\" found={}", host_.text(), selector.describe(),
                 resources.size());
  return resources;
}

Status DockerBackend::requestStop(const Resource& resource, StopMode mode) {
  Result<std::string> prefix = apiPrefix();
  if (!prefix) return prefix.error();
  std::string container = *prefix + "/containers/" + urlEncode(resource.id);
  if (mode == StopMode::Force) {
    Status killed = postIgnoring(container + "/kill", 409, options_.requestTimeout, resource, "kill");
    if (!killed) return killed;
    return remove(resource, true);
  }
  std::string stop = container + "/stop?t=" + std::to_string(options_.stopTimeout.count());
  // The daemon answers once the container exited (or it killed it after t).
  milliseconds timeout = options_.requestTimeout + std::chrono::duration_cast<milliseconds>(options_.stopTimeout);
  Status stopped = postIgnoring(stop, 304, timeout, resource, "stop");
  if (!stopped) return stopped;
  return remove(resource, false);
}

Result<ResourceStatus> DockerBackend::probe(const Resource& resource) {
  Result<std::string> prefix = apiPrefix();
  if (!prefix) return prefix.error();
  std::string target = *prefix + "/containers/" + urlEncode(resource.id) + "/json";
  Result<HttpResponse> response = send("GET", target, options_.requestTimeout);
  if (!response) return response.error();
  if (response->status == 404) return ResourceStatus{ResourceState::Gone, kRemovedStatus};
  std::string what = describe("GET", target);
  if (!isSuccess(response->status)) return httpError(*response, what);
  Result<nlohmann::json> body = parseJson(*response, what);
  if (!body) return body.error();
  const nlohmann::json* state = body->is_object() && body->contains("State") ? &(*body)["State"] : nullptr;
  if (state == nullptr || !state->is_object() || !state->contains("Status") || !(*state)["Status"].is_string()) {
    return Error::permanent(what + ": container field \"State.Status\" is missing in " + excerpt(*body));
  }
  std::string status = (*state)["Status"].get<std::string>();
  return ResourceStatus{classify(status), status};
}

std::map<std::string, std::string> DockerBackend::locator() const {
  std::map<std::string, std::string> locator{{"dockerHost", host_.text()},
                                             {"stopTimeoutSeconds", std::to_string(options_.stopTimeout.count())}};
  if (!options_.apiVersion.empty()) locator["apiVersion"] = options_.apiVersion;
  return locator;
}

Result<std::string> DockerBackend::apiPrefix() {
  std::lock_guard<std::mutex> lock(versionMutex_);
  if (prefix_) return *prefix_;
  Result<std::string> negotiated = negotiate();
  if (negotiated) prefix_ = *negotiated;
  return negotiated;
}

// GET /_ping's Api-Version header, else GET /version's ApiVersion, capped at
// kMaxDockerApiVersion; a daemon that names none gets unversioned paths.
Result<std::string> DockerBackend::negotiate() {
  const DockerApiVersion ours = *DockerApiVersion::parse(kMaxDockerApiVersion);
  if (!options_.apiVersion.empty()) return "/v" + DockerApiVersion::parse(options_.apiVersion)->text();

  std::string source = "ping";
  Result<HttpResponse> ping = send("GET", "/_ping", options_.requestTimeout);
  if (!ping) return ping.error();
  if (ping->status == 429 || ping->status >= 500) return httpError(*ping, describe("GET", "/_ping"));
  std::optional<DockerApiVersion> theirs = DockerApiVersion::parse(ping->header("Api-Version"));
  if (!theirs) {
    source = "version";
    Result<HttpResponse> version = send("GET", "/version", options_.requestTimeout);
    if (!version) return version.error();
    if (version->status == 429 || version->status >= 500) return httpError(*version, describe("GET", "/version"));
    nlohmann::json body = nlohmann::json::parse(version->body, nullptr, false);
    if (isSuccess(version->status) && body.is_object() && body.contains("ApiVersion") && body["ApiVersion"].is_string()) {
      theirs = DockerApiVersion::parse(body["ApiVersion"].get<std::string>());
    }
  }
  std::string prefix = theirs ? "/v" + std::min(ours, *theirs).text() : "";
  logger().debug("step=docker-version host={} api={} source={}", host_.text(), prefix.empty() ? "unversioned" : prefix,
                 theirs ? source : "none");
  return prefix;
}

Status DockerBackend::postIgnoring(const std::string& path, int harmlessStatus, milliseconds timeout,
                                   const Resource& resource, const char* step) {
  Result<HttpResponse> response = send("POST", path, timeout);
  if (!response) return response.error();
  int status = response->status;
  logger().debug("step=docker-{} ref={} status={}", step, resource.ref(), status);
  if (isSuccess(status) || status == harmlessStatus) return Status::success();
  if (status == 404) return Error::gone(describe("POST", path) + ": no such container");
  return httpError(*response, describe("POST", path));
}

// DELETE with ?v=1 (anonymous volumes too). 409 means "still running" (left
// to the forced stop) or "removal already in progress": not a failure.
Status DockerBackend::remove(const Resource& resource, bool force) {
  Result<std::string> prefix = apiPrefix();
  if (!prefix) return prefix.error();
  std::string path = *prefix + "/containers/" + urlEncode(resource.id) + (force ? "?force=1&v=1" : "?v=1");
  Result<HttpResponse> response = send("DELETE", path, options_.requestTimeout);
  if (!response) return response.error();
  int status = response->status;
  logger().debug("step=docker-remove ref={} force={} status={}", resource.ref(), force, status);
  if (isSuccess(status) || status == 409) return Status::success();
  if (status == 404) return Error::gone(describe("DELETE", path) + ": no such container");
  return httpError(*response, describe("DELETE", path));
}

nlohmann::json DockerBackend::createBody(const DockerContainerSpec& spec, const std::string& runId) {
  std::map<std::string, std::string> labels = spec.labels;
  labels[kRunLabel] = runId;
  nlohmann::json env = nlohmann::json::array();
  for (const auto& [key, value] : spec.env) env.push_back(key + "=" + value);
  nlohmann::json body = {{"Image", spec.image}, {"Labels", labels}, {"Env", env}};
  if (!spec.command.empty()) body["Cmd"] = spec.command;
  return body;
}

Result<Resource> DockerBackend::createContainer(const DockerContainerSpec& spec) {
  if (spec.image.empty()) return Error::permanent("DockerContainerSpec.image is empty: name an image, e.g. busybox");
  Result<std::string> prefix = apiPrefix();
  if (!prefix) return prefix.error();
  const std::string runId = spec.runId.empty() ? run::id() : spec.runId;
  std::string target = *prefix + "/containers/create";
  if (!spec.name.empty()) target += "?name=" + urlEncode(spec.name);

  HttpRequest request;
  request.method = "POST";
  request.target = target;
  request.headers.emplace_back("Accept", "application/json");
  request.body = createBody(spec, runId).dump();
  request.contentType = "application/json";
  Result<HttpResponse> response = http_->send(request, options_.requestTimeout);
  if (!response) return response.error();
  const std::string what = describe("POST", target);
  if (!isSuccess(response->status)) return httpError(*response, what);
  Result<nlohmann::json> body = parseJson(*response, what);
  if (!body) return body.error();
  if (!body->is_object() || !body->contains("Id") || !(*body)["Id"].is_string()) {
    return Error::permanent(what + ": answer has no \"Id\": " + excerpt(*body));
  }

  Resource created;
  created.backend = name();
  created.id = (*body)["Id"].get<std::string>();
  created.name = spec.name;
  created.labels = spec.labels;
  created.labels[kRunLabel] = runId;
  created.runId = runId;
  created.createdAt = clock_.wallNow();
  created.state = ResourceState::Pending;
  created.status = "created";
  (void)journal::recordCreated(*this, created);
  logger().debug("step=create backend=docker ref={} image={} start={}", created.ref(), spec.image, spec.start);
  if (!spec.start) return created;

  const std::string start = *prefix + "/containers/" + urlEncode(created.id) + "/start";
  Status started = postIgnoring(start, 304, options_.requestTimeout, created, "start");
  if (!started) return started.error();
  created.state = ResourceState::Running;
  created.status = "running";
  return created;
}

Result<HttpResponse> DockerBackend::send(const std::string& method, const std::string& path, milliseconds timeout) {
  HttpRequest request;
  request.method = method;
  request.target = path;
  request.headers.emplace_back("Accept", "application/json");
  return http_->send(request, timeout);
}

std::string DockerBackend::describe(const std::string& method, const std::string& target) const {
  return method + " " + target + " on " + host_.text();
}

}  // namespace cleanroom
