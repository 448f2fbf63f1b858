#include "cleanroom/mocks/aws/aws_wire.h"

#include <arpa/inet.h>

#include <cstdint>
#include <mutex>
#include <random>

#include "s3_xml.h"

namespace cleanroom::mocks::aws {
namespace {

bool startsWith(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::string formValue(const std::multimap<std::string, std::string>& form, const std::string& name) {
  auto it = form.find(name);
  return it == form.end() ? std::string() : it->second;
}

// Returns the service of the Authorization credential scope, or "".
std::string scopeService(const HttpRequest& request) {
  const std::string header = request.headers.value("Authorization");
  const auto credential = header.find("Credential=");
  if (credential == std::string::npos) return {};
  const auto end = header.find_first_of(", ", credential);
  const std::string scope = header.substr(credential, end == std::string::npos ? std::string::npos : end - credential);
  // Credential=AKID/date/region/service/aws4_request
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto slash = scope.find('/', start);
    parts.push_back(scope.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts.size() == 5 ? parts[3] : std::string();
}

bool isFormRequest(const HttpRequest& request) {
  return request.headers.value("Content-Type").find("application/x-www-form-urlencoded") != std::string::npos;
}

RequestKind queryKind(const std::multimap<std::string, std::string>& form, const HttpRequest& request) {
  RequestKind kind{Protocol::query, {}, formValue(form, "Action")};
  const std::string version = formValue(form, "Version");
  if (version == "2015-12-01") {
    kind.service = "elasticloadbalancing";
  } else if (version == "2011-06-15") {
    kind.service = "sts";
  } else {
    kind.service = scopeService(request);
  }
  return kind;
}

bool hasQueryKey(const HttpRequest& request, const std::string& key) { return request.query.count(key) > 0; }

std::string s3BucketOperation(const HttpRequest& request) {
  const std::string& method = request.method;
  if (method == "PUT") return "CreateBucket";
  if (method == "DELETE") return "DeleteBucket";
  if (method == "HEAD") return "HeadBucket";
  if (method == "POST" && hasQueryKey(request, "delete")) return "DeleteObjects";
  if (method != "GET") return {};
  if (hasQueryKey(request, "uploads")) return "ListMultipartUploads";
  if (hasQueryKey(request, "location")) return "GetBucketLocation";
  if (request.queryValue("list-type") == "2") return "ListObjectsV2";
  return "ListObjects";
}

std::string s3ObjectOperation(const HttpRequest& request) {
  const std::string& method = request.method;
  const bool upload = hasQueryKey(request, "uploadId");
  const bool copy = request.headers.has("x-amz-copy-source");
  if (method == "PUT" && upload) return copy ? "UploadPartCopy" : "UploadPart";
  if (method == "PUT") return copy ? "CopyObject" : "PutObject";
  if (method == "GET") return upload ? "ListParts" : "GetObject";
  if (method == "HEAD") return "HeadObject";
  if (method == "DELETE") return upload ? "AbortMultipartUpload" : "DeleteObject";
  if (method == "POST" && hasQueryKey(request, "uploads")) return "CreateMultipartUpload";
  if (method == "POST" && upload) return "CompleteMultipartUpload";
  return {};
}

std::string s3Operation(const HttpRequest& request, std::string_view hostBucket) {
  std::string_view path = request.path;
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::string_view key = path;
  if (hostBucket.empty()) {
    if (path.empty()) return request.method == "GET" || request.method == "HEAD" ? "ListBuckets" : "";
    const auto slash = path.find('/');
    key = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return key.empty() ? s3BucketOperation(request) : s3ObjectOperation(request);
}

bool isIpAddress(const std::string& host) {
  unsigned char buffer[16];
  return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

std::string xmlDocument(std::string_view root, std::string_view xmlNamespace, const std::string& inner) {
  return "<" + std::string(root) + " xmlns=\"" + std::string(xmlNamespace) + "\">" + inner + "</" +
         std::string(root) + ">";
}

}  // namespace

std::string RequestKind::qualifiedName() const {
  if (service.empty()) return {};
  return service + ":" + (operation.empty() ? "Unknown" : operation);
}

RequestKind classifyRequest(const HttpRequest& request, std::string_view hostBucket) {
  if (const auto target = request.headers.get("X-Amz-Target")) {
    if (startsWith(*target, kEcsTargetPrefix)) {
      return {Protocol::ecsJson, "ecs", target->substr(kEcsTargetPrefix.size())};
    }
    return {Protocol::ecsJson, scopeService(request), *target};
  }
  if (request.method == "POST" && isFormRequest(request)) {
    const auto form = parseForm(request.body);
    if (form.count("Action") > 0) return queryKind(form, request);
  }
  if (request.query.count("Action") > 0 && request.query.count("Version") > 0) {
    return queryKind(request.query, request);
  }
  return {Protocol::s3, "s3", s3Operation(request, hostBucket)};
}

std::string bucketFromHost(std::string_view host) {
  std::string name(host);
  if (!name.empty() && name.front() == '[') return {};  // IPv6 literal
  const auto colon = name.rfind(':');
  if (colon != std::string::npos) name.resize(colon);
  if (name.find('.') == std::string::npos || isIpAddress(name)) return {};
  const std::string first = name.substr(0, name.find('.'));
  if (first == "s3" || startsWith(first, "s3-")) return {};
  return first;
}

std::string rawPath(std::string_view target) {
  const auto question = target.find('?');
  std::string path(target.substr(0, question));
  return path.empty() ? "/" : path;
}

std::string newRequestId() {
  static std::mutex mutex;
  static std::mt19937_64 random{std::random_device{}()};
  std::uint64_t high = 0, low = 0;
  {
    std::lock_guard lock(mutex);
    high = random();
    low = random();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    const std::uint64_t word = i < 16 ? high : low;
    out += kHex[(word >> ((i % 16) * 4)) & 0xF];
    if (i == 7 || i == 11 || i == 15 || i == 19) out += '-';
  }
  return out;
}

std::multimap<std::string, std::string> parseForm(std::string_view body) { return parseQuery(body); }

std::vector<std::string> listMembers(const std::multimap<std::string, std::string>& form, const std::string& prefix) {
  std::vector<std::string> values;
  for (int n = 1;; ++n) {
    auto it = form.find(prefix + ".member." + std::to_string(n));
    if (it == form.end()) return values;
    values.push_back(it->second);
  }
}

std::vector<std::map<std::string, std::string>> structMembers(const std::multimap<std::string, std::string>& form,
                                                              const std::string& prefix) {
  std::vector<std::map<std::string, std::string>> members;
  for (int n = 1;; ++n) {
    const std::string memberPrefix = prefix + ".member." + std::to_string(n) + ".";
    std::map<std::string, std::string> fields;
    for (auto it = form.lower_bound(memberPrefix); it != form.end() && startsWith(it->first, memberPrefix); ++it) {
      fields[it->first.substr(memberPrefix.size())] = it->second;
    }
    if (fields.empty()) return members;
    members.push_back(std::move(fields));
  }
}

std::string xmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

HttpResponse ecsErrorResponse(const AwsError& error) {
  const nlohmann::json body = {{"__type", error.code}, {"message", error.message}};
  auto response = HttpResponse::text(error.status, body.dump(), "application/x-amz-json-1.1");
  response.headers.set("x-amzn-ErrorType", error.code);
  response.headers.set("x-amzn-RequestId", newRequestId());
  return response;
}

HttpResponse ecsResponse(const std::string& body) {
  auto response = HttpResponse::text(200, body, "application/x-amz-json-1.1");
  response.headers.set("x-amzn-RequestId", newRequestId());
  return response;
}

HttpResponse queryErrorResponse(const AwsError& error, std::string_view xmlNamespace) {
  const std::string requestId = newRequestId();
  const std::string inner = "<Error><Type>" + xmlEscape(error.type) + "</Type><Code>" + xmlEscape(error.code) +
                            "</Code><Message>" + xmlEscape(error.message) + "</Message></Error><RequestId>" +
                            requestId + "</RequestId>";
  auto response = HttpResponse::text(error.status, xmlDocument("ErrorResponse", xmlNamespace, inner), "text/xml");
  response.headers.set("x-amzn-RequestId", requestId);
  return response;
}

HttpResponse queryResponse(std::string_view operation, std::string_view xmlNamespace, const std::string& resultXml) {
  const std::string requestId = newRequestId();
  const std::string op(operation);
  const std::string result = resultXml.empty() ? "<" + op + "Result/>" : "<" + op + "Result>" + resultXml + "</" + op + "Result>";
  const std::string inner = result + "<ResponseMetadata><RequestId>" + requestId + "</RequestId></ResponseMetadata>";
  auto response = HttpResponse::text(200, xmlDocument(op + "Response", xmlNamespace, inner), "text/xml");
  response.headers.set("x-amzn-RequestId", requestId);
  return response;
}

HttpResponse errorResponseFor(Protocol protocol, std::string_view service, const AwsError& error) {
  switch (protocol) {
    case Protocol::ecsJson: return ecsErrorResponse(error);
    case Protocol::query: return queryErrorResponse(error, service == "sts" ? kStsNamespace : kElbNamespace);
    case Protocol::s3: return s3Error(error.status, error.code, error.message);
  }
  return ecsErrorResponse(error);
}

std::string throttlingCode(Protocol protocol) {
  switch (protocol) {
    case Protocol::ecsJson: return "ThrottlingException";
    case Protocol::query: return "Throttling";
    case Protocol::s3: return "SlowDown";
  }
  return "Throttling";
}

}  // namespace cleanroom::mocks::aws
