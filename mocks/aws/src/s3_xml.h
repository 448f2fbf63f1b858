// The wire format of the S3 part of cleanroom-mock-aws (protocol-notes §6):
// rendering S3's XML responses and <Error> bodies, reading the XML request
// bodies S3 takes (DeleteObjects, CompleteMultipartUpload,
// CreateBucketConfiguration) and the `encoding-type=url` key encoding of
// listings. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cleanroom/mocks/http_message.h"
#include "cleanroom/mocks/parse_result.h"
#include "s3_error.h"
#include "s3_store.h"

namespace cleanroom::mocks::aws {

inline constexpr std::string_view kS3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";

// Returns `key` as S3 writes it for encoding-type=url: every byte except
// A-Z a-z 0-9 - _ . ~ / as %XX (so ' ' -> %20, '+' -> %2B, UTF-8 bytes kept
// as escapes), which botocore's unquote_plus turns back into the key.
std::string s3UrlEncode(std::string_view key);

// One element of a parsed XML document: local name (namespace prefix
// dropped), the decoded text directly inside it, and child elements in order.
struct XmlElement {
  std::string name;
  std::string text;
  std::vector<XmlElement> children;

  // Returns the first child named `name`, or nullptr.
  const XmlElement* child(std::string_view name) const;
  // Returns the text of the first child named `name`, or "" when absent.
  std::string childText(std::string_view name) const;
  // Returns every child named `name`, in order.
  std::vector<const XmlElement*> childrenNamed(std::string_view name) const;
};

// Returns the root element of `document` (an optional <?xml …?> declaration,
// comments, CDATA and the five entities plus &#N;/&#xH; are understood;
// attributes are skipped), or an error whose message says where it broke.
ParseResult<XmlElement> parseXml(std::string_view document);

// Returns an S3 <Error> response: `status`, Content-Type application/xml,
// x-amz-request-id and x-amz-id-2, and the body
// <?xml…?><Error><Code/><Message/><field…/><RequestId/><HostId/></Error>.
// `fields` are extra elements in order (e.g. {"BucketName", "b"}). Used by the
// dispatcher for auth failures too (SignatureDoesNotMatch 403, AccessDenied
// 403, MissingAuthenticationToken 403). For HEAD requests pass the response
// through forHead() (S3 sends HEAD errors without a body).
HttpResponse s3Error(int status, std::string code, std::string message,
                     std::vector<std::pair<std::string, std::string>> fields = {});
// Returns s3Error() of `error`.
HttpResponse s3Error(const S3Error& error);
// Returns `response` without its body (and with Content-Length 0), as HEAD errors are.
HttpResponse forHead(HttpResponse response);
// Returns a response with `status`, the XML `body` (application/xml) and S3's request-id headers.
HttpResponse s3Xml(int status, std::string body);
// Adds x-amz-request-id (16 upper-case hex) and x-amz-id-2 (base64) to `response`.
void addRequestIds(HttpResponse& response);

// What a ListObjects (V1) or ListObjectsV2 response echoes besides the page.
struct S3ListingEcho {
  bool v2 = true;
  std::string bucket;
  std::string prefix;
  std::string delimiter;
  int maxKeys = 1000;
  bool urlEncoding = false;           // encoding-type=url was asked for
  std::string startAfter;             // V2
  std::string continuationToken;      // V2, as received
  std::string nextContinuationToken;  // V2, when truncated
  std::string marker;                 // V1
  std::string nextMarker;             // V1, when truncated and a delimiter was given
};

// <ListAllMyBucketsResult> with Owner, Buckets (Name, CreationDate, BucketRegion).
std::string listBucketsXml(const std::vector<S3BucketInfo>& buckets);
// <ListBucketResult> for V1 or V2 (see S3ListingEcho), keys URL-encoded when asked.
std::string listObjectsXml(const S3ListingEcho& echo, const S3ListPage& page);
// <LocationConstraint>: empty for us-east-1, else the region.
std::string locationXml(const std::string& region);
// <DeleteResult> with <Deleted><Key/></Deleted> (omitted when `quiet`) and <Error> entries.
std::string deleteResultXml(const std::vector<std::string>& deleted, const std::vector<std::pair<std::string, S3Error>>& errors,
                            bool quiet);
// <InitiateMultipartUploadResult> with Bucket, Key, UploadId.
std::string initiateUploadXml(const S3UploadInfo& upload);
// <CompleteMultipartUploadResult> with Location, Bucket, Key, ETag and Checksum<ALG>.
std::string completeUploadXml(const std::string& location, const std::string& bucket, const S3ObjectInfo& object);
// <ListPartsResult> with every part (no paging).
std::string listPartsXml(const S3UploadInfo& upload);
// <ListMultipartUploadsResult> with every upload (no paging).
std::string listUploadsXml(const std::string& bucket, const std::vector<S3UploadInfo>& uploads);
// <CopyObjectResult> with LastModified, ETag and Checksum<ALG>.
std::string copyObjectXml(const S3ObjectInfo& object);

}  // namespace cleanroom::mocks::aws
