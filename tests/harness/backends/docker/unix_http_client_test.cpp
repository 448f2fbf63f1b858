// The Unix-socket HttpClient (makeUnixHttpClient): requests and answers over a
// real socket, chunked and close-delimited bodies, and every way a socket can
// fail (missing, refused, dropped, silent), from several threads at once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "cleanroom/http_client.h"
#include "cleanroom/mocks/http_server.h"
#include "unix_socket_support.h"

namespace cleanroom {
namespace {

using ::testing::HasSubstr;
using tests::RawUnixServer;
using tests::TempDir;

constexpr milliseconds kTimeout{5000};

std::unique_ptr<HttpClient> clientFor(const std::string& path) {
  Result<std::unique_ptr<HttpClient>> client = makeUnixHttpClient(path, "test socket");
  if (!client) throw std::runtime_error(client.error().describe());
  return std::move(client).value();
}

HttpRequest request(std::string method, std::string target) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  return r;
}

TEST(UnixHttpClientTest, SendsARequestAndReadsTheAnswer) {
  TempDir dir;
  mocks::MockHttpServerOptions options;
  options.tcp = false;
  options.unixSocketPath = dir.path("sock");
  mocks::MockHttpServer server(options);
  server.route("POST", "/echo/{word}", [](const mocks::HttpRequest& r) {
    auto response = mocks::HttpResponse::json(201, {{"word", r.param("word")},
                                                    {"query", r.rawQuery},
                                                    {"body", r.body},
                                                    {"type", r.headers.value("Content-Type")},
                                                    {"host", r.headers.value("Host")},
                                                    {"extra", r.headers.value("X-Extra")}});
    response.headers.add("X-Twice", "a");
    response.headers.add("X-Twice", "b");
    return response;
  });
  server.start();

  std::unique_ptr<HttpClient> client = clientFor(dir.path("sock"));
  EXPECT_EQ(client->baseUrl(), "unix://" + dir.path("sock"));
  HttpRequest post = request("POST", "/echo/hello?x=%7B1%7D");
  post.body = R"({"a":1})";
  post.contentType = "application/json";
  post.headers.emplace_back("X-Extra", "yes");
  Result<HttpResponse> response = client->send(post, kTimeout);
  ASSERT_TRUE(response.ok()) << response.error().describe();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->header("content-type"), "application/json");
  EXPECT_EQ(response->header("X-TWICE"), "a, b");
  nlohmann::json body = nlohmann::json::parse(response->body);
  EXPECT_EQ(body["word"], "hello");
  EXPECT_EQ(body["query"], "x=%7B1%7D");
  EXPECT_EQ(body["body"], R"({"a":1})");
  EXPECT_EQ(body["type"], "application/json");
  EXPECT_EQ(body["host"], "docker");
  EXPECT_EQ(body["extra"], "yes");
  server.stop();
}

TEST(UnixHttpClientTest, ReadsAChunkedAnswer) {
  TempDir dir;
  RawUnixServer server(dir.path("sock"), [](const std::string&) {
    return std::string(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        "7\r\n[{\"Id\":\r\n6\r\n\"abc\"}\r\n1\r\n]\r\n0\r\n\r\n");
  });
  Result<HttpResponse> response = clientFor(dir.path("sock"))->send(request("GET", "/containers/json"), kTimeout);
  ASSERT_TRUE(response.ok()) << response.error().describe();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"([{"Id":"abc"}])");
  EXPECT_THAT(server.lastRequest(), HasSubstr("GET /containers/json HTTP/1.1\r\n"));
}

TEST(UnixHttpClientTest, ReadsABodyThatEndsWithTheConnection) {
  TempDir dir;
  RawUnixServer server(dir.path("sock"), [](const std::string&) {
    return std::string("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nOK until close");
  });
  Result<HttpResponse> response = clientFor(dir.path("sock"))->send(request("GET", "/_ping"), kTimeout);
  ASSERT_TRUE(response.ok()) << response.error().describe();
  EXPECT_EQ(response->body, "OK until close");
}

TEST(UnixHttpClientTest, HeadAndNoContentAnswersHaveNoBody) {
  TempDir dir;
  RawUnixServer server(dir.path("sock"), [](const std::string& r) {
    if (r.rfind("HEAD", 0) == 0) return std::string("HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\nContent-Length: 2\r\n\r\n");
    return std::string("HTTP/1.1 304 Not Modified\r\n\r\n");
  });
  std::unique_ptr<HttpClient> client = clientFor(dir.path("sock"));
  Result<HttpResponse> head = client->send(request("HEAD", "/_ping"), kTimeout);
  ASSERT_TRUE(head.ok()) << head.error().describe();
  EXPECT_EQ(head->header("Api-Version"), "1.45");
  EXPECT_EQ(head->body, "");
  Result<HttpResponse> notModified = client->send(request("POST", "/containers/x/stop?t=3"), kTimeout);
  ASSERT_TRUE(notModified.ok()) << notModified.error().describe();
  EXPECT_EQ(notModified->status, 304);
  EXPECT_THAT(server.lastRequest(), HasSubstr("Content-Length: 0\r\n"));
}

TEST(UnixHttpClientTest, AMissingSocketIsRetryableAndNamesThePath) {
  TempDir dir;
  Result<HttpResponse> response = clientFor(dir.path("nothing.sock"))->send(request("GET", "/_ping"), kTimeout);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(response.error().message, HasSubstr(dir.path("nothing.sock")));
  EXPECT_THAT(response.error().message, HasSubstr("no such socket file"));
  EXPECT_THAT(response.error().message, HasSubstr("GET unix://"));
}

TEST(UnixHttpClientTest, ASocketNobodyListensOnIsRetryable) {
  TempDir dir;
  std::string path = dir.path("stale.sock");
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof(address.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ::close(fd);  // the file stays; nobody listens

  Result<HttpResponse> response = clientFor(path)->send(request("GET", "/_ping"), kTimeout);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(response.error().message, HasSubstr(path));
  EXPECT_THAT(response.error().message, HasSubstr("connection refused"));
}

TEST(UnixHttpClientTest, ADroppedConnectionIsRetryable) {
  TempDir dir;
  RawUnixServer server(dir.path("sock"), [](const std::string&) { return std::string(); });
  Result<HttpResponse> response = clientFor(dir.path("sock"))->send(request("DELETE", "/containers/x"), kTimeout);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(response.error().message, HasSubstr("connection closed"));
  EXPECT_THAT(response.error().message, HasSubstr("DELETE unix://" + dir.path("sock") + " /containers/x"));
}

TEST(UnixHttpClientTest, AnAnswerCutShortIsRetryable) {
  TempDir dir;
  RawUnixServer server(dir.path("sock"), [](const std::string&) {
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{\"Id\"");
  });
  Result<HttpResponse> response = clientFor(dir.path("sock"))->send(request("GET", "/containers/json"), kTimeout);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(response.error().message, HasSubstr("reading the answer"));
}

TEST(UnixHttpClientTest, ASilentServerTimesOut) {
  TempDir dir;
  RawUnixServer server(dir.path("sock"), [](const std::string&) { return std::nullopt; });
  Result<HttpResponse> response = clientFor(dir.path("sock"))->send(request("GET", "/_ping"), milliseconds(50));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(response.error().message, HasSubstr("timed out after 50ms"));
}

TEST(UnixHttpClientTest, IsSafeToUseFromSeveralThreads) {
  TempDir dir;
  mocks::MockHttpServerOptions options;
  options.tcp = false;
  options.unixSocketPath = dir.path("sock");
  mocks::MockHttpServer server(options);
  server.route("GET", "/n/{n}", [](const mocks::HttpRequest& r) { return mocks::HttpResponse::text(200, r.param("n")); });
  server.start();

  std::unique_ptr<HttpClient> client = clientFor(dir.path("sock"));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        std::string n = std::to_string(t * 100 + i);
        Result<HttpResponse> response = client->send(request("GET", "/n/" + n), kTimeout);
        if (!response.ok() || response->body != n) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  server.stop();
}

TEST(UnixHttpClientTest, RejectsRelativeAndOverlongPaths) {
  for (const std::string& path : {std::string(), std::string("relative.sock"), "/tmp/" + std::string(120, 'x')}) {
    Result<std::unique_ptr<HttpClient>> client = makeUnixHttpClient(path, "the test socket");
    ASSERT_FALSE(client.ok()) << path;
    EXPECT_EQ(client.error().kind, ErrorKind::Permanent);
    EXPECT_THAT(client.error().message, HasSubstr("the test socket"));
  }
}

}  // namespace
}  // namespace cleanroom
