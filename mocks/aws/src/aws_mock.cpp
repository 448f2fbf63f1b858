#include "cleanroom/mocks/aws/aws_mock.h"

#include <optional>

#include "cleanroom/aws/sigv4.h"
#include "cleanroom/mocks/aws/aws_wire.h"
#include "cleanroom/mocks/aws/ecs_store.h"
#include "cleanroom/mocks/aws/elb_store.h"
#include "cleanroom/mocks/http_server.h"
#include "s3_api.h"

namespace cleanroom::mocks::aws {
namespace {

using nlohmann::json;

AwsError missingAuthentication(Protocol protocol) {
  switch (protocol) {
    case Protocol::ecsJson: return {400, "MissingAuthenticationTokenException", "Missing Authentication Token"};
    case Protocol::query: return {403, "MissingAuthenticationToken", "Request is missing Authentication Token"};
    case Protocol::s3: return {403, "AccessDenied", "Access Denied"};
  }
  return {403, "AccessDenied", "Access Denied"};
}

AwsError ecsAuthError(const cleanroom::aws::VerifyOutcome& outcome) {
  if (outcome.code == "UnknownKey") {
    return {400, "UnrecognizedClientException", "The security token included in the request is invalid."};
  }
  if (outcome.code == "IncompleteSignature") return {400, "IncompleteSignatureException", outcome.message};
  return {400, "InvalidSignatureException", outcome.message};
}

AwsError queryAuthError(const cleanroom::aws::VerifyOutcome& outcome) {
  if (outcome.code == "UnknownKey") {
    return {403, "InvalidClientTokenId", "The security token included in the request is invalid."};
  }
  if (outcome.code == "IncompleteSignature") return {400, "IncompleteSignature", outcome.message};
  if (outcome.code == "RequestExpired") return {400, "RequestExpired", outcome.message};
  return {403, "SignatureDoesNotMatch", outcome.message};
}

AwsError s3AuthError(const cleanroom::aws::VerifyOutcome& outcome) {
  if (outcome.code == "UnknownKey") {
    return {403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."};
  }
  if (outcome.code == "IncompleteSignature") return {400, "AuthorizationHeaderMalformed", outcome.message};
  if (outcome.code == "RequestTimeTooSkewed" || outcome.code == "RequestExpired") {
    return {403, "RequestTimeTooSkewed", outcome.message};
  }
  return {403, "SignatureDoesNotMatch", outcome.message};
}

AwsError authError(Protocol protocol, const cleanroom::aws::VerifyOutcome& outcome) {
  switch (protocol) {
    case Protocol::ecsJson: return ecsAuthError(outcome);
    case Protocol::query: return queryAuthError(outcome);
    case Protocol::s3: return s3AuthError(outcome);
  }
  return s3AuthError(outcome);
}

cleanroom::aws::SigningRequest signingRequest(const HttpRequest& request) {
  cleanroom::aws::SigningRequest signing;
  signing.method = request.method;
  signing.path = rawPath(request.target);
  signing.rawQuery = request.rawQuery;
  for (const auto& [name, value] : request.headers) signing.headers.emplace_back(name, value);
  signing.body = request.body;
  return signing;
}

// The error a status fault answers with when its rule names no body.
AwsError faultError(const FaultAction& fault, Protocol protocol) {
  const int status = *fault.status;
  AwsError error{status, fault.errorCode.value_or(""), "Rate exceeded", status >= 500 ? "Receiver" : "Sender"};
  if (!error.code.empty()) {
    if (error.code.find("Throttl") == std::string::npos && error.code != "SlowDown") error.message = "injected fault";
    return error;
  }
  if (status < 500) {
    error.code = throttlingCode(protocol);
    return error;
  }
  error.message = "injected fault";
  switch (protocol) {
    case Protocol::ecsJson: error.code = "ServerException"; break;
    case Protocol::query: error.code = status == 503 ? "ServiceUnavailable" : "InternalFailure"; break;
    case Protocol::s3:
      error.code = status == 503 ? "SlowDown" : "InternalError";
      error.message = status == 503 ? "Please reduce your request rate." : "We encountered an internal error. Please try again.";
      break;
  }
  return error;
}

std::string callerAccessKey(const HttpRequest& request) {
  auto parsed = cleanroom::aws::parseAuthorization(request.headers.value("Authorization"));
  return parsed ? parsed.value().accessKeyId : std::string("anonymous");
}

}  // namespace

class AwsMock::Impl {
 public:
  explicit Impl(AwsMockOptions options)
      : options_(std::move(options)),
        server_(MockHttpServerOptions{options_.host, options_.port, true, "", "mock-aws"}),
        ecs_(EcsStoreOptions{options_.region, options_.accountId, options_.taskStart, options_.taskStop,
                             options_.stoppedLinger}),
        elb_(ElbStoreOptions{options_.region, options_.accountId, options_.targetHealthy,
                             options_.deregistrationDelay}),
        s3_(options_.region) {
    server_.fallback([this](const HttpRequest& request) { return serve(request); });
    server_.onOperation([](const HttpRequest& request) { return kindOf(request).qualifiedName(); });
    server_.onFaultResponse([](const FaultAction& fault, const HttpRequest& request) {
      const RequestKind kind = kindOf(request);
      HttpResponse response = errorResponseFor(kind.protocol, kind.service, faultError(fault, kind.protocol));
      return request.method == "HEAD" ? forHead(std::move(response)) : response;
    });
    server_.onReset([this] { resetState(); });
    server_.onState([this] { return state(); });
  }

  void start() { server_.start(); }
  void stop() {
    server_.stop();
    ecs_.shutdown();
    elb_.shutdown();
  }
  std::string url() const { return server_.url(); }
  std::uint16_t port() const { return server_.port(); }

  json state() const {
    json ecs = ecs_.state();
    json out = {{"clusters", ecs["clusters"]}, {"taskDefinitions", ecs["taskDefinitions"]}, {"tasks", ecs["tasks"]}};
    out["targetGroups"] = elb_.state()["targetGroups"];
    out["s3"] = s3_.state();
    return out;
  }

 private:
  static RequestKind kindOf(const HttpRequest& request) {
    return classifyRequest(request, bucketFromHost(request.headers.value("Host")));
  }

  void resetState() {
    ecs_.reset();
    elb_.reset();
    s3_.reset();
  }

  HttpResponse serve(const HttpRequest& request) {
    const std::string hostBucket = bucketFromHost(request.headers.value("Host"));
    const RequestKind kind = classifyRequest(request, hostBucket);
    if (auto failure = authenticate(request, kind)) {
      HttpResponse response = errorResponseFor(kind.protocol, kind.service, *failure);
      return request.method == "HEAD" ? forHead(std::move(response)) : response;
    }
    switch (kind.protocol) {
      case Protocol::ecsJson: return serveEcs(request, kind);
      case Protocol::query: return serveQuery(request, kind);
      case Protocol::s3: return s3_.handle(request, hostBucket);
    }
    return s3_.handle(request, hostBucket);
  }

  std::optional<AwsError> authenticate(const HttpRequest& request, const RequestKind& kind) const {
    if (!options_.verifySignatures) return std::nullopt;
    if (!request.headers.has("Authorization")) {
      if (request.query.count("X-Amz-Signature") > 0) {
        return AwsError{403, "AccessDenied",
                        "cleanroom-mock-aws verifies header-signed requests only; presigned URLs are not supported"};
      }
      return missingAuthentication(kind.protocol);
    }
    const auto lookup = [this](std::string_view accessKeyId) -> std::optional<std::string> {
      auto it = options_.credentials.find(std::string(accessKeyId));
      if (it == options_.credentials.end()) return std::nullopt;
      return it->second;
    };
    const auto outcome = cleanroom::aws::verify(signingRequest(request), lookup, std::chrono::system_clock::now(),
                                                kind.protocol != Protocol::s3);
    if (outcome.ok) return std::nullopt;
    return authError(kind.protocol, outcome);
  }

  HttpResponse serveEcs(const HttpRequest& request, const RequestKind& kind) {
    if (kind.service != "ecs") {
      return ecsErrorResponse({400, "UnknownOperationException",
                               "cleanroom-mock-aws serves ECS JSON only; unknown X-Amz-Target '" + kind.operation + "'"});
    }
    const json body = request.body.empty() ? json::object() : json::parse(request.body, nullptr, false);
    if (body.is_discarded()) {
      return ecsErrorResponse({400, "SerializationException", "The request body is not valid JSON."});
    }
    auto result = ecs_.call(kind.operation, body);
    if (!result) return ecsErrorResponse(result.error());
    return ecsResponse(result.value().dump());
  }

  HttpResponse serveQuery(const HttpRequest& request, const RequestKind& kind) {
    const auto form = request.method == "POST" ? parseForm(request.body) : request.query;
    if (kind.service == "elasticloadbalancing") {
      auto result = elb_.call(kind.operation, form);
      if (!result) return queryErrorResponse(result.error(), kElbNamespace);
      return queryResponse(kind.operation, kElbNamespace, result.value());
    }
    if (kind.service == "sts" && kind.operation == "GetCallerIdentity") return callerIdentity(request);
    const auto xmlNamespace = kind.service == "sts" ? kStsNamespace : kElbNamespace;
    return queryErrorResponse({400, "InvalidAction",
                               "cleanroom-mock-aws does not implement " +
                                   (kind.service.empty() ? std::string("this service") : kind.service) +
                                   " action '" + kind.operation + "'"},
                              xmlNamespace);
  }

  HttpResponse callerIdentity(const HttpRequest& request) const {
    const std::string key = callerAccessKey(request);
    const std::string xml = "<UserId>" + xmlEscape(key) + "</UserId><Account>" + options_.accountId +
                            "</Account><Arn>arn:aws:iam::" + options_.accountId + ":user/" + xmlEscape(key) + "</Arn>";
    return queryResponse("GetCallerIdentity", kStsNamespace, xml);
  }

  AwsMockOptions options_;
  MockHttpServer server_;
  EcsStore ecs_;
  ElbStore elb_;
  S3Api s3_;
};

AwsMock::AwsMock(AwsMockOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
AwsMock::~AwsMock() { stop(); }
void AwsMock::start() { impl_->start(); }
void AwsMock::stop() { impl_->stop(); }
std::string AwsMock::url() const { return impl_->url(); }
std::uint16_t AwsMock::port() const { return impl_->port(); }
nlohmann::json AwsMock::state() const { return impl_->state(); }

}  // namespace cleanroom::mocks::aws
