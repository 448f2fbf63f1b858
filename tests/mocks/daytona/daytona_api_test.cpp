// DaytonaApiMock over HTTP, in-process on port 0: routes, status codes,
// NestJS error bodies, auth, the control API and faults.
#include "cleanroom/mocks/daytona/daytona_api_mock.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "cleanroom/clock.h"
#include "cleanroom/wait.h"

namespace cleanroom::mocks::daytona {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class DaytonaApiTest : public ::testing::Test {
 protected:
  DaytonaApiTest() : mock_(options()) {
    mock_.start();
    client_ = std::make_unique<httplib::Client>(mock_.url());
    client_->set_default_headers({{"Authorization", "Bearer secret"}});
  }

  static DaytonaApiMockOptions options() {
    DaytonaApiMockOptions options;
    options.apiKey = "secret";
    options.stopDelay = 30ms;
    options.deleteDelay = 30ms;
    options.linger = 5s;
    return options;
  }

  json create(const json& body) {
    auto response = client_->Post("/api/sandbox", body.dump(), "application/json");
    EXPECT_EQ(response->status, 200) << response->body;
    return json::parse(response->body);
  }

  std::string stateOf(const std::string& id) {
    auto response = client_->Get("/api/sandbox/" + id);
    if (response->status == 404) return "404";
    return json::parse(response->body)["state"];
  }

  bool awaitState(const std::string& id, const std::string& state) {
    Clock& clock = Clock::system();
    return waitUntil(clock, clock.now() + 5s, AdaptiveWait{}, [&] { return stateOf(id) == state; }).met;
  }

  DaytonaApiMock mock_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(DaytonaApiTest, CreateReturns200WithAStartedSandbox) {
  json sandbox = create({{"name", "box"}, {"labels", {{"cleanroom.run", "r1"}}}, {"env", {{"A", "b"}}}});
  EXPECT_EQ(sandbox["state"], "started");
  EXPECT_EQ(sandbox["name"], "box");
  EXPECT_EQ(sandbox["labels"]["cleanroom.run"], "r1");
  EXPECT_EQ(sandbox["env"]["A"], "b");
  EXPECT_EQ(stateOf("box"), "started");  // by name
  EXPECT_EQ(client_->Post("/api/sandbox", R"({"name":"box"})", "application/json")->status, 409);
}

TEST_F(DaytonaApiTest, ListFiltersByUrlEncodedLabels) {
  create({{"labels", {{"cleanroom.run", "r1"}}}});
  create({{"labels", {{"cleanroom.run", "r2"}}}});
  create({{"labels", {{"cleanroom.run", "r1"}}}, {"cleanroom", {{"state", "error"}}}});
  auto mine = client_->Get("/api/sandbox?labels=%7B%22cleanroom.run%22%3A%22r1%22%7D");
  ASSERT_EQ(mine->status, 200);
  EXPECT_EQ(json::parse(mine->body).size(), 1u);
  auto withErrored =
      client_->Get("/api/sandbox?labels=%7B%22cleanroom.run%22%3A%22r1%22%7D&includeErroredDeleted=true");
  EXPECT_EQ(json::parse(withErrored->body).size(), 2u);
  EXPECT_EQ(json::parse(client_->Get("/api/sandbox")->body).size(), 2u);
  auto bad = client_->Get("/api/sandbox?labels=nope");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body)["statusCode"], 400);
}

TEST_F(DaytonaApiTest, StopStartArchiveAndInvalidTransitionsAre400) {
  std::string id = create({{"cleanroom", {{"stopDelayMs", 60}}}})["id"];
  auto stop = client_->Post("/api/sandbox/" + id + "/stop");
  ASSERT_EQ(stop->status, 200);
  EXPECT_EQ(json::parse(stop->body)["state"], "stopping");
  ASSERT_TRUE(awaitState(id, "stopped"));
  auto again = client_->Post("/api/sandbox/" + id + "/stop");
  EXPECT_EQ(again->status, 400);
  json error = json::parse(again->body);
  EXPECT_EQ(error["error"], "Bad Request");
  EXPECT_EQ(error["path"], "/api/sandbox/" + id + "/stop");
  EXPECT_EQ(client_->Post("/api/sandbox/" + id + "/archive")->status, 200);
  ASSERT_TRUE(awaitState(id, "archived"));
  EXPECT_EQ(client_->Post("/api/sandbox/" + id + "/start")->status, 200);
  ASSERT_TRUE(awaitState(id, "started"));
  EXPECT_EQ(client_->Post("/api/sandbox/nope/start")->status, 404);
}

TEST_F(DaytonaApiTest, DeleteIsAsynchronousThen404) {
  std::string id = create(json::object())["id"];
  auto deleted = client_->Delete("/api/sandbox/" + id);
  ASSERT_EQ(deleted->status, 200);
  EXPECT_EQ(json::parse(deleted->body)["state"], "destroying");
  ASSERT_TRUE(awaitState(id, "destroyed"));
  EXPECT_EQ(client_->Delete("/api/sandbox/" + id)->status, 404);
  EXPECT_EQ(json::parse(client_->Get("/api/sandbox")->body).size(), 0u);
  auto missing = client_->Get("/api/sandbox/unknown");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(json::parse(missing->body)["message"], "Sandbox not found");
}

TEST_F(DaytonaApiTest, ForceDeleteEndsAStuckSandbox) {
  std::string id = create({{"cleanroom", {{"stuck", true}}}})["id"];
  EXPECT_EQ(client_->Delete("/api/sandbox/" + id)->status, 200);
  EXPECT_EQ(stateOf(id), "destroying");
  EXPECT_EQ(client_->Delete("/api/sandbox/" + id + "?force=true")->status, 200);
  EXPECT_TRUE(awaitState(id, "destroyed"));
}

TEST_F(DaytonaApiTest, ReplacesLabels) {
  std::string id = create({{"labels", {{"a", "1"}}}})["id"];
  auto response = client_->Put("/api/sandbox/" + id + "/labels", R"({"labels":{"b":"2"}})", "application/json");
  ASSERT_EQ(response->status, 200);
  EXPECT_EQ(json::parse(response->body), (json{{"labels", {{"b", "2"}}}}));
  EXPECT_EQ(client_->Put("/api/sandbox/" + id + "/labels", R"({"x":1})", "application/json")->status, 400);
}

TEST_F(DaytonaApiTest, WrongOrMissingKeyIs401WithANestBody) {
  httplib::Client anonymous(mock_.url());
  auto missing = anonymous.Get("/api/sandbox");
  EXPECT_EQ(missing->status, 401);
  anonymous.set_default_headers({{"Authorization", "Bearer wrong"}});
  auto wrong = anonymous.Get("/api/sandbox");
  ASSERT_EQ(wrong->status, 401);
  json body = json::parse(wrong->body);
  EXPECT_EQ(body["statusCode"], 401);
  EXPECT_EQ(body["error"], "Unauthorized");
  EXPECT_EQ(body["message"], "Invalid API key");
  EXPECT_EQ(anonymous.Get("/__cleanroom/health")->status, 200);  // the control API needs no key
}

TEST_F(DaytonaApiTest, ControlApiShowsStateResetsAndInjectsFaults) {
  create({{"name", "one"}});
  json state = json::parse(client_->Get("/__cleanroom/state")->body);
  ASSERT_EQ(state["sandboxes"].size(), 1u);
  EXPECT_EQ(state["sandboxes"][0]["name"], "one");

  json fault = {{"match", {{"method", "GET"}, {"path", "/api/sandbox"}}}, {"status", 503}, {"count", 1},
                {"retryAfter", 1}};
  ASSERT_EQ(client_->Post("/__cleanroom/faults", fault.dump(), "application/json")->status, 201);
  auto faulted = client_->Get("/api/sandbox");
  EXPECT_EQ(faulted->status, 503);
  EXPECT_EQ(faulted->get_header_value("Retry-After"), "1");
  EXPECT_EQ(client_->Get("/api/sandbox")->status, 200);

  ASSERT_EQ(client_->Post("/__cleanroom/reset")->status, 200);
  EXPECT_TRUE(json::parse(client_->Get("/__cleanroom/state")->body)["sandboxes"].empty());
}

TEST(DaytonaApiKeyTest, WithoutAConfiguredKeyAnyBearerTokenIsAccepted) {
  DaytonaApiMock mock;
  mock.start();
  httplib::Client client(mock.url());
  EXPECT_EQ(client.Get("/api/sandbox")->status, 401);
  client.set_default_headers({{"Authorization", "Bearer whatever"}});
  EXPECT_EQ(client.Get("/api/sandbox")->status, 200);
  EXPECT_EQ(mock.apiUrl(), mock.url() + "/api");
}

}  // namespace
}  // namespace cleanroom::mocks::daytona
