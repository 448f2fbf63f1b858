#include "cleanroom/mocks/docker/docker_json.h"

#include <sys/utsname.h>
#include <time.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <functional>

#include "cleanroom/mocks/docker/container_store.h"

namespace cleanroom::mocks::docker {
namespace {

using nlohmann::json;

template <class T>
ParseResult<T> fieldError(const std::string& field, const std::string& expected, const json& got) {
  return ParseResult<T>::error(field, field + " must be " + expected + "; got " + got.dump());
}

// Reads a string list that docker also accepts as one string (Cmd, Entrypoint).
ParseResult<std::vector<std::string>> stringList(const json& body, const std::string& field, bool stringAllowed) {
  using Result = ParseResult<std::vector<std::string>>;
  const auto node = body.find(field);
  if (node == body.end() || node->is_null()) return Result::ok({});
  if (stringAllowed && node->is_string()) return Result::ok({node->get<std::string>()});
  if (!node->is_array()) return fieldError<std::vector<std::string>>(field, "an array of strings", *node);
  std::vector<std::string> values;
  for (const auto& value : *node) {
    if (!value.is_string()) return fieldError<std::vector<std::string>>(field, "an array of strings", *node);
    values.push_back(value.get<std::string>());
  }
  return Result::ok(std::move(values));
}

ParseResult<std::map<std::string, std::string>> labelsOf(const json& body) {
  using Result = ParseResult<std::map<std::string, std::string>>;
  const auto node = body.find("Labels");
  if (node == body.end() || node->is_null()) return Result::ok({});
  if (!node->is_object()) return fieldError<std::map<std::string, std::string>>("Labels", "an object of strings", *node);
  std::map<std::string, std::string> labels;
  for (const auto& [key, value] : node->items()) {
    if (!value.is_string()) return fieldError<std::map<std::string, std::string>>("Labels", "an object of strings", *node);
    labels[key] = value.get<std::string>();
  }
  return Result::ok(std::move(labels));
}

// Applies StopSignal and StopTimeout; returns "" or the error.
std::string applyStopSettings(const json& body, ContainerSpec& spec) {
  if (const auto node = body.find("StopSignal"); node != body.end() && !node->is_null()) {
    const auto signal = node->is_string() ? parseSignal(node->get<std::string>()) : std::nullopt;
    if (!signal) return "StopSignal must be a signal name such as \"SIGTERM\"; got " + node->dump();
    spec.stopSignal = signal;
  }
  if (const auto node = body.find("StopTimeout"); node != body.end() && !node->is_null()) {
    if (!node->is_number_integer()) return "StopTimeout must be an integer (seconds); got " + node->dump();
    spec.stopTimeoutSeconds = node->get<int>();
  }
  return {};
}

std::string hexOfHash(const std::string& text) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016zx", std::hash<std::string>{}(text));
  return buffer;
}

std::string imageId(const std::string& image) {
  const std::string part = hexOfHash(image);
  return "sha256:" + part + part + part + part;
}

std::string commandOf(const Container& container) {
  std::string command = container.path();
  for (const auto& arg : container.args()) command += " " + arg;
  return command;
}

std::string statusText(const Container& container, WallClock::time_point now) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  switch (container.status) {
    case ContainerStatus::created: return "Created";
    case ContainerStatus::running: return "Up " + humanDuration(duration_cast<seconds>(now - container.startedAt));
    case ContainerStatus::exited:
      return "Exited (" + std::to_string(container.exitCode) + ") " +
             humanDuration(duration_cast<seconds>(now - container.finishedAt)) + " ago";
  }
  return "Unknown";
}

json configJson(const Container& container) {
  const ContainerSpec& spec = container.spec;
  json config = spec.config;
  config["Hostname"] = container.id.substr(0, 12);
  config["Image"] = spec.image;
  config["Labels"] = spec.labels;
  config["Cmd"] = spec.cmd.empty() ? json(nullptr) : json(spec.cmd);
  config["Entrypoint"] = spec.entrypoint.empty() ? json(nullptr) : json(spec.entrypoint);
  config["Env"] = spec.env;
  config["Tty"] = spec.tty;
  for (const char* flag : {"AttachStdin", "AttachStdout", "AttachStderr", "OpenStdin", "StdinOnce"}) {
    if (!config.contains(flag)) config[flag] = false;
  }
  return config;
}

std::string kernelVersion() {
  utsname name{};
  if (::uname(&name) != 0) return "unknown";
  return name.release;
}

std::optional<std::size_t> parseTail(const std::string& value) {
  if (value == "all" || value.empty()) return std::nullopt;
  std::size_t tail = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), tail);
  if (error != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return tail;
}

void appendFrame(std::string& out, int stream, const std::string& payload) {
  const auto size = static_cast<std::uint32_t>(payload.size());
  out.push_back(static_cast<char>(stream));
  out.append(3, '\0');
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((size >> shift) & 0xff));
  out += payload;
}

}  // namespace

ParseResult<ContainerSpec> parseCreateRequest(std::string_view body, const std::string& name) {
  using Result = ParseResult<ContainerSpec>;
  const json document = json::parse(body, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    return Result::error("body", "the create request body must be a JSON object (Image, Cmd, Labels, ...)");
  }
  ContainerSpec spec;
  spec.name = name.size() > 1 && name.front() == '/' ? name.substr(1) : name;
  const auto image = document.find("Image");
  if (image == document.end() || !image->is_string() || image->get<std::string>().empty()) {
    return Result::error("Image", "Image must be a non-empty image name such as \"alpine:3\"");
  }
  spec.image = image->get<std::string>();
  auto cmd = stringList(document, "Cmd", true);
  if (!cmd) return Result::from(cmd);
  auto entrypoint = stringList(document, "Entrypoint", true);
  if (!entrypoint) return Result::from(entrypoint);
  auto env = stringList(document, "Env", false);
  if (!env) return Result::from(env);
  auto labels = labelsOf(document);
  if (!labels) return Result::from(labels);
  spec.cmd = std::move(cmd).value();
  spec.entrypoint = std::move(entrypoint).value();
  spec.env = std::move(env).value();
  spec.labels = std::move(labels).value();
  if (const auto tty = document.find("Tty"); tty != document.end() && tty->is_boolean()) spec.tty = tty->get<bool>();
  if (const auto error = applyStopSettings(document, spec); !error.empty()) {
    return Result::error(error.substr(0, error.find(' ')), error);
  }
  if (const auto host = document.find("HostConfig"); host != document.end() && !host->is_null()) {
    if (!host->is_object()) return fieldError<ContainerSpec>("HostConfig", "an object", *host);
    spec.hostConfig = *host;
    if (const auto autoRemove = host->find("AutoRemove"); autoRemove != host->end() && autoRemove->is_boolean()) {
      spec.autoRemove = autoRemove->get<bool>();
    }
  }
  spec.config = document;
  spec.config.erase("HostConfig");
  spec.config.erase("NetworkingConfig");
  auto behavior = ContainerBehavior::fromEnv(spec.env);
  if (!behavior) return Result::from(behavior);
  spec.behavior = std::move(behavior).value();
  return Result::ok(std::move(spec));
}

std::optional<bool> parseQueryBool(std::string_view value) {
  if (value == "1" || value == "true" || value == "True" || value == "TRUE") return true;
  if (value.empty() || value == "0" || value == "false" || value == "False" || value == "FALSE") return false;
  return std::nullopt;
}

std::string formatTime(WallClock::time_point time) {
  if (time == WallClock::time_point{}) return "0001-01-01T00:00:00Z";
  const auto since = time.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since);
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since - seconds).count();
  const time_t whole = static_cast<time_t>(seconds.count());
  tm utc{};
  ::gmtime_r(&whole, &utc);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string text = date;
  if (nanos > 0) {
    char fraction[32];
    std::snprintf(fraction, sizeof fraction, ".%09lld", static_cast<long long>(nanos));
    std::string digits = fraction;
    while (digits.back() == '0') digits.pop_back();
    text += digits;
  }
  return text + "Z";
}

std::string humanDuration(std::chrono::seconds duration) {
  const long long seconds = duration.count();
  const long long minutes = seconds / 60;
  const long long hours = minutes / 60;
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return std::to_string(seconds) + " seconds";
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return std::to_string(minutes) + " minutes";
  if (hours == 1) return "About an hour";
  if (hours < 48) return std::to_string(hours) + " hours";
  if (hours < 24 * 7 * 2) return std::to_string(hours / 24) + " days";
  if (hours < 24 * 30 * 2) return std::to_string(hours / 24 / 7) + " weeks";
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24 / 30) + " months";
  return std::to_string(hours / 24 / 365) + " years";
}

json containerSummaryJson(const Container& container, WallClock::time_point now) {
  return json{{"Id", container.id},
              {"Names", json::array({container.slashName()})},
              {"Image", container.spec.image},
              {"ImageID", imageId(container.spec.image)},
              {"Command", commandOf(container)},
              {"Created", std::chrono::duration_cast<std::chrono::seconds>(container.created.time_since_epoch()).count()},
              {"Ports", json::array()},
              {"Labels", container.spec.labels},
              {"State", statusName(container.status)},
              {"Status", statusText(container, now)},
              {"HostConfig", {{"NetworkMode", "default"}}},
              {"NetworkSettings", {{"Networks", json::object()}}},
              {"Mounts", json::array()}};
}

json containerInspectJson(const Container& container) {
  const bool running = container.status == ContainerStatus::running;
  json state{{"Status", statusName(container.status)},
             {"Running", running},
             {"Paused", false},
             {"Restarting", false},
             {"OOMKilled", false},
             {"Dead", false},
             {"Pid", container.pid},
             {"ExitCode", container.exitCode},
             {"Error", ""},
             {"StartedAt", formatTime(container.startedAt)},
             {"FinishedAt", formatTime(container.finishedAt)}};
  return json{{"Id", container.id},
              {"Created", formatTime(container.created)},
              {"Path", container.path()},
              {"Args", container.args()},
              {"State", std::move(state)},
              {"Image", imageId(container.spec.image)},
              {"Name", container.slashName()},
              {"RestartCount", container.restartCount},
              {"Driver", "overlay2"},
              {"Platform", "linux"},
              {"HostConfig", container.spec.hostConfig},
              {"Mounts", json::array()},
              {"Config", configJson(container)},
              {"NetworkSettings", {{"Networks", json::object()}, {"Ports", json::object()}}}};
}

json imageInspectJson(const std::string& name) {
  return json{{"Id", imageId(name)},
              {"RepoTags", json::array({name})},
              {"RepoDigests", json::array()},
              {"Created", "1970-01-01T00:00:00Z"},
              {"Size", 0},
              {"Os", "linux"},
              {"Architecture", "amd64"},
              {"Config", {{"Cmd", nullptr}, {"Env", json::array()}, {"Labels", nullptr}}},
              {"RootFS", {{"Type", "layers"}, {"Layers", json::array()}}}};
}

json versionJson() {
  const json details{{"ApiVersion", kApiVersion},     {"MinAPIVersion", kMinApiVersion},
                     {"Os", "linux"},                 {"Arch", "amd64"},
                     {"KernelVersion", kernelVersion()}, {"GitCommit", "cleanroom"},
                     {"GoVersion", "go1.22"},         {"BuildTime", "1970-01-01T00:00:00.000000000+00:00"},
                     {"Experimental", "false"}};
  return json{{"Platform", {{"Name", "cleanroom-mock-docker"}}},
              {"Components", json::array({{{"Name", "Engine"}, {"Version", kEngineVersion}, {"Details", details}}})},
              {"Version", kEngineVersion},
              {"ApiVersion", kApiVersion},
              {"MinAPIVersion", kMinApiVersion},
              {"GitCommit", "cleanroom"},
              {"GoVersion", "go1.22"},
              {"Os", "linux"},
              {"Arch", "amd64"},
              {"KernelVersion", kernelVersion()},
              {"BuildTime", "1970-01-01T00:00:00.000000000+00:00"}};
}

json infoJson(const std::vector<Container>& containers, std::size_t imageCount) {
  const auto running = std::count_if(containers.begin(), containers.end(),
                                     [](const Container& c) { return c.status == ContainerStatus::running; });
  return json{{"ID", "cleanroom-mock-docker"},
              {"Containers", containers.size()},
              {"ContainersRunning", running},
              {"ContainersPaused", 0},
              {"ContainersStopped", static_cast<long>(containers.size()) - running},
              {"Images", imageCount},
              {"Driver", "overlay2"},
              {"Name", "cleanroom-mock"},
              {"ServerVersion", kEngineVersion},
              {"OperatingSystem", "cleanroom-mock-docker"},
              {"OSType", "linux"},
              {"Architecture", "x86_64"},
              {"KernelVersion", kernelVersion()},
              {"NCPU", 1},
              {"MemTotal", 0},
              {"Swarm", {{"LocalNodeState", "inactive"}, {"NodeID", ""}, {"ControlAvailable", false}}}};
}

ParseResult<LogsQuery> parseLogsQuery(const std::multimap<std::string, std::string>& query) {
  using Result = ParseResult<LogsQuery>;
  LogsQuery logs;
  const std::pair<const char*, bool*> flags[] = {{"stdout", &logs.stdoutStream},
                                                 {"stderr", &logs.stderrStream},
                                                 {"follow", &logs.follow},
                                                 {"timestamps", &logs.timestamps}};
  for (const auto& [name, target] : flags) {
    const auto found = query.find(name);
    if (found == query.end()) continue;
    const auto value = parseQueryBool(found->second);
    if (!value) return Result::error(name, std::string(name) + " must be 1/true or 0/false; got " + found->second);
    *target = *value;
  }
  if (const auto tail = query.find("tail"); tail != query.end()) {
    logs.tail = parseTail(tail->second);
    if (!logs.tail && tail->second != "all" && !tail->second.empty()) {
      return Result::error("tail", "tail must be \"all\" or a number of lines; got " + tail->second);
    }
  }
  if (!logs.stdoutStream && !logs.stderrStream) {
    return Result::error("stdout", "Bad parameters: you must choose at least one stream");
  }
  return Result::ok(logs);
}

std::string renderLogs(const Container& container, const LogsQuery& query) {
  std::vector<const LogLine*> lines;
  for (const auto& line : container.logs) {
    if ((line.stream == 1 && query.stdoutStream) || (line.stream == 2 && query.stderrStream)) lines.push_back(&line);
  }
  if (query.tail && lines.size() > *query.tail) lines.erase(lines.begin(), lines.end() - static_cast<long>(*query.tail));
  std::string out;
  for (const LogLine* line : lines) {
    const std::string payload = query.timestamps ? formatTime(line->time) + " " + line->text : line->text;
    if (container.spec.tty) {
      out += payload;
    } else {
      appendFrame(out, line->stream, payload);
    }
  }
  return out;
}

}  // namespace cleanroom::mocks::docker
