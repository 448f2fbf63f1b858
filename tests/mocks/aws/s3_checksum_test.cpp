#include "s3_checksum.h"

#include <vector>

#include <gtest/gtest.h>

namespace cleanroom::mocks::aws::s3checksum {
namespace {

TEST(S3ChecksumTest, Crc32MatchesTheStandardCheckValues) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
}

TEST(S3ChecksumTest, FlexibleChecksumIsBase64OfTheBigEndianDigest) {
  // protocol-notes §6.3: "hello world" -> DUoRhQ==
  EXPECT_EQ(flexibleChecksum("CRC32", "hello world"), "DUoRhQ==");
  EXPECT_EQ(flexibleChecksum("sha256", ""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(flexibleChecksum("sha1", "abc"), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
  EXPECT_EQ(flexibleChecksum("crc64nvme", "abc"), std::nullopt);
  EXPECT_EQ(flexibleChecksumSize("crc64nvme"), 8u);
  EXPECT_EQ(flexibleChecksumSize("md5"), 0u);
}

TEST(S3ChecksumTest, DigestsAreOpenSslsMd5AndSha256) {
  EXPECT_EQ(toHex(md5Digest("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(toHex(md5Digest("hello world")), "5eb63bbbe01eeed093cb22bb8f5acdc3");
  EXPECT_EQ(toHex(sha256Digest("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(S3ChecksumTest, Base64RoundTripsEveryPaddingLength) {
  for (const std::string& text : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto decoded = base64Decode(base64Encode(text));
    ASSERT_TRUE(decoded.has_value()) << text;
    EXPECT_EQ(*decoded, text);
  }
  EXPECT_EQ(base64Encode("ab"), "YWI=");
}

TEST(S3ChecksumTest, Base64DecodeRejectsMalformedText) {
  EXPECT_FALSE(base64Decode("abc").has_value());
  EXPECT_FALSE(base64Decode("ab!=").has_value());
  EXPECT_FALSE(base64Decode("a===").has_value());
  EXPECT_FALSE(base64Decode("YQ==YQ==").has_value());
}

}  // namespace
}  // namespace cleanroom::mocks::aws::s3checksum
