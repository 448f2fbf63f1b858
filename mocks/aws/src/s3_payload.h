// The body of an S3 request as S3 reads it (protocol-notes §6.3): the
// aws-chunked framing botocore uses over HTTPS (`<hex>[;chunk-signature=…]\r\n
// <data>\r\n … 0\r\n<trailers>\r\n\r\n`) removed and checked against
// X-Amz-Decoded-Content-Length, x-amz-content-sha256 checked against the
// body, and the integrity checksums (x-amz-checksum-<alg> headers or
// trailers, Content-MD5) verified. HTTP chunking is already gone (the mock
// server de-chunks). Pure functions, thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cleanroom/mocks/http_message.h"
#include "cleanroom/mocks/parse_result.h"
#include "s3_error.h"

namespace cleanroom::mocks::aws {

struct AwsChunkedBody {
  std::string data;
  std::vector<std::pair<std::string, std::string>> trailers;  // names lower-cased, values trimmed
};

// Returns the data and trailers of an aws-chunked `body`, or an error saying
// where the framing broke. Chunk signatures are accepted, not verified.
ParseResult<AwsChunkedBody> decodeAwsChunked(std::string_view body);

// Returns true if and only if `request` carries an aws-chunked body
// (Content-Encoding lists aws-chunked, or x-amz-content-sha256 starts with STREAMING-).
bool isAwsChunked(const HttpRequest& request);

struct S3Payload {
  std::string data;
  // Flexible checksums sent for the body: "crc32" -> base64, from headers and
  // trailers. Verified when this mock can compute them (crc32, crc32c, sha1,
  // sha256); others (crc64nvme) kept as sent.
  std::map<std::string, std::string> checksums;
  std::string contentEncoding;  // Content-Encoding without aws-chunked ("" if nothing is left)
};

// Returns the decoded, verified payload of `request`. x-amz-content-sha256
// (a hex hash) must match the body: XAmzContentSHA256Mismatch otherwise.
// When `checksumsDescribeBody` (PutObject, UploadPart, DeleteObjects), the
// x-amz-checksum-<alg> headers and Content-MD5 are verified against the body
// (BadDigest, InvalidDigest, InvalidRequest); otherwise they are ignored
// (CompleteMultipartUpload's headers describe the whole object). Malformed
// aws-chunked framing or a length other than X-Amz-Decoded-Content-Length:
// IncompleteBody.
S3Result<S3Payload> readPayload(const HttpRequest& request, bool checksumsDescribeBody);

}  // namespace cleanroom::mocks::aws
