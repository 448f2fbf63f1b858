// The wire format of the Daytona mock: request parsing and errors that name
// the field, Sandbox JSON, NestJS error bodies, timestamps.
#include "cleanroom/mocks/daytona/sandbox_json.h"

#include <gtest/gtest.h>

namespace cleanroom::mocks::daytona {
namespace {

using nlohmann::json;

TEST(SandboxJsonTest, ParsesACreateBodyWithMockKnobs) {
  auto spec = parseSandboxSpec(R"({"name":"n","snapshot":"s","labels":{"a":"1"},"env":{"E":"v"},
    "autoStopInterval":0,"cleanroom":{"stopDelayMs":300,"deleteDelayMs":200,"stuck":true,
    "createdAt":"2026-01-02T03:04:05Z","state":"stopped"}})");
  ASSERT_TRUE(spec.ok()) << spec.message();
  EXPECT_EQ(spec.value().name, "n");
  EXPECT_EQ(spec.value().labels.at("a"), "1");
  EXPECT_EQ(spec.value().env.at("E"), "v");
  EXPECT_EQ(spec.value().behavior.stopDelayMs, 300);
  EXPECT_EQ(spec.value().behavior.deleteDelayMs, 200);
  EXPECT_TRUE(spec.value().behavior.stuck);
  EXPECT_EQ(spec.value().behavior.state, SandboxState::stopped);
  EXPECT_EQ(isoTimestamp(*spec.value().behavior.createdAt), "2026-01-02T03:04:05.000Z");
  EXPECT_TRUE(parseSandboxSpec("").ok());
}

TEST(SandboxJsonTest, BadCreateBodiesNameTheField) {
  EXPECT_EQ(parseSandboxSpec("[1]").field(), "body");
  EXPECT_EQ(parseSandboxSpec(R"({"labels":{"a":1}})").field(), "labels.a");
  EXPECT_EQ(parseSandboxSpec(R"({"cleanroom":{"stopDelayMs":-1}})").field(), "cleanroom.stopDelayMs");
  EXPECT_EQ(parseSandboxSpec(R"({"cleanroom":{"state":"destroyed"}})").field(), "cleanroom.state");
  EXPECT_EQ(parseSandboxSpec(R"({"cleanroom":{"createdAt":"yesterday"}})").field(), "cleanroom.createdAt");
  auto unknown = parseSandboxSpec(R"({"cleanroom":{"exitDelayMs":1}})");
  EXPECT_EQ(unknown.field(), "cleanroom.exitDelayMs");
  EXPECT_NE(unknown.message().find("stopDelayMs"), std::string::npos) << unknown.message();
}

TEST(SandboxJsonTest, ParsesTheLabelsFilterAsUrlEncodedJson) {
  HttpRequest request;
  request.query = parseQuery("labels=%7B%22cleanroom.run%22%3A%22r1%22%7D&includeErroredDeleted=true");
  auto filter = parseSandboxFilter(request);
  ASSERT_TRUE(filter.ok()) << filter.message();
  EXPECT_EQ(filter.value().labels.at("cleanroom.run"), "r1");
  EXPECT_TRUE(filter.value().includeErroredDeleted);

  request.query = parseQuery("labels=cleanroom.run%3Dr1");
  auto bad = parseSandboxFilter(request);
  EXPECT_EQ(bad.field(), "labels");
  EXPECT_NE(bad.message().find("JSON object"), std::string::npos);
  request.query = parseQuery("includeErroredDeleted=maybe");
  EXPECT_EQ(parseSandboxFilter(request).field(), "includeErroredDeleted");
}

TEST(SandboxJsonTest, RendersSandboxAndNestErrorShapes) {
  Sandbox sandbox;
  sandbox.id = "id-1";
  sandbox.spec.name = "n";
  sandbox.spec.labels = {{"k", "v"}};
  sandbox.state = SandboxState::build_failed;
  sandbox.errorReason = "boom";
  json out = sandboxToJson(sandbox);
  EXPECT_EQ(out["id"], "id-1");
  EXPECT_EQ(out["state"], "build_failed");
  EXPECT_EQ(out["labels"]["k"], "v");
  EXPECT_EQ(out["errorReason"], "boom");
  for (const char* field : {"organizationId", "snapshot", "user", "env", "public", "target", "cpu", "memory", "disk",
                            "desiredState", "createdAt", "updatedAt"}) {
    EXPECT_TRUE(out.contains(field)) << field;
  }

  HttpResponse error = nestError(404, "/api/sandbox/x", "Sandbox not found");
  json body = json::parse(error.body);
  EXPECT_EQ(error.status, 404);
  EXPECT_EQ(body["statusCode"], 404);
  EXPECT_EQ(body["error"], "Not Found");
  EXPECT_EQ(body["path"], "/api/sandbox/x");
  EXPECT_EQ(body["message"], "Sandbox not found");
  EXPECT_TRUE(parseIsoTimestamp(body["timestamp"].get<std::string>()).has_value());
}

TEST(SandboxJsonTest, TimestampsRoundTrip) {
  auto time = parseIsoTimestamp("2026-11-25T21:48:48.123Z");
  ASSERT_TRUE(time.has_value());
  EXPECT_EQ(isoTimestamp(*time), "2026-11-25T21:48:48.123Z");
  EXPECT_FALSE(parseIsoTimestamp("2026-11-25 21:48:48").has_value());
  EXPECT_FALSE(parseIsoTimestamp("2026-13-25T21:48:48Z").has_value());
}

}  // namespace
}  // namespace cleanroom::mocks::daytona
