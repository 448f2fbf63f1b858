// AwsClient: SigV4-signed JSON 1.1, query and REST calls, and the mapping of
// AWS error answers to Error kinds (cleanroom/aws/aws_client.h).
#include "cleanroom/aws/aws_client.h"

#include <algorithm>
#include <array>
#include <chrono>

#include <spdlog/spdlog.h>

#include "cleanroom/aws/xml.h"
#include "cleanroom/trace.h"

namespace cleanroom::aws {
namespace {

// Codes botocore retries (legacy and standard modes) whatever the HTTP status.
constexpr std::array<std::string_view, 19> kThrottlingCodes{
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "RequestThrottled",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "SlowDown",
    "PriorRequestNotComplete", "EC2ThrottledException", "RequestTimeout", "RequestTimeoutException", "BadDigest",
    "IDPCommunicationError", "InternalError", "ServiceUnavailable"};

constexpr std::array<std::string_view, 14> kAuthCodes{
    "SignatureDoesNotMatch", "InvalidClientTokenId", "UnrecognizedClientException", "AccessDenied",
    "AccessDeniedException", "ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId", "InvalidToken",
    "MissingAuthenticationToken", "MissingAuthenticationTokenException", "IncompleteSignature",
    "InvalidSignatureException", "AuthFailure"};

constexpr std::array<std::string_view, 3> kClockCodes{"RequestExpired", "RequestTimeTooSkewed", "SignatureExpired"};

constexpr std::array<std::string_view, 4> kServices{"ecs", "s3", "elasticloadbalancing", "sts"};

template <size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view code) {
  return std::find(list.begin(), list.end(), code) != list.end();
}

std::string reasonPhrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

std::string oneLine(std::string_view text, size_t limit = 300) {
  std::string out;
  for (char c : text) {
    if (out.size() >= limit) return out + "...";
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  return out;
}

// Splits "host:port/prefix" out of a base URL "http://host:port/prefix".
std::pair<std::string, std::string> authorityAndPrefix(const std::string& baseUrl) {
  auto rest = baseUrl;
  if (const auto scheme = rest.find("://"); scheme != std::string::npos) rest = rest.substr(scheme + 3);
  const auto slash = rest.find('/');
  if (slash == std::string::npos) return {rest, ""};
  return {rest.substr(0, slash), rest.substr(slash)};
}

std::string operationOf(std::string_view target) {
  const auto dot = target.rfind('.');
  return std::string(dot == std::string_view::npos ? target : target.substr(dot + 1));
}

std::string paramValue(const std::vector<std::pair<std::string, std::string>>& params, std::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return "";
}

bool isSuccess(int status) { return status >= 200 && status <= 299; }

// A token made of the characters AWS codes and operation names use.
bool isToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

}  // namespace

std::string formEncode(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += '&';
    out += urlEncode(key) + "=" + urlEncode(value);
  }
  return out;
}

AwsError decodeJsonError(const HttpResponse& response, std::string service, std::string operation) {
  AwsError error{std::move(service), std::move(operation), "", "", response.status};
  const auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_object()) {
    for (const char* key : {"__type", "code", "Code"}) {
      if (json.contains(key) && json[key].is_string()) {
        error.code = json[key].get<std::string>();
        break;
      }
    }
    for (const char* key : {"message", "Message", "errorMessage"}) {
      if (json.contains(key) && json[key].is_string()) {
        error.message = json[key].get<std::string>();
        break;
      }
    }
  }
  if (error.code.empty()) error.code = response.header("x-amzn-ErrorType");
  // "prefix#Code" (__type) and "Code:http://..." (x-amzn-ErrorType) both carry the bare code.
  if (const auto hash = error.code.rfind('#'); hash != std::string::npos) error.code = error.code.substr(hash + 1);
  if (const auto colon = error.code.find(':'); colon != std::string::npos) error.code = error.code.substr(0, colon);
  if (error.code.empty()) error.code = std::to_string(response.status);
  if (error.message.empty() && !json.is_object()) error.message = oneLine(response.body);
  if (error.message.empty()) error.message = reasonPhrase(response.status);
  return error;
}

AwsError decodeXmlError(const HttpResponse& response, std::string service, std::string operation) {
  AwsError error{std::move(service), std::move(operation), "", "", response.status};
  if (!response.body.empty()) {
    if (auto root = parseXml(response.body, "error answer"); root.ok()) {
      // Query protocol: <ErrorResponse><Error>...; S3: <Error> at the root.
      const XmlElement* detail = root->name == "Error" ? &*root : root->child("Error");
      if (detail) {
        error.code = detail->textAt("Code");
        error.message = detail->textAt("Message");
      }
    } else {
      error.message = oneLine(response.body);
    }
  }
  if (error.code.empty()) error.code = std::to_string(response.status);
  if (error.message.empty()) error.message = reasonPhrase(response.status);
  return error;
}

Error toError(const AwsError& aws, const HttpResponse& response) {
  std::string message = aws.service + " " + aws.operation + ": " + aws.code;
  if (!aws.message.empty()) message += ": " + aws.message;
  message += " (HTTP " + std::to_string(aws.httpStatus) + ")";

  Error error = Error::permanent("");
  error.httpStatus = aws.httpStatus;
  const bool throttled = contains(kThrottlingCodes, aws.code);
  if (throttled || aws.httpStatus == 429 || (aws.httpStatus >= 500 && aws.httpStatus <= 599)) {
    const Error generic = httpError(response, message);  // parses Retry-After
    error.kind = ErrorKind::Retryable;
    error.retryAfter = generic.retryAfter;
    if (error.retryAfter) message += " (Retry-After " + std::to_string(error.retryAfter->count()) + "ms)";
  } else if (contains(kClockCodes, aws.code)) {
    message += " — the request's X-Amz-Date is too far from the server's time: check this machine's clock";
  } else if (contains(kAuthCodes, aws.code)) {
    message += " — check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN: they must be credentials "
               "the endpoint accepts (for cleanroom-mock-aws, the keys it was started with)";
  }
  error.message = std::move(message);
  return error;
}

std::string awsErrorCode(const Error& error) {
  // The message reads "<service> <Operation>: <Code>: ..." possibly after a
  // prefix someone added; find the service word and take the code after it.
  if (error.httpStatus == 0) return "";  // a transport failure: no AWS answer
  const std::string_view message = error.message;
  for (const auto service : kServices) {
    for (size_t at = message.find(service); at != std::string_view::npos; at = message.find(service, at + 1)) {
      if (at > 0 && message[at - 1] != ' ') continue;
      const auto afterService = at + service.size();
      if (afterService >= message.size() || message[afterService] != ' ') continue;
      const auto operationEnd = message.find(": ", afterService + 1);
      if (operationEnd == std::string_view::npos) continue;
      const auto codeStart = operationEnd + 2;
      auto codeEnd = message.find_first_of(": ", codeStart);
      if (codeEnd == std::string_view::npos) codeEnd = message.size();
      const auto code = message.substr(codeStart, codeEnd - codeStart);
      if (isToken(code)) return std::string(code);
    }
  }
  return "";
}

AwsClient::AwsClient(AwsConfig config, HttpClients injected, Clock& clock)
    : config_(std::move(config)), clock_(clock), clients_(std::move(injected)) {
  if (auto elbv2 = clients_.find("elbv2"); elbv2 != clients_.end()) {
    clients_.emplace("elasticloadbalancing", elbv2->second);
  }
}

Result<std::shared_ptr<HttpClient>> AwsClient::clientFor(const std::string& service) {
  std::lock_guard lock(mutex_);
  if (auto found = clients_.find(service); found != clients_.end()) return found->second;
  auto endpoint = config_.endpointFor(service);
  if (!endpoint) return endpoint.error();
  auto made = makeHttpClient(*endpoint, endpointVariable(service) + " (AWS " + service + " endpoint)");
  if (!made) return made.error();
  std::shared_ptr<HttpClient> client = std::move(made).value();
  clients_[service] = client;
  return client;
}

Result<HttpResponse> AwsClient::sendSigned(const std::string& service, const std::string& operation,
                                           HttpRequest request, milliseconds timeout) {
  auto client = clientFor(service);
  if (!client) return client.error();
  const auto [authority, prefix] = authorityAndPrefix((*client)->baseUrl());

  SigningRequest signing;
  signing.method = request.method;
  const auto question = request.target.find('?');
  signing.path = prefix + request.target.substr(0, question);
  if (signing.path.empty()) signing.path = "/";
  if (question != std::string::npos) signing.rawQuery = request.target.substr(question + 1);
  signing.headers = std::move(request.headers);
  signing.headers.emplace_back("Host", authority);
  if (!request.contentType.empty()) signing.headers.emplace_back("Content-Type", request.contentType);
  signing.body = std::move(request.body);
  sign(signing, config_.credentials, config_.region, service, clock_.wallNow());

  request.headers = std::move(signing.headers);
  request.contentType.clear();  // sent as the signed header above
  request.body = std::move(signing.body);

  const auto started = std::chrono::steady_clock::now();
  auto response = (*client)->send(request, timeout);
  const auto ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started).count();
  if (!response) {
    logger().debug("step=aws service={} op={} result=error ms={}", service, operation, ms);
    Error error = response.error();
    error.message = service + " " + operation + ": " + error.message;
    return error;
  }
  logger().debug("step=aws service={} op={} status={} ms={}", service, operation, response->status, ms);
  return response;
}

Result<nlohmann::json> AwsClient::callJson(std::string_view service, std::string_view target,
                                           const nlohmann::json& body, milliseconds timeout) {
  const std::string serviceName(service);
  const auto operation = operationOf(target);
  HttpRequest request;
  request.method = "POST";
  request.target = "/";
  request.contentType = "application/x-amz-json-1.1";
  request.headers.emplace_back("X-Amz-Target", std::string(target));
  request.body = body.dump();
  auto response = sendSigned(serviceName, operation, std::move(request), timeout);
  if (!response) return response.error();
  if (!isSuccess(response->status)) return toError(decodeJsonError(*response, serviceName, operation), *response);
  if (response->body.empty()) return nlohmann::json::object();
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  if (json.is_discarded()) {
    return Error::permanent(serviceName + " " + operation + ": the answer (HTTP " + std::to_string(response->status) +
                            ") is not JSON: " + oneLine(response->body, 200));
  }
  return json;
}

Result<std::string> AwsClient::callQuery(std::string_view service,
                                         const std::vector<std::pair<std::string, std::string>>& params,
                                         milliseconds timeout) {
  const std::string serviceName(service == "elbv2" ? "elasticloadbalancing" : service);
  auto operation = paramValue(params, "Action");
  if (operation.empty()) operation = "(no Action)";
  HttpRequest request;
  request.method = "POST";
  request.target = "/";
  request.contentType = "application/x-www-form-urlencoded; charset=utf-8";
  request.body = formEncode(params);
  auto response = sendSigned(serviceName, operation, std::move(request), timeout);
  if (!response) return response.error();
  if (!isSuccess(response->status)) return toError(decodeXmlError(*response, serviceName, operation), *response);
  return std::move(response->body);
}

Result<HttpResponse> AwsClient::callRest(std::string_view service, HttpRequest request, milliseconds timeout) {
  const std::string serviceName(service);
  const std::string path = request.target.substr(0, request.target.find('?'));
  const auto operation = request.method + " " + path;
  auto response = sendSigned(serviceName, operation, std::move(request), timeout);
  if (!response) return response.error();
  if (!isSuccess(response->status)) return toError(decodeXmlError(*response, serviceName, operation), *response);
  return response;
}

}  // namespace cleanroom::aws
