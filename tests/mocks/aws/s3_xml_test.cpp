#include "s3_xml.h"

#include <gtest/gtest.h>

namespace cleanroom::mocks::aws {
namespace {

TEST(S3XmlTest, ParsesTheDeleteObjectsBodyBotocoreSends) {
  auto document = parseXml(
      R"(<?xml version="1.0" encoding="UTF-8"?>)"
      R"(<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a &amp; b.txt</Key></Object>)"
      R"(<Object><Key>caf&#233; &#x2B;1</Key></Object><Quiet>true</Quiet></Delete>)");
  ASSERT_TRUE(document.ok()) << document.message();
  EXPECT_EQ(document.value().name, "Delete");
  const auto objects = document.value().childrenNamed("Object");
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0]->childText("Key"), "a & b.txt");
  EXPECT_EQ(objects[1]->childText("Key"), "caf\xC3\xA9 +1");
  EXPECT_EQ(document.value().childText("Quiet"), "true");
}

TEST(S3XmlTest, ParsesCompleteMultipartUploadWithPrefixesCommentsAndCdata) {
  auto document = parseXml(
      "<s3:CompleteMultipartUpload xmlns:s3='x'>\n  <!-- parts -->\n  <s3:Part><s3:ETag><![CDATA[\"abc\"]]></s3:ETag>"
      "<s3:PartNumber>1</s3:PartNumber><ChecksumCRC32>DUoRhQ==</ChecksumCRC32></s3:Part>\n  <Empty/>\n"
      "</s3:CompleteMultipartUpload>");
  ASSERT_TRUE(document.ok()) << document.message();
  EXPECT_EQ(document.value().name, "CompleteMultipartUpload");
  const XmlElement* part = document.value().child("Part");
  ASSERT_NE(part, nullptr);
  EXPECT_EQ(part->childText("ETag"), "\"abc\"");
  EXPECT_EQ(part->childText("PartNumber"), "1");
  EXPECT_NE(document.value().child("Empty"), nullptr);
}

TEST(S3XmlTest, RejectsMalformedXmlSayingWhere) {
  EXPECT_NE(parseXml("<a><b></a>").message().find("does not close"), std::string::npos);
  EXPECT_NE(parseXml("<a>").message().find("not closed"), std::string::npos);
  EXPECT_NE(parseXml("<a>&bogus;</a>").message().find("unknown entity"), std::string::npos);
  EXPECT_NE(parseXml("").message().find("root element"), std::string::npos);
  EXPECT_NE(parseXml("<a/><b/>").message().find("after the root"), std::string::npos);
}

TEST(S3XmlTest, UrlEncodingKeepsSlashesAndEscapesEverythingBotocoreUnquotes) {
  EXPECT_EQ(s3UrlEncode("runs/X/a b+c.txt"), "runs/X/a%20b%2Bc.txt");
  EXPECT_EQ(s3UrlEncode("caf\xC3\xA9~_-."), "caf%C3%A9~_-.");
  EXPECT_EQ(s3UrlEncode("%&?=#"), "%25%26%3F%3D%23");
}

TEST(S3XmlTest, ErrorHasS3sShapeAndRequestIds) {
  HttpResponse response = s3Error(404, "NoSuchKey", "The specified key does not exist.", {{"Key", "a<b"}});
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.headers.value("Content-Type"), "application/xml");
  const std::string requestId = response.headers.value("x-amz-request-id");
  ASSERT_EQ(requestId.size(), 16u);
  EXPECT_FALSE(response.headers.value("x-amz-id-2").empty());
  EXPECT_EQ(response.body,
            R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>)"
            R"(<Message>The specified key does not exist.</Message><Key>a&lt;b</Key>)"
            "<RequestId>" + requestId + "</RequestId><HostId>" + response.headers.value("x-amz-id-2") +
                "</HostId></Error>");
  EXPECT_NE(s3Error(403, "AccessDenied", "x").headers.value("x-amz-request-id"), requestId);
}

TEST(S3XmlTest, ForHeadDropsTheBody) {
  HttpResponse response = forHead(s3Error(s3errors::noSuchBucket("b")));
  EXPECT_EQ(response.status, 404);
  EXPECT_TRUE(response.body.empty());
  EXPECT_EQ(response.headers.value("Content-Length"), "0");
}

TEST(S3XmlTest, ListObjectsV2EchoesEncodingTypeAndEncodesKeysAndPrefixes) {
  S3ListingEcho echo;
  echo.bucket = "b";
  echo.prefix = "a b/";
  echo.delimiter = "/";
  echo.urlEncoding = true;
  echo.nextContinuationToken = "dG9r";
  S3ListPage page;
  S3ObjectInfo object;
  object.key = "a b/x+y.txt";
  object.size = 11;
  object.etag = "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"";
  object.checksums["crc32"] = "DUoRhQ==";
  page.contents.push_back(object);
  page.commonPrefixes.push_back("a b/sub dir/");
  page.truncated = true;
  const std::string xml = listObjectsXml(echo, page);
  for (const char* expected :
       {R"(<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)", "<Name>b</Name>",
        "<Prefix>a%20b/</Prefix>", "<Delimiter>/</Delimiter>", "<EncodingType>url</EncodingType>",
        "<IsTruncated>true</IsTruncated>", "<KeyCount>2</KeyCount>",
        "<NextContinuationToken>dG9r</NextContinuationToken>", "<Key>a%20b/x%2By.txt</Key>",
        "<ETag>&quot;5eb63bbbe01eeed093cb22bb8f5acdc3&quot;</ETag>", "<ChecksumAlgorithm>CRC32</ChecksumAlgorithm>",
        "<Size>11</Size>", "<StorageClass>STANDARD</StorageClass>",
        "<CommonPrefixes><Prefix>a%20b/sub%20dir/</Prefix></CommonPrefixes>"}) {
    EXPECT_NE(xml.find(expected), std::string::npos) << expected << "\n" << xml;
  }
}

TEST(S3XmlTest, ListObjectsWithoutEncodingEscapesKeysAsXml) {
  S3ListingEcho echo;
  echo.bucket = "b";
  S3ListPage page;
  S3ObjectInfo object;
  object.key = "a&b <c>";
  page.contents.push_back(object);
  const std::string xml = listObjectsXml(echo, page);
  EXPECT_NE(xml.find("<Key>a&amp;b &lt;c&gt;</Key>"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("EncodingType"), std::string::npos);
}

TEST(S3XmlTest, TimestampsAreIsoWithMillisAndRfc1123) {
  const S3Time time = std::chrono::system_clock::from_time_t(1795455901);  // 2026-11-23T17:45:01Z
  EXPECT_EQ(s3IsoTime(time), "2026-11-23T17:45:01.000Z");
  EXPECT_EQ(s3HttpDate(time), "Mon, 23 Nov 2026 17:45:01 GMT");
}

}  // namespace
}  // namespace cleanroom::mocks::aws
