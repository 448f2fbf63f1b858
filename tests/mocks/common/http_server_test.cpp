#include "cleanroom/mocks/http_server.h"

#include <httplib.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <future>

#include <gtest/gtest.h>

#include "raw_http_client.h"

namespace cleanroom::mocks {
namespace {

using nlohmann::json;
using testing::RawHttpConnection;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.route("GET", "/hello", [](const HttpRequest&) { return HttpResponse::text(200, "hello"); });
    server_.route("GET", "/items/{id}", [](const HttpRequest& r) {
      return HttpResponse::json(200, {{"id", r.param("id")}, {"q", r.queryValue("q").value_or("")}});
    });
    server_.route("POST", "/echo", [](const HttpRequest& r) {
      return HttpResponse::json(200, {{"body", r.body}, {"expect", r.headers.value("Expect")}});
    });
    server_.route("DELETE", "/empty", [](const HttpRequest&) { return HttpResponse::empty(204); });
    server_.route("GET", "/throws", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
    server_.onReset([this] { ++resets_; });
    server_.onState([] { return json{{"items", json::array({"a"})}}; });
    server_.start();
  }

  httplib::Client client() {
    httplib::Client client(server_.url());
    client.set_read_timeout(5, 0);
    return client;
  }

  json postFaults(const json& rules) {
    auto response = client().Post("/__cleanroom/faults", rules.dump(), "application/json");
    EXPECT_TRUE(response);
    EXPECT_EQ(response->status, 201) << response->body;
    return json::parse(response->body);
  }

  json requestLog() { return json::parse(client().Get("/__cleanroom/requests")->body); }

  MockHttpServer server_;
  std::atomic<int> resets_{0};
};

TEST_F(HttpServerTest, PicksAFreePortAndReportsItsUrl) {
  EXPECT_NE(server_.port(), 0);
  EXPECT_EQ(server_.url(), "http://127.0.0.1:" + std::to_string(server_.port()));
}

TEST_F(HttpServerTest, ServesRoutesWithParametersAndDecodedQuery) {
  auto response = client().Get("/items/it%2D1?q=a%20b");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(json::parse(response->body), (json{{"id", "it-1"}, {"q", "a b"}}));
}

TEST_F(HttpServerTest, AnswersUnknownPathsWithJson404) {
  auto response = client().Get("/nope");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 404);
  EXPECT_TRUE(json::parse(response->body).contains("error"));
}

TEST_F(HttpServerTest, TurnsHandlerExceptionsIntoJson500) {
  auto response = client().Get("/throws");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_NE(json::parse(response->body)["error"].get<std::string>().find("boom"), std::string::npos);
}

TEST_F(HttpServerTest, ServesHealthAndNamesUnknownControlEndpoints) {
  auto health = client().Get("/__cleanroom/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["status"], "ok");
  auto unknown = client().Get("/__cleanroom/nope");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
}

TEST_F(HttpServerTest, KeepsTheConnectionAliveAcrossRequests) {
  auto connection = RawHttpConnection::tcp(server_.port());
  for (int i = 0; i < 3; ++i) {
    connection.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    auto response = connection.readResponse();
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "hello");
  }
}

TEST_F(HttpServerTest, ClosesTheConnectionWhenTheClientAsks) {
  auto connection = RawHttpConnection::tcp(server_.port());
  connection.send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto response = connection.readResponse();
  EXPECT_EQ(response.body, "hello");
  EXPECT_EQ(response.headers["connection"], "close");
  EXPECT_TRUE(connection.closedByPeer());
}

TEST_F(HttpServerTest, SendsContinueBeforeReadingAnExpectedBody) {
  auto connection = RawHttpConnection::tcp(server_.port());
  connection.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  auto interim = connection.readResponse();
  EXPECT_EQ(interim.statusLine, "HTTP/1.1 100 Continue");
  connection.send("12345");
  auto response = connection.readResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(json::parse(response.body)["body"], "12345");
}

TEST_F(HttpServerTest, DecodesChunkedRequestBodies) {
  auto connection = RawHttpConnection::tcp(server_.port());
  connection.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n");
  auto response = connection.readResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(json::parse(response.body)["body"], "hello, world");
}

TEST_F(HttpServerTest, SendsNoBodyForHeadAnd204) {
  auto connection = RawHttpConnection::tcp(server_.port());
  connection.send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  auto head = connection.readResponse(/*headRequest=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"], "5");
  connection.send("DELETE /empty HTTP/1.1\r\nHost: x\r\n\r\n");
  auto empty = connection.readResponse();
  EXPECT_EQ(empty.status, 204);
  EXPECT_EQ(empty.headers.count("content-length"), 0u);
  // A stray body byte after either would corrupt this next response.
  connection.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(connection.readResponse().body, "hello");
}

TEST_F(HttpServerTest, StatusFaultAnswersCountTimesWithRetryAfter) {
  postFaults({{"match", {{"method", "GET"}, {"path", "/items/*"}}}, {"status", 503}, {"count", 2}, {"retryAfter", 1}});
  for (int i = 0; i < 2; ++i) {
    auto response = client().Get("/items/1");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 503);
    EXPECT_EQ(response->get_header_value("Retry-After"), "1");
    EXPECT_EQ(json::parse(response->body)["error"], "injected fault");
  }
  EXPECT_EQ(client().Get("/items/1")->status, 200);
  EXPECT_EQ(client().Get("/hello")->status, 200);
  auto faults = json::parse(client().Get("/__cleanroom/faults")->body);
  EXPECT_EQ(faults[0]["count"], 0);
}

TEST_F(HttpServerTest, StatusFaultUsesTheGivenBody) {
  postFaults({{"status", 429}, {"body", {{"message", "slow down"}}}});
  auto response = client().Get("/hello");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 429);
  EXPECT_EQ(json::parse(response->body), (json{{"message", "slow down"}}));
}

TEST_F(HttpServerTest, DelayFaultServesNormallyAfterTheDelay) {
  postFaults({{"match", {{"path", "/hello"}}}, {"delayMs", 100}, {"count", 1}});
  auto response = client().Get("/hello");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(requestLog()[0]["fault"], "delay 100ms");
}

TEST_F(HttpServerTest, DropFaultClosesTheConnectionWithoutAnswering) {
  postFaults({{"match", {{"path", "/hello"}}}, {"drop", true}});
  EXPECT_FALSE(client().Get("/hello"));
  auto connection = RawHttpConnection::tcp(server_.port());
  connection.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(connection.closedByPeer());
  auto log = requestLog();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["status"], 0);
  EXPECT_EQ(log[0]["fault"], "drop");
}

TEST_F(HttpServerTest, RejectsABadFaultRuleNamingTheField) {
  auto response = client().Post("/__cleanroom/faults", R"({"status": "x"})", "application/json");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  auto body = json::parse(response->body);
  EXPECT_EQ(body["field"], "status");
  EXPECT_NE(body["error"].get<std::string>().find("'status' must be an integer 100-599"), std::string::npos);
  auto malformed = client().Post("/__cleanroom/faults", "{", "application/json");
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(json::parse(client().Get("/__cleanroom/faults")->body).size(), 0u);
}

TEST_F(HttpServerTest, DeleteFaultsClearsEveryRule) {
  postFaults(json::array({{{"status", 500}}, {{"drop", true}}}));
  EXPECT_EQ(client().Delete("/__cleanroom/faults")->status, 200);
  EXPECT_EQ(client().Get("/hello")->status, 200);
}

TEST_F(HttpServerTest, LogsApiRequestsButNotControlRequests) {
  client().Get("/items/7?q=x");
  client().Post("/echo", "{}", "application/json");
  client().Get("/__cleanroom/health");
  auto log = requestLog();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["method"], "GET");
  EXPECT_EQ(log[0]["path"], "/items/7");
  EXPECT_EQ(log[0]["query"], "q=x");
  EXPECT_EQ(log[0]["status"], 200);
  EXPECT_TRUE(log[0]["ms"].is_number());
  EXPECT_TRUE(log[0]["fault"].is_null());
  EXPECT_EQ(log[1]["method"], "POST");
}

TEST_F(HttpServerTest, ControlRequestsAreNotSubjectToFaults) {
  postFaults({{"status", 503}});
  EXPECT_EQ(client().Get("/__cleanroom/health")->status, 200);
}

TEST_F(HttpServerTest, ResetClearsFaultsAndLogAndResetsState) {
  postFaults({{"status", 503}});
  client().Get("/hello");
  auto response = client().Post("/__cleanroom/reset", "", "application/json");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(resets_.load(), 1);
  EXPECT_EQ(requestLog().size(), 0u);
  EXPECT_EQ(client().Get("/hello")->status, 200);
}

TEST_F(HttpServerTest, StateReturnsWhatTheMockDescribes) {
  EXPECT_EQ(json::parse(client().Get("/__cleanroom/state")->body), (json{{"items", {"a"}}}));
}

TEST_F(HttpServerTest, StopClosesIdleKeepAliveConnections) {
  auto connection = RawHttpConnection::tcp(server_.port());
  connection.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(connection.readResponse().status, 200);
  server_.stop();
  EXPECT_TRUE(connection.closedByPeer());
  EXPECT_TRUE(server_.stopping());
}

TEST_F(HttpServerTest, StopCutsADelayFaultShort) {
  postFaults({{"delayMs", 600000}});
  auto connection = RawHttpConnection::tcp(server_.port());
  connection.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  server_.stop();  // returns only once the delayed handler has given up
  EXPECT_TRUE(connection.closedByPeer());
}

TEST(HttpServerUnixSocketTest, ServesOnAUnixSocketAndRemovesItOnStop) {
  char pattern[] = "/tmp/cleanroom-mock-test-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::filesystem::path directory(pattern);
  const std::string socketPath = (directory / "mock.sock").string();
  {
    MockHttpServerOptions options;
    options.tcp = false;
    options.unixSocketPath = socketPath;
    MockHttpServer server(options);
    server.start();
    auto connection = RawHttpConnection::unixSocket(socketPath);
    connection.send("GET /__cleanroom/health HTTP/1.1\r\nHost: docker\r\n\r\n");
    EXPECT_EQ(connection.readResponse().status, 200);
    server.stop();
    EXPECT_FALSE(std::filesystem::exists(socketPath));
  }
  std::filesystem::remove_all(directory);
}


TEST(HttpServerOperationTest, MatchesFaultsByOperationShapesThemAndLogsTheOperation) {
  MockHttpServer server;
  server.fallback([](const HttpRequest& r) { return HttpResponse::text(200, "served " + r.path); });
  server.onOperation([](const HttpRequest& r) { return "svc:" + r.headers.value("X-Op"); });
  server.onFaultResponse([](const FaultAction& fault, const HttpRequest&) {
    return HttpResponse::text(*fault.status, "shaped " + fault.errorCode.value_or("none"));
  });
  server.start();
  httplib::Client client(server.url());
  client.set_read_timeout(5, 0);
  auto added = client.Post("/__cleanroom/faults",
                           json{{"match", {{"operation", "Stop"}}}, {"status", 400}, {"errorCode", "Throttled"},
                                {"retryAfter", 2}, {"count", 1}}.dump(),
                           "application/json");
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 201) << added->body;
  auto other = client.Post("/", httplib::Headers{{"X-Op", "Run"}}, "", "text/plain");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->body, "served /");
  auto faulted = client.Post("/", httplib::Headers{{"X-Op", "Stop"}}, "", "text/plain");
  ASSERT_TRUE(faulted);
  EXPECT_EQ(faulted->status, 400);
  EXPECT_EQ(faulted->body, "shaped Throttled");
  EXPECT_EQ(faulted->get_header_value("Retry-After"), "2");
  auto log = json::parse(client.Get("/__cleanroom/requests")->body);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["operation"], "svc:Run");
  EXPECT_EQ(log[1]["operation"], "svc:Stop");
  EXPECT_EQ(log[1]["fault"], "status 400 Throttled");
  server.stop();
}

}  // namespace
}  // namespace cleanroom::mocks
