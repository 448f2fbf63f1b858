#include "s3_api.h"

#include <array>
#include <cctype>
#include <charconv>

#include "s3_checksum.h"
#include "s3_payload.h"

namespace cleanroom::mocks::aws {
using namespace s3checksum;
namespace {

constexpr std::string_view kMetadataPrefix = "x-amz-meta-";
constexpr int kMaxDeleteKeys = 1000;

// Sub-resources S3 has and this mock does not implement.
constexpr std::array<std::string_view, 24> kUnimplementedSubresources = {
    "acl",       "policy",        "versioning",   "tagging",         "cors",          "lifecycle",
    "encryption", "ownershipControls", "publicAccessBlock", "versions", "website",   "logging",
    "notification", "replication", "accelerate",  "requestPayment",  "object-lock",   "analytics",
    "metrics",   "inventory",     "retention",    "legal-hold",      "attributes",    "restore"};

// One request as the operations see it.
struct S3Call {
  const HttpRequest& request;
  std::string bucket;  // "" = service level (ListBuckets)
  std::string key;     // "" = bucket level
  bool virtualHosted = false;

  bool has(const std::string& name) const { return request.query.count(name) > 0; }
  std::string query(const std::string& name) const { return request.queryValue(name).value_or(""); }
  bool head() const { return request.method == "HEAD"; }
};

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::optional<long long> parseInteger(std::string_view text) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

HttpResponse errorFor(const S3Call& call, const S3Error& error) {
  HttpResponse response = s3Error(error);
  return call.head() ? forHead(std::move(response)) : response;
}

HttpResponse emptyOk(int status) {
  HttpResponse response = HttpResponse::empty(status);
  addRequestIds(response);
  return response;
}

std::optional<std::string> unimplementedSubresource(const S3Call& call) {
  for (std::string_view name : kUnimplementedSubresources) {
    if (call.has(std::string(name))) return std::string(name);
  }
  return std::nullopt;
}

// The object settings a PutObject / CreateMultipartUpload / CopyObject(REPLACE) request sends.
S3ObjectSpec specFromHeaders(const HttpRequest& request) {
  S3ObjectSpec spec;
  spec.contentType = request.headers.value("Content-Type");
  for (const auto& [name, value] : request.headers) {
    const std::string lowered = lower(name);
    if (lowered.rfind(kMetadataPrefix, 0) == 0) spec.metadata[lowered.substr(kMetadataPrefix.size())] = value;
  }
  return spec;
}

void addChecksumHeaders(HttpResponse& response, const std::map<std::string, std::string>& checksums) {
  for (const auto& [algorithm, value] : checksums) response.headers.set("x-amz-checksum-" + algorithm, value);
}

void addObjectHeaders(HttpResponse& response, const S3ObjectInfo& info) {
  response.headers.set("Content-Type", info.contentType);
  response.headers.set("ETag", info.etag);
  response.headers.set("Last-Modified", s3HttpDate(info.lastModified));
  response.headers.set("Accept-Ranges", "bytes");
  if (!info.contentEncoding.empty()) response.headers.set("Content-Encoding", info.contentEncoding);
  for (const auto& [name, value] : info.metadata) response.headers.set(std::string(kMetadataPrefix) + name, value);
}

// --- bucket names -----------------------------------------------------------

std::optional<std::string> bucketNameProblem(const std::string& name) {
  if (name.size() < 3 || name.size() > 63) return "a bucket name has 3 to 63 characters";
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
          c == '-')) {
      return "use only lower-case letters, digits, '.' and '-'";
    }
  }
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(name.front()) || !alnum(name.back())) return "begin and end the name with a letter or digit";
  return std::nullopt;
}

// --- service and bucket operations ---------------------------------------

HttpResponse listBuckets(S3Store& store) { return s3Xml(200, listBucketsXml(store.buckets())); }

HttpResponse createBucket(S3Store& store, const S3Call& call) {
  if (auto problem = bucketNameProblem(call.bucket)) return errorFor(call, s3errors::invalidBucketName(call.bucket, *problem));
  auto payload = readPayload(call.request, false);
  if (!payload) return errorFor(call, payload.error());
  std::string region;
  if (!payload.value().data.empty()) {
    auto document = parseXml(payload.value().data);
    if (!document) return errorFor(call, s3errors::malformedXml(document.message()));
    region = document.value().childText("LocationConstraint");
  }
  if (auto status = store.createBucket(call.bucket, region); !status) return errorFor(call, status.error());
  HttpResponse response = emptyOk(200);
  response.headers.set("Location", "/" + call.bucket);
  return response;
}

HttpResponse deleteBucket(S3Store& store, const S3Call& call) {
  if (auto status = store.deleteBucket(call.bucket); !status) return errorFor(call, status.error());
  return emptyOk(204);
}

HttpResponse headBucket(S3Store& store, const S3Call& call) {
  auto bucket = store.bucket(call.bucket);
  if (!bucket) return errorFor(call, bucket.error());
  HttpResponse response = emptyOk(200);
  response.headers.set("x-amz-bucket-region", bucket.value().region);
  response.headers.set("Content-Type", "application/xml");
  return response;
}

HttpResponse bucketLocation(S3Store& store, const S3Call& call) {
  auto bucket = store.bucket(call.bucket);
  if (!bucket) return errorFor(call, bucket.error());
  return s3Xml(200, locationXml(bucket.value().region));
}

// A listing request: what to list and what the response echoes.
struct ListingRequest {
  S3ListingEcho echo;
  S3ListQuery query;
};

// Returns the listing parameters of a ListObjects (V1) / ListObjectsV2 request.
S3Result<ListingRequest> parseListing(const S3Call& call) {
  ListingRequest listing;
  S3ListingEcho& echo = listing.echo;
  echo.v2 = call.query("list-type") == "2";
  echo.bucket = call.bucket;
  echo.prefix = call.query("prefix");
  echo.delimiter = call.query("delimiter");
  if (call.has("encoding-type") && lower(call.query("encoding-type")) != "url") {
    return s3errors::invalidArgument("Invalid Encoding Method specified in Request", "encoding-type",
                                     call.query("encoding-type"));
  }
  echo.urlEncoding = call.has("encoding-type");
  if (call.has("max-keys")) {
    auto maxKeys = parseInteger(call.query("max-keys"));
    if (!maxKeys || *maxKeys < 0 || *maxKeys > 2147483647) {
      return s3errors::invalidArgument("Provided max-keys not an integer or within integer range", "max-keys",
                                       call.query("max-keys"));
    }
    echo.maxKeys = static_cast<int>(*maxKeys);
  }
  listing.query = {echo.prefix, echo.delimiter, "", "", std::min(echo.maxKeys, 1000)};
  if (!echo.v2) {
    echo.marker = call.query("marker");
    listing.query.after = echo.marker;
    return listing;
  }
  echo.startAfter = call.query("start-after");
  echo.continuationToken = call.query("continuation-token");
  listing.query.startAfter = echo.startAfter;
  if (call.has("continuation-token")) {
    auto after = base64Decode(echo.continuationToken);
    if (!after || after->empty()) {
      return s3errors::invalidArgument("The continuation token provided is incorrect", "continuation-token",
                                       echo.continuationToken);
    }
    listing.query.after = *after;
  }
  return listing;
}

HttpResponse listObjects(S3Store& store, const S3Call& call) {
  auto listing = parseListing(call);
  if (!listing) return errorFor(call, listing.error());
  S3ListingEcho& echo = listing.value().echo;
  auto page = store.list(call.bucket, listing.value().query);
  if (!page) return errorFor(call, page.error());
  if (page.value().truncated) {
    // The token is the last item of this page: the next page starts after it.
    echo.nextContinuationToken = echo.v2 ? base64Encode(page.value().lastItem) : "";
    echo.nextMarker = !echo.v2 && !echo.delimiter.empty() ? page.value().lastItem : "";
  }
  return s3Xml(200, listObjectsXml(echo, page.value()));
}

HttpResponse deleteObjects(S3Store& store, const S3Call& call) {
  auto payload = readPayload(call.request, true);
  if (!payload) return errorFor(call, payload.error());
  if (payload.value().checksums.empty() && !call.request.headers.has("Content-MD5")) {
    return errorFor(call, s3errors::invalidRequest(
                              "Missing required header for this request: Content-MD5 (or an x-amz-checksum-* header)"));
  }
  auto document = parseXml(payload.value().data);
  if (!document) return errorFor(call, s3errors::malformedXml(document.message()));
  if (document.value().name != "Delete") return errorFor(call, s3errors::malformedXml("The root element must be <Delete>."));
  const auto objects = document.value().childrenNamed("Object");
  if (objects.empty() || objects.size() > kMaxDeleteKeys) {
    return errorFor(call, s3errors::malformedXml("<Delete> takes 1 to 1000 <Object> elements."));
  }
  const bool quiet = lower(document.value().childText("Quiet")) == "true";
  std::vector<std::string> deleted;
  for (const XmlElement* object : objects) {
    const XmlElement* key = object->child("Key");
    if (!key) return errorFor(call, s3errors::malformedXml("Every <Object> needs a <Key>."));
    if (auto status = store.deleteObject(call.bucket, key->text); !status) return errorFor(call, status.error());
    deleted.push_back(key->text);
  }
  return s3Xml(200, deleteResultXml(deleted, {}, quiet));
}

HttpResponse listUploads(S3Store& store, const S3Call& call) {
  auto uploads = store.uploads(call.bucket);
  if (!uploads) return errorFor(call, uploads.error());
  return s3Xml(200, listUploadsXml(call.bucket, uploads.value()));
}

// --- object operations --------------------------------------------------------

HttpResponse putObject(S3Store& store, const S3Call& call) {
  auto payload = readPayload(call.request, true);
  if (!payload) return errorFor(call, payload.error());
  S3ObjectSpec spec = specFromHeaders(call.request);
  spec.contentEncoding = payload.value().contentEncoding;
  spec.checksums = payload.value().checksums;
  auto info = store.putObject(call.bucket, call.key, std::move(payload.value().data), std::move(spec));
  if (!info) return errorFor(call, info.error());
  HttpResponse response = emptyOk(200);
  response.headers.set("ETag", info.value().etag);
  addChecksumHeaders(response, info.value().checksums);
  return response;
}

// Returns bucket and key of an x-amz-copy-source value ("[/]bucket/key[?versionId=…]", URL-encoded).
std::optional<std::pair<std::string, std::string>> copySource(std::string_view source) {
  source = source.substr(0, source.find('?'));
  const std::string decoded = percentDecode(source, false);
  std::string_view path = decoded;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  const auto slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == path.size()) return std::nullopt;
  return std::make_pair(std::string(path.substr(0, slash)), std::string(path.substr(slash + 1)));
}

HttpResponse copyObject(S3Store& store, const S3Call& call) {
  const std::string sourceHeader = call.request.headers.value("x-amz-copy-source");
  auto source = copySource(sourceHeader);
  if (!source) {
    return errorFor(call, s3errors::invalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                                                    "x-amz-copy-source", sourceHeader));
  }
  auto original = store.object(source->first, source->second);
  if (!original) return errorFor(call, original.error());
  const bool replace = lower(call.request.headers.value("x-amz-metadata-directive", "COPY")) == "replace";
  if (!replace && source->first == call.bucket && source->second == call.key) {
    return errorFor(call, s3errors::invalidRequest(
                              "This copy request is illegal because it is trying to copy an object to itself without "
                              "changing the object's metadata, storage class, website redirect location or encryption "
                              "attributes."));
  }
  S3ObjectSpec spec;
  const S3ObjectInfo& from = original.value().info;
  if (replace) {
    spec = specFromHeaders(call.request);
  } else {
    spec.contentType = from.contentType;
    spec.contentEncoding = from.contentEncoding;
    spec.metadata = from.metadata;
  }
  for (const auto& [algorithm, value] : from.checksums) {
    if (auto full = flexibleChecksum(algorithm, original.value().body)) spec.checksums[algorithm] = *full;
  }
  auto info = store.putObject(call.bucket, call.key, std::move(original.value().body), std::move(spec));
  if (!info) return errorFor(call, info.error());
  return s3Xml(200, copyObjectXml(info.value()));
}

struct ByteRange {
  std::size_t first = 0;
  std::size_t last = 0;  // inclusive
};

// Returns the range of "bytes=a-b" / "bytes=a-" / "bytes=-n" within `size`;
// nullopt when unsatisfiable. `ignored` is set for forms S3 ignores (several ranges, junk).
std::optional<ByteRange> parseRange(std::string_view header, std::size_t size, bool& ignored) {
  ignored = true;
  if (header.rfind("bytes=", 0) != 0 || header.find(',') != std::string_view::npos) return std::nullopt;
  header.remove_prefix(6);
  const auto dash = header.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto first = parseInteger(header.substr(0, dash));
  auto last = parseInteger(header.substr(dash + 1));
  if ((!first && dash != 0) || (!last && dash + 1 != header.size()) || (!first && !last)) return std::nullopt;
  ignored = false;
  if (!first) {  // suffix: the last N bytes
    if (*last <= 0 || size == 0) return std::nullopt;
    const std::size_t count = std::min<std::size_t>(static_cast<std::size_t>(*last), size);
    return ByteRange{size - count, size - 1};
  }
  if (*first < 0 || static_cast<std::size_t>(*first) >= size) return std::nullopt;
  std::size_t end = last ? static_cast<std::size_t>(*last) : size - 1;
  if (last && *last < *first) {
    ignored = true;
    return std::nullopt;
  }
  return ByteRange{static_cast<std::size_t>(*first), std::min(end, size - 1)};
}

HttpResponse getObject(S3Store& store, const S3Call& call) {
  auto found = store.object(call.bucket, call.key);
  if (!found) return errorFor(call, found.error());
  S3Object object = std::move(found).value();
  HttpResponse response = emptyOk(200);
  addObjectHeaders(response, object.info);
  std::optional<ByteRange> range;
  if (auto header = call.request.headers.get("Range")) {
    bool ignored = false;
    range = parseRange(*header, object.info.size, ignored);
    if (!range && !ignored) return errorFor(call, s3errors::invalidRange(*header, object.info.size));
  }
  if (range) {
    response.status = 206;
    response.headers.set("Content-Range", "bytes " + std::to_string(range->first) + "-" + std::to_string(range->last) +
                                              "/" + std::to_string(object.info.size));
    object.body = object.body.substr(range->first, range->last - range->first + 1);
  } else if (lower(call.request.headers.value("x-amz-checksum-mode")) == "enabled") {
    // Only whole-object reads carry the checksum: botocore would check it against a partial body.
    addChecksumHeaders(response, object.info.checksums);
    if (!object.info.checksums.empty()) response.headers.set("x-amz-checksum-type", object.info.checksumType);
  }
  if (object.info.partsCount && !range) {
    response.headers.set("x-amz-mp-parts-count", std::to_string(*object.info.partsCount));
  }
  if (call.head()) {
    response.headers.set("Content-Length", std::to_string(object.body.size()));
  } else {
    response.body = std::move(object.body);
  }
  return response;
}

HttpResponse deleteObject(S3Store& store, const S3Call& call) {
  if (auto status = store.deleteObject(call.bucket, call.key); !status) return errorFor(call, status.error());
  return emptyOk(204);
}

// --- multipart upload ---------------------------------------------------------

HttpResponse createUpload(S3Store& store, const S3Call& call) {
  auto payload = readPayload(call.request, false);
  if (!payload) return errorFor(call, payload.error());
  const std::string algorithm = lower(call.request.headers.value("x-amz-checksum-algorithm"));
  if (!algorithm.empty() && flexibleChecksumSize(algorithm) == 0) {
    return errorFor(call, s3errors::invalidArgument("Checksum algorithm provided is unsupported.",
                                                    "x-amz-checksum-algorithm", algorithm));
  }
  const bool fullObject = lower(call.request.headers.value("x-amz-checksum-type")) == "full_object";
  auto upload = store.createUpload(call.bucket, call.key, algorithm, specFromHeaders(call.request), fullObject);
  if (!upload) return errorFor(call, upload.error());
  HttpResponse response = s3Xml(200, initiateUploadXml(upload.value()));
  if (!algorithm.empty()) {
    response.headers.set("x-amz-checksum-algorithm", call.request.headers.value("x-amz-checksum-algorithm"));
    response.headers.set("x-amz-checksum-type", fullObject ? "FULL_OBJECT" : "COMPOSITE");
  }
  return response;
}

std::optional<int> partNumberOf(const std::string& text) {
  auto number = parseInteger(text);
  if (!number || *number < 1 || *number > kMaxPartNumber) return std::nullopt;
  return static_cast<int>(*number);
}

HttpResponse uploadPart(S3Store& store, const S3Call& call) {
  auto number = partNumberOf(call.query("partNumber"));
  if (!number) {
    return errorFor(call, s3errors::invalidArgument("Part number must be an integer between 1 and 10000, inclusive",
                                                    "partNumber", call.query("partNumber")));
  }
  if (call.request.headers.has("x-amz-copy-source")) return errorFor(call, s3errors::notImplemented("UploadPartCopy"));
  auto payload = readPayload(call.request, true);
  if (!payload) return errorFor(call, payload.error());
  auto part = store.putPart(call.bucket, call.key, call.query("uploadId"), *number,
                            std::move(payload.value().data), payload.value().checksums);
  if (!part) return errorFor(call, part.error());
  HttpResponse response = emptyOk(200);
  response.headers.set("ETag", part.value().etag);
  addChecksumHeaders(response, part.value().checksums);
  return response;
}

std::string objectLocation(const S3Call& call) {
  const std::string host = call.request.headers.value("Host", "localhost");
  if (call.virtualHosted) return "http://" + host + "/" + s3UrlEncode(call.key);
  return "http://" + host + "/" + call.bucket + "/" + s3UrlEncode(call.key);
}

HttpResponse completeUpload(S3Store& store, const S3Call& call) {
  auto payload = readPayload(call.request, false);
  if (!payload) return errorFor(call, payload.error());
  auto document = parseXml(payload.value().data);
  if (!document) return errorFor(call, s3errors::malformedXml(document.message()));
  if (document.value().name != "CompleteMultipartUpload") {
    return errorFor(call, s3errors::malformedXml("The root element must be <CompleteMultipartUpload>."));
  }
  std::vector<S3CompletedPart> parts;
  for (const XmlElement* part : document.value().childrenNamed("Part")) {
    auto number = partNumberOf(part->childText("PartNumber"));
    if (!number) return errorFor(call, s3errors::malformedXml("Every <Part> needs a <PartNumber> from 1 to 10000."));
    parts.push_back({*number, part->childText("ETag")});
  }
  // x-amz-checksum-<alg> on the completion describes the whole object, not this XML.
  std::map<std::string, std::string> wholeObject;
  for (const auto& [name, value] : call.request.headers) {
    const std::string lowered = lower(name);
    if (lowered.rfind("x-amz-checksum-", 0) != 0) continue;
    const std::string algorithm = lowered.substr(15);
    if (flexibleChecksumSize(algorithm) > 0 && value.find('-') == std::string::npos) wholeObject[algorithm] = value;
  }
  auto info = store.completeUpload(call.bucket, call.key, call.query("uploadId"), parts, wholeObject);
  if (!info) return errorFor(call, info.error());
  return s3Xml(200, completeUploadXml(objectLocation(call), call.bucket, info.value()));
}

HttpResponse abortUpload(S3Store& store, const S3Call& call) {
  if (auto status = store.abortUpload(call.bucket, call.key, call.query("uploadId")); !status) {
    return errorFor(call, status.error());
  }
  return emptyOk(204);
}

HttpResponse listParts(S3Store& store, const S3Call& call) {
  auto upload = store.upload(call.bucket, call.key, call.query("uploadId"));
  if (!upload) return errorFor(call, upload.error());
  return s3Xml(200, listPartsXml(upload.value()));
}

// --- routing --------------------------------------------------------------------

HttpResponse bucketOperation(S3Store& store, const S3Call& call) {
  const std::string& method = call.request.method;
  if (auto subresource = unimplementedSubresource(call)) {
    return errorFor(call, s3errors::notImplemented("the bucket sub-resource ?" + *subresource));
  }
  if (method == "PUT") return createBucket(store, call);
  if (method == "DELETE") return deleteBucket(store, call);
  if (method == "HEAD") return headBucket(store, call);
  if (method == "GET" && call.has("location")) return bucketLocation(store, call);
  if (method == "GET" && call.has("uploads")) return listUploads(store, call);
  if (method == "GET") return listObjects(store, call);
  if (method == "POST" && call.has("delete")) return deleteObjects(store, call);
  return errorFor(call, s3errors::methodNotAllowed(method, "BUCKET"));
}

HttpResponse objectOperation(S3Store& store, const S3Call& call) {
  const std::string& method = call.request.method;
  if (auto subresource = unimplementedSubresource(call)) {
    return errorFor(call, s3errors::notImplemented("the object sub-resource ?" + *subresource));
  }
  const bool upload = call.has("uploadId");
  if (method == "PUT" && upload) return uploadPart(store, call);
  if (method == "PUT" && call.request.headers.has("x-amz-copy-source")) return copyObject(store, call);
  if (method == "PUT") return putObject(store, call);
  if (method == "GET" && upload) return listParts(store, call);
  if (method == "GET" || method == "HEAD") return getObject(store, call);
  if (method == "DELETE" && upload) return abortUpload(store, call);
  if (method == "DELETE") return deleteObject(store, call);
  if (method == "POST" && call.has("uploads")) return createUpload(store, call);
  if (method == "POST" && upload) return completeUpload(store, call);
  return errorFor(call, s3errors::methodNotAllowed(method, "OBJECT"));
}

}  // namespace

S3Api::S3Api(std::string region) : store_(std::move(region)) {}

HttpResponse S3Api::handle(const HttpRequest& request, const std::string& bucketFromHost) {
  S3Call call{request, bucketFromHost, "", !bucketFromHost.empty()};
  std::string_view path = request.path;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (call.virtualHosted) {
    call.key = std::string(path);
  } else {
    const auto slash = path.find('/');
    call.bucket = std::string(path.substr(0, slash));
    call.key = slash == std::string_view::npos ? "" : std::string(path.substr(slash + 1));
  }
  if (call.bucket.empty()) {
    if (request.method == "GET") return listBuckets(store_);
    return errorFor(call, s3errors::methodNotAllowed(request.method, "SERVICE"));
  }
  if (call.key.empty()) return bucketOperation(store_, call);
  return objectOperation(store_, call);
}

nlohmann::json S3Api::state() const { return store_.state(); }

void S3Api::reset() { store_.reset(); }

std::optional<std::string> S3Api::objectBody(const std::string& bucket, const std::string& key) const {
  auto object = store_.object(bucket, key);
  if (!object) return std::nullopt;
  return std::move(object).value().body;
}

}  // namespace cleanroom::mocks::aws
