// HttpClient over TCP on cpp-httplib, and the mapping from HTTP answers to
// Error kinds. httplib stays in this file: no public header includes it.
#include "cleanroom/http_client.h"

#include "tls_http_client.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cleanroom/env.h"
#include "cleanroom/trace.h"

namespace cleanroom {
namespace {

constexpr size_t kExcerptLength = 200;

std::string lowerCase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Describes a transport failure in words people search for.
std::string transportProblem(httplib::Error error, milliseconds timeout) {
  std::string after = " after " + std::to_string(timeout.count()) + "ms";
  switch (error) {
    case httplib::Error::Connection: return "connection refused or host unreachable";
    case httplib::Error::ConnectionTimeout: return "connect timed out" + after;
    case httplib::Error::Read: return "no answer: connection closed or read timed out" + after;
    case httplib::Error::Write: return "sending the request failed: connection closed or write timed out" + after;
    case httplib::Error::Canceled: return "request canceled";
    default: return "request failed";
  }
}

std::string oneLine(std::string_view text) {
  std::string line;
  bool space = false;
  for (char c : text) {
    bool blank = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (blank && !line.empty()) space = true;
    if (blank) continue;
    if (space) line += ' ';
    space = false;
    line += c;
  }
  return line;
}

std::string truncated(std::string text) {
  if (text.size() <= kExcerptLength) return text;
  return text.substr(0, kExcerptLength) + "...";
}

// Returns the JSON "error"/"message" text of a body, if it has one.
std::optional<std::string> jsonErrorText(const std::string& body) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return std::nullopt;
  for (const char* key : {"message", "error"}) {
    auto field = json.find(key);
    if (field == json.end()) continue;
    if (field->is_string()) return field->get<std::string>();
    if (field->is_object() && field->contains("message") && (*field)["message"].is_string()) {
      return (*field)["message"].get<std::string>();
    }
  }
  return std::nullopt;
}

std::string bodyExcerpt(const std::string& body) {
  std::optional<std::string> text = jsonErrorText(body);
  return truncated(oneLine(text ? *text : body));
}

std::optional<int> monthIndex(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (kMonths[i] == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

std::optional<int> number(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// Parses an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 5.6.7).
std::optional<WallTime> parseHttpDate(std::string_view text) {
  if (text.size() != 29 || text.substr(3, 2) != ", " || text.substr(25) != " GMT") return std::nullopt;
  std::optional<int> day = number(text.substr(5, 2));
  std::optional<int> month = monthIndex(text.substr(8, 3));
  std::optional<int> year = number(text.substr(12, 4));
  std::optional<int> hour = number(text.substr(17, 2));
  std::optional<int> minute = number(text.substr(20, 2));
  std::optional<int> second = number(text.substr(23, 2));
  if (!day || !month || !year || !hour || !minute || !second) return std::nullopt;
  if (text[7] != ' ' || text[11] != ' ' || text[16] != ' ' || text[19] != ':' || text[22] != ':') return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// Parses Retry-After: delta seconds or an HTTP date (past dates give 0).
std::optional<milliseconds> parseRetryAfter(const std::string& value) {
  if (value.empty()) return std::nullopt;
  if (std::optional<int> seconds = number(value)) return milliseconds(int64_t{*seconds} * 1000);
  std::optional<WallTime> date = parseHttpDate(value);
  if (!date) return std::nullopt;
  auto delay = std::chrono::duration_cast<milliseconds>(*date - std::chrono::system_clock::now());
  return std::max(delay, milliseconds(0));
}

struct HttpOrigin {
  bool tls = false;
  std::string host;
  int port = 80;
  std::string prefix;  // "" or "/prefix"
};

// Splits a URL that env::checkHttpUrl accepted (scheme in lower case).
HttpOrigin splitCheckedUrl(const std::string& url) {
  HttpOrigin origin;
  origin.tls = url.rfind("https://", 0) == 0;
  origin.port = origin.tls ? 443 : 80;
  std::string rest = url.substr(url.find("://") + 3);
  size_t slash = rest.find('/');
  if (slash != std::string::npos) origin.prefix = rest.substr(slash);
  std::string authority = rest.substr(0, slash);
  size_t colon = authority.rfind(':');
  bool hasPort = colon != std::string::npos && authority.find(']', colon) == std::string::npos;
  origin.host = hasPort ? authority.substr(0, colon) : authority;
  if (hasPort) origin.port = std::stoi(authority.substr(colon + 1));
  if (origin.host.size() > 2 && origin.host.front() == '[') origin.host = origin.host.substr(1, origin.host.size() - 2);
  return origin;
}

class TcpHttpClient : public HttpClient {
 public:
  TcpHttpClient(std::string baseUrl, HttpOrigin origin) : baseUrl_(std::move(baseUrl)), origin_(std::move(origin)) {}

  Result<HttpResponse> send(const HttpRequest& request, milliseconds timeout) override {
    httplib::Client client(origin_.host, origin_.port);
    client.set_connection_timeout(timeout);
    client.set_read_timeout(timeout);
    client.set_write_timeout(timeout);
    client.set_url_encode(false);  // targets come percent-encoded already
    client.set_keep_alive(false);

    std::string path = origin_.prefix + request.target;
    auto started = std::chrono::steady_clock::now();
    httplib::Result result = client.send(toHttplib(request, path));
    auto ms = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started).count();
    if (!result) return transportError(request.method, path, result.error(), timeout, ms);

    logger().debug("step=http method={} target={} status={} ms={}", request.method, path, result->status, ms);
    return fromHttplib(*result);
  }

  std::string baseUrl() const override { return baseUrl_; }

 private:
  static httplib::Request toHttplib(const HttpRequest& request, const std::string& path) {
    httplib::Request out;
    out.method = request.method;
    out.path = path;
    out.body = request.body;
    for (const auto& [name, value] : request.headers) out.headers.emplace(name, value);
    if (!request.contentType.empty()) out.headers.emplace("Content-Type", request.contentType);
    return out;
  }

  static HttpResponse fromHttplib(const httplib::Response& response) {
    HttpResponse out;
    out.status = response.status;
    out.body = response.body;
    for (const auto& [name, value] : response.headers) {
      std::string& slot = out.headers[lowerCase(name)];
      slot = slot.empty() ? value : slot + ", " + value;
    }
    return out;
  }

  Error transportError(const std::string& method, const std::string& path, httplib::Error error,
                       milliseconds timeout, int64_t ms) const {
    std::string problem = transportProblem(error, timeout);
    logger().debug("step=http method={} target={} result=error error=\"{}\" ms={}", method, path, problem, ms);
    return Error::retryable(method + " " + originUrl() + path + " failed: " + problem + " (httplib: " +
                            httplib::to_string(error) + ")");
  }

  std::string originUrl() const { return baseUrl_.substr(0, baseUrl_.size() - origin_.prefix.size()); }

  std::string baseUrl_;
  HttpOrigin origin_;
};

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  auto found = headers.find(lowerCase(name));
  return found == headers.end() ? "" : found->second;
}

Result<std::unique_ptr<HttpClient>> makeHttpClient(const std::string& baseUrl, const std::string& what) {
  Result<std::string> checked = env::checkHttpUrl(baseUrl, what);
  if (!checked) return checked.error();
  HttpOrigin origin = splitCheckedUrl(*checked);
  if (origin.tls) return makeTlsHttpClient(*checked, origin.host, origin.port, origin.prefix);
  std::unique_ptr<HttpClient> client = std::make_unique<TcpHttpClient>(*checked, std::move(origin));
  return client;
}

Error httpError(const HttpResponse& response, const std::string& what) {
  int status = response.status;
  std::string message = "HTTP " + std::to_string(status) + " from " + what;
  std::string excerpt = bodyExcerpt(response.body);
  if (!excerpt.empty()) message += ": " + excerpt;

  Error error;
  error.httpStatus = status;
  if (status == 404 || status == 410) {
    error.kind = ErrorKind::Gone;
  } else if (status == 408 || status == 429 || (status >= 500 && status <= 599)) {
    error.kind = ErrorKind::Retryable;
    error.retryAfter = parseRetryAfter(response.header("Retry-After"));
    if (error.retryAfter) message += " (Retry-After " + std::to_string(error.retryAfter->count()) + "ms)";
  } else {
    error.kind = ErrorKind::Permanent;
  }
  error.message = std::move(message);
  return error;
}

std::string urlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
      continue;
    }
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

}  // namespace cleanroom
