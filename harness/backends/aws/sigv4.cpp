// AWS Signature Version 4 (cleanroom/aws/sigv4.h) on OpenSSL's libcrypto.
#include "cleanroom/aws/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <stdexcept>

namespace cleanroom::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr auto kMaxSkew = std::chrono::minutes(15);

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

bool isUnreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

bool isHexDigit(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

void appendEscaped(std::string& out, unsigned char c) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  out += '%';
  out += kDigits[c >> 4];
  out += kDigits[c & 0xf];
}

// Percent-encodes every byte but the unreserved ones (RFC 3986), and '/'
// when `keepSlash`; with `keepEscapes`, existing %XX escapes stay as they are.
std::string uriEncode(std::string_view text, bool keepSlash, bool keepEscapes) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool escape = c == '%' && i + 2 < text.size() && isHexDigit(text[i + 1]) && isHexDigit(text[i + 2]);
    if (isUnreserved(c) || (keepSlash && c == '/') || (keepEscapes && escape)) {
      out += static_cast<char>(c);
      continue;
    }
    appendEscaped(out, c);
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
}

// Decodes %XX escapes; anything else (including '+') is kept as it is.
std::string uriDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && isHexDigit(text[i + 1]) && isHexDigit(text[i + 2])) {
      out += static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
      i += 2;
      continue;
    }
    out += text[i];
  }
  return out;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// Removes "." and ".." segments and empty segments; keeps a trailing slash.
std::string normalizedPath(std::string_view path) {
  std::vector<std::string_view> kept;
  for (auto segment : split(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
      continue;
    }
    kept.push_back(segment);
  }
  std::string out;
  for (auto segment : kept) {
    out += '/';
    out += segment;
  }
  const bool trailingSlash = !path.empty() && path.back() == '/';
  if (out.empty() || trailingSlash) out += '/';
  return out;
}

std::string canonicalUri(std::string_view path, bool normalizePath) {
  if (path.empty()) return "/";
  if (normalizePath) return uriEncode(normalizedPath(path), /*keepSlash=*/true, /*keepEscapes=*/false);
  return uriEncode(path, /*keepSlash=*/true, /*keepEscapes=*/true);
}

std::string canonicalQuery(std::string_view rawQuery) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (auto piece : split(rawQuery, '&')) {
    if (piece.empty()) continue;
    const auto eq = piece.find('=');
    const auto key = piece.substr(0, eq);
    const auto value = eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
    pairs.emplace_back(uriEncode(uriDecode(key), false, false), uriEncode(uriDecode(value), false, false));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (!out.empty()) out += '&';
    out += key + "=" + value;
  }
  return out;
}

// Trims the value and collapses inner runs of whitespace to one space.
std::string canonicalHeaderValue(std::string_view value) {
  std::string out;
  bool inSpace = false;
  for (char c : trim(value)) {
    const bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (space) {
      inSpace = true;
      continue;
    }
    if (inSpace) out += ' ';
    inSpace = false;
    out += c;
  }
  return out;
}

std::optional<std::string> headerValues(const SigningRequest& request, std::string_view name) {
  std::optional<std::string> joined;
  for (const auto& [key, value] : request.headers) {
    if (!equalsIgnoreCase(key, name)) continue;
    joined = joined ? *joined + "," + canonicalHeaderValue(value) : canonicalHeaderValue(value);
  }
  return joined;
}

const std::string* firstHeader(const SigningRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (equalsIgnoreCase(key, name)) return &value;
  }
  return nullptr;
}

void removeHeader(SigningRequest& request, std::string_view name) {
  std::erase_if(request.headers, [&](const auto& header) { return equalsIgnoreCase(header.first, name); });
}

std::string payloadHash(const SigningRequest& request) {
  if (const auto* declared = firstHeader(request, "x-amz-content-sha256")) return std::string(trim(*declared));
  return sha256Hex(request.body);
}

std::string join(const std::vector<std::string>& parts, char separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

bool isDigits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Parses "YYYYMMDDTHHMMSSZ" (UTC).
std::optional<std::chrono::system_clock::time_point> parseAmzDate(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  if (!isDigits(text.substr(0, 8)) || !isDigits(text.substr(9, 6))) return std::nullopt;
  const auto number = [&](size_t pos, size_t len) { return std::stoi(std::string(text.substr(pos, len))); };
  std::tm tm{};
  tm.tm_year = number(0, 4) - 1900;
  tm.tm_mon = number(4, 2) - 1;
  tm.tm_mday = number(6, 2);
  tm.tm_hour = number(9, 2);
  tm.tm_min = number(11, 2);
  tm.tm_sec = number(13, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

VerifyOutcome reject(std::string code, std::string message) {
  VerifyOutcome outcome;
  outcome.code = std::move(code);
  outcome.message = std::move(message);
  return outcome;
}

bool sameSignature(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return hex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &length);
  return std::string(reinterpret_cast<const char*>(mac), length);
}

std::string canonicalRequest(const SigningRequest& request, const std::vector<std::string>& signedHeaders,
                             std::string_view payloadHash, bool normalizePath) {
  std::string out = request.method + "\n";
  out += canonicalUri(request.path, normalizePath) + "\n";
  out += canonicalQuery(request.rawQuery) + "\n";
  std::vector<std::string> names;
  for (const auto& name : signedHeaders) {
    names.push_back(lower(name));
    out += names.back() + ":" + headerValues(request, name).value_or("") + "\n";
  }
  out += "\n" + join(names, ';') + "\n";
  out += payloadHash;
  return out;
}

std::string scopeString(const Scope& scope) {
  return scope.date + "/" + scope.region + "/" + scope.service + "/aws4_request";
}

std::string stringToSign(std::string_view amzDate, const Scope& scope, std::string_view canonicalRequest) {
  return std::string(kAlgorithm) + "\n" + std::string(amzDate) + "\n" + scopeString(scope) + "\n" +
         sha256Hex(canonicalRequest);
}

std::string signingKey(std::string_view secret, const Scope& scope) {
  const auto dateKey = hmacSha256("AWS4" + std::string(secret), scope.date);
  const auto regionKey = hmacSha256(dateKey, scope.region);
  const auto serviceKey = hmacSha256(regionKey, scope.service);
  return hmacSha256(serviceKey, "aws4_request");
}

std::string signature(std::string_view secret, const Scope& scope, std::string_view stringToSign) {
  return hex(hmacSha256(signingKey(secret, scope), stringToSign));
}

Result<Authorization> parseAuthorization(std::string_view header) {
  header = trim(header);
  if (header.substr(0, kAlgorithm.size()) != kAlgorithm ||
      (header.size() > kAlgorithm.size() && header[kAlgorithm.size()] != ' ')) {
    const auto algorithm = header.substr(0, header.find(' '));
    return Error::permanent("Unsupported AWS 'algorithm': '" + std::string(algorithm) +
                            "' (expected AWS4-HMAC-SHA256)");
  }
  std::optional<std::string> credential, signedHeaders, signatureHex;
  for (auto part : split(header.substr(kAlgorithm.size()), ',')) {
    part = trim(part);
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    const auto key = part.substr(0, eq);
    const auto value = std::string(trim(part.substr(eq + 1)));
    if (key == "Credential") credential = value;
    if (key == "SignedHeaders") signedHeaders = value;
    if (key == "Signature") signatureHex = value;
  }
  std::string missing;
  if (!credential) missing += "Authorization header requires 'Credential' parameter. ";
  if (!signedHeaders) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!signatureHex) missing += "Authorization header requires 'Signature' parameter. ";
  if (!missing.empty()) return Error::permanent(missing + "Authorization=" + std::string(header.substr(0, 40)));

  const auto scopeParts = split(*credential, '/');
  if (scopeParts.size() != 5 || scopeParts[0].empty() || scopeParts[1].size() != 8 || !isDigits(scopeParts[1]) ||
      scopeParts[2].empty() || scopeParts[3].empty() || scopeParts[4] != "aws4_request") {
    return Error::permanent("Credential should be scoped to a valid region and service: expected "
                            "'<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request', got '" +
                            (scopeParts.empty() ? std::string() : std::string(scopeParts[0])) + "/...'");
  }
  Authorization authorization;
  authorization.accessKeyId = std::string(scopeParts[0]);
  authorization.scope = Scope{std::string(scopeParts[1]), std::string(scopeParts[2]), std::string(scopeParts[3])};
  for (auto name : split(*signedHeaders, ';')) {
    if (name.empty()) return Error::permanent("SignedHeaders has an empty header name: '" + *signedHeaders + "'");
    authorization.signedHeaders.push_back(lower(name));
  }
  authorization.signature = lower(*signatureHex);
  return authorization;
}

std::string amzDate(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
  return text;
}

void sign(SigningRequest& request, const Credentials& credentials, std::string_view region, std::string_view service,
          std::chrono::system_clock::time_point now) {
  if (!firstHeader(request, "host")) throw std::invalid_argument("aws::sign: the request has no Host header");
  if (request.path.empty()) request.path = "/";
  const auto date = amzDate(now);
  removeHeader(request, "authorization");
  removeHeader(request, "x-amz-date");
  request.headers.emplace_back("X-Amz-Date", date);
  if (!credentials.sessionToken.empty()) {
    removeHeader(request, "x-amz-security-token");
    request.headers.emplace_back("X-Amz-Security-Token", credentials.sessionToken);
  }
  if (service == "s3" && !firstHeader(request, "x-amz-content-sha256")) {
    request.headers.emplace_back("X-Amz-Content-SHA256", sha256Hex(request.body));
  }
  std::vector<std::string> signedHeaders;
  for (const auto& header : request.headers) {
    const auto name = lower(header.first);
    if (name == "host" || name == "content-type" || name.starts_with("x-amz-")) signedHeaders.push_back(name);
  }
  std::sort(signedHeaders.begin(), signedHeaders.end());
  signedHeaders.erase(std::unique(signedHeaders.begin(), signedHeaders.end()), signedHeaders.end());

  const Scope scope{date.substr(0, 8), std::string(region), std::string(service)};
  const auto creq = canonicalRequest(request, signedHeaders, payloadHash(request), service != "s3");
  const auto sig = signature(credentials.secretAccessKey, scope, stringToSign(date, scope, creq));
  request.headers.emplace_back("Authorization", std::string(kAlgorithm) + " Credential=" + credentials.accessKeyId +
                                                    "/" + scopeString(scope) + ", SignedHeaders=" +
                                                    join(signedHeaders, ';') + ", Signature=" + sig);
}

VerifyOutcome verify(const SigningRequest& request,
                     const std::function<std::optional<std::string>(std::string_view accessKeyId)>& lookupSecret,
                     std::chrono::system_clock::time_point now, bool normalizePath) {
  const auto* header = firstHeader(request, "authorization");
  if (!header) return reject("MissingAuthenticationToken", "Request is missing Authentication Token");
  auto parsed = parseAuthorization(*header);
  if (!parsed) return reject("IncompleteSignature", parsed.error().message);
  const Authorization authorization = std::move(parsed).value();
  const bool s3 = authorization.scope.service == "s3";

  const auto* dateHeader = firstHeader(request, "x-amz-date");
  if (!dateHeader) {
    return reject("IncompleteSignature",
                  "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  const std::string date(trim(*dateHeader));
  const auto signedAt = parseAmzDate(date);
  if (!signedAt) return reject("IncompleteSignature", "X-Amz-Date must be YYYYMMDD'T'HHMMSS'Z', got '" + date + "'");
  if (std::find(authorization.signedHeaders.begin(), authorization.signedHeaders.end(), "host") ==
      authorization.signedHeaders.end()) {
    return reject("IncompleteSignature", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  for (const auto& name : authorization.signedHeaders) {
    if (!firstHeader(request, name)) {
      return reject("IncompleteSignature", "SignedHeaders lists '" + name + "' but the request has no such header.");
    }
  }
  const auto secret = lookupSecret(authorization.accessKeyId);
  if (!secret) {
    VerifyOutcome outcome = reject("UnknownKey", "The security token included in the request is invalid.");
    outcome.authorization = authorization;
    return outcome;
  }
  if (now - *signedAt > kMaxSkew || *signedAt - now > kMaxSkew) {
    VerifyOutcome outcome =
        s3 ? reject("RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
           : reject("RequestExpired", "Request has expired. X-Amz-Date " + date + " is more than 15 minutes from now (" +
                                          amzDate(now) + ").");
    outcome.authorization = authorization;
    return outcome;
  }
  if (authorization.scope.date != date.substr(0, 8)) {
    VerifyOutcome outcome = reject("SignatureDoesNotMatch",
                                   "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                                   "from HTTP: '" + authorization.scope.date + "' != '" + date.substr(0, 8) + "'");
    outcome.authorization = authorization;
    return outcome;
  }
  const auto creq = canonicalRequest(request, authorization.signedHeaders, payloadHash(request), normalizePath);
  const auto expected = signature(*secret, authorization.scope, stringToSign(date, authorization.scope, creq));
  VerifyOutcome outcome;
  outcome.authorization = authorization;
  if (!sameSignature(expected, authorization.signature)) {
    outcome.code = "SignatureDoesNotMatch";
    outcome.message = s3 ? "The request signature we calculated does not match the signature you provided. "
                           "Check your key and signing method."
                         : "The request signature we calculated does not match the signature you provided. Check your "
                           "AWS Secret Access Key and signing method. Consult the service documentation for details.";
    return outcome;
  }
  outcome.ok = true;
  return outcome;
}

}  // namespace cleanroom::aws
