// Test helper: HttpRequest values shaped like the S3 requests botocore 1.43 /
// aws CLI v1 send (protocol-notes §6): path-style targets, signed payload hash,
// the default CRC32 integrity headers, and the aws-chunked streaming form
// with a trailing checksum that botocore uses over HTTPS.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cleanroom/mocks/http_message.h"
#include "s3_checksum.h"

namespace cleanroom::mocks::aws::testing {

// Returns a request for `method` `target` (raw, e.g. "/b/k%20x?list-type=2")
// with `body` and the headers every botocore request has: Host, X-Amz-Date,
// X-Amz-Content-SHA256 (hex of the body), a SigV4 Authorization header.
inline HttpRequest botocoreRequest(std::string method, std::string target, std::string body = "") {
  HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  const auto question = request.target.find('?');
  request.path = percentDecode(std::string_view(request.target).substr(0, question), false);
  request.rawQuery = question == std::string::npos ? "" : request.target.substr(question + 1);
  request.query = parseQuery(request.rawQuery);
  request.headers.add("Host", "127.0.0.1:18081");
  request.headers.add("User-Agent", "Boto3/1.41.11 md/Botocore#1.43.11 cfg/retry-mode#legacy Botocore/1.43.11");
  request.headers.add("X-Amz-Date", "20261123T174501Z");
  request.headers.add("X-Amz-Content-SHA256", s3checksum::toHex(s3checksum::sha256Digest(body)));
  request.headers.add("Authorization",
                      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/us-east-1/s3/aws4_request, "
                      "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + std::string(64, 'a'));
  request.headers.add("amz-sdk-invocation-id", "5f0e6c1e-0000-4000-8000-000000000001");
  request.headers.add("amz-sdk-request", "attempt=1; max=5");
  request.headers.add("Content-Length", std::to_string(body.size()));
  request.body = std::move(body);
  return request;
}

// Returns the base64 CRC32 wire value of `data`.
inline std::string crc32Base64(const std::string& data) { return *s3checksum::flexibleChecksum("crc32", data); }

// PutObject / UploadPart over plain HTTP: signed payload plus the default
// x-amz-sdk-checksum-algorithm / x-amz-checksum-crc32 headers and Expect.
inline HttpRequest botocoreUpload(std::string target, std::string body, std::string contentType = "") {
  const std::string checksum = crc32Base64(body);
  HttpRequest request = botocoreRequest("PUT", std::move(target), std::move(body));
  request.headers.add("Expect", "100-continue");
  request.headers.add("x-amz-sdk-checksum-algorithm", "CRC32");
  request.headers.add("x-amz-checksum-crc32", checksum);
  if (!contentType.empty()) request.headers.add("Content-Type", contentType);
  return request;
}

// Returns `data` framed as aws-chunked: chunks of at most `chunkSize` bytes,
// the zero chunk, then the trailer lines and the final CRLF.
inline std::string awsChunked(const std::string& data, std::size_t chunkSize,
                              const std::vector<std::pair<std::string, std::string>>& trailers) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t offset = 0; offset < data.size(); offset += chunkSize) {
    const std::string chunk = data.substr(offset, chunkSize);
    std::string hex;
    for (std::size_t size = chunk.size(); size > 0; size /= 16) hex.insert(hex.begin(), kDigits[size % 16]);
    out += hex + "\r\n" + chunk + "\r\n";
  }
  out += "0\r\n";
  for (const auto& [name, value] : trailers) out += name + ":" + value + "\r\n";
  out += "\r\n";
  return out;
}

// PutObject as botocore sends it over HTTPS: STREAMING-UNSIGNED-PAYLOAD-TRAILER,
// Content-Encoding aws-chunked, X-Amz-Decoded-Content-Length, the CRC32 in the
// trailer (HTTP chunking already removed by the server).
inline HttpRequest botocoreStreamingUpload(std::string target, const std::string& data,
                                           std::string trailerChecksum = "") {
  if (trailerChecksum.empty()) trailerChecksum = crc32Base64(data);
  HttpRequest request = botocoreRequest("PUT", std::move(target),
                                        awsChunked(data, 65536, {{"x-amz-checksum-crc32", trailerChecksum}}));
  request.headers.remove("Content-Length");
  request.headers.set("X-Amz-Content-SHA256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
  request.headers.add("Transfer-Encoding", "chunked");
  request.headers.add("Content-Encoding", "aws-chunked");
  request.headers.add("X-Amz-Decoded-Content-Length", std::to_string(data.size()));
  request.headers.add("X-Amz-Trailer", "x-amz-checksum-crc32");
  request.headers.add("x-amz-sdk-checksum-algorithm", "CRC32");
  request.headers.add("Expect", "100-continue");
  return request;
}

}  // namespace cleanroom::mocks::aws::testing
