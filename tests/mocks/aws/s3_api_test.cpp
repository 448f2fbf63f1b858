// S3Api driven with requests shaped as botocore 1.43 / aws CLI v1 send them
// (protocol-notes §6), in-process (the dispatcher's part is B's).
#include "s3_api.h"

#include <gtest/gtest.h>

#include "s3_checksum.h"
#include "s3_test_requests.h"
#include "s3_xml.h"

namespace cleanroom::mocks::aws {
namespace {

using testing::botocoreRequest;
using testing::botocoreStreamingUpload;
using testing::botocoreUpload;
using testing::crc32Base64;

// Returns every text of <name> elements under `root`, depth first.
void collect(const XmlElement& element, const std::string& name, std::vector<std::string>& out) {
  if (element.name == name) out.push_back(element.text);
  for (const auto& child : element.children) collect(child, name, out);
}

std::vector<std::string> textsOf(const std::string& xml, const std::string& name) {
  auto document = parseXml(xml);
  EXPECT_TRUE(document.ok()) << document.message() << "\n" << xml;
  std::vector<std::string> texts;
  if (document.ok()) collect(document.value(), name, texts);
  return texts;
}

std::string textOf(const std::string& xml, const std::string& name) {
  auto texts = textsOf(xml, name);
  return texts.empty() ? "<absent>" : texts.front();
}

std::string quotedMd5(const std::string& data) { return "\"" + s3checksum::toHex(s3checksum::md5Digest(data)) + "\""; }

class S3ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(call(botocoreRequest("PUT", "/cr-bucket")).status, 200); }

  HttpResponse call(const HttpRequest& request, const std::string& bucketFromHost = "") {
    return api.handle(request, bucketFromHost);
  }

  void put(const std::string& key, const std::string& body) {
    ASSERT_EQ(call(botocoreUpload("/cr-bucket/" + key, body)).status, 200) << key;
  }

  void expectError(const HttpResponse& response, int status, const std::string& code) {
    EXPECT_EQ(response.status, status);
    EXPECT_EQ(response.headers.value("Content-Type"), "application/xml");
    EXPECT_EQ(textOf(response.body, "Code"), code) << response.body;
    EXPECT_FALSE(textOf(response.body, "RequestId").empty());
  }

  // Pages through ListObjectsV2 the way botocore's paginator does; returns keys then prefixes (decoded).
  std::vector<std::string> listAll(const std::string& query, int& pages) {
    std::vector<std::string> items;
    std::string token;
    pages = 0;
    for (;;) {
      std::string target = "/cr-bucket?list-type=2&encoding-type=url&" + query;
      if (!token.empty()) target += "&continuation-token=" + s3UrlEncode(token);
      HttpResponse response = call(botocoreRequest("GET", target));
      EXPECT_EQ(response.status, 200) << response.body;
      ++pages;
      for (const auto& key : textsOf(response.body, "Key")) items.push_back(percentDecode(key, true));
      auto document = parseXml(response.body).value();
      for (const auto* prefixes : document.childrenNamed("CommonPrefixes")) {
        items.push_back(percentDecode(prefixes->childText("Prefix"), true));
      }
      if (textOf(response.body, "IsTruncated") != "true") return items;
      token = textOf(response.body, "NextContinuationToken");
      if (pages > 100) return items;
    }
  }

  S3Api api{"us-east-1"};
};

TEST_F(S3ApiTest, CreateBucketAnswersLocationAndConflictsWhenOwned) {
  HttpResponse response = call(botocoreRequest("PUT", "/logs-2"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.value("Location"), "/logs-2");
  EXPECT_FALSE(response.headers.value("x-amz-request-id").empty());
  EXPECT_FALSE(response.headers.value("x-amz-id-2").empty());
  expectError(call(botocoreRequest("PUT", "/logs-2")), 409, "BucketAlreadyOwnedByYou");
}

TEST_F(S3ApiTest, CreateBucketTakesTheLocationConstraintOfOtherRegions) {
  const std::string body =
      R"(<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>)";
  ASSERT_EQ(call(botocoreRequest("PUT", "/eu-bucket", body)).status, 200);
  HttpResponse head = call(botocoreRequest("HEAD", "/eu-bucket"));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers.value("x-amz-bucket-region"), "eu-west-1");
  EXPECT_EQ(textOf(call(botocoreRequest("GET", "/eu-bucket?location")).body, "LocationConstraint"), "eu-west-1");
}

TEST_F(S3ApiTest, CreateBucketRejectsInvalidNames) {
  HttpResponse response = call(botocoreRequest("PUT", "/Bad_Name"));
  expectError(response, 400, "InvalidBucketName");
  EXPECT_EQ(textOf(response.body, "BucketName"), "Bad_Name");
}

TEST_F(S3ApiTest, ListBucketsShowsOwnerAndBuckets) {
  HttpResponse response = call(botocoreRequest("GET", "/"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(textsOf(response.body, "Name"), (std::vector<std::string>{"cr-bucket"}));
  EXPECT_EQ(textsOf(response.body, "CreationDate").size(), 1u);
  EXPECT_EQ(textsOf(response.body, "DisplayName").size(), 1u);
}

TEST_F(S3ApiTest, PutObjectAnswersQuotedMd5AndEchoesTheCrc32) {
  HttpResponse response = call(botocoreUpload("/cr-bucket/runs/X/a.txt", "hello world", "text/plain"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.value("ETag"), "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
  EXPECT_EQ(response.headers.value("x-amz-checksum-crc32"), "DUoRhQ==");
  EXPECT_TRUE(response.body.empty());
  EXPECT_EQ(api.objectBody("cr-bucket", "runs/X/a.txt"), "hello world");
  EXPECT_EQ(api.state()["buckets"]["cr-bucket"]["objects"]["runs/X/a.txt"]["contentType"], "text/plain");
}

TEST_F(S3ApiTest, PutObjectWithAWrongCrc32IsBadDigestAndStoresNothing) {
  HttpRequest request = botocoreUpload("/cr-bucket/k", "hello world");
  request.headers.set("x-amz-checksum-crc32", crc32Base64("hello there"));
  expectError(call(request), 400, "BadDigest");
  EXPECT_EQ(api.objectBody("cr-bucket", "k"), std::nullopt);
}

TEST_F(S3ApiTest, PutObjectWithAMismatchedPayloadHashIsRejected) {
  HttpRequest request = botocoreUpload("/cr-bucket/k", "hello world");
  request.headers.set("X-Amz-Content-SHA256", s3checksum::toHex(s3checksum::sha256Digest("other")));
  expectError(call(request), 400, "XAmzContentSHA256Mismatch");
}

TEST_F(S3ApiTest, StreamingPutObjectStoresOnlyTheDecodedBytes) {
  const std::string data = "line 1\nline 2\n" + std::string(100000, 'z');
  HttpResponse response = call(botocoreStreamingUpload("/cr-bucket/logs/session.log", data));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.headers.value("ETag"), quotedMd5(data));
  EXPECT_EQ(response.headers.value("x-amz-checksum-crc32"), crc32Base64(data));
  EXPECT_EQ(api.objectBody("cr-bucket", "logs/session.log"), data);
  EXPECT_EQ(api.state()["buckets"]["cr-bucket"]["objects"]["logs/session.log"]["size"], data.size());
}

TEST_F(S3ApiTest, StreamingPutObjectWithAWrongTrailerIsBadDigest) {
  expectError(call(botocoreStreamingUpload("/cr-bucket/k", "data", crc32Base64("atad"))), 400, "BadDigest");
  EXPECT_EQ(api.objectBody("cr-bucket", "k"), std::nullopt);
}

TEST_F(S3ApiTest, PutObjectIntoAMissingBucketIsNoSuchBucket) {
  HttpResponse response = call(botocoreUpload("/nope/k", "x"));
  expectError(response, 404, "NoSuchBucket");
  EXPECT_EQ(textOf(response.body, "BucketName"), "nope");
  EXPECT_EQ(textOf(response.body, "Message"), "The specified bucket does not exist");
}

TEST_F(S3ApiTest, GetObjectReturnsBodyAndHeadersAndTheChecksumOnlyWhenAsked) {
  put("a.txt", "hello world");
  HttpResponse plain = call(botocoreRequest("GET", "/cr-bucket/a.txt"));
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, "hello world");
  EXPECT_EQ(plain.headers.value("ETag"), "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
  EXPECT_EQ(plain.headers.value("Content-Type"), "binary/octet-stream");
  EXPECT_EQ(plain.headers.value("Accept-Ranges"), "bytes");
  EXPECT_NE(plain.headers.value("Last-Modified").find(" GMT"), std::string::npos);
  EXPECT_FALSE(plain.headers.has("x-amz-checksum-crc32"));
  HttpRequest checked = botocoreRequest("GET", "/cr-bucket/a.txt");
  checked.headers.add("x-amz-checksum-mode", "ENABLED");
  EXPECT_EQ(call(checked).headers.value("x-amz-checksum-crc32"), "DUoRhQ==");
}

TEST_F(S3ApiTest, GetObjectServesRanges) {
  put("r", "0123456789");
  HttpRequest request = botocoreRequest("GET", "/cr-bucket/r");
  request.headers.add("x-amz-checksum-mode", "ENABLED");
  request.headers.add("Range", "bytes=2-4");
  HttpResponse response = call(request);
  EXPECT_EQ(response.status, 206);
  EXPECT_EQ(response.body, "234");
  EXPECT_EQ(response.headers.value("Content-Range"), "bytes 2-4/10");
  EXPECT_FALSE(response.headers.has("x-amz-checksum-crc32"));  // it describes the whole object
  request.headers.set("Range", "bytes=-3");
  EXPECT_EQ(call(request).body, "789");
  request.headers.set("Range", "bytes=7-");
  EXPECT_EQ(call(request).body, "789");
  request.headers.set("Range", "bytes=8-100");
  EXPECT_EQ(call(request).body, "89");
  request.headers.set("Range", "bytes=10-");
  expectError(call(request), 416, "InvalidRange");
}

TEST_F(S3ApiTest, GetMissingKeyIsNoSuchKeyNamingTheKey) {
  HttpResponse response = call(botocoreRequest("GET", "/cr-bucket/no/such%20key"));
  expectError(response, 404, "NoSuchKey");
  EXPECT_EQ(textOf(response.body, "Key"), "no/such key");
  EXPECT_EQ(textOf(response.body, "Message"), "The specified key does not exist.");
}

TEST_F(S3ApiTest, HeadObjectHasTheHeadersAndTheLengthButNoBody) {
  put("a.txt", "hello world");
  HttpResponse response = call(botocoreRequest("HEAD", "/cr-bucket/a.txt"));
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(response.body.empty());
  EXPECT_EQ(response.headers.value("Content-Length"), "11");
  EXPECT_EQ(response.headers.value("ETag"), "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
  EXPECT_FALSE(response.headers.value("Last-Modified").empty());
  EXPECT_EQ(response.headers.value("Content-Type"), "binary/octet-stream");
}

TEST_F(S3ApiTest, HeadErrorsHaveNoBody) {
  HttpResponse missingKey = call(botocoreRequest("HEAD", "/cr-bucket/missing"));
  EXPECT_EQ(missingKey.status, 404);
  EXPECT_TRUE(missingKey.body.empty());
  HttpResponse missingBucket = call(botocoreRequest("HEAD", "/nope"));
  EXPECT_EQ(missingBucket.status, 404);
  EXPECT_TRUE(missingBucket.body.empty());
}

TEST_F(S3ApiTest, DeleteObjectIs204AlsoForMissingKeys) {
  put("a.txt", "x");
  EXPECT_EQ(call(botocoreRequest("DELETE", "/cr-bucket/a.txt")).status, 204);
  EXPECT_EQ(call(botocoreRequest("DELETE", "/cr-bucket/a.txt")).status, 204);
  EXPECT_EQ(api.objectBody("cr-bucket", "a.txt"), std::nullopt);
  expectError(call(botocoreRequest("DELETE", "/nope/a.txt")), 404, "NoSuchBucket");
}

TEST_F(S3ApiTest, DeleteObjectsDeletesEveryListedKey) {
  put("a", "1");
  put("b%20c", "2");
  const std::string body =
      R"(<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
      "<Object><Key>a</Key></Object><Object><Key>b c</Key></Object><Object><Key>never</Key></Object></Delete>";
  HttpRequest request = botocoreRequest("POST", "/cr-bucket?delete", body);
  request.headers.add("x-amz-sdk-checksum-algorithm", "CRC32");
  request.headers.add("x-amz-checksum-crc32", crc32Base64(body));
  request.headers.add("Content-Type", "application/xml");
  HttpResponse response = call(request);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(textsOf(response.body, "Key"), (std::vector<std::string>{"a", "b c", "never"}));
  EXPECT_TRUE(api.state()["buckets"]["cr-bucket"]["objects"].empty());
}

TEST_F(S3ApiTest, DeleteObjectsNeedsAnIntegrityHeaderAndWellFormedXml) {
  HttpRequest request = botocoreRequest("POST", "/cr-bucket?delete", "<Delete><Object><Key>a</Key></Object></Delete>");
  expectError(call(request), 400, "InvalidRequest");
  HttpRequest broken = botocoreRequest("POST", "/cr-bucket?delete", "<Delete><Object>");
  broken.headers.add("x-amz-checksum-crc32", crc32Base64("<Delete><Object>"));
  expectError(call(broken), 400, "MalformedXML");
}

TEST_F(S3ApiTest, DeleteBucketRefusesNonEmptyAndForgetsEmptyBuckets) {
  put("a", "1");
  expectError(call(botocoreRequest("DELETE", "/cr-bucket")), 409, "BucketNotEmpty");
  call(botocoreRequest("DELETE", "/cr-bucket/a"));
  EXPECT_EQ(call(botocoreRequest("DELETE", "/cr-bucket")).status, 204);
  EXPECT_EQ(call(botocoreRequest("HEAD", "/cr-bucket")).status, 404);
  expectError(call(botocoreRequest("DELETE", "/cr-bucket")), 404, "NoSuchBucket");
}

TEST_F(S3ApiTest, ListObjectsV2AsAwsS3LsSendsIt) {
  put("runs/X/a.txt", "1");
  put("runs/X/sub/b.txt", "22");
  put("runs/Y/c.txt", "333");
  HttpResponse response =
      call(botocoreRequest("GET", "/cr-bucket?list-type=2&prefix=runs%2FX%2F&delimiter=%2F&encoding-type=url"));
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(textsOf(response.body, "Key"), (std::vector<std::string>{"runs/X/a.txt"}));
  EXPECT_EQ(textOf(response.body, "KeyCount"), "2");
  EXPECT_EQ(textOf(response.body, "EncodingType"), "url");
  EXPECT_EQ(textOf(response.body, "IsTruncated"), "false");
  EXPECT_EQ(textOf(response.body, "MaxKeys"), "1000");
  EXPECT_EQ(textOf(response.body, "Size"), "1");
  auto document = parseXml(response.body).value();
  ASSERT_EQ(document.childrenNamed("CommonPrefixes").size(), 1u);
  EXPECT_EQ(document.child("CommonPrefixes")->childText("Prefix"), "runs/X/sub/");
  EXPECT_EQ(document.childText("Prefix"), "runs/X/");
}

TEST_F(S3ApiTest, ListingEncodesOddKeysSoBotocoreDecodesThemBack) {
  const std::vector<std::string> keys = {"a b.txt", "c+d.txt", "caf\xC3\xA9/\xE6\x97\xA5\xE6\x9C\xAC.log", "p%q&r<s>"};
  for (const auto& key : keys) put(s3UrlEncode(key), key);
  for (const auto& key : keys) EXPECT_EQ(api.objectBody("cr-bucket", key), key) << key;
  HttpResponse response = call(botocoreRequest("GET", "/cr-bucket?list-type=2&prefix=&encoding-type=url"));
  ASSERT_EQ(response.status, 200);
  const auto listed = textsOf(response.body, "Key");
  EXPECT_EQ(listed, (std::vector<std::string>{"a%20b.txt", "c%2Bd.txt", "caf%C3%A9/%E6%97%A5%E6%9C%AC.log",
                                              "p%25q%26r%3Cs%3E"}));
  // botocore runs unquote_plus over each key: it must give the key back.
  for (std::size_t i = 0; i < listed.size(); ++i) EXPECT_EQ(percentDecode(listed[i], true), keys[i]);
  // Without encoding-type the keys are plain (XML-escaped) text.
  EXPECT_EQ(textsOf(call(botocoreRequest("GET", "/cr-bucket?list-type=2")).body, "Key"), keys);
}

TEST_F(S3ApiTest, ListObjectsV2PagesWithContinuationTokens) {
  for (int i = 0; i < 25; ++i) put("k/" + std::to_string(100 + i), "x");
  put("other", "y");
  int pages = 0;
  auto items = listAll("max-keys=10", pages);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(items.size(), 26u);
  EXPECT_EQ(items.front(), "k/100");
  EXPECT_EQ(items.back(), "other");
  items = listAll("max-keys=1&delimiter=%2F", pages);
  EXPECT_EQ(items, (std::vector<std::string>{"k/", "other"}));
  EXPECT_EQ(pages, 2);
}

TEST_F(S3ApiTest, ListObjectsV2StartAfterAndBadParameters) {
  put("a", "1");
  put("b", "2");
  put("c", "3");
  HttpResponse response = call(botocoreRequest("GET", "/cr-bucket?list-type=2&start-after=a&encoding-type=url"));
  EXPECT_EQ(textsOf(response.body, "Key"), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(textOf(response.body, "StartAfter"), "a");
  expectError(call(botocoreRequest("GET", "/cr-bucket?list-type=2&max-keys=ten")), 400, "InvalidArgument");
  expectError(call(botocoreRequest("GET", "/cr-bucket?list-type=2&continuation-token=%21%21")), 400,
              "InvalidArgument");
  expectError(call(botocoreRequest("GET", "/cr-bucket?list-type=2&encoding-type=xml")), 400, "InvalidArgument");
  expectError(call(botocoreRequest("GET", "/nope?list-type=2")), 404, "NoSuchBucket");
}

TEST_F(S3ApiTest, ListObjectsV1UsesMarkers) {
  put("a/1", "1");
  put("b", "2");
  put("c", "3");
  HttpResponse first = call(botocoreRequest("GET", "/cr-bucket?max-keys=2&delimiter=%2F&encoding-type=url"));
  EXPECT_EQ(textOf(first.body, "IsTruncated"), "true");
  EXPECT_EQ(textOf(first.body, "NextMarker"), "b");
  HttpResponse second = call(botocoreRequest("GET", "/cr-bucket?max-keys=2&delimiter=%2F&marker=b"));
  EXPECT_EQ(textsOf(second.body, "Key"), (std::vector<std::string>{"c"}));
  EXPECT_EQ(textOf(second.body, "IsTruncated"), "false");
}

// The 12 MB `aws s3 cp` of protocol-notes §6.2: CreateMultipartUpload with
// CRC32, two parts (8 MiB + rest) uploaded out of order, Complete.
TEST_F(S3ApiTest, MultipartUploadAsAwsS3CpSplitsIt) {
  std::string data(12 * 1000 * 1000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) % 251);
  const std::string part1 = data.substr(0, 8388608);
  const std::string part2 = data.substr(8388608);

  HttpRequest create = botocoreRequest("POST", "/cr-bucket/big/file.bin?uploads");
  create.headers.add("x-amz-checksum-algorithm", "CRC32");
  create.headers.add("Content-Type", "application/octet-stream");
  HttpResponse created = call(create);
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(textOf(created.body, "Bucket"), "cr-bucket");
  EXPECT_EQ(textOf(created.body, "Key"), "big/file.bin");
  const std::string uploadId = textOf(created.body, "UploadId");
  ASSERT_FALSE(uploadId.empty());
  EXPECT_EQ(api.state()["buckets"]["cr-bucket"]["uploads"][0]["uploadId"], uploadId);

  HttpResponse second = call(botocoreUpload("/cr-bucket/big/file.bin?uploadId=" + uploadId + "&partNumber=2", part2));
  HttpResponse first = call(botocoreUpload("/cr-bucket/big/file.bin?uploadId=" + uploadId + "&partNumber=1", part1));
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(first.headers.value("ETag"), quotedMd5(part1));
  EXPECT_EQ(first.headers.value("x-amz-checksum-crc32"), crc32Base64(part1));

  HttpResponse parts = call(botocoreRequest("GET", "/cr-bucket/big/file.bin?uploadId=" + uploadId));
  EXPECT_EQ(textsOf(parts.body, "PartNumber"), (std::vector<std::string>{"1", "2"}));

  const std::string complete =
      R"(<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
      "<Part><ETag>" + first.headers.value("ETag") + "</ETag><PartNumber>1</PartNumber><ChecksumCRC32>" +
      crc32Base64(part1) + "</ChecksumCRC32></Part><Part><ETag>" + second.headers.value("ETag") +
      "</ETag><PartNumber>2</PartNumber><ChecksumCRC32>" + crc32Base64(part2) +
      "</ChecksumCRC32></Part></CompleteMultipartUpload>";
  HttpResponse done = call(botocoreRequest("POST", "/cr-bucket/big/file.bin?uploadId=" + uploadId, complete));
  ASSERT_EQ(done.status, 200) << done.body;
  const std::string digests = s3checksum::md5Digest(part1) + s3checksum::md5Digest(part2);
  EXPECT_EQ(textOf(done.body, "ETag"), "\"" + s3checksum::toHex(s3checksum::md5Digest(digests)) + "-2\"");
  EXPECT_EQ(textOf(done.body, "Location"), "http://127.0.0.1:18081/cr-bucket/big/file.bin");
  EXPECT_EQ(textOf(done.body, "Key"), "big/file.bin");
  EXPECT_NE(textOf(done.body, "ChecksumCRC32").find("-2"), std::string::npos);
  EXPECT_EQ(api.objectBody("cr-bucket", "big/file.bin"), data);

  HttpRequest get = botocoreRequest("GET", "/cr-bucket/big/file.bin");
  get.headers.add("x-amz-checksum-mode", "ENABLED");
  HttpResponse fetched = call(get);
  EXPECT_EQ(fetched.body.size(), data.size());
  EXPECT_EQ(fetched.headers.value("Content-Type"), "application/octet-stream");
  // botocore skips validation of composite ("-N") checksums.
  EXPECT_NE(fetched.headers.value("x-amz-checksum-crc32").find("-2"), std::string::npos);
  EXPECT_TRUE(api.state()["buckets"]["cr-bucket"]["uploads"].empty());
}

TEST_F(S3ApiTest, FullObjectMultipartChecksumIsTheChecksumOfTheWholeBody) {
  HttpRequest create = botocoreRequest("POST", "/cr-bucket/f?uploads");
  create.headers.add("x-amz-checksum-algorithm", "CRC32");
  create.headers.add("x-amz-checksum-type", "FULL_OBJECT");
  HttpResponse created = call(create);
  EXPECT_EQ(created.headers.value("x-amz-checksum-type"), "FULL_OBJECT");
  const std::string uploadId = textOf(created.body, "UploadId");
  HttpResponse part = call(botocoreUpload("/cr-bucket/f?uploadId=" + uploadId + "&partNumber=1", "whole"));
  const std::string complete = "<CompleteMultipartUpload><Part><ETag>" + part.headers.value("ETag") +
                               "</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>";
  HttpRequest wrong = botocoreRequest("POST", "/cr-bucket/f?uploadId=" + uploadId, complete);
  wrong.headers.add("x-amz-checksum-crc32", crc32Base64("other"));
  expectError(call(wrong), 400, "BadDigest");
  HttpRequest right = botocoreRequest("POST", "/cr-bucket/f?uploadId=" + uploadId, complete);
  right.headers.add("x-amz-checksum-crc32", crc32Base64("whole"));
  HttpResponse done = call(right);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(textOf(done.body, "ChecksumCRC32"), crc32Base64("whole"));
  HttpRequest get = botocoreRequest("GET", "/cr-bucket/f");
  get.headers.add("x-amz-checksum-mode", "ENABLED");
  HttpResponse fetched = call(get);
  EXPECT_EQ(fetched.headers.value("x-amz-checksum-crc32"), crc32Base64("whole"));
  EXPECT_EQ(fetched.headers.value("x-amz-checksum-type"), "FULL_OBJECT");
}

TEST_F(S3ApiTest, StreamingUploadPartIsDecodedToo) {
  const std::string uploadId = textOf(call(botocoreRequest("POST", "/cr-bucket/s?uploads")).body, "UploadId");
  HttpResponse part = call(botocoreStreamingUpload("/cr-bucket/s?uploadId=" + uploadId + "&partNumber=1", "abc"));
  ASSERT_EQ(part.status, 200) << part.body;
  EXPECT_EQ(part.headers.value("ETag"), quotedMd5("abc"));
}

TEST_F(S3ApiTest, MultipartErrorsHaveS3Codes) {
  HttpResponse missing = call(botocoreUpload("/cr-bucket/k?uploadId=nope&partNumber=1", "x"));
  expectError(missing, 404, "NoSuchUpload");
  EXPECT_EQ(textOf(missing.body, "UploadId"), "nope");
  const std::string uploadId = textOf(call(botocoreRequest("POST", "/cr-bucket/k?uploads")).body, "UploadId");
  expectError(call(botocoreUpload("/cr-bucket/k?uploadId=" + uploadId + "&partNumber=0", "x")), 400, "InvalidArgument");
  expectError(call(botocoreUpload("/cr-bucket/k?uploadId=" + uploadId + "&partNumber=10001", "x")), 400,
              "InvalidArgument");
  expectError(call(botocoreRequest("POST", "/cr-bucket/k?uploadId=" + uploadId, "<CompleteMultipartUpload>")), 400,
              "MalformedXML");
  expectError(call(botocoreRequest("POST", "/cr-bucket/k?uploadId=" + uploadId,
                                   "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part>"
                                   "</CompleteMultipartUpload>")),
              400, "InvalidPart");
  EXPECT_EQ(call(botocoreRequest("DELETE", "/cr-bucket/k?uploadId=" + uploadId)).status, 204);
  expectError(call(botocoreRequest("DELETE", "/cr-bucket/k?uploadId=" + uploadId)), 404, "NoSuchUpload");
  expectError(call(botocoreRequest("POST", "/nope/k?uploads")), 404, "NoSuchBucket");
}

TEST_F(S3ApiTest, ListMultipartUploadsShowsUploadsInProgress) {
  const std::string uploadId = textOf(call(botocoreRequest("POST", "/cr-bucket/k?uploads")).body, "UploadId");
  HttpResponse response = call(botocoreRequest("GET", "/cr-bucket?uploads"));
  EXPECT_EQ(textsOf(response.body, "UploadId"), (std::vector<std::string>{uploadId}));
}

TEST_F(S3ApiTest, CopyObjectCopiesBodyAndMetadata) {
  HttpRequest upload = botocoreUpload("/cr-bucket/src", "payload", "text/plain");
  upload.headers.add("x-amz-meta-run", "abc");
  ASSERT_EQ(call(upload).status, 200);
  HttpRequest copy = botocoreRequest("PUT", "/cr-bucket/dst%20copy");
  copy.headers.add("x-amz-copy-source", "cr-bucket/src");
  HttpResponse response = call(copy);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(textOf(response.body, "ETag"), quotedMd5("payload"));
  EXPECT_EQ(api.objectBody("cr-bucket", "dst copy"), "payload");
  HttpResponse head = call(botocoreRequest("HEAD", "/cr-bucket/dst%20copy"));
  EXPECT_EQ(head.headers.value("Content-Type"), "text/plain");
  EXPECT_EQ(head.headers.value("x-amz-meta-run"), "abc");
  copy.headers.set("x-amz-copy-source", "/cr-bucket/none");
  expectError(call(copy), 404, "NoSuchKey");
}

TEST_F(S3ApiTest, VirtualHostedRequestsNameTheBucketInTheHost) {
  HttpRequest request = botocoreUpload("/vh/key.txt", "virtual");
  request.headers.set("Host", "cr-bucket.localhost:18081");
  ASSERT_EQ(call(request, "cr-bucket").status, 200);
  EXPECT_EQ(api.objectBody("cr-bucket", "vh/key.txt"), "virtual");
  HttpResponse list = call(botocoreRequest("GET", "/?list-type=2"), "cr-bucket");
  EXPECT_EQ(textsOf(list.body, "Key"), (std::vector<std::string>{"vh/key.txt"}));
}

TEST_F(S3ApiTest, KeysKeepTrailingSlashesAndDoubleSlashes) {
  put("dir/", "");
  put("a//b", "x");
  EXPECT_EQ(api.objectBody("cr-bucket", "dir/"), "");
  EXPECT_EQ(api.objectBody("cr-bucket", "a//b"), "x");
}

TEST_F(S3ApiTest, UnsupportedRequestsAreNamedInS3Shape) {
  expectError(call(botocoreRequest("GET", "/cr-bucket?versioning")), 501, "NotImplemented");
  expectError(call(botocoreRequest("PUT", "/cr-bucket/k?tagging")), 501, "NotImplemented");
  expectError(call(botocoreRequest("POST", "/cr-bucket")), 405, "MethodNotAllowed");
  expectError(call(botocoreRequest("DELETE", "/")), 405, "MethodNotAllowed");
}

TEST_F(S3ApiTest, ResetForgetsEverything) {
  put("a", "1");
  api.reset();
  EXPECT_TRUE(api.state()["buckets"].empty());
  EXPECT_EQ(api.objectBody("cr-bucket", "a"), std::nullopt);
}

}  // namespace
}  // namespace cleanroom::mocks::aws
