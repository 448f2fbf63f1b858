#include "s3_error.h"

#include <cctype>

namespace cleanroom::mocks::aws::s3errors {

S3Error noSuchBucket(const std::string& bucket) {
  return {404, "NoSuchBucket", "The specified bucket does not exist", {{"BucketName", bucket}}};
}

S3Error noSuchKey(const std::string& key) {
  return {404, "NoSuchKey", "The specified key does not exist.", {{"Key", key}}};
}

S3Error noSuchUpload(const std::string& uploadId) {
  return {404, "NoSuchUpload",
          "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
          "aborted or completed.",
          {{"UploadId", uploadId}}};
}

S3Error bucketAlreadyOwnedByYou(const std::string& bucket) {
  return {409, "BucketAlreadyOwnedByYou",
          "Your previous request to create the named bucket succeeded and you already own it.",
          {{"BucketName", bucket}}};
}

S3Error bucketNotEmpty(const std::string& bucket) {
  return {409, "BucketNotEmpty", "The bucket you tried to delete is not empty", {{"BucketName", bucket}}};
}

S3Error invalidBucketName(const std::string& bucket, const std::string& why) {
  return {400, "InvalidBucketName", "The specified bucket is not valid: " + why, {{"BucketName", bucket}}};
}

S3Error invalidArgument(const std::string& message, const std::string& name, const std::string& value) {
  return {400, "InvalidArgument", message, {{"ArgumentName", name}, {"ArgumentValue", value}}};
}

S3Error invalidRequest(const std::string& message) { return {400, "InvalidRequest", message, {}}; }

S3Error malformedXml(const std::string& detail) {
  return {400, "MalformedXML",
          "The XML you provided was not well-formed or did not validate against our published schema. " + detail,
          {}};
}

S3Error badDigest(const std::string& algorithm, const std::string& sent, const std::string& computed) {
  std::string name = algorithm;
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name == "CONTENT-MD5") name = "Content-MD5";
  return {400, "BadDigest", "The " + name + " you specified did not match the calculated checksum.",
          {{"ExpectedDigest", sent}, {"CalculatedDigest", computed}}};
}

S3Error invalidDigest(const std::string& header, const std::string& value) {
  return {400, "InvalidDigest", "The " + header + " you specified is not valid (send the base64 of the digest).",
          {{"Header", header}, {"Value", value}}};
}

S3Error contentSha256Mismatch(const std::string& sent, const std::string& computed) {
  return {400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.",
          {{"ClientComputedContentSHA256", sent}, {"S3ComputedContentSHA256", computed}}};
}

S3Error incompleteBody(const std::string& message) { return {400, "IncompleteBody", message, {}}; }

S3Error invalidPart(int partNumber, const std::string& etag) {
  return {400, "InvalidPart",
          "One or more of the specified parts could not be found. The part may not have been uploaded, or the "
          "specified entity tag may not match the part's entity tag.",
          {{"PartNumber", std::to_string(partNumber)}, {"ETag", etag}}};
}

S3Error invalidPartOrder() {
  return {400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.",
          {}};
}

S3Error entityTooSmall(int partNumber, std::size_t size) {
  return {400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.",
          {{"PartNumber", std::to_string(partNumber)},
           {"ProposedSize", std::to_string(size)},
           {"MinSizeAllowed", "5242880"}}};
}

S3Error invalidRange(const std::string& range, std::size_t objectSize) {
  return {416, "InvalidRange", "The requested range is not satisfiable",
          {{"RangeRequested", range}, {"ActualObjectSize", std::to_string(objectSize)}}};
}

S3Error notImplemented(const std::string& what) {
  return {501, "NotImplemented", "cleanroom-mock-aws does not implement " + what + ".", {}};
}

S3Error methodNotAllowed(const std::string& method, const std::string& resourceType) {
  return {405, "MethodNotAllowed", "The specified method is not allowed against this resource.",
          {{"Method", method}, {"ResourceType", resourceType}}};
}

}  // namespace cleanroom::mocks::aws::s3errors
