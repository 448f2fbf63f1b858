// ContainerFilter: both encodings of `filters`, docker's AND/OR rules, errors.
#include "cleanroom/mocks/docker/container_filter.h"

#include <gtest/gtest.h>

namespace cleanroom::mocks::docker {
namespace {

Container makeContainer(std::string name, std::map<std::string, std::string> labels, ContainerStatus status,
                        int exitCode = 0) {
  Container container;
  container.id = "4f1c0ffee0000000000000000000000000000000000000000000000000000abc";
  container.spec.name = std::move(name);
  container.spec.labels = std::move(labels);
  container.status = status;
  container.exitCode = exitCode;
  return container;
}

ContainerFilter parsed(std::string_view text) {
  auto filter = ContainerFilter::parse(text);
  EXPECT_TRUE(filter.ok()) << filter.message();
  return filter.ok() ? filter.value() : ContainerFilter::parse("").value();
}

TEST(ContainerFilterTest, MapAndListFormsSelectTheSameContainers) {
  const auto web = makeContainer("web", {{"cleanroom.run", "r1"}, {"tier", "front"}}, ContainerStatus::running);
  const auto db = makeContainer("db", {{"cleanroom.run", "r2"}}, ContainerStatus::running);
  for (const char* text : {R"({"label":{"cleanroom.run=r1":true}})", R"({"label":["cleanroom.run=r1"]})"}) {
    const auto filter = parsed(text);
    EXPECT_TRUE(filter.matches(web)) << text;
    EXPECT_FALSE(filter.matches(db)) << text;
  }
}

TEST(ContainerFilterTest, LabelsAreAndedAndAKeyAloneMeansTheLabelExists) {
  const auto web = makeContainer("web", {{"cleanroom.run", "r1"}, {"tier", "front"}}, ContainerStatus::running);
  EXPECT_TRUE(parsed(R"({"label":{"cleanroom.run=r1":true,"tier":true}})").matches(web));
  EXPECT_FALSE(parsed(R"({"label":{"cleanroom.run=r1":true,"zone":true}})").matches(web));
  EXPECT_FALSE(parsed(R"({"label":["tier=back"]})").matches(web));
}

TEST(ContainerFilterTest, StatusesAreOredAndKeysAnded) {
  const auto running = makeContainer("a", {{"k", "v"}}, ContainerStatus::running);
  const auto exited = makeContainer("b", {{"k", "v"}}, ContainerStatus::exited, 137);
  const auto created = makeContainer("c", {{"k", "v"}}, ContainerStatus::created);
  const auto filter = parsed(R"({"status":["running","exited"],"label":["k=v"]})");
  EXPECT_TRUE(filter.matches(running));
  EXPECT_TRUE(filter.matches(exited));
  EXPECT_FALSE(filter.matches(created));
  EXPECT_TRUE(parsed(R"({"exited":["137"]})").matches(exited));
  EXPECT_FALSE(parsed(R"({"exited":["0"]})").matches(exited));
}

TEST(ContainerFilterTest, NameAndIdAreUnanchoredExpressions) {
  const auto web = makeContainer("cr-run1-web", {}, ContainerStatus::running);
  EXPECT_TRUE(parsed(R"({"name":{"run1":true}})").matches(web));
  EXPECT_TRUE(parsed(R"({"name":["^/cr-run1"]})").matches(web));
  EXPECT_TRUE(parsed(R"({"name":["^cr-run1-web$"]})").matches(web));
  EXPECT_FALSE(parsed(R"({"name":["run2"]})").matches(web));
  EXPECT_TRUE(parsed(R"({"id":["4f1c0ffee"]})").matches(web));
  EXPECT_FALSE(parsed(R"({"id":["^abc"]})").matches(web));
}

TEST(ContainerFilterTest, RejectsUnknownKeysBadStatusesAndMalformedJson) {
  EXPECT_EQ(ContainerFilter::parse(R"({"colour":["red"]})").message(), "invalid filter 'colour'");
  EXPECT_EQ(ContainerFilter::parse(R"({"status":["sleepy"]})").message(), "invalid filter 'status=sleepy'");
  EXPECT_EQ(ContainerFilter::parse(R"({"label":"k=v"})").message(), "invalid filter 'label'");
  const auto malformed = ContainerFilter::parse("{label");
  ASSERT_FALSE(malformed.ok());
  EXPECT_NE(malformed.message().find("invalid filters"), std::string::npos);
  EXPECT_TRUE(ContainerFilter::parse("").ok());
}

}  // namespace
}  // namespace cleanroom::mocks::docker
