#include "cleanroom/http_client.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>
#include <future>
#include <mutex>

#include "cleanroom/trace.h"
#include "http_test_server.h"

namespace cleanroom {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

std::unique_ptr<HttpClient> clientFor(const std::string& url) {
  Result<std::unique_ptr<HttpClient>> client = makeHttpClient(url, "test server URL");
  if (!client) throw std::runtime_error(client.error().message);
  return std::move(client).value();
}

HttpRequest request(std::string method, std::string target) {
  HttpRequest out;
  out.method = std::move(method);
  out.target = std::move(target);
  return out;
}

HttpResponse answer(int status, std::string body = "", std::map<std::string, std::string> headers = {}) {
  HttpResponse out;
  out.status = status;
  out.body = std::move(body);
  out.headers = std::move(headers);
  return out;
}

// Formats `t` as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string httpDate(WallTime t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return text;
}

// A loopback port bound but not listening: connecting to it is refused, and
// no other process can take it while this object lives.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("cannot bind a loopback socket");
    }
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Releases blocked handlers when the test ends, whatever happened, so the
// server (declared before it) can stop.
class Gate {
 public:
  Gate() : opened_(promise_.get_future().share()) {}
  ~Gate() { open(); }
  void open() {
    std::call_once(once_, [this] { promise_.set_value(); });
  }
  std::shared_future<void> opened() const { return opened_; }

 private:
  std::promise<void> promise_;
  std::shared_future<void> opened_;
  std::once_flag once_;
};

// --- makeHttpClient -------------------------------------------------------

TEST(HttpMakeClientTest, NormalisesTheBaseUrl) {
  EXPECT_EQ(clientFor("http://127.0.0.1:8080/")->baseUrl(), "http://127.0.0.1:8080");
  EXPECT_EQ(clientFor("http://127.0.0.1:8080/prefix/")->baseUrl(), "http://127.0.0.1:8080/prefix");
}

TEST(HttpMakeClientTest, HttpsGivesAClientForThatUrl) {
  EXPECT_EQ(clientFor("https://agents.example.com/")->baseUrl(), "https://agents.example.com");
  EXPECT_EQ(clientFor("https://agents.example.com:8443/api")->baseUrl(), "https://agents.example.com:8443/api");
}

TEST(HttpMakeClientTest, AnotherSchemeIsAPermanentErrorNamingWhat) {
  Result<std::unique_ptr<HttpClient>> client = makeHttpClient("ftp://agents.example.com", "CLEANROOM_AGENTS_URL");
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(client.error().message,
              AllOf(HasSubstr("CLEANROOM_AGENTS_URL"), HasSubstr("does not start with http:// or https://")));
}

TEST(HttpMakeClientTest, GarbageNamesWhatAndShowsAnExample) {
  Result<std::unique_ptr<HttpClient>> client = makeHttpClient("not a url", "--agents-url");
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().kind, ErrorKind::Permanent);
  EXPECT_THAT(client.error().message,
              AllOf(HasSubstr("--agents-url"), HasSubstr("not a url"), HasSubstr("http://127.0.0.1:8080")));
}

// --- send over TCP ----------------------------------------------------------

TEST(HttpClientTest, SendsMethodTargetHeadersAndBodyUnderThePrefix) {
  tests::HttpTestServer server;
  std::string seenBody, seenType, seenHeader, seenQuery;
  server.server().Post("/prefix/things", [&](const httplib::Request& req, httplib::Response& res) {
    seenBody = req.body;
    seenType = req.get_header_value("Content-Type");
    seenHeader = req.get_header_value("X-Test");
    seenQuery = req.get_param_value("label");
    res.status = 201;
    res.set_header("X-Answer", "yes");
    res.set_content(R"({"id":"t-1"})", "application/json");
  });
  server.start();

  HttpRequest post = request("POST", "/things?label=" + urlEncode("cleanroom.run=abc 1"));
  post.headers.emplace_back("X-Test", "value");
  post.body = R"({"name":"n"})";
  post.contentType = "application/json";
  Result<HttpResponse> response = clientFor(server.url() + "/prefix")->send(post, 5s);

  ASSERT_TRUE(response.ok()) << response.error().describe();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, R"({"id":"t-1"})");
  EXPECT_EQ(response->headers.at("x-answer"), "yes");
  EXPECT_EQ(response->header("X-ANSWER"), "yes");
  EXPECT_EQ(response->header("X-Missing"), "");
  EXPECT_EQ(seenBody, R"({"name":"n"})");
  EXPECT_EQ(seenType, "application/json");
  EXPECT_EQ(seenHeader, "value");
  EXPECT_EQ(seenQuery, "cleanroom.run=abc 1");
}

TEST(HttpClientTest, ErrorStatusesAreResponsesNotErrors) {
  tests::HttpTestServer server;
  server.server().Delete("/api/agents/x", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_header("Retry-After", "2");
    res.set_content(R"({"error":"overloaded"})", "application/json");
  });
  server.start();

  Result<HttpResponse> response = clientFor(server.url())->send(request("DELETE", "/api/agents/x"), 5s);
  ASSERT_TRUE(response.ok()) << response.error().describe();
  EXPECT_EQ(response->status, 503);

  Error error = httpError(*response, "DELETE /api/agents/x");
  EXPECT_EQ(error.kind, ErrorKind::Retryable);
  EXPECT_EQ(error.httpStatus, 503);
  EXPECT_EQ(error.retryAfter, milliseconds(2000));
  EXPECT_THAT(error.message, AllOf(HasSubstr("503"), HasSubstr("DELETE /api/agents/x"), HasSubstr("overloaded")));
}

TEST(HttpClientTest, ConnectionRefusedIsRetryableNamingMethodAndUrl) {
  RefusingPort closed;
  std::string url = "http://127.0.0.1:" + std::to_string(closed.port());
  Result<HttpResponse> response = clientFor(url)->send(request("GET", "/api/agents"), 5s);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind, ErrorKind::Retryable);
  EXPECT_EQ(response.error().httpStatus, 0);
  EXPECT_THAT(response.error().message, AllOf(HasSubstr("GET " + url + "/api/agents"), HasSubstr("connection refused")));
}

TEST(HttpClientTest, ReadTimeoutIsRetryableNamingTheTimeout) {
  tests::HttpTestServer server;
  Gate gate;  // declared after the server: opened before the server stops
  server.server().Get("/slow", [opened = gate.opened()](const httplib::Request&, httplib::Response& res) {
    opened.wait();
    res.set_content("late", "text/plain");
  });
  server.start();

  Result<HttpResponse> response = clientFor(server.url())->send(request("GET", "/slow"), 50ms);
  gate.open();
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind, ErrorKind::Retryable);
  EXPECT_THAT(response.error().message,
              AllOf(HasSubstr("GET " + server.url() + "/slow"), HasSubstr("timed out after 50ms")));
}

TEST(HttpClientTest, TracesEachRequestWithoutHeaderValues) {
  tests::HttpTestServer server;
  std::string seenAuth;
  server.server().Delete("/api/agents/x", [&](const httplib::Request& req, httplib::Response& res) {
    seenAuth = req.get_header_value("Authorization");
    res.status = 202;
  });
  server.start();

  TraceCapture capture;
  HttpRequest del = request("DELETE", "/api/agents/x");
  del.headers.emplace_back("Authorization", "Bearer s3cr3t-token");
  Result<HttpResponse> response = clientFor(server.url())->send(del, 5s);

  ASSERT_TRUE(response.ok()) << response.error().describe();
  EXPECT_EQ(seenAuth, "Bearer s3cr3t-token");
  std::string trace = capture.text();
  EXPECT_THAT(trace, HasSubstr("step=http method=DELETE target=/api/agents/x status=202 ms="));
  EXPECT_THAT(trace, Not(HasSubstr("s3cr3t")));
}

TEST(HttpClientTest, IsSafeToShareBetweenThreads) {
  tests::HttpTestServer server;
  server.server().Get("/ping", [](const httplib::Request&, httplib::Response& res) { res.set_content("pong", "text/plain"); });
  server.start();
  std::unique_ptr<HttpClient> client = clientFor(server.url());

  // Four at once: httplib's listen backlog is small, and a dropped SYN would
  // only slow the test down.
  std::vector<std::future<int>> calls;
  for (int i = 0; i < 4; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      Result<HttpResponse> response = client->send(request("GET", "/ping"), 5s);
      return response.ok() ? response->status : -1;
    }));
  }
  for (auto& call : calls) EXPECT_EQ(call.get(), 200);
}

// --- httpError ----------------------------------------------------------------

TEST(HttpErrorTest, NotFoundAndGoneAreGone) {
  EXPECT_EQ(httpError(answer(404), "GET /a").kind, ErrorKind::Gone);
  EXPECT_EQ(httpError(answer(410), "GET /a").kind, ErrorKind::Gone);
}

TEST(HttpErrorTest, TimeoutThrottlingAndServerErrorsAreRetryable) {
  for (int status : {408, 429, 500, 502, 503, 504, 599}) {
    EXPECT_EQ(httpError(answer(status), "GET /a").kind, ErrorKind::Retryable) << status;
  }
}

TEST(HttpErrorTest, OtherClientErrorsArePermanent) {
  for (int status : {400, 401, 403, 405, 409, 422}) {
    EXPECT_EQ(httpError(answer(status), "GET /a").kind, ErrorKind::Permanent) << status;
  }
}

TEST(HttpErrorTest, RetryAfterInSeconds) {
  Error error = httpError(answer(429, "", {{"retry-after", "3"}}), "GET /a");
  EXPECT_EQ(error.retryAfter, milliseconds(3000));
  EXPECT_THAT(error.message, HasSubstr("Retry-After"));
}

TEST(HttpErrorTest, RetryAfterAsHttpDate) {
  std::string inAnHour = httpDate(std::chrono::system_clock::now() + 1h);
  Error error = httpError(answer(503, "", {{"retry-after", inAnHour}}), "GET /a");
  ASSERT_TRUE(error.retryAfter.has_value()) << inAnHour;
  EXPECT_GT(*error.retryAfter, 50min);
  EXPECT_LE(*error.retryAfter, 60min);
}

TEST(HttpErrorTest, RetryAfterDateInThePastMeansNow) {
  Error error = httpError(answer(503, "", {{"retry-after", "Sun, 06 Nov 1994 08:49:37 GMT"}}), "GET /a");
  EXPECT_EQ(error.retryAfter, milliseconds(0));
}

TEST(HttpErrorTest, MalformedRetryAfterIsIgnored) {
  EXPECT_FALSE(httpError(answer(503, "", {{"retry-after", "soon"}}), "GET /a").retryAfter.has_value());
  EXPECT_FALSE(httpError(answer(503, "", {{"retry-after", "-1"}}), "GET /a").retryAfter.has_value());
  EXPECT_FALSE(httpError(answer(400, "", {{"retry-after", "3"}}), "GET /a").retryAfter.has_value());
}

TEST(HttpErrorTest, MessageCarriesStatusWhatAndTheJsonErrorText) {
  Error error = httpError(answer(409, R"({"error":"conflict","message":"agent is busy"})"), "DELETE /api/agents/x");
  EXPECT_EQ(error.httpStatus, 409);
  EXPECT_THAT(error.message, AllOf(HasSubstr("HTTP 409"), HasSubstr("DELETE /api/agents/x"), HasSubstr("agent is busy")));
  EXPECT_THAT(httpError(answer(400, R"({"error":"bad field"})"), "POST /a").message, HasSubstr("bad field"));
}

TEST(HttpErrorTest, LongBodiesAreCutToAnExcerpt) {
  std::string body = "<html>\n<body>" + std::string(5000, 'x') + "</body></html>";
  Error error = httpError(answer(500, body), "GET /a");
  EXPECT_THAT(error.message, HasSubstr("<html> <body>xxx"));
  EXPECT_LT(error.message.size(), 400u);
}

// --- urlEncode ----------------------------------------------------------------

TEST(HttpUrlEncodeTest, KeepsUnreservedAndEscapesTheRest) {
  EXPECT_EQ(urlEncode("abc-XYZ_0.9~"), "abc-XYZ_0.9~");
  EXPECT_EQ(urlEncode("cleanroom.run=a b/c&d"), "cleanroom.run%3Da%20b%2Fc%26d");
  EXPECT_EQ(urlEncode("é"), "%C3%A9");
  EXPECT_EQ(urlEncode(""), "");
}

}  // namespace
}  // namespace cleanroom
