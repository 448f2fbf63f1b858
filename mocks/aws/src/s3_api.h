// S3Api: the S3 REST-XML service of cleanroom-mock-aws (protocol-notes §6).
// The dispatcher hands it every request that is neither ECS JSON nor a query
// protocol call, after SigV4 verification; S3Api routes it by method, path
// and sub-resource (?uploads, ?uploadId, ?delete, ?list-type=2, ?location) to
// the operation, reads the body as S3 does (aws-chunked, x-amz-content-sha256,
// flexible checksums, Content-MD5: s3_payload.h) and answers in S3's shape
// (s3_xml.h), errors included. State lives in S3Store (s3_store.h).
//
// Operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket,
// GetBucketLocation, ListObjects (V1), ListObjectsV2, PutObject, CopyObject,
// GetObject (Range, x-amz-checksum-mode), HeadObject, DeleteObject,
// DeleteObjects, CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
// AbortMultipartUpload, ListParts, ListMultipartUploads. Anything else: 501
// NotImplemented in S3's error shape.
//
// Thread-safe; no call blocks beyond one mutex of the store.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cleanroom/mocks/http_message.h"
#include "s3_store.h"
#include "s3_xml.h"  // s3Error(): S3-shaped errors for the dispatcher's auth failures

namespace cleanroom::mocks::aws {

class S3Api {
 public:
  // `region` is the mock's region: new buckets without a LocationConstraint
  // live there, HeadBucket reports it.
  explicit S3Api(std::string region);

  // Returns S3's answer to `request`. `bucketFromHost` is the bucket named by
  // a virtual-hosted Host header ("" for path-style requests, where the first
  // path segment is the bucket). HEAD answers never carry a body.
  HttpResponse handle(const HttpRequest& request, const std::string& bucketFromHost);

  // Returns the state as JSON: buckets -> objects (size, etag, contentType,
  // lastModified; no bodies) and uploads in progress (see S3Store::state()).
  nlohmann::json state() const;
  // Drops every bucket, object and upload.
  void reset();

  // Returns the stored body of `bucket`/`key`, or nullopt when there is none
  // (for tests of code that uploads logs).
  std::optional<std::string> objectBody(const std::string& bucket, const std::string& key) const;
  // Returns the store (read or seed state directly in tests).
  S3Store& store() { return store_; }

 private:
  S3Store store_;
};

}  // namespace cleanroom::mocks::aws
