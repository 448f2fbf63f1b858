// S3Api behind the real MockHttpServer (mocks/common), over TCP: the
// transport facts botocore relies on (protocol-notes §6.3, §9) — Expect:
// 100-continue answered before the body, HTTP chunked bodies de-chunked
// before the aws-chunked framing is removed, HEAD with the object's length
// and no body, keep-alive across all of it.
#include <gtest/gtest.h>

#include "cleanroom/mocks/http_server.h"
#include "mocks/raw_http_client.h"
#include "s3_api.h"
#include "s3_checksum.h"
#include "s3_test_requests.h"

namespace cleanroom::mocks::aws {
namespace {

using cleanroom::mocks::testing::RawHttpConnection;
using cleanroom::mocks::testing::RawResponse;

std::string hexSize(std::size_t size) {
  char text[32];
  std::snprintf(text, sizeof text, "%zx", size);
  return text;
}

// `data` as HTTP/1.1 chunks of `chunkSize` bytes plus the last chunk.
std::string httpChunked(const std::string& data, std::size_t chunkSize) {
  std::string out;
  for (std::size_t offset = 0; offset < data.size(); offset += chunkSize) {
    const std::string chunk = data.substr(offset, chunkSize);
    out += hexSize(chunk.size()) + "\r\n" + chunk + "\r\n";
  }
  return out + "0\r\n\r\n";
}

class S3WireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto handler = [this](const HttpRequest& request) { return api.handle(request, ""); };
    server.route("*", "/", handler);
    server.route("*", "/{bucket}", handler);
    server.route("*", "/{bucket}/{key}", handler);
    server.start();
    connection.emplace(RawHttpConnection::tcp(server.port()));
    connection->send("PUT /wire HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
    ASSERT_EQ(connection->readResponse().status, 200);
  }
  void TearDown() override {
    connection.reset();
    server.stop();
  }

  S3Api api{"us-east-1"};
  MockHttpServer server{};
  std::optional<RawHttpConnection> connection;
};

TEST_F(S3WireTest, AnswersExpectContinueBeforeTheBodyIsSent) {
  const std::string body = "hello world";
  connection->send("PUT /wire/a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                   "x-amz-checksum-crc32: DUoRhQ==\r\nX-Amz-Content-SHA256: " +
                   s3checksum::toHex(s3checksum::sha256Digest(body)) + "\r\nContent-Length: 11\r\n\r\n");
  // The interim answer arrives while the body is still unsent.
  EXPECT_EQ(connection->readResponse().status, 100);
  connection->send(body);
  RawResponse response = connection->readResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["etag"], "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
  EXPECT_EQ(response.headers["x-amz-checksum-crc32"], "DUoRhQ==");
  EXPECT_EQ(api.objectBody("wire", "a.txt"), body);
}

TEST_F(S3WireTest, DecodesHttpChunkingThenAwsChunkingWithTheTrailer) {
  const std::string data = std::string(70000, 'q') + "end";
  const std::string awsBody =
      testing::awsChunked(data, 65536, {{"x-amz-checksum-crc32", testing::crc32Base64(data)}});
  connection->send("PUT /wire/stream.log HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                   "Transfer-Encoding: chunked\r\nContent-Encoding: aws-chunked\r\n"
                   "X-Amz-Content-SHA256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\n"
                   "X-Amz-Decoded-Content-Length: " + std::to_string(data.size()) + "\r\n"
                   "X-Amz-Trailer: x-amz-checksum-crc32\r\nx-amz-sdk-checksum-algorithm: CRC32\r\n\r\n");
  EXPECT_EQ(connection->readResponse().status, 100);
  // HTTP chunk boundaries fall inside the aws-chunked frames on purpose.
  connection->send(httpChunked(awsBody, 4097));
  RawResponse response = connection->readResponse();
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.headers["x-amz-checksum-crc32"], testing::crc32Base64(data));
  EXPECT_EQ(api.objectBody("wire", "stream.log"), data);
}

TEST_F(S3WireTest, HeadSendsTheObjectLengthWithoutABodyAndKeepsTheConnection) {
  api.store().putObject("wire", "h", "0123456789", {});
  connection->send("HEAD /wire/h HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  RawResponse head = connection->readResponse(true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"], "10");
  connection->send("HEAD /wire/missing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  RawResponse missing = connection->readResponse(true);
  EXPECT_EQ(missing.status, 404);
  // Were a body sent after either HEAD, it would be read as this response's status line.
  connection->send("GET /wire/h HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  RawResponse get = connection->readResponse();
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "0123456789");
}

TEST_F(S3WireTest, DeleteAnswers204WithoutABody) {
  connection->send("DELETE /wire/none HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  RawResponse response = connection->readResponse();
  EXPECT_EQ(response.status, 204);
  connection->send("GET /wire?list-type=2&encoding-type=url HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  RawResponse list = connection->readResponse();
  EXPECT_EQ(list.status, 200);
  EXPECT_NE(list.body.find("<KeyCount>0</KeyCount>"), std::string::npos) << list.body;
}

}  // namespace
}  // namespace cleanroom::mocks::aws
