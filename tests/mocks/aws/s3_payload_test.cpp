#include "s3_payload.h"

#include <gtest/gtest.h>

#include "s3_test_requests.h"

namespace cleanroom::mocks::aws {
namespace {

using testing::awsChunked;
using testing::botocoreRequest;
using testing::botocoreStreamingUpload;
using testing::botocoreUpload;
using testing::crc32Base64;

TEST(AwsChunkedTest, DecodesTheUnsignedTrailerFormBotocoreSends) {
  // protocol-notes §6.3, as observed over HTTPS.
  auto decoded = decodeAwsChunked("b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n");
  ASSERT_TRUE(decoded.ok()) << decoded.message();
  EXPECT_EQ(decoded.value().data, "hello world");
  ASSERT_EQ(decoded.value().trailers.size(), 1u);
  EXPECT_EQ(decoded.value().trailers[0].first, "x-amz-checksum-crc32");
  EXPECT_EQ(decoded.value().trailers[0].second, "DUoRhQ==");
}

TEST(AwsChunkedTest, DecodesSignedChunksAndSeveralChunks) {
  const std::string sig(64, 'f');
  auto decoded = decodeAwsChunked("5;chunk-signature=" + sig + "\r\nhello\r\n6;chunk-signature=" + sig +
                                  "\r\n world\r\n0;chunk-signature=" + sig + "\r\n\r\n");
  ASSERT_TRUE(decoded.ok()) << decoded.message();
  EXPECT_EQ(decoded.value().data, "hello world");
  EXPECT_TRUE(decoded.value().trailers.empty());
}

TEST(AwsChunkedTest, DecodesAnEmptyBody) {
  auto decoded = decodeAwsChunked("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
  ASSERT_TRUE(decoded.ok()) << decoded.message();
  EXPECT_EQ(decoded.value().data, "");
}

TEST(AwsChunkedTest, NamesWhereTheFramingBreaks) {
  EXPECT_NE(decodeAwsChunked("zz\r\nhello\r\n0\r\n\r\n").message().find("not hexadecimal"), std::string::npos);
  EXPECT_NE(decodeAwsChunked("a\r\nhello\r\n").message().find("cut short"), std::string::npos);
  EXPECT_NE(decodeAwsChunked("5\r\nhelloXX0\r\n\r\n").message().find("CRLF"), std::string::npos);
  EXPECT_NE(decodeAwsChunked("5\r\nhello\r\n").message().find("without CRLF"), std::string::npos);
  EXPECT_NE(decodeAwsChunked("0\r\nnot a trailer\r\n\r\n").message().find("trailer"), std::string::npos);
}

TEST(S3PayloadTest, PlainSignedUploadKeepsTheBodyAndItsVerifiedChecksum) {
  auto payload = readPayload(botocoreUpload("/b/k", "hello world"), true);
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  EXPECT_EQ(payload.value().data, "hello world");
  EXPECT_EQ(payload.value().checksums.at("crc32"), "DUoRhQ==");
}

TEST(S3PayloadTest, StreamingUploadIsDecodedAndItsTrailerChecksumVerified) {
  const std::string data(200000, 'x');
  HttpRequest request = botocoreStreamingUpload("/b/k", data);
  auto payload = readPayload(request, true);
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  EXPECT_EQ(payload.value().data, data);
  EXPECT_EQ(payload.value().checksums.at("crc32"), crc32Base64(data));
  EXPECT_EQ(payload.value().contentEncoding, "");
}

TEST(S3PayloadTest, KeepsOtherContentEncodingsBesideAwsChunked) {
  HttpRequest request = botocoreStreamingUpload("/b/k", "zipped");
  request.headers.set("Content-Encoding", "aws-chunked, gzip");
  auto payload = readPayload(request, true);
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  EXPECT_EQ(payload.value().contentEncoding, "gzip");
}

TEST(S3PayloadTest, WrongTrailerChecksumIsBadDigest) {
  auto payload = readPayload(botocoreStreamingUpload("/b/k", "hello world", "AAAAAA=="), true);
  ASSERT_FALSE(payload.ok());
  EXPECT_EQ(payload.error().status, 400);
  EXPECT_EQ(payload.error().code, "BadDigest");
  EXPECT_EQ(payload.error().message, "The CRC32 you specified did not match the calculated checksum.");
}

TEST(S3PayloadTest, DecodedLengthMustMatchTheHeader) {
  HttpRequest request = botocoreStreamingUpload("/b/k", "hello world");
  request.headers.set("X-Amz-Decoded-Content-Length", "12");
  auto payload = readPayload(request, true);
  ASSERT_FALSE(payload.ok());
  EXPECT_EQ(payload.error().code, "IncompleteBody");
  EXPECT_NE(payload.error().message.find("11 bytes"), std::string::npos);
}

TEST(S3PayloadTest, StreamingIsRecognisedByTheSha256HeaderAlone) {
  HttpRequest request = botocoreStreamingUpload("/b/k", "abc");
  request.headers.remove("Content-Encoding");
  request.headers.set("X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  EXPECT_TRUE(isAwsChunked(request));
  auto payload = readPayload(request, true);
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  EXPECT_EQ(payload.value().data, "abc");
}

TEST(S3PayloadTest, SignedPayloadHashMustMatchTheBody) {
  HttpRequest request = botocoreUpload("/b/k", "hello world");
  request.body = "hello there";
  request.headers.remove("x-amz-checksum-crc32");
  auto payload = readPayload(request, true);
  ASSERT_FALSE(payload.ok());
  EXPECT_EQ(payload.error().code, "XAmzContentSHA256Mismatch");
  EXPECT_EQ(payload.error().fields.at(0).first, "ClientComputedContentSHA256");
}

TEST(S3PayloadTest, UnsignedPayloadAndAbsentHashAreAccepted) {
  HttpRequest request = botocoreUpload("/b/k", "data");
  request.headers.set("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD");
  EXPECT_TRUE(readPayload(request, true).ok());
  request.headers.remove("X-Amz-Content-SHA256");
  EXPECT_TRUE(readPayload(request, true).ok());
  request.headers.set("X-Amz-Content-SHA256", "banana");
  EXPECT_EQ(readPayload(request, true).error().code, "InvalidArgument");
}

TEST(S3PayloadTest, WrongCrc32HeaderIsBadDigestAndMalformedIsInvalidRequest) {
  HttpRequest request = botocoreUpload("/b/k", "hello world");
  request.headers.set("x-amz-checksum-crc32", crc32Base64("other"));
  EXPECT_EQ(readPayload(request, true).error().code, "BadDigest");
  request.headers.set("x-amz-checksum-crc32", "not base64");
  EXPECT_EQ(readPayload(request, true).error().code, "InvalidRequest");
  // Headers that do not describe the body (CompleteMultipartUpload) are not checked.
  EXPECT_TRUE(readPayload(request, false).ok());
}

TEST(S3PayloadTest, VerifiesContentMd5) {
  HttpRequest request = botocoreRequest("POST", "/b?delete", "<Delete/>");
  request.headers.add("Content-MD5", s3checksum::base64Encode(s3checksum::md5Digest("<Delete/>")));
  EXPECT_TRUE(readPayload(request, true).ok());
  request.headers.set("Content-MD5", s3checksum::base64Encode(s3checksum::md5Digest("other")));
  EXPECT_EQ(readPayload(request, true).error().code, "BadDigest");
  request.headers.set("Content-MD5", "abc");
  EXPECT_EQ(readPayload(request, true).error().code, "InvalidDigest");
}

TEST(S3PayloadTest, Crc32cAndSha256ChecksumsAreVerifiedToo) {
  HttpRequest request = botocoreUpload("/b/k", "data");
  request.headers.remove("x-amz-checksum-crc32");
  request.headers.add("x-amz-checksum-crc32c", *s3checksum::flexibleChecksum("crc32c", "data"));
  request.headers.add("x-amz-checksum-sha256", *s3checksum::flexibleChecksum("sha256", "data"));
  auto payload = readPayload(request, true);
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  EXPECT_EQ(payload.value().checksums.size(), 2u);
  request.headers.set("x-amz-checksum-sha256", *s3checksum::flexibleChecksum("sha256", "atad"));
  EXPECT_EQ(readPayload(request, true).error().message,
            "The SHA256 you specified did not match the calculated checksum.");
}

}  // namespace
}  // namespace cleanroom::mocks::aws
