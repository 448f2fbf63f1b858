#include "cleanroom/mocks/http_message.h"

#include <gtest/gtest.h>

namespace cleanroom::mocks {
namespace {

TEST(HttpHeadersTest, LooksUpNamesCaseInsensitively) {
  HttpHeaders headers;
  headers.add("Content-Type", "application/json");
  EXPECT_EQ(headers.get("content-type"), "application/json");
  headers.set("CONTENT-TYPE", "text/plain");
  EXPECT_EQ(headers.value("Content-Type"), "text/plain");
  headers.remove("content-TYPE");
  EXPECT_FALSE(headers.has("Content-Type"));
  EXPECT_EQ(headers.value("Missing", "fallback"), "fallback");
}

TEST(PercentDecodeTest, DecodesEscapesAndKeepsMalformedOnes) {
  EXPECT_EQ(percentDecode("a%20b%3Dc", false), "a b=c");
  EXPECT_EQ(percentDecode("a+b", true), "a b");
  EXPECT_EQ(percentDecode("a+b", false), "a+b");
  EXPECT_EQ(percentDecode("100%", false), "100%");
  EXPECT_EQ(percentDecode("%zz", false), "%zz");
}

TEST(ParseQueryTest, KeepsRepeatedKeysInOrder) {
  auto query = parseQuery("label=a%3D1&label=b=2&status=running&flag");
  HttpRequest request;
  request.query = query;
  EXPECT_EQ(request.queryValues("label"), (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(request.queryValue("status"), "running");
  EXPECT_EQ(request.queryValue("flag"), "");
  EXPECT_FALSE(request.queryValue("missing").has_value());
}

TEST(HttpResponseTest, JsonSetsContentTypeAndBody) {
  auto response = HttpResponse::json(201, {{"id", "x"}});
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.headers.value("Content-Type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(response.body)["id"], "x");
  EXPECT_EQ(nlohmann::json::parse(HttpResponse::error(404, "gone").body)["error"], "gone");
}

}  // namespace
}  // namespace cleanroom::mocks
