// S3Store: the in-memory state of the S3 part of cleanroom-mock-aws — buckets,
// objects (bodies and metadata) and in-progress multipart uploads — and the
// rules S3 applies to them (bucket must exist and be empty to delete, parts
// listed in ascending order with matching ETags, multipart ETag
// "<md5 of the part MD5s>-<n>", listing with prefix/delimiter/paging).
// It knows nothing of HTTP or XML (s3_xml.h, s3_api.h). Thread-safe: every
// call takes one mutex and returns copies; no call blocks on anything else.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "s3_error.h"

namespace cleanroom::mocks::aws {

using S3Time = std::chrono::system_clock::time_point;

// What S3 returns about an object without its body.
struct S3ObjectInfo {
  std::string key;
  std::size_t size = 0;
  std::string etag;  // quoted, as on the wire: "\"<md5 hex>\"" or "\"<hex>-<n>\""
  std::string contentType = "binary/octet-stream";
  std::string contentEncoding;                    // "" when none (aws-chunked is never stored)
  std::map<std::string, std::string> metadata;    // x-amz-meta-<name> (name lower-case) -> value
  std::map<std::string, std::string> checksums;   // "crc32" -> base64 (composite multipart: "<b64>-<n>")
  std::string checksumType = "FULL_OBJECT";       // or "COMPOSITE" (multipart without FULL_OBJECT)
  std::optional<int> partsCount;                  // set for objects made by multipart upload
  S3Time lastModified{};
};

struct S3Object {
  S3ObjectInfo info;
  std::string body;
};

struct S3BucketInfo {
  std::string name;
  std::string region;
  S3Time created{};
};

// What the client fixes when it creates an object (PutObject, CreateMultipartUpload).
struct S3ObjectSpec {
  std::string contentType;  // "" = binary/octet-stream
  std::string contentEncoding;
  std::map<std::string, std::string> metadata;
  std::map<std::string, std::string> checksums;  // PutObject: verified body checksums
};

struct S3Part {
  int number = 0;
  std::size_t size = 0;
  std::string etag;  // quoted md5 of the part
  std::map<std::string, std::string> checksums;
  S3Time lastModified{};
};

struct S3UploadInfo {
  std::string uploadId;
  std::string bucket;
  std::string key;
  std::string checksumAlgorithm;  // from x-amz-checksum-algorithm, lower-case ("" if none)
  bool fullObjectChecksum = false;  // x-amz-checksum-type: FULL_OBJECT (else COMPOSITE)
  S3ObjectSpec spec;
  S3Time initiated{};
  std::vector<S3Part> parts;  // ascending part number
};

// One entry of CompleteMultipartUpload's part list.
struct S3CompletedPart {
  int number = 0;
  std::string etag;  // quoted or not
};

// ListObjects(V2) parameters. Items (keys, or common prefixes when a delimiter
// rolls keys up) come in key order; `after` resumes a listing after the item
// a previous page ended with.
struct S3ListQuery {
  std::string prefix;
  std::string delimiter;
  std::string startAfter;  // keys <= this are skipped (V2 start-after, V1 marker)
  std::string after;       // items <= this are skipped (decoded continuation token)
  int maxKeys = 1000;
};

struct S3ListPage {
  std::vector<S3ObjectInfo> contents;
  std::vector<std::string> commonPrefixes;
  bool truncated = false;
  std::string lastItem;  // the key or common prefix the page ends with ("" when empty)
};

// The S3 rule that every part but the last is at least 5 MiB.
inline constexpr std::size_t kMinPartSize = 5u * 1024u * 1024u;
inline constexpr int kMaxPartNumber = 10000;

class S3Store {
 public:
  explicit S3Store(std::string region);
  ~S3Store();
  S3Store(const S3Store&) = delete;
  S3Store& operator=(const S3Store&) = delete;

  // Creates an empty bucket in `region` ("" = the store's region).
  // BucketAlreadyOwnedByYou when it exists.
  S3Status createBucket(const std::string& bucket, const std::string& region);
  // Deletes an empty bucket (its uploads go with it). NoSuchBucket, BucketNotEmpty.
  S3Status deleteBucket(const std::string& bucket);
  // Returns the bucket, or NoSuchBucket.
  S3Result<S3BucketInfo> bucket(const std::string& bucket) const;
  // Returns every bucket, by name.
  std::vector<S3BucketInfo> buckets() const;

  // Stores (replaces) an object; returns its info. NoSuchBucket.
  S3Result<S3ObjectInfo> putObject(const std::string& bucket, const std::string& key, std::string body,
                                   S3ObjectSpec spec);
  // Returns the object with its body. NoSuchBucket, NoSuchKey.
  S3Result<S3Object> object(const std::string& bucket, const std::string& key) const;
  // Removes an object; success also when the key does not exist. NoSuchBucket.
  S3Status deleteObject(const std::string& bucket, const std::string& key);
  // Returns one page of the listing. NoSuchBucket.
  S3Result<S3ListPage> list(const std::string& bucket, const S3ListQuery& query) const;

  // Starts a multipart upload; returns it (with a new upload id). With
  // `fullObjectChecksum` the object's checksum will be that of its whole body,
  // else the composite "<checksum of part checksums>-<n>". NoSuchBucket.
  S3Result<S3UploadInfo> createUpload(const std::string& bucket, const std::string& key,
                                      std::string checksumAlgorithm, S3ObjectSpec spec,
                                      bool fullObjectChecksum = false);
  // Stores (replaces) part `partNumber` (1..10000) of the upload; returns it.
  // NoSuchBucket, NoSuchUpload (also when bucket/key differ from the upload's).
  S3Result<S3Part> putPart(const std::string& bucket, const std::string& key, const std::string& uploadId,
                           int partNumber, std::string body, std::map<std::string, std::string> checksums);
  // Joins the listed parts into the object and ends the upload; returns the
  // object's info. `wholeObjectChecksums` (algorithm -> base64, sent with the
  // completion) must match the joined body: BadDigest otherwise, and the
  // upload stays open. NoSuchBucket, NoSuchUpload, InvalidPart,
  // InvalidPartOrder, EntityTooSmall, MalformedXML (no parts).
  S3Result<S3ObjectInfo> completeUpload(const std::string& bucket, const std::string& key,
                                        const std::string& uploadId, const std::vector<S3CompletedPart>& parts,
                                        const std::map<std::string, std::string>& wholeObjectChecksums = {});
  // Drops the upload and its parts. NoSuchBucket, NoSuchUpload.
  S3Status abortUpload(const std::string& bucket, const std::string& key, const std::string& uploadId);
  // Returns the upload with its parts. NoSuchBucket, NoSuchUpload.
  S3Result<S3UploadInfo> upload(const std::string& bucket, const std::string& key,
                                const std::string& uploadId) const;
  // Returns the bucket's uploads in progress, by key then initiation. NoSuchBucket.
  S3Result<std::vector<S3UploadInfo>> uploads(const std::string& bucket) const;

  // Returns {"buckets": {name: {"region", "created", "objects": {key: {size,
  // etag, contentType, lastModified, checksums?, partsCount?}}, "uploads":
  // [{uploadId, key, initiated, parts: [{partNumber, size, etag}]}]}}} — no bodies.
  nlohmann::json state() const;
  // Drops every bucket, object and upload.
  void reset();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Returns `time` as S3's ISO-8601 UTC with milliseconds: "2026-11-23T17:45:01.000Z".
std::string s3IsoTime(S3Time time);
// Returns `time` as an RFC 1123 HTTP date: "Mon, 23 Nov 2026 17:45:01 GMT".
std::string s3HttpDate(S3Time time);

}  // namespace cleanroom::mocks::aws
