// AWS Signature Version 4: signing requests (our AWS clients) and verifying
// them (cleanroom-mock-aws).
//
// The request is described as it is on the wire (SigningRequest): method, raw
// path and query as sent, headers in any case (duplicates allowed), body. The
// building blocks (canonicalRequest, stringToSign, signingKey, signature)
// follow the AWS SigV4 specification step by step and are exposed so the
// spec's test suite can check each one. Everything here is pure computation:
// nothing blocks, nothing logs, and secrets never appear in returned errors.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cleanroom/result.h"

namespace cleanroom::aws {

// Access key id, secret and (optional, "" when unset) session token.
struct Credentials {
  std::string accessKeyId, secretAccessKey, sessionToken;
};

// The request as it is on the wire.
struct SigningRequest {
  std::string method;    // "POST"
  std::string path;      // raw path as sent, e.g. "/bucket/a%20b" ("/" if empty)
  std::string rawQuery;  // raw query after '?', "" if none
  std::vector<std::pair<std::string, std::string>> headers;  // as sent, any case, duplicates allowed
  std::string body;      // used for the payload hash when no x-amz-content-sha256 header
};

// The credential scope: date (YYYYMMDD), region, service ("ecs", "s3",
// "elasticloadbalancing", "sts").
struct Scope {
  std::string date;  // YYYYMMDD
  std::string region, service;
};

// A parsed Authorization header.
struct Authorization {
  std::string accessKeyId;
  Scope scope;
  std::vector<std::string> signedHeaders;  // lower-case, in header order
  std::string signature;                   // lower-case hex
};

// Returns the lower-case hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);

// Returns the raw (32-byte, binary) HMAC-SHA256 of `data` under `key`.
std::string hmacSha256(std::string_view key, std::string_view data);

// Returns the canonical request over the given (lower-case) signed headers:
// method, canonical URI (each segment percent-encoded again, as AWS does for
// every service but S3; with `normalizePath` also "." and ".." segments and
// repeated slashes removed), canonical query (sorted, re-encoded), canonical
// headers (values trimmed, inner whitespace runs collapsed, duplicates joined
// with ","), the signed-header list and `payloadHash`.
// For S3 pass normalizePath=false: S3 paths are used as sent (encoded once).
std::string canonicalRequest(const SigningRequest& request, const std::vector<std::string>& signedHeaders,
                             std::string_view payloadHash, bool normalizePath);

// Returns "AWS4-HMAC-SHA256\n<amzDate>\n<scope>\n<hex sha256 of canonicalRequest>".
std::string stringToSign(std::string_view amzDate, const Scope& scope, std::string_view canonicalRequest);

// Returns the raw signing key derived from the secret and the scope.
std::string signingKey(std::string_view secret, const Scope& scope);

// Returns the lower-case hex signature of `stringToSign`.
std::string signature(std::string_view secret, const Scope& scope, std::string_view stringToSign);

// Returns "<date>/<region>/<service>/aws4_request".
std::string scopeString(const Scope& scope);

// Parses "AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request,
// SignedHeaders=a;b, Signature=hex". Returns a Permanent error naming what is
// malformed (the algorithm, a missing component, the credential scope).
Result<Authorization> parseAuthorization(std::string_view header);

// Signs in place: adds X-Amz-Date (and X-Amz-Security-Token when a token is
// set, and X-Amz-Content-SHA256 = sha256 of the body for service "s3" unless
// already present), then Authorization over host + every x-amz-* +
// content-type header present. The Host header must already be present: its
// value includes the port. Existing X-Amz-Date/Authorization headers are
// replaced. Uses normalizePath = (service != "s3").
void sign(SigningRequest& request, const Credentials& credentials, std::string_view region,
          std::string_view service, std::chrono::system_clock::time_point now);

// Returns the X-Amz-Date form of `t`: "YYYYMMDDTHHMMSSZ" (UTC).
std::string amzDate(std::chrono::system_clock::time_point t);

// The outcome of verify(): ok, or `code` = the AWS error code and `message`
// = what AWS says. `authorization` is filled once the header parsed.
struct VerifyOutcome {
  bool ok = false;
  std::string code;
  std::string message;
  Authorization authorization;
};

// Verifies a signed request (header-based SigV4). Pure computation: calls
// lookupSecret once at most, blocks on nothing else. Codes:
//   "MissingAuthenticationToken"  no Authorization header at all
//   "IncompleteSignature"   malformed Authorization or missing/malformed
//                           X-Amz-Date, host not signed, or a signed header
//                           that is absent from the request
//   "UnknownKey"            lookupSecret returned nullopt (the caller maps it
//                           to InvalidClientTokenId / UnrecognizedClientException /
//                           InvalidAccessKeyId as its service does)
//   "SignatureDoesNotMatch" the signature differs (or the scope date is not
//                           the X-Amz-Date's day)
//   "RequestExpired"        X-Amz-Date more than 15 minutes from `now`
//                           ("RequestTimeTooSkewed" for service s3)
// Payload hash: the x-amz-content-sha256 header value if present (literals
// like UNSIGNED-PAYLOAD are used as-is), else sha256Hex(body).
VerifyOutcome verify(const SigningRequest& request,
                     const std::function<std::optional<std::string>(std::string_view accessKeyId)>& lookupSecret,
                     std::chrono::system_clock::time_point now, bool normalizePath /*false for s3*/);

}  // namespace cleanroom::aws
