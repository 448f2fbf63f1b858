// Environment variables and http:// or https:// URLs, checked with errors
// that name the variable and show a valid value.
#include "cleanroom/env.h"

#include <cstdlib>
#include <string_view>

namespace cleanroom::env {
namespace {

constexpr std::string_view kHttp = "http://";
constexpr std::string_view kHttps = "https://";
constexpr const char* kExample = "http://127.0.0.1:8080";

bool isHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

bool isIpv6Char(char c) {
  return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' || c == '.';
}

bool allOf(std::string_view text, bool (*predicate)(char)) {
  for (char c : text) {
    if (!predicate(c)) return false;
  }
  return true;
}

bool startsWithCaseless(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// Returns an empty string when `host` ("name", "1.2.3.4" or "[::1]") is valid,
// else what is wrong with it.
std::string hostProblem(std::string_view host) {
  if (host.empty()) return "has no host";
  if (host.front() == '[') {
    bool bracketed = host.size() > 2 && host.back() == ']' && allOf(host.substr(1, host.size() - 2), isIpv6Char);
    return bracketed ? "" : "has a malformed IPv6 host";
  }
  return allOf(host, isHostChar) ? "" : "has a malformed host \"" + std::string(host) + "\"";
}

std::string portProblem(std::string_view port) {
  if (port.empty() || port.size() > 5 || !allOf(port, [](char c) { return c >= '0' && c <= '9'; })) {
    return "has a malformed port \"" + std::string(port) + "\"";
  }
  int value = std::stoi(std::string(port));
  return value >= 1 && value <= 65535 ? "" : "has port " + std::string(port) + " outside 1-65535";
}

// Returns an empty string when the authority ("host[:port]") is valid.
std::string authorityProblem(std::string_view authority) {
  if (authority.find('@') != std::string_view::npos) return "contains user info (user@host), which is not supported";
  size_t hostEnd = authority.front() == '[' ? authority.find(']') + 1 : authority.find(':');
  if (authority.front() == '[' && hostEnd == 0) return "has a malformed IPv6 host";
  if (hostEnd == std::string_view::npos || hostEnd >= authority.size()) return hostProblem(authority);
  if (authority[hostEnd] != ':') return "has a malformed host \"" + std::string(authority) + "\"";
  std::string problem = hostProblem(authority.substr(0, hostEnd));
  return problem.empty() ? portProblem(authority.substr(hostEnd + 1)) : problem;
}

std::string pathProblem(std::string_view path) {
  for (char c : path) {
    if (c == '?' || c == '#') return "has a query or fragment; only a path prefix is allowed";
    if (static_cast<unsigned char>(c) <= ' ') return "contains a space or control character";
  }
  return "";
}

Error badUrl(const std::string& url, const std::string& what, const std::string& why) {
  return Error::permanent(what + " \"" + url + "\" " + why + "; expected http[s]://host[:port][/prefix], e.g. " + kExample);
}

}  // namespace

std::optional<std::string> get(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

Result<std::string> checkHttpUrl(const std::string& url, const std::string& what) {
  if (url.empty()) return badUrl(url, what, "is empty");
  const bool tls = startsWithCaseless(url, kHttps);
  if (!tls && !startsWithCaseless(url, kHttp)) return badUrl(url, what, "does not start with http:// or https://");
  std::string_view rest = std::string_view(url).substr(tls ? kHttps.size() : kHttp.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.empty()) return badUrl(url, what, "has no host");
  std::string problem = authorityProblem(authority);
  if (problem.empty()) problem = pathProblem(path);
  if (!problem.empty()) return badUrl(url, what, problem);

  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return std::string(tls ? kHttps : kHttp) + std::string(authority) + std::string(path);
}

std::optional<Result<std::string>> httpUrl(const char* name) {
  std::optional<std::string> value = get(name);
  if (!value) return std::nullopt;
  Result<std::string> checked = checkHttpUrl(*value, name);
  if (checked.ok()) return checked;
  Error error = checked.error();
  error.message += " (set " + std::string(name) + "=" + kExample + " or unset it)";
  return Result<std::string>(std::move(error));
}

}  // namespace cleanroom::env
