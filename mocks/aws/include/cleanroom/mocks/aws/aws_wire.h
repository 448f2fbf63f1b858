// Wire helpers shared by the services of cleanroom-mock-aws (protocol-notes
// §2–§6): which service and operation a request is for, request ids, error
// bodies in each protocol's own shape (ECS JSON 1.1, query-protocol XML for
// ELBv2/STS; S3 errors come from the S3 part, s3_xml.h), form-body parsing
// and XML escaping. Pure
// functions: nothing blocks, nothing logs.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "cleanroom/mocks/http_message.h"

namespace cleanroom::mocks::aws {

inline constexpr std::string_view kEcsTargetPrefix = "AmazonEC2ContainerServiceV20141113.";
inline constexpr std::string_view kElbNamespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
inline constexpr std::string_view kStsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/";

// The protocol family a request speaks; decides its error shape.
enum class Protocol { ecsJson, query, s3 };

// What a request is for: protocol, credential-scope service name ("ecs",
// "elasticloadbalancing", "sts", "s3"; "" when unknown) and operation
// ("RunTask", "DeregisterTargets", "PutObject"; "" when unknown).
struct RequestKind {
  Protocol protocol = Protocol::s3;
  std::string service;
  std::string operation;
  // Returns "service:Operation" (the fault-rule and request-log name), or
  // "" when the service is unknown.
  std::string qualifiedName() const;
};

// Returns the kind of `request` (protocol-notes §2.1): an X-Amz-Target header
// → ECS JSON; a form body (or query) with Action= → query protocol, service
// from Version (2015-12-01 ELBv2, 2011-06-15 STS) or else the credential
// scope; anything else → S3 (operation named from method, path and query;
// `bucketFromHost` is the virtual-hosted bucket, "" for path-style).
RequestKind classifyRequest(const HttpRequest& request, std::string_view bucketFromHost);

// Returns the bucket a virtual-hosted Host header names, or "" for
// path-style: the first label of a Host (port removed) that has a dot, is not
// an IP address, and whose first label is not "s3"/"s3-…"/"s3.…" — e.g.
// "logs.localhost:9000" → "logs", "127.0.0.1:9000" → "", "localhost" → "".
std::string bucketFromHost(std::string_view host);

// Returns the raw (undecoded) path of a request target ("/" when empty).
std::string rawPath(std::string_view target);

// Returns a fresh request id (uuid form).
std::string newRequestId();

// Returns the decoded pairs of an application/x-www-form-urlencoded body.
std::multimap<std::string, std::string> parseForm(std::string_view body);

// Returns the values of a query-protocol list `prefix.member.N` (N = 1, 2, …
// in order) from a parsed form, e.g. listMembers(form, "Names").
std::vector<std::string> listMembers(const std::multimap<std::string, std::string>& form, const std::string& prefix);

// Returns the structures of a list `prefix.member.N.<field>`: one map of
// field → value per N, in order, e.g. structMembers(form, "Targets").
std::vector<std::map<std::string, std::string>> structMembers(const std::multimap<std::string, std::string>& form,
                                                              const std::string& prefix);

// Returns `text` with & < > " ' escaped for XML.
std::string xmlEscape(std::string_view text);

// One protocol error: HTTP status, the service's code, its message, and
// for query XML the fault type ("Sender" or "Receiver").
struct AwsError {
  int status = 400;
  std::string code;
  std::string message;
  std::string type = "Sender";
};

// Either a value or an AwsError (the expected-failure result of the mock's
// stores and parsers).
template <class T>
class AwsResult {
 public:
  AwsResult(T value) : state_(std::move(value)) {}          // NOLINT: implicit by design
  AwsResult(AwsError error) : state_(std::move(error)) {}   // NOLINT: implicit by design
  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  const T& value() const& { return std::get<0>(state_); }
  T& value() & { return std::get<0>(state_); }
  const AwsError& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, AwsError> state_;
};

// Returns an ECS (JSON 1.1) error: status, Content-Type
// application/x-amz-json-1.1, x-amzn-ErrorType and x-amzn-RequestId headers,
// body {"__type": code, "message": message}.
HttpResponse ecsErrorResponse(const AwsError& error);
// Returns an ECS success response with `body` (JSON text) and a request id.
HttpResponse ecsResponse(const std::string& body);

// Returns a query-protocol error: <ErrorResponse xmlns=…><Error><Type/><Code/>
// <Message/></Error><RequestId/></ErrorResponse>, text/xml, x-amzn-RequestId.
// `xmlNamespace` is the service's (kElbNamespace / kStsNamespace).
HttpResponse queryErrorResponse(const AwsError& error, std::string_view xmlNamespace);
// Returns <OpResponse xmlns=…><OpResult>resultXml</OpResult><ResponseMetadata>
// <RequestId/></ResponseMetadata></OpResponse> (an empty result as <OpResult/>).
HttpResponse queryResponse(std::string_view operation, std::string_view xmlNamespace, const std::string& resultXml);

// Returns the error response in the shape of `protocol` (ECS JSON, query XML
// with the namespace of `service`, or S3 XML via the S3 part's s3Error()).
HttpResponse errorResponseFor(Protocol protocol, std::string_view service, const AwsError& error);

// Returns the throttling error code of a protocol: "ThrottlingException"
// (ECS), "Throttling" (query), "SlowDown" (S3).
std::string throttlingCode(Protocol protocol);

}  // namespace cleanroom::mocks::aws
