// DOCKER_HOST and DOCKER_API_VERSION as Docker defines them, with errors that
// name the variable and show the accepted forms.
#include <algorithm>
#include <string_view>

#include "cleanroom/backends/docker_backend.h"
#include "cleanroom/env.h"

namespace cleanroom {
namespace {

constexpr const char* kHostVariable = "DOCKER_HOST";
constexpr const char* kVersionVariable = "DOCKER_API_VERSION";
constexpr std::string_view kUnixScheme = "unix://";
constexpr std::string_view kTcpScheme = "tcp://";

bool startsWith(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

Error badHost(const std::string& value, const std::string& why) {
  return Error::permanent(std::string(kHostVariable) + "=\"" + value + "\" " + why +
                          "; use unix:///ABSOLUTE/PATH (e.g. unix:///var/run/docker.sock, the default when " +
                          kHostVariable + " is unset) or tcp://HOST:PORT (plain HTTP, e.g. tcp://127.0.0.1:2375)");
}

bool isHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

bool isIpv6Char(char c) {
  return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' || c == '.';
}

std::optional<int> portNumber(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  int port = std::stoi(std::string(text));
  if (port < 1 || port > 65535) return std::nullopt;
  return port;
}

Result<DockerHost> parseUnix(const std::string& value) {
  DockerHost host;
  host.transport = DockerHost::Transport::Unix;
  host.socketPath = value.substr(kUnixScheme.size());
  if (host.socketPath.empty()) host.socketPath = std::string(kDefaultDockerHost).substr(kUnixScheme.size());
  if (host.socketPath.front() != '/') {
    return badHost(value, "names a relative socket path (unix:// takes an absolute path, so three slashes)");
  }
  return host;
}

Result<DockerHost> parseTcp(const std::string& value) {
  std::string authority = value.substr(kTcpScheme.size());
  if (!authority.empty() && authority.back() == '/') authority.pop_back();
  if (authority.find('/') != std::string::npos) return badHost(value, "has a path, which is not supported");
  if (authority.find('@') != std::string::npos) return badHost(value, "has user info (user@host), not supported");

  DockerHost host;
  host.transport = DockerHost::Transport::Tcp;
  size_t colon = authority.rfind(':');
  bool bracketed = !authority.empty() && authority.front() == '[';
  size_t closing = authority.find(']');
  if (bracketed && (closing == std::string::npos || colon < closing)) colon = std::string::npos;
  if (colon == std::string::npos) return badHost(value, "has no port (tcp:// needs HOST:PORT)");
  host.host = authority.substr(0, colon);
  std::optional<int> port = portNumber(std::string_view(authority).substr(colon + 1));
  if (!port) return badHost(value, "has a malformed port \"" + authority.substr(colon + 1) + "\" (1-65535)");
  host.port = *port;

  std::string_view name = host.host;
  bool valid = bracketed ? name.size() > 2 && name.back() == ']' &&
                               std::all_of(name.begin() + 1, name.end() - 1, isIpv6Char)
                         : !name.empty() && std::all_of(name.begin(), name.end(), isHostChar);
  if (!valid) return badHost(value, "has a malformed host \"" + host.host + "\"");
  return host;
}

}  // namespace

std::string DockerHost::text() const {
  if (transport == Transport::Unix) return std::string(kUnixScheme) + socketPath;
  return std::string(kTcpScheme) + host + ":" + std::to_string(port);
}

Result<DockerHost> DockerHost::parse(const std::string& value) {
  if (startsWith(value, kUnixScheme)) return parseUnix(value);
  if (startsWith(value, kTcpScheme)) return parseTcp(value);
  if (startsWith(value, "ssh://")) {
    return badHost(value, "uses ssh://, which cleanroom does not speak (forward the socket instead: "
                          "ssh -NL /tmp/docker.sock:/var/run/docker.sock HOST, then DOCKER_HOST=unix:///tmp/docker.sock)");
  }
  if (startsWith(value, "npipe://")) return badHost(value, "uses npipe:// (Windows named pipes), not available here");
  if (startsWith(value, "fd://")) return badHost(value, "uses fd:// (a daemon-side systemd socket), not a client address");
  if (value.find("://") == std::string::npos) return badHost(value, "has no scheme");
  return badHost(value, "has an unsupported scheme");
}

Result<DockerHost> DockerHost::fromEnvironment() {
  std::optional<std::string> value = env::get(kHostVariable);
  return parse(value ? *value : std::string(kDefaultDockerHost));
}

Result<std::unique_ptr<HttpClient>> makeDockerHttpClient(const DockerHost& host) {
  if (host.transport == DockerHost::Transport::Unix) {
    return makeUnixHttpClient(host.socketPath, std::string(kHostVariable) + "'s socket path");
  }
  return makeHttpClient("http://" + host.host + ":" + std::to_string(host.port), kHostVariable);
}

std::string DockerApiVersion::text() const { return std::to_string(major) + "." + std::to_string(minor); }

std::optional<DockerApiVersion> DockerApiVersion::parse(const std::string& text) {
  std::string_view rest = text;
  if (!rest.empty() && (rest.front() == 'v' || rest.front() == 'V')) rest.remove_prefix(1);
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view major = rest.substr(0, dot), minor = rest.substr(dot + 1);
  auto numeric = [](std::string_view part) {
    return !part.empty() && part.size() <= 4 &&
           std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!numeric(major) || !numeric(minor)) return std::nullopt;
  return DockerApiVersion{std::stoi(std::string(major)), std::stoi(std::string(minor))};
}

Result<DockerBackendOptions> DockerBackendOptions::fromEnvironment() {
  Result<DockerHost> host = DockerHost::fromEnvironment();
  if (!host) return host.error();
  DockerBackendOptions options;
  options.dockerHost = host->text();
  if (std::optional<std::string> version = env::get(kVersionVariable)) {
    if (!DockerApiVersion::parse(*version)) {
      return Error::permanent(std::string(kVersionVariable) + "=\"" + *version +
                              "\" is not an API version; use MAJOR.MINOR, e.g. 1.41 (or unset it to negotiate)");
    }
    options.apiVersion = *version;
  }
  return options;
}

Result<DockerBackendOptions> DockerBackendOptions::fromLocator(const std::map<std::string, std::string>& locator) {
  auto host = locator.find("dockerHost");
  if (host == locator.end()) return Error::permanent("the docker backend's journal locator has no \"dockerHost\"");
  Result<DockerHost> parsed = DockerHost::parse(host->second);
  if (!parsed) return Error::permanent("the docker backend's journaled dockerHost: " + parsed.error().message);
  DockerBackendOptions options;
  options.dockerHost = parsed->text();
  if (auto version = locator.find("apiVersion"); version != locator.end() && !version->second.empty()) {
    if (!DockerApiVersion::parse(version->second)) {
      return Error::permanent("the docker backend's journaled apiVersion \"" + version->second +
                              "\" is not MAJOR.MINOR");
    }
    options.apiVersion = version->second;
  }
  if (auto stop = locator.find("stopTimeoutSeconds"); stop != locator.end()) {
    const std::string& text = stop->second;
    bool numeric = !text.empty() && text.size() <= 6 &&
                   std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!numeric) {
      return Error::permanent("the docker backend's journaled stopTimeoutSeconds \"" + text +
                              "\" is not a number of seconds");
    }
    options.stopTimeout = std::chrono::seconds(std::stoi(text));
  }
  return options;
}

}  // namespace cleanroom
