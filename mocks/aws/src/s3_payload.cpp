#include "s3_payload.h"

#include <cctype>
#include <charconv>

#include "s3_checksum.h"

namespace cleanroom::mocks::aws {
using namespace s3checksum;
namespace {

constexpr std::string_view kChecksumHeaderPrefix = "x-amz-checksum-";
constexpr std::string_view kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string lower(std::string_view text) {
  std::string result(text);
  for (auto& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

// Splits a comma-separated header into trimmed, lower-cased tokens.
std::vector<std::string> tokens(std::string_view header) {
  std::vector<std::string> result;
  while (!header.empty()) {
    const auto comma = header.find(',');
    const std::string token = lower(trim(header.substr(0, comma)));
    if (!token.empty()) result.push_back(token);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
  }
  return result;
}

bool isHex64(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

ParseResult<AwsChunkedBody> framingError(std::size_t offset, const std::string& what) {
  return ParseResult<AwsChunkedBody>::error(
      "body", "aws-chunked body is malformed at byte " + std::to_string(offset) + ": " + what);
}

// Reads the trailer lines after the last chunk into `out`.
bool readTrailers(std::string_view rest, AwsChunkedBody& out) {
  while (!rest.empty()) {
    const auto end = rest.find("\r\n");
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    if (line.empty()) return trim(rest).empty();
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    out.trailers.emplace_back(lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return true;
}

// The flexible checksums among the request headers and the trailers.
std::map<std::string, std::string> sentChecksums(const HttpRequest& request,
                                                 const std::vector<std::pair<std::string, std::string>>& trailers) {
  std::map<std::string, std::string> checksums;
  auto take = [&](const std::string& name, const std::string& value) {
    const std::string lowered = lower(name);
    if (lowered.rfind(kChecksumHeaderPrefix, 0) != 0) return;
    const std::string algorithm = lowered.substr(kChecksumHeaderPrefix.size());
    if (flexibleChecksumSize(algorithm) == 0) return;  // -mode, -algorithm, -type, unknown ones
    checksums[algorithm] = std::string(trim(value));
  };
  for (const auto& [name, value] : request.headers) take(name, value);
  for (const auto& [name, value] : trailers) take(name, value);
  return checksums;
}

S3Status verifyChecksums(const std::map<std::string, std::string>& checksums, std::string_view data) {
  for (const auto& [algorithm, sent] : checksums) {
    const std::string header = std::string(kChecksumHeaderPrefix) + algorithm;
    auto raw = base64Decode(sent);
    if (!raw || raw->size() != flexibleChecksumSize(algorithm)) {
      return s3errors::invalidRequest("Value for " + header + " header is invalid.");
    }
    auto computed = flexibleChecksum(algorithm, data);
    if (computed && *computed != sent) {
      std::string name = algorithm;
      for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return s3errors::badDigest(name, sent, *computed);
    }
  }
  return S3Done{};
}

S3Status verifyContentMd5(const HttpRequest& request, std::string_view data) {
  auto sent = request.headers.get("Content-MD5");
  if (!sent) return S3Done{};
  auto raw = base64Decode(trim(*sent));
  if (!raw || raw->size() != 16) return s3errors::invalidDigest("Content-MD5", *sent);
  const std::string computed = md5Digest(data);
  if (*raw != computed) return s3errors::badDigest("Content-MD5", *sent, base64Encode(computed));
  return S3Done{};
}

S3Status verifyContentSha256(const std::string& sent, std::string_view data) {
  if (sent.empty() || sent == "UNSIGNED-PAYLOAD") return S3Done{};
  if (!isHex64(sent)) {
    return s3errors::invalidArgument(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] or the hex SHA-256 of the body.",
        "x-amz-content-sha256", sent);
  }
  const std::string computed = data.empty() ? std::string(kEmptySha256) : toHex(sha256Digest(data));
  if (lower(sent) != computed) return s3errors::contentSha256Mismatch(sent, computed);
  return S3Done{};
}

}  // namespace

ParseResult<AwsChunkedBody> decodeAwsChunked(std::string_view body) {
  AwsChunkedBody out;
  std::size_t pos = 0;
  for (;;) {
    const auto lineEnd = body.find("\r\n", pos);
    if (lineEnd == std::string_view::npos) return framingError(pos, "chunk header without CRLF");
    const std::string_view header = body.substr(pos, lineEnd - pos);
    const std::string_view hex = trim(header.substr(0, header.find(';')));
    std::size_t size = 0;
    auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), size, 16);
    if (hex.empty() || ec != std::errc() || end != hex.data() + hex.size()) {
      return framingError(pos, "chunk size '" + std::string(hex) + "' is not hexadecimal");
    }
    pos = lineEnd + 2;
    if (size == 0) break;
    if (body.size() - pos < size + 2) return framingError(pos, "chunk of " + std::to_string(size) + " bytes is cut short");
    out.data.append(body.substr(pos, size));
    pos += size;
    if (body.substr(pos, 2) != "\r\n") return framingError(pos, "chunk data not followed by CRLF");
    pos += 2;
  }
  if (!readTrailers(body.substr(pos), out)) return framingError(pos, "trailer section is malformed");
  return ParseResult<AwsChunkedBody>::ok(std::move(out));
}

bool isAwsChunked(const HttpRequest& request) {
  for (const auto& token : tokens(request.headers.value("Content-Encoding"))) {
    if (token == "aws-chunked") return true;
  }
  return request.headers.value("x-amz-content-sha256").rfind("STREAMING-", 0) == 0;
}

S3Result<S3Payload> readPayload(const HttpRequest& request, bool checksumsDescribeBody) {
  S3Payload payload;
  std::vector<std::pair<std::string, std::string>> trailers;
  const std::string contentSha256(trim(request.headers.value("x-amz-content-sha256")));
  if (isAwsChunked(request)) {
    auto decoded = decodeAwsChunked(request.body);
    if (!decoded) return s3errors::incompleteBody(decoded.message());
    AwsChunkedBody body = std::move(decoded).value();
    const auto declared = request.headers.get("X-Amz-Decoded-Content-Length");
    if (declared && trim(*declared) != std::to_string(body.data.size())) {
      return s3errors::incompleteBody("The aws-chunked body holds " + std::to_string(body.data.size()) +
                                      " bytes but X-Amz-Decoded-Content-Length says " + *declared + ".");
    }
    payload.data = std::move(body.data);
    trailers = std::move(body.trailers);
  } else {
    if (auto status = verifyContentSha256(contentSha256, request.body); !status) return status.error();
    payload.data = request.body;
  }
  for (const auto& token : tokens(request.headers.value("Content-Encoding"))) {
    if (token == "aws-chunked") continue;
    payload.contentEncoding += (payload.contentEncoding.empty() ? "" : ",") + token;
  }
  if (!checksumsDescribeBody) return payload;
  payload.checksums = sentChecksums(request, trailers);
  if (auto status = verifyChecksums(payload.checksums, payload.data); !status) return status.error();
  if (auto status = verifyContentMd5(request, payload.data); !status) return status.error();
  return payload;
}

}  // namespace cleanroom::mocks::aws
