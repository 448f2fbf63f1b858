#include "s3_store.h"

#include <algorithm>
#include <ctime>
#include <mutex>
#include <random>

#include "s3_checksum.h"

namespace cleanroom::mocks::aws {
using namespace s3checksum;
namespace {

struct Upload {
  S3UploadInfo info;             // parts in `info` are rebuilt from `parts` on read
  std::map<int, S3Part> parts;
  std::map<int, std::string> bodies;
};

struct Bucket {
  S3BucketInfo info;
  std::map<std::string, S3Object> objects;  // by key: std::map keeps S3's byte order
  std::map<std::string, Upload> uploads;    // by upload id
};

std::string unquoted(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

// S3 keeps times to the second (listings show ".000Z").
S3Time storeNow() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// The item a key is listed as: the key, or the common prefix it rolls up into.
std::string listItemOf(const std::string& key, const S3ListQuery& query) {
  if (query.delimiter.empty()) return key;
  const auto found = key.find(query.delimiter, query.prefix.size());
  if (found == std::string::npos) return key;
  return key.substr(0, found + query.delimiter.size());
}

S3UploadInfo withParts(const Upload& upload) {
  S3UploadInfo info = upload.info;
  info.parts.clear();
  for (const auto& [number, part] : upload.parts) info.parts.push_back(part);
  return info;
}

// The multipart checksum S3 reports: the checksum of the concatenated raw
// part checksums, "-<n>"; nullopt when a part lacks one.
std::optional<std::string> compositeChecksum(const std::string& algorithm, const std::vector<const S3Part*>& parts) {
  std::string joined;
  for (const S3Part* part : parts) {
    auto found = part->checksums.find(algorithm);
    if (found == part->checksums.end()) return std::nullopt;
    auto raw = base64Decode(found->second);
    if (!raw) return std::nullopt;
    joined += *raw;
  }
  auto combined = flexibleChecksum(algorithm, joined);
  if (!combined) return std::nullopt;
  return *combined + "-" + std::to_string(parts.size());
}

nlohmann::json objectState(const S3ObjectInfo& info) {
  nlohmann::json object = {{"size", info.size},
                           {"etag", info.etag},
                           {"contentType", info.contentType},
                           {"lastModified", s3IsoTime(info.lastModified)}};
  if (!info.checksums.empty()) object["checksums"] = info.checksums;
  if (!info.metadata.empty()) object["metadata"] = info.metadata;
  if (info.partsCount) object["partsCount"] = *info.partsCount;
  return object;
}

nlohmann::json uploadState(const Upload& upload) {
  nlohmann::json parts = nlohmann::json::array();
  for (const auto& [number, part] : upload.parts) {
    parts.push_back({{"partNumber", number}, {"size", part.size}, {"etag", part.etag}});
  }
  return {{"uploadId", upload.info.uploadId},
          {"key", upload.info.key},
          {"initiated", s3IsoTime(upload.info.initiated)},
          {"parts", parts}};
}

}  // namespace

class S3Store::Impl {
 public:
  explicit Impl(std::string region) : region_(std::move(region)), random_(std::random_device{}()) {}

  // The bucket named `name`, or nullptr. Caller holds mutex_.
  Bucket* find(const std::string& name) {
    auto found = buckets_.find(name);
    return found == buckets_.end() ? nullptr : &found->second;
  }
  const Bucket* find(const std::string& name) const {
    auto found = buckets_.find(name);
    return found == buckets_.end() ? nullptr : &found->second;
  }
  // The upload `id` of `bucket` for `key`, or nullptr. Caller holds mutex_.
  Upload* findUpload(Bucket& bucket, const std::string& key, const std::string& id) {
    auto found = bucket.uploads.find(id);
    return found == bucket.uploads.end() || found->second.info.key != key ? nullptr : &found->second;
  }

  std::string newUploadId() {
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._";
    std::uniform_int_distribution<int> pick(0, 63);
    std::string id;
    for (int i = 0; i < 48; ++i) id.push_back(kAlphabet[pick(random_)]);
    return id;
  }

  mutable std::mutex mutex_;
  std::string region_;
  std::map<std::string, Bucket> buckets_;
  std::mt19937_64 random_;
};

S3Store::S3Store(std::string region) : impl_(std::make_unique<Impl>(std::move(region))) {}
S3Store::~S3Store() = default;

S3Status S3Store::createBucket(const std::string& bucket, const std::string& region) {
  std::lock_guard lock(impl_->mutex_);
  if (impl_->find(bucket)) return s3errors::bucketAlreadyOwnedByYou(bucket);
  Bucket& created = impl_->buckets_[bucket];
  created.info = {bucket, region.empty() ? impl_->region_ : region, storeNow()};
  return S3Done{};
}

S3Status S3Store::deleteBucket(const std::string& bucket) {
  std::lock_guard lock(impl_->mutex_);
  Bucket* found = impl_->find(bucket);
  if (!found) return s3errors::noSuchBucket(bucket);
  if (!found->objects.empty()) return s3errors::bucketNotEmpty(bucket);
  impl_->buckets_.erase(bucket);
  return S3Done{};
}

S3Result<S3BucketInfo> S3Store::bucket(const std::string& bucket) const {
  std::lock_guard lock(impl_->mutex_);
  const Bucket* found = impl_->find(bucket);
  if (!found) return s3errors::noSuchBucket(bucket);
  return found->info;
}

std::vector<S3BucketInfo> S3Store::buckets() const {
  std::lock_guard lock(impl_->mutex_);
  std::vector<S3BucketInfo> result;
  for (const auto& [name, bucket] : impl_->buckets_) result.push_back(bucket.info);
  return result;
}

S3Result<S3ObjectInfo> S3Store::putObject(const std::string& bucket, const std::string& key, std::string body,
                                          S3ObjectSpec spec) {
  S3Object object;
  object.info.key = key;
  object.info.size = body.size();
  object.info.etag = quoted(toHex(md5Digest(body)));
  if (!spec.contentType.empty()) object.info.contentType = spec.contentType;
  object.info.contentEncoding = std::move(spec.contentEncoding);
  object.info.metadata = std::move(spec.metadata);
  object.info.checksums = std::move(spec.checksums);
  object.info.lastModified = storeNow();
  object.body = std::move(body);
  std::lock_guard lock(impl_->mutex_);
  Bucket* found = impl_->find(bucket);
  if (!found) return s3errors::noSuchBucket(bucket);
  S3ObjectInfo info = object.info;
  found->objects[key] = std::move(object);
  return info;
}

S3Result<S3Object> S3Store::object(const std::string& bucket, const std::string& key) const {
  std::lock_guard lock(impl_->mutex_);
  const Bucket* found = impl_->find(bucket);
  if (!found) return s3errors::noSuchBucket(bucket);
  auto object = found->objects.find(key);
  if (object == found->objects.end()) return s3errors::noSuchKey(key);
  return object->second;
}

S3Status S3Store::deleteObject(const std::string& bucket, const std::string& key) {
  std::lock_guard lock(impl_->mutex_);
  Bucket* found = impl_->find(bucket);
  if (!found) return s3errors::noSuchBucket(bucket);
  found->objects.erase(key);
  return S3Done{};
}

S3Result<S3ListPage> S3Store::list(const std::string& bucket, const S3ListQuery& query) const {
  std::lock_guard lock(impl_->mutex_);
  const Bucket* found = impl_->find(bucket);
  if (!found) return s3errors::noSuchBucket(bucket);
  S3ListPage page;
  if (query.maxKeys <= 0) return page;  // nothing asked for: not truncated, or pagers would loop
  int count = 0;
  for (auto it = found->objects.lower_bound(query.prefix); it != found->objects.end(); ++it) {
    const std::string& key = it->first;
    if (key.compare(0, query.prefix.size(), query.prefix) != 0) break;
    if (!query.startAfter.empty() && key <= query.startAfter) continue;
    const std::string item = listItemOf(key, query);
    if (!query.after.empty() && item <= query.after) continue;
    if (item == page.lastItem) continue;  // another key of the same common prefix
    if (count >= query.maxKeys) {
      page.truncated = true;
      break;
    }
    if (item == key) {
      page.contents.push_back(it->second.info);
    } else {
      page.commonPrefixes.push_back(item);
    }
    page.lastItem = item;
    ++count;
  }
  return page;
}

S3Result<S3UploadInfo> S3Store::createUpload(const std::string& bucket, const std::string& key,
                                             std::string checksumAlgorithm, S3ObjectSpec spec,
                                             bool fullObjectChecksum) {
  std::lock_guard lock(impl_->mutex_);
  Bucket* found = impl_->find(bucket);
  if (!found) return s3errors::noSuchBucket(bucket);
  Upload upload;
  upload.info.uploadId = impl_->newUploadId();
  upload.info.bucket = bucket;
  upload.info.key = key;
  upload.info.checksumAlgorithm = std::move(checksumAlgorithm);
  upload.info.fullObjectChecksum = fullObjectChecksum;
  upload.info.spec = std::move(spec);
  upload.info.initiated = storeNow();
  S3UploadInfo info = upload.info;
  found->uploads[info.uploadId] = std::move(upload);
  return info;
}

S3Result<S3Part> S3Store::putPart(const std::string& bucket, const std::string& key, const std::string& uploadId,
                                  int partNumber, std::string body, std::map<std::string, std::string> checksums) {
  S3Part part;
  part.number = partNumber;
  part.size = body.size();
  part.etag = quoted(toHex(md5Digest(body)));
  part.checksums = std::move(checksums);
  part.lastModified = storeNow();
  std::lock_guard lock(impl_->mutex_);
  Bucket* found = impl_->find(bucket);
  if (!found) return s3errors::noSuchBucket(bucket);
  Upload* upload = impl_->findUpload(*found, key, uploadId);
  if (!upload) return s3errors::noSuchUpload(uploadId);
  upload->parts[partNumber] = part;
  upload->bodies[partNumber] = std::move(body);
  return part;
}

S3Result<S3ObjectInfo> S3Store::completeUpload(const std::string& bucket, const std::string& key,
                                               const std::string& uploadId,
                                               const std::vector<S3CompletedPart>& parts,
                                               const std::map<std::string, std::string>& wholeObjectChecksums) {
  std::lock_guard lock(impl_->mutex_);
  Bucket* found = impl_->find(bucket);
  if (!found) return s3errors::noSuchBucket(bucket);
  Upload* upload = impl_->findUpload(*found, key, uploadId);
  if (!upload) return s3errors::noSuchUpload(uploadId);
  if (parts.empty()) return s3errors::malformedXml("CompleteMultipartUpload needs at least one <Part>.");
  std::vector<const S3Part*> chosen;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0 && parts[i].number <= parts[i - 1].number) return s3errors::invalidPartOrder();
    auto part = upload->parts.find(parts[i].number);
    if (part == upload->parts.end() || unquoted(part->second.etag) != unquoted(parts[i].etag)) {
      return s3errors::invalidPart(parts[i].number, parts[i].etag);
    }
    chosen.push_back(&part->second);
  }
  for (std::size_t i = 0; i + 1 < chosen.size(); ++i) {
    if (chosen[i]->size < kMinPartSize) return s3errors::entityTooSmall(chosen[i]->number, chosen[i]->size);
  }
  S3Object object;
  std::string partDigests;
  for (const S3Part* part : chosen) {
    object.body += upload->bodies[part->number];
    partDigests += md5Digest(upload->bodies[part->number]);
  }
  for (const auto& [algorithm, sent] : wholeObjectChecksums) {
    auto computed = flexibleChecksum(algorithm, object.body);
    if (computed && *computed != sent) return s3errors::badDigest(algorithm, sent, *computed);
  }
  object.info.key = key;
  object.info.size = object.body.size();
  object.info.etag = quoted(toHex(md5Digest(partDigests)) + "-" + std::to_string(chosen.size()));
  const S3ObjectSpec& spec = upload->info.spec;
  if (!spec.contentType.empty()) object.info.contentType = spec.contentType;
  object.info.contentEncoding = spec.contentEncoding;
  object.info.metadata = spec.metadata;
  const std::string& algorithm = upload->info.checksumAlgorithm;
  if (!algorithm.empty() && upload->info.fullObjectChecksum) {
    if (auto checksum = flexibleChecksum(algorithm, object.body)) object.info.checksums[algorithm] = *checksum;
  } else if (!algorithm.empty()) {
    if (auto checksum = compositeChecksum(algorithm, chosen)) object.info.checksums[algorithm] = *checksum;
    object.info.checksumType = "COMPOSITE";
  }
  object.info.partsCount = static_cast<int>(chosen.size());
  object.info.lastModified = storeNow();
  S3ObjectInfo info = object.info;
  found->objects[key] = std::move(object);
  found->uploads.erase(uploadId);
  return info;
}

S3Status S3Store::abortUpload(const std::string& bucket, const std::string& key, const std::string& uploadId) {
  std::lock_guard lock(impl_->mutex_);
  Bucket* found = impl_->find(bucket);
  if (!found) return s3errors::noSuchBucket(bucket);
  if (!impl_->findUpload(*found, key, uploadId)) return s3errors::noSuchUpload(uploadId);
  found->uploads.erase(uploadId);
  return S3Done{};
}

S3Result<S3UploadInfo> S3Store::upload(const std::string& bucket, const std::string& key,
                                       const std::string& uploadId) const {
  std::lock_guard lock(impl_->mutex_);
  const Bucket* found = impl_->find(bucket);
  if (!found) return s3errors::noSuchBucket(bucket);
  auto upload = found->uploads.find(uploadId);
  if (upload == found->uploads.end() || upload->second.info.key != key) return s3errors::noSuchUpload(uploadId);
  return withParts(upload->second);
}

S3Result<std::vector<S3UploadInfo>> S3Store::uploads(const std::string& bucket) const {
  std::lock_guard lock(impl_->mutex_);
  const Bucket* found = impl_->find(bucket);
  if (!found) return s3errors::noSuchBucket(bucket);
  std::vector<S3UploadInfo> result;
  for (const auto& [id, upload] : found->uploads) result.push_back(withParts(upload));
  std::sort(result.begin(), result.end(), [](const S3UploadInfo& a, const S3UploadInfo& b) {
    return a.key != b.key ? a.key < b.key : a.initiated < b.initiated;
  });
  return result;
}

nlohmann::json S3Store::state() const {
  std::lock_guard lock(impl_->mutex_);
  nlohmann::json buckets = nlohmann::json::object();
  for (const auto& [name, bucket] : impl_->buckets_) {
    nlohmann::json objects = nlohmann::json::object();
    for (const auto& [key, object] : bucket.objects) objects[key] = objectState(object.info);
    nlohmann::json uploads = nlohmann::json::array();
    for (const auto& [id, upload] : bucket.uploads) uploads.push_back(uploadState(upload));
    buckets[name] = {{"region", bucket.info.region},
                     {"created", s3IsoTime(bucket.info.created)},
                     {"objects", objects},
                     {"uploads", uploads}};
  }
  return {{"buckets", buckets}};
}

void S3Store::reset() {
  std::lock_guard lock(impl_->mutex_);
  impl_->buckets_.clear();
}

std::string s3IsoTime(S3Time time) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count() % 1000;
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char withMillis[48];
  std::snprintf(withMillis, sizeof withMillis, "%s.%03dZ", text, static_cast<int>(millis < 0 ? 0 : millis));
  return withMillis;
}

std::string s3HttpDate(S3Time time) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[utc.tm_wday], utc.tm_mday,
                kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return text;
}

}  // namespace cleanroom::mocks::aws
