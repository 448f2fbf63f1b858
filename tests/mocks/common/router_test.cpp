#include "cleanroom/mocks/router.h"

#include <gtest/gtest.h>

namespace cleanroom::mocks {
namespace {

HttpRequest request(std::string method, std::string path) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

Router agentsRouter() {
  Router router;
  router.add("GET", "/api/agents", [](const HttpRequest&) { return HttpResponse::text(200, "list"); });
  router.add("GET", "/api/agents/{id}", [](const HttpRequest& r) { return HttpResponse::text(200, "get " + r.param("id")); });
  router.add("DELETE", "/api/agents/{id}", [](const HttpRequest& r) { return HttpResponse::text(202, "del " + r.param("id")); });
  return router;
}

TEST(RouterTest, FillsPathParameters) {
  auto router = agentsRouter();
  auto r = request("GET", "/api/agents/ag-1");
  EXPECT_EQ(router.dispatch(r).body, "get ag-1");
  EXPECT_EQ(r.param("id"), "ag-1");
  auto d = request("DELETE", "/api/agents/ag-2/");
  EXPECT_EQ(router.dispatch(d).body, "del ag-2");
}

TEST(RouterTest, AnswersUnknownPathsWithJson404) {
  auto router = agentsRouter();
  auto r = request("GET", "/api/agents/ag-1/logs");
  auto response = router.dispatch(r);
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.headers.value("Content-Type"), "application/json");
  EXPECT_NE(nlohmann::json::parse(response.body)["error"].get<std::string>().find("/api/agents/ag-1/logs"),
            std::string::npos);
}

TEST(RouterTest, AnswersAKnownPathWithAnotherMethodWith405) {
  auto router = agentsRouter();
  auto r = request("PUT", "/api/agents/ag-1");
  auto response = router.dispatch(r);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.headers.value("Allow"), "DELETE, GET");
}

TEST(RouterTest, ServesHeadWithTheGetRoute) {
  auto router = agentsRouter();
  auto r = request("HEAD", "/api/agents");
  EXPECT_EQ(router.dispatch(r).body, "list");
}

TEST(RouterTest, WildcardMethodMatchesAnyMethod) {
  Router router;
  router.add("*", "/", [](const HttpRequest& r) { return HttpResponse::text(200, r.method); });
  auto r = request("PATCH", "/");
  EXPECT_EQ(router.dispatch(r).body, "PATCH");
}


TEST(RouterTest, FallbackServesEveryRequestNoRouteServes) {
  Router router = agentsRouter();
  router.fallback([](const HttpRequest& r) { return HttpResponse::text(200, "fallback " + r.method + " " + r.path); });
  auto deep = request("POST", "/a/b/c/d");
  EXPECT_EQ(router.dispatch(deep).body, "fallback POST /a/b/c/d");
  auto otherMethod = request("PUT", "/api/agents");
  EXPECT_EQ(router.dispatch(otherMethod).body, "fallback PUT /api/agents");
  auto routed = request("GET", "/api/agents/7");
  EXPECT_EQ(router.dispatch(routed).body, "get 7");
}

}  // namespace
}  // namespace cleanroom::mocks
