// DaytonaBackend: Daytona sandboxes over the Daytona REST API. Single attempts
// only; the engine retries and waits.
#include "cleanroom/backends/daytona_backend.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>
#include <string_view>

#include "cleanroom/env.h"
#include "cleanroom/journal.h"
#include "cleanroom/run.h"
#include "cleanroom/trace.h"

namespace cleanroom {
namespace {

constexpr const char* kUrlVariable = "DAYTONA_API_URL";
constexpr const char* kKeyVariable = "DAYTONA_API_KEY";
constexpr const char* kGoneStatus = "destroyed";
constexpr size_t kExcerptLength = 160;

std::string excerpt(const nlohmann::json& json) {
  std::string text = json.dump();
  return text.size() <= kExcerptLength ? text : text.substr(0, kExcerptLength) + "...";
}

std::string excerpt(const std::string& text) {
  return text.size() <= kExcerptLength ? text : text.substr(0, kExcerptLength) + "...";
}

bool isSuccess(int status) { return status >= 200 && status <= 299; }

// Parses "2024-05-01T12:30:45[.123…](Z|+hh:mm|-hh:mm)".
std::optional<WallTime> parseIsoTime(const std::string& text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second, &used) !=
          6 ||
      used != 19) {
    return std::nullopt;
  }
  std::string_view rest = std::string_view(text).substr(19);
  std::chrono::microseconds fraction(0);
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    for (long scale = 100000; !rest.empty() && rest.front() >= '0' && rest.front() <= '9'; scale /= 10) {
      fraction += std::chrono::microseconds((rest.front() - '0') * scale);
      rest.remove_prefix(1);
    }
  }
  std::chrono::minutes offset(0);
  if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int hours = 0, minutes = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &hours, &minutes) != 2) return std::nullopt;
    offset = std::chrono::minutes(hours * 60 + minutes) * (rest[0] == '-' ? -1 : 1);
  } else if (rest != "Z" && rest != "z") {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  WallTime utc = std::chrono::system_clock::from_time_t(timegm(&tm));
  return utc + std::chrono::duration_cast<WallTime::duration>(fraction) - offset;
}

Result<std::string> requiredText(const nlohmann::json& sandbox, const char* field) {
  auto value = sandbox.find(field);
  if (value == sandbox.end() || !value->is_string() || value->get<std::string>().empty()) {
    return Error::permanent(std::string("sandbox field \"") + field + "\" is missing or not a string in " +
                            excerpt(sandbox));
  }
  return value->get<std::string>();
}

std::map<std::string, std::string> labelsOf(const nlohmann::json& sandbox) {
  std::map<std::string, std::string> labels;
  auto value = sandbox.find("labels");
  if (value == sandbox.end() || !value->is_object()) return labels;
  for (const auto& [key, label] : value->items()) labels[key] = label.is_string() ? label.get<std::string>() : label.dump();
  return labels;
}

Error withContext(const Error& error, const std::string& context) {
  Error out = error;
  out.message = context + ": " + error.message;
  return out;
}

Result<nlohmann::json> parseBody(const HttpResponse& response, const std::string& what) {
  nlohmann::json json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_discarded()) {
    return Error::permanent(what + ": answer (HTTP " + std::to_string(response.status) + ") is not JSON: " +
                            excerpt(response.body));
  }
  return json;
}

Result<std::string> checkedUrl(const std::string& url, const std::string& what) {
  Result<std::string> checked = env::checkHttpUrl(url, what);
  if (checked.ok()) return checked;
  Error error = checked.error();
  error.message += " (set " + std::string(kUrlVariable) + " to the Daytona API base, e.g. http://127.0.0.1:3000/api)";
  return error;
}

Result<DaytonaConfig> withKeyFromEnvironment(DaytonaConfig config) {
  std::optional<std::string> key = env::get(kKeyVariable);
  if (!key) {
    return Error::permanent(std::string(kKeyVariable) + " is not set: set it to the Daytona API key (sent as " +
                            "Authorization: Bearer)");
  }
  config.apiKey = *key;
  return config;
}

}  // namespace

std::optional<Result<DaytonaConfig>> DaytonaConfig::fromEnvironment() {
  std::optional<std::string> url = env::get(kUrlVariable);
  if (!url) return std::nullopt;
  Result<std::string> checked = checkedUrl(*url, kUrlVariable);
  if (!checked) return Result<DaytonaConfig>(checked.error());
  DaytonaConfig config;
  config.apiUrl = *checked;
  return withKeyFromEnvironment(std::move(config));
}

Result<DaytonaConfig> DaytonaConfig::fromLocator(const std::map<std::string, std::string>& locator) {
  auto url = locator.find("url");
  if (url == locator.end()) return Error::permanent("the daytona backend's journal locator has no \"url\"");
  Result<std::string> checked = checkedUrl(url->second, "the daytona backend's journaled url");
  if (!checked) return checked.error();
  DaytonaConfig config;
  config.apiUrl = *checked;
  return withKeyFromEnvironment(std::move(config));
}

DaytonaBackend::DaytonaBackend(DaytonaConfig config, Clock& clock) : config_(std::move(config)), clock_(clock) {
  Result<std::string> url = checkedUrl(config_.apiUrl, kUrlVariable);
  if (!url) throw ConfigError(url.error().message);
  if (config_.apiKey.empty()) {
    throw ConfigError(std::string(kKeyVariable) + " is empty: the daytona backend needs the Daytona API key");
  }
  config_.apiUrl = *url;
  Result<std::unique_ptr<HttpClient>> client = makeHttpClient(config_.apiUrl, kUrlVariable);
  if (!client) throw ConfigError(client.error().message);
  http_ = std::move(client).value();
}

ResourceState DaytonaBackend::classify(const std::string& state) {
  static const std::set<std::string> running{"creating",         "starting",          "started",
                                             "restoring",        "pending_build",     "building_snapshot",
                                             "pulling_snapshot", "snapshotting",      "forking"};
  static const std::set<std::string> stopping{"stopping", "archiving", "destroying"};
  static const std::set<std::string> stopped{"stopped", "archived", "error", "build_failed"};
  if (running.count(state) != 0) return ResourceState::Running;
  if (stopping.count(state) != 0) return ResourceState::Stopping;
  if (stopped.count(state) != 0) return ResourceState::Stopped;
  if (state == kGoneStatus) return ResourceState::Gone;
  return ResourceState::Unknown;
}

Result<Resource> DaytonaBackend::parseSandbox(const nlohmann::json& sandbox) const {
  if (!sandbox.is_object()) return Error::permanent("a sandbox is not a JSON object: " + excerpt(sandbox));
  Result<std::string> id = requiredText(sandbox, "id");
  if (!id) return id.error();
  Result<std::string> state = requiredText(sandbox, "state");
  if (!state) return state.error();

  Resource resource;
  resource.backend = name();
  resource.id = std::move(id).value();
  resource.name = sandbox.value("name", "");
  resource.labels = labelsOf(sandbox);
  auto owner = resource.labels.find(kRunLabel);
  if (owner != resource.labels.end()) resource.runId = owner->second;
  auto created = sandbox.find("createdAt");
  if (created != sandbox.end() && created->is_string()) {
    resource.createdAt = parseIsoTime(created->get<std::string>());
    if (!resource.createdAt) {
      return Error::permanent("sandbox field \"createdAt\" is not an ISO-8601 time in " + excerpt(sandbox));
    }
  }
  resource.status = std::move(state).value();
  resource.state = classify(resource.status);
  return resource;
}

Result<std::vector<Resource>> DaytonaBackend::list(const Selector& selector) {
  nlohmann::json labels(selector.labels);
  if (selector.runId) labels[kRunLabel] = *selector.runId;
  std::string target = "/sandbox?includeErroredDeleted=true";
  if (!labels.empty()) target += "&labels=" + urlEncode(labels.dump());
  std::string what = describe("GET", target);
  Result<HttpResponse> response = send(newRequest("GET", target));
  if (!response) return response.error();
  if (!isSuccess(response->status)) return answerError(*response, what);
  Result<nlohmann::json> body = parseBody(*response, what);
  if (!body) return body.error();
  if (!body->is_array()) return Error::permanent(what + ": expected a JSON array of sandboxes, got " + excerpt(*body));

  const WallTime now = clock_.wallNow();
  std::vector<Resource> resources;
  for (size_t i = 0; i < body->size(); ++i) {
    Result<Resource> sandbox = parseSandbox((*body)[i]);
    if (!sandbox) return withContext(sandbox.error(), what + ": item " + std::to_string(i));
    if (sandbox->state == ResourceState::Gone) continue;
    Selector check = selector;
    check.states.clear();  // states are the engine's business; a list reports what exists
    if (!check.matches(*sandbox, now)) continue;  // the server may ignore ?labels=; ages by our clock
    resources.push_back(std::move(sandbox).value());
  }
  logger().debug("step=list backend=daytona url={} found={} listed={}", config_.apiUrl, resources.size(),
                 body->size());
  return resources;
}

Status DaytonaBackend::requestStop(const Resource& resource, StopMode mode) {
  std::string target = "/sandbox/" + urlEncode(resource.id);
  if (mode == StopMode::Force) target += "?force=true";
  {
    std::lock_guard lock(mutex_);
    deleting_.insert(resource.id);
  }
  Result<HttpResponse> response = send(newRequest("DELETE", target));
  if (!response) return response.error();
  logger().debug("step=delete backend=daytona ref={} mode={} http={}", resource.ref(), toString(mode),
                 response->status);
  if (isSuccess(response->status)) return Status::success();
  return answerError(*response, describe("DELETE", target));
}

Result<ResourceStatus> DaytonaBackend::probe(const Resource& resource) {
  std::string target = "/sandbox/" + urlEncode(resource.id);
  std::string what = describe("GET", target);
  Result<HttpResponse> response = send(newRequest("GET", target));
  if (!response) return response.error();
  if (response->status == 404 || response->status == 410) {
    forgetDelete(resource.id);
    return ResourceStatus{ResourceState::Gone, kGoneStatus};
  }
  if (!isSuccess(response->status)) return answerError(*response, what);
  Result<nlohmann::json> body = parseBody(*response, what);
  if (!body) return body.error();
  Result<Resource> sandbox = parseSandbox(*body);
  if (!sandbox) return withContext(sandbox.error(), what);
  ResourceState state = sandbox->state;
  if (state != ResourceState::Gone && deleteRequested(resource.id)) state = ResourceState::Stopping;
  if (state == ResourceState::Gone) forgetDelete(resource.id);
  return ResourceStatus{state, sandbox->status};
}

std::map<std::string, std::string> DaytonaBackend::locator() const { return {{"url", config_.apiUrl}}; }

Result<Resource> DaytonaBackend::createSandbox(const DaytonaSandboxSpec& spec) {
  nlohmann::json body = spec.extra.is_object() ? spec.extra : nlohmann::json::object();
  std::map<std::string, std::string> labels = spec.labels;
  labels[kRunLabel] = spec.runId.empty() ? run::id() : spec.runId;
  body["labels"] = labels;
  body["env"] = spec.env;
  if (!spec.name.empty()) body["name"] = spec.name;

  HttpRequest request = newRequest("POST", "/sandbox");
  request.body = body.dump();
  request.contentType = "application/json";
  std::string what = describe("POST", "/sandbox");
  Result<HttpResponse> response = send(std::move(request));
  if (!response) return response.error();
  if (!isSuccess(response->status)) return answerError(*response, what);
  Result<nlohmann::json> sandbox = parseBody(*response, what);
  if (!sandbox) return sandbox.error();
  Result<Resource> created = parseSandbox(*sandbox);
  if (!created) return withContext(created.error(), what);
  logger().debug("step=create backend=daytona ref={} state={}", created->ref(), created->status);
  (void)journal::recordCreated(*this, *created);
  return created;
}

Status DaytonaBackend::stopSandbox(const std::string& id) {
  std::string target = "/sandbox/" + urlEncode(id) + "/stop";
  Result<HttpResponse> response = send(newRequest("POST", target));
  if (!response) return response.error();
  if (isSuccess(response->status)) return Status::success();
  return answerError(*response, describe("POST", target));
}

HttpRequest DaytonaBackend::newRequest(const std::string& method, const std::string& target) const {
  HttpRequest request;
  request.method = method;
  request.target = target;
  request.headers.emplace_back("Accept", "application/json");
  request.headers.emplace_back("Authorization", "Bearer " + config_.apiKey);
  return request;
}

Result<HttpResponse> DaytonaBackend::send(HttpRequest request) { return http_->send(request, config_.requestTimeout); }

Error DaytonaBackend::answerError(const HttpResponse& response, const std::string& what) const {
  Error error = httpError(response, what);
  if (response.status == 401 || response.status == 403) {
    error.kind = ErrorKind::Permanent;
    error.message += std::string(" — the Daytona API rejected the key: check ") + kKeyVariable;
  }
  return error;
}

std::string DaytonaBackend::describe(const std::string& method, const std::string& target) const {
  return method + " " + config_.apiUrl + target;
}

void DaytonaBackend::forgetDelete(const std::string& id) {
  std::lock_guard lock(mutex_);
  deleting_.erase(id);
}

bool DaytonaBackend::deleteRequested(const std::string& id) const {
  std::lock_guard lock(mutex_);
  return deleting_.count(id) != 0;
}

Selector daytonaSweep(std::optional<std::string> runId, milliseconds minAge) {
  Selector selector = runId ? Selector::forRun(*runId) : Selector::allRuns();
  selector.minAge = minAge;
  selector.states = Selector::activeStates();
  return selector;
}

Selector stoppedSandboxes(std::optional<std::string> runId, milliseconds minAge) {
  Selector selector = daytonaSweep(std::move(runId), minAge);
  selector.states = {ResourceState::Stopped};
  return selector;
}

}  // namespace cleanroom
