// AgentApiBackend: agents behind a REST API (DESIGN 3.3), configurable for a
// user's own API. Single attempts only; the engine retries and waits.
#include "cleanroom/backends/agent_api_backend.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <optional>
#include <string_view>

#include "cleanroom/env.h"
#include "cleanroom/journal.h"
#include "cleanroom/run.h"

namespace cleanroom {
namespace {

constexpr const char* kUrlVariable = "CLEANROOM_AGENTS_URL";
constexpr const char* kTokenVariable = "CLEANROOM_AGENTS_TOKEN";
constexpr const char* kWaitHeader = "X-Cleanroom-Wait";
constexpr const char* kGoneStatus = "deleted";
constexpr size_t kExcerptLength = 160;
// Epoch numbers above this are milliseconds (as seconds it would be year 5138).
constexpr double kEpochMillisThreshold = 1e11;

std::string excerpt(const nlohmann::json& json) {
  std::string text = json.dump();
  return text.size() <= kExcerptLength ? text : text.substr(0, kExcerptLength) + "...";
}

std::string excerpt(const std::string& text) {
  return text.size() <= kExcerptLength ? text : text.substr(0, kExcerptLength) + "...";
}

std::string withQuery(const std::string& target, const std::string& query) {
  if (query.empty()) return target;
  return target + (target.find('?') == std::string::npos ? "?" : "&") + query;
}

bool isSuccess(int status) { return status >= 200 && status <= 299; }

// Reads `count` digits at `pos`; nullopt when any is not a digit.
std::optional<int> digits(std::string_view text, size_t pos, size_t count) {
  if (pos + count > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// Parses the zone suffix: "Z", "+02:00", "-0530" or "" (taken as UTC).
// Returns the offset east of UTC.
std::optional<std::chrono::minutes> parseZone(std::string_view zone) {
  if (zone.empty() || zone == "Z" || zone == "z") return std::chrono::minutes(0);
  if (zone[0] != '+' && zone[0] != '-') return std::nullopt;
  std::optional<int> hours = digits(zone, 1, 2);
  size_t minutesAt = zone.size() == 6 && zone[3] == ':' ? 4 : 3;
  std::optional<int> minutes = digits(zone, minutesAt, 2);
  if (!hours || !minutes || minutesAt + 2 != zone.size()) return std::nullopt;
  std::chrono::minutes offset(*hours * 60 + *minutes);
  return zone[0] == '-' ? -offset : offset;
}

// Parses "2024-05-01T12:30:45[.123456][Z|+02:00|-0530]".
std::optional<WallTime> parseIsoTime(std::string_view text) {
  std::optional<int> year = digits(text, 0, 4), month = digits(text, 5, 2), day = digits(text, 8, 2);
  std::optional<int> hour = digits(text, 11, 2), minute = digits(text, 14, 2), second = digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  char separator = text[10];
  if (text[4] != '-' || text[7] != '-' || text[13] != ':' || text[16] != ':') return std::nullopt;
  if (separator != 'T' && separator != 't' && separator != ' ') return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }

  size_t pos = 19;
  std::chrono::microseconds fraction(0);
  if (pos < text.size() && text[pos] == '.') {
    size_t start = ++pos;
    int64_t scale = 100000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += std::chrono::microseconds((text[pos] - '0') * scale);
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::optional<std::chrono::minutes> offset = parseZone(text.substr(pos));
  if (!offset) return std::nullopt;

  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  WallTime utc = std::chrono::system_clock::from_time_t(timegm(&tm));
  return utc + std::chrono::duration_cast<WallTime::duration>(fraction) - *offset;
}

std::optional<WallTime> fromEpochNumber(double value) {
  if (!std::isfinite(value) || value < 0) return std::nullopt;
  double millis = value > kEpochMillisThreshold ? value : value * 1000;
  return WallTime(std::chrono::duration_cast<WallTime::duration>(
      std::chrono::milliseconds(static_cast<int64_t>(std::llround(millis)))));
}

// A string field that must be present; numbers are accepted as ids.
Result<std::string> requiredText(const nlohmann::json& agent, const std::string& field) {
  auto value = agent.find(field);
  if (value == agent.end() || value->is_null()) {
    return Error::permanent("agent field \"" + field + "\" is missing in " + excerpt(agent));
  }
  if (value->is_string()) return value->get<std::string>();
  if (value->is_number_integer()) return value->dump();
  return Error::permanent("agent field \"" + field + "\" is not a string in " + excerpt(agent));
}

Result<std::map<std::string, std::string>> labelsOf(const nlohmann::json& agent, const std::string& field) {
  std::map<std::string, std::string> labels;
  auto value = agent.find(field);
  if (field.empty() || value == agent.end() || value->is_null()) return labels;
  if (!value->is_object()) {
    return Error::permanent("agent field \"" + field + "\" is not an object of labels in " + excerpt(agent));
  }
  for (const auto& [key, label] : value->items()) {
    labels[key] = label.is_string() ? label.get<std::string>() : label.dump();
  }
  return labels;
}

Result<std::optional<WallTime>> createdAtOf(const nlohmann::json& agent, const std::string& field) {
  auto value = agent.find(field);
  if (field.empty() || value == agent.end() || value->is_null()) return std::optional<WallTime>();
  std::optional<WallTime> time;
  if (value->is_string()) time = parseIsoTime(value->get<std::string>());
  if (value->is_number()) time = fromEpochNumber(value->get<double>());
  if (time) return time;
  return Error::permanent("agent field \"" + field + "\" is not a time (ISO-8601 like 2024-05-01T12:30:45.123Z, " +
                          "or epoch seconds/milliseconds) in " + excerpt(agent));
}

Error withContext(const Error& error, const std::string& context) {
  Error out = error;
  out.message = context + ": " + error.message;
  return out;
}

}  // namespace

std::optional<Result<AgentApiConfig>> AgentApiConfig::fromEnvironment() {
  std::optional<Result<std::string>> url = env::httpUrl(kUrlVariable);
  if (!url) return std::nullopt;
  if (!url->ok()) return Result<AgentApiConfig>(url->error());
  AgentApiConfig config;
  config.baseUrl = url->value();
  if (std::optional<std::string> token = env::get(kTokenVariable)) {
    config.authHeader = "Authorization";
    config.authValue = "Bearer " + *token;
  }
  return Result<AgentApiConfig>(std::move(config));
}

AgentApiBackend::AgentApiBackend(AgentApiConfig config) : config_(std::move(config)) {
  Result<std::unique_ptr<HttpClient>> client = makeHttpClient(config_.baseUrl, "agent API base URL");
  if (!client) throw ConfigError(client.error().message);
  http_ = std::move(client).value();
}

ResourceState AgentApiBackend::classify(const std::string& status) const {
  if (config_.terminalStatuses.count(status) != 0) return ResourceState::Terminal;
  if (config_.stoppingStatuses.count(status) != 0) return ResourceState::Stopping;
  if (config_.pendingStatuses.count(status) != 0) return ResourceState::Pending;
  if (config_.runningStatuses.count(status) != 0) return ResourceState::Running;
  return ResourceState::Unknown;
}

Result<Resource> AgentApiBackend::parseAgent(const nlohmann::json& agent) const {
  if (!agent.is_object()) return Error::permanent("an agent is not a JSON object: " + excerpt(agent));
  Result<std::string> id = requiredText(agent, config_.idField);
  if (!id) return id.error();
  Result<std::string> status = requiredText(agent, config_.statusField);
  if (!status) return status.error();
  Result<std::map<std::string, std::string>> labels = labelsOf(agent, config_.labelsField);
  if (!labels) return labels.error();
  Result<std::optional<WallTime>> createdAt = createdAtOf(agent, config_.createdAtField);
  if (!createdAt) return createdAt.error();

  Resource resource;
  resource.backend = name();
  resource.id = std::move(id).value();
  auto nameValue = agent.find(config_.nameField);
  if (nameValue != agent.end() && nameValue->is_string()) resource.name = nameValue->get<std::string>();
  resource.labels = std::move(labels).value();
  auto owner = resource.labels.find(kRunLabel);
  if (owner != resource.labels.end()) resource.runId = owner->second;
  resource.createdAt = *createdAt;
  resource.status = std::move(status).value();
  resource.state = classify(resource.status);
  return resource;
}

Result<std::vector<Resource>> AgentApiBackend::list(const Selector& selector) {
  std::string query;
  if (selector.runId) query = "label=" + urlEncode(std::string(kRunLabel) + "=" + *selector.runId);
  std::string target = withQuery(config_.listPath, query);
  Result<nlohmann::json> body = getJson(target, config_.requestTimeout);
  if (!body) return body.error();

  const nlohmann::json* items = &*body;
  if (!config_.itemsField.empty()) {
    auto field = body->is_object() ? body->find(config_.itemsField) : body->end();
    if (!body->is_object() || field == body->end()) {
      return Error::permanent(describe("GET", target) + ": list field \"" + config_.itemsField +
                              "\" is missing in " + excerpt(*body));
    }
    items = &*field;
  }
  if (!items->is_array()) {
    std::string hint = config_.itemsField.empty() ? " (set itemsField when the list is wrapped in an object)" : "";
    return Error::permanent(describe("GET", target) + ": expected a JSON array of agents, got " + excerpt(*items) +
                            hint);
  }

  std::vector<Resource> resources;
  for (size_t i = 0; i < items->size(); ++i) {
    Result<Resource> agent = parseAgent((*items)[i]);
    if (!agent) return withContext(agent.error(), describe("GET", target) + ": item " + std::to_string(i));
    if (selector.runId && agent->runId != *selector.runId) continue;  // the server may ignore ?label=
    resources.push_back(std::move(agent).value());
  }
  return resources;
}

Status AgentApiBackend::requestStop(const Resource& resource, StopMode mode) {
  std::string force = mode == StopMode::Force ? "true" : "false";
  std::string target = withQuery(agentTarget(resource.id), urlEncode(config_.forceParam) + "=" + force);
  Result<HttpResponse> response = send("DELETE", target, config_.requestTimeout);
  if (!response) return response.error();
  if (isSuccess(response->status)) return Status::success();
  return httpError(*response, describe("DELETE", target));
}

Result<ResourceStatus> AgentApiBackend::probe(const Resource& resource) { return agentStatus(resource.id); }

Result<ResourceStatus> AgentApiBackend::agentStatus(const std::string& id) {
  return fetchStatus(id, "", config_.requestTimeout);
}

bool AgentApiBackend::canAwait() const { return config_.useLongPoll && longPoll_.load() != LongPoll::No; }

Result<ResourceStatus> AgentApiBackend::awaitFinished(const Resource& resource, milliseconds timeout) {
  if (!canAwait() || timeout <= milliseconds(0)) return probe(resource);
  std::string query = "waitFor=terminal&timeoutMs=" + std::to_string(timeout.count());
  return fetchStatus(resource.id, query, timeout + config_.requestTimeout);
}

Result<Resource> AgentApiBackend::createAgent(const AgentSpec& spec) {
  std::map<std::string, std::string> labels = spec.labels;
  labels[kRunLabel] = spec.runId.empty() ? run::id() : spec.runId;
  nlohmann::json body = {{"type", spec.type}, {"prompt", spec.prompt}, {"labels", labels}, {"behavior", spec.behavior}};
  if (!spec.name.empty()) body["name"] = spec.name;

  HttpRequest request = newRequest("POST", config_.createPath);
  request.body = body.dump();
  request.contentType = "application/json";
  Result<HttpResponse> response = http_->send(request, config_.requestTimeout);
  if (!response) return response.error();
  std::string what = describe("POST", config_.createPath);
  if (!isSuccess(response->status)) return httpError(*response, what);
  Result<nlohmann::json> agent = parseBody(*response, what);
  if (!agent) return agent.error();
  Result<Resource> created = parseAgent(*agent);
  if (!created) return withContext(created.error(), what);
  (void)journal::recordCreated(*this, *created);
  return created;
}

std::map<std::string, std::string> AgentApiBackend::locator() const {
  return {{"url", config_.baseUrl},
          {"listPath", config_.listPath},
          {"agentPath", config_.agentPath},
          {"forceParam", config_.forceParam},
          {"itemsField", config_.itemsField},
          {"idField", config_.idField},
          {"statusField", config_.statusField},
          {"nameField", config_.nameField},
          {"labelsField", config_.labelsField},
          {"createdAtField", config_.createdAtField}};
}

Result<AgentApiConfig> AgentApiConfig::fromLocator(const std::map<std::string, std::string>& locator) {
  auto url = locator.find("url");
  if (url == locator.end()) return Error::permanent("the http backend's journal locator has no \"url\"");
  Result<std::string> checked = env::checkHttpUrl(url->second, "the http backend's journaled url");
  if (!checked) return checked.error();
  AgentApiConfig config;
  config.baseUrl = *checked;
  if (std::optional<std::string> token = env::get(kTokenVariable)) {
    config.authHeader = "Authorization";
    config.authValue = "Bearer " + *token;
  }
  const std::pair<const char*, std::string*> fields[] = {
      {"listPath", &config.listPath},       {"agentPath", &config.agentPath},   {"forceParam", &config.forceParam},
      {"itemsField", &config.itemsField},   {"idField", &config.idField},       {"statusField", &config.statusField},
      {"nameField", &config.nameField},     {"labelsField", &config.labelsField},
      {"createdAtField", &config.createdAtField}};
  for (const auto& [key, target] : fields) {
    if (auto it = locator.find(key); it != locator.end()) *target = it->second;
  }
  return config;
}

std::string AgentApiBackend::agentTarget(const std::string& id) const {
  std::string target = config_.agentPath;
  size_t slot = target.find("{id}");
  if (slot == std::string::npos) return target + "/" + urlEncode(id);
  return target.replace(slot, 4, urlEncode(id));
}

Result<ResourceStatus> AgentApiBackend::fetchStatus(const std::string& id, const std::string& query,
                                                    milliseconds timeout) {
  std::string target = withQuery(agentTarget(id), query);
  Result<HttpResponse> response = send("GET", target, timeout);
  if (!response) return response.error();
  std::string what = describe("GET", target);
  if (response->status == 404 || response->status == 410) return ResourceStatus{ResourceState::Gone, kGoneStatus};
  if (!isSuccess(response->status)) return httpError(*response, what);
  if (!query.empty()) noteLongPollSupport(*response);

  Result<nlohmann::json> agent = parseBody(*response, what);
  if (!agent) return agent.error();
  if (!agent->is_object()) return Error::permanent(what + ": expected an agent object, got " + excerpt(*agent));
  Result<std::string> status = requiredText(*agent, config_.statusField);
  if (!status) return withContext(status.error(), what);
  return ResourceStatus{classify(*status), *status};
}

void AgentApiBackend::noteLongPollSupport(const HttpResponse& response) {
  bool supported = !response.header(kWaitHeader).empty();
  longPoll_.store(supported ? LongPoll::Yes : LongPoll::No);
}

HttpRequest AgentApiBackend::newRequest(const std::string& method, const std::string& target) const {
  HttpRequest request;
  request.method = method;
  request.target = target;
  request.headers.emplace_back("Accept", "application/json");
  if (!config_.authHeader.empty()) request.headers.emplace_back(config_.authHeader, config_.authValue);
  return request;
}

Result<HttpResponse> AgentApiBackend::send(const std::string& method, const std::string& target,
                                           milliseconds timeout) {
  return http_->send(newRequest(method, target), timeout);
}

Result<nlohmann::json> AgentApiBackend::getJson(const std::string& target, milliseconds timeout) {
  Result<HttpResponse> response = send("GET", target, timeout);
  if (!response) return response.error();
  std::string what = describe("GET", target);
  if (!isSuccess(response->status)) return httpError(*response, what);
  return parseBody(*response, what);
}

Result<nlohmann::json> AgentApiBackend::parseBody(const HttpResponse& response, const std::string& what) const {
  nlohmann::json json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_discarded()) {
    return Error::permanent(what + ": answer (HTTP " + std::to_string(response.status) + ") is not JSON: " +
                            excerpt(response.body));
  }
  return json;
}

std::string AgentApiBackend::describe(const std::string& method, const std::string& target) const {
  return method + " " + http_->baseUrl() + target;
}

}  // namespace cleanroom
