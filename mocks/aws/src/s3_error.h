// S3Error and S3Result<T>: the failures of the S3 part of cleanroom-mock-aws as
// values (protocol-notes §6.4). An S3Error is what S3 would answer — HTTP
// status, error code, message and the extra elements S3 puts into <Error>
// (BucketName, Key, UploadId, …); s3_xml.h renders it. The constructors below
// hold the exact codes and messages real S3 uses, so every caller says the same.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cleanroom::mocks::aws {

struct S3Error {
  int status = 500;
  std::string code;     // e.g. "NoSuchKey"
  std::string message;  // e.g. "The specified key does not exist."
  std::vector<std::pair<std::string, std::string>> fields;  // extra <Error> elements, in order
};

// Either a value or the S3Error that prevented it.
template <class T>
class S3Result {
 public:
  S3Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit on purpose
  S3Result(S3Error error) : error_(std::move(error)) {}    // NOLINT: implicit on purpose

  // Returns true if and only if there is a value.
  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  // Returns the value; only valid when ok().
  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  // Returns the error; only meaningful when !ok().
  const S3Error& error() const { return error_; }

 private:
  std::optional<T> value_;
  S3Error error_;
};

// An S3Result without a value: success, or the error.
struct S3Done {};
using S3Status = S3Result<S3Done>;

namespace s3errors {
// 404 NoSuchBucket with <BucketName>.
S3Error noSuchBucket(const std::string& bucket);
// 404 NoSuchKey with <Key>.
S3Error noSuchKey(const std::string& key);
// 404 NoSuchUpload with <UploadId>.
S3Error noSuchUpload(const std::string& uploadId);
// 409 BucketAlreadyOwnedByYou with <BucketName>.
S3Error bucketAlreadyOwnedByYou(const std::string& bucket);
// 409 BucketNotEmpty with <BucketName>.
S3Error bucketNotEmpty(const std::string& bucket);
// 400 InvalidBucketName with <BucketName>; `why` says which rule was broken.
S3Error invalidBucketName(const std::string& bucket, const std::string& why);
// 400 InvalidArgument with <ArgumentName> and <ArgumentValue>.
S3Error invalidArgument(const std::string& message, const std::string& name, const std::string& value);
// 400 InvalidRequest.
S3Error invalidRequest(const std::string& message);
// 400 MalformedXML; `detail` says what was wrong (appended to S3's sentence).
S3Error malformedXml(const std::string& detail);
// 400 BadDigest: the `algorithm` (e.g. "CRC32", "Content-MD5") checksum sent
// does not match the body; names both values.
S3Error badDigest(const std::string& algorithm, const std::string& sent, const std::string& computed);
// 400 InvalidDigest: the `header` value is not valid base64 of the right size.
S3Error invalidDigest(const std::string& header, const std::string& value);
// 400 XAmzContentSHA256Mismatch with both hashes.
S3Error contentSha256Mismatch(const std::string& sent, const std::string& computed);
// 400 IncompleteBody: the aws-chunked body does not match its declared length.
S3Error incompleteBody(const std::string& message);
// 400 InvalidPart: a part listed in CompleteMultipartUpload is missing or its ETag differs.
S3Error invalidPart(int partNumber, const std::string& etag);
// 400 InvalidPartOrder: part numbers in CompleteMultipartUpload are not ascending.
S3Error invalidPartOrder();
// 400 EntityTooSmall: a part other than the last is below 5 MiB.
S3Error entityTooSmall(int partNumber, std::size_t size);
// 416 InvalidRange with <ActualObjectSize>.
S3Error invalidRange(const std::string& range, std::size_t objectSize);
// 501 NotImplemented naming what the mock does not do.
S3Error notImplemented(const std::string& what);
// 405 MethodNotAllowed.
S3Error methodNotAllowed(const std::string& method, const std::string& resourceType);
}  // namespace s3errors

}  // namespace cleanroom::mocks::aws
