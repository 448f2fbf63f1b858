#include "s3_store.h"

#include <gtest/gtest.h>

#include "s3_checksum.h"

namespace cleanroom::mocks::aws {
namespace {

std::vector<std::string> keysOf(const S3ListPage& page) {
  std::vector<std::string> keys;
  for (const auto& object : page.contents) keys.push_back(object.key);
  return keys;
}

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store.createBucket("b", "").ok());
    for (const char* key : {"a.txt", "dir/1", "dir/2", "dir/sub/3", "e.txt", "zz/9"}) {
      ASSERT_TRUE(store.putObject("b", key, key, {}).ok());
    }
  }

  S3Store store{"us-east-1"};
};

TEST_F(S3StoreTest, BucketsAreUniqueAndMustBeEmptyToDelete) {
  EXPECT_EQ(store.createBucket("b", "").error().code, "BucketAlreadyOwnedByYou");
  EXPECT_EQ(store.deleteBucket("b").error().code, "BucketNotEmpty");
  EXPECT_EQ(store.deleteBucket("nope").error().code, "NoSuchBucket");
  ASSERT_TRUE(store.createBucket("c", "eu-west-1").ok());
  EXPECT_EQ(store.bucket("c").value().region, "eu-west-1");
  EXPECT_EQ(store.bucket("b").value().region, "us-east-1");
  EXPECT_TRUE(store.deleteBucket("c").ok());
  EXPECT_EQ(store.buckets().size(), 1u);
}

TEST_F(S3StoreTest, PutObjectComputesTheQuotedMd5ETag) {
  auto info = store.putObject("b", "k", "hello world", {});
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info.value().etag, "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
  EXPECT_EQ(info.value().contentType, "binary/octet-stream");
  EXPECT_EQ(store.object("b", "k").value().body, "hello world");
  EXPECT_EQ(store.object("b", "missing").error().code, "NoSuchKey");
  EXPECT_EQ(store.putObject("nope", "k", "", {}).error().code, "NoSuchBucket");
}

TEST_F(S3StoreTest, DeleteObjectSucceedsForMissingKeys) {
  EXPECT_TRUE(store.deleteObject("b", "a.txt").ok());
  EXPECT_TRUE(store.deleteObject("b", "a.txt").ok());
  EXPECT_EQ(store.deleteObject("nope", "a.txt").error().code, "NoSuchBucket");
}

TEST_F(S3StoreTest, ListsWithPrefixAndDelimiter) {
  S3ListQuery query;
  query.delimiter = "/";
  auto page = store.list("b", query);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(keysOf(page.value()), (std::vector<std::string>{"a.txt", "e.txt"}));
  EXPECT_EQ(page.value().commonPrefixes, (std::vector<std::string>{"dir/", "zz/"}));
  query.prefix = "dir/";
  page = store.list("b", query);
  EXPECT_EQ(keysOf(page.value()), (std::vector<std::string>{"dir/1", "dir/2"}));
  EXPECT_EQ(page.value().commonPrefixes, (std::vector<std::string>{"dir/sub/"}));
}

TEST_F(S3StoreTest, PagesResumeAfterTheLastItemIncludingCommonPrefixes) {
  S3ListQuery query;
  query.delimiter = "/";
  query.maxKeys = 2;
  std::vector<std::string> items;
  int pages = 0;
  for (;;) {
    auto page = store.list("b", query);
    ASSERT_TRUE(page.ok());
    ++pages;
    for (const auto& key : keysOf(page.value())) items.push_back(key);
    for (const auto& prefix : page.value().commonPrefixes) items.push_back(prefix);
    if (!page.value().truncated) break;
    query.after = page.value().lastItem;
  }
  std::sort(items.begin(), items.end());
  EXPECT_EQ(items, (std::vector<std::string>{"a.txt", "dir/", "e.txt", "zz/"}));
  EXPECT_EQ(pages, 2);
}

TEST_F(S3StoreTest, StartAfterSkipsKeysUpToIt) {
  S3ListQuery query;
  query.startAfter = "dir/2";
  EXPECT_EQ(keysOf(store.list("b", query).value()), (std::vector<std::string>{"dir/sub/3", "e.txt", "zz/9"}));
}

TEST_F(S3StoreTest, MultipartJoinsPartsAndComputesTheMultipartETag) {
  const std::string part1(kMinPartSize, 'a');
  const std::string part2 = "tail";
  auto upload = store.createUpload("b", "big", "crc32", {});
  ASSERT_TRUE(upload.ok());
  const std::string id = upload.value().uploadId;
  // Out of order, as aws s3 cp uploads them concurrently.
  auto second = store.putPart("b", "big", id, 2, part2, {{"crc32", *s3checksum::flexibleChecksum("crc32", part2)}});
  auto first = store.putPart("b", "big", id, 1, part1, {{"crc32", *s3checksum::flexibleChecksum("crc32", part1)}});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(store.upload("b", "big", id).value().parts.size(), 2u);
  auto info = store.completeUpload("b", "big", id, {{1, first.value().etag}, {2, second.value().etag}});
  ASSERT_TRUE(info.ok()) << info.error().message;
  const std::string digests = s3checksum::md5Digest(part1) + s3checksum::md5Digest(part2);
  EXPECT_EQ(info.value().etag, "\"" + s3checksum::toHex(s3checksum::md5Digest(digests)) + "-2\"");
  const std::string crcs = *s3checksum::base64Decode(*s3checksum::flexibleChecksum("crc32", part1)) +
                           *s3checksum::base64Decode(*s3checksum::flexibleChecksum("crc32", part2));
  EXPECT_EQ(info.value().checksums.at("crc32"), *s3checksum::flexibleChecksum("crc32", crcs) + "-2");
  EXPECT_EQ(store.object("b", "big").value().body, part1 + part2);
  EXPECT_EQ(store.upload("b", "big", id).error().code, "NoSuchUpload");
}

TEST_F(S3StoreTest, CompleteChecksTheListedParts) {
  const std::string id = store.createUpload("b", "k", "", {}).value().uploadId;
  const std::string small = "small";
  auto part = store.putPart("b", "k", id, 1, small, {});
  store.putPart("b", "k", id, 2, small, {});
  EXPECT_EQ(store.completeUpload("b", "k", id, {}).error().code, "MalformedXML");
  EXPECT_EQ(store.completeUpload("b", "k", id, {{2, part.value().etag}, {1, part.value().etag}}).error().code,
            "InvalidPartOrder");
  EXPECT_EQ(store.completeUpload("b", "k", id, {{1, "\"0000\""}}).error().code, "InvalidPart");
  EXPECT_EQ(store.completeUpload("b", "k", id, {{3, part.value().etag}}).error().code, "InvalidPart");
  EXPECT_EQ(store.completeUpload("b", "k", id, {{1, part.value().etag}, {2, part.value().etag}}).error().code,
            "EntityTooSmall");
  // A single small part is fine: it is the last one. ETags match quoted or not.
  auto info = store.completeUpload("b", "k", id, {{1, part.value().etag.substr(1, 32)}});
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info.value().partsCount, 1);
}

TEST_F(S3StoreTest, UploadsBelongToTheirKeyAndGoAwayWhenAborted) {
  const std::string id = store.createUpload("b", "k", "", {}).value().uploadId;
  EXPECT_EQ(store.putPart("b", "other", id, 1, "x", {}).error().code, "NoSuchUpload");
  EXPECT_EQ(store.putPart("b", "k", "bogus", 1, "x", {}).error().code, "NoSuchUpload");
  EXPECT_EQ(store.uploads("b").value().size(), 1u);
  EXPECT_TRUE(store.abortUpload("b", "k", id).ok());
  EXPECT_EQ(store.abortUpload("b", "k", id).error().code, "NoSuchUpload");
  EXPECT_TRUE(store.uploads("b").value().empty());
}

TEST_F(S3StoreTest, StateListsObjectsAndUploadsWithoutBodies) {
  const std::string id = store.createUpload("b", "k", "", {}).value().uploadId;
  store.putPart("b", "k", id, 1, "part", {});
  const nlohmann::json state = store.state();
  const auto& object = state["buckets"]["b"]["objects"]["a.txt"];
  EXPECT_EQ(object["size"], 5);
  EXPECT_EQ(object["etag"], "\"" + s3checksum::toHex(s3checksum::md5Digest("a.txt")) + "\"");
  EXPECT_EQ(object["contentType"], "binary/octet-stream");
  EXPECT_TRUE(object.contains("lastModified"));
  EXPECT_FALSE(object.contains("body"));
  EXPECT_EQ(state["buckets"]["b"]["uploads"][0]["uploadId"], id);
  EXPECT_EQ(state["buckets"]["b"]["uploads"][0]["parts"][0]["size"], 4);
  store.reset();
  EXPECT_TRUE(store.state()["buckets"].empty());
}

}  // namespace
}  // namespace cleanroom::mocks::aws
