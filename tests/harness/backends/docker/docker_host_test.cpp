// DOCKER_HOST / DOCKER_API_VERSION parsing, backend options and locators.
#include <gtest/gtest.h>

#include <string>

#include "cleanroom/backends/docker_backend.h"
#include "scoped_env.h"

namespace cleanroom {
namespace {

using tests::ScopedEnv;

TEST(DockerHostTest, UnsetOrEmptyMeansTheDefaultSocket) {
  for (std::optional<std::string> value : {std::optional<std::string>(), std::optional<std::string>("")}) {
    ScopedEnv env("DOCKER_HOST", value);
    Result<DockerHost> host = DockerHost::fromEnvironment();
    ASSERT_TRUE(host.ok()) << host.error().describe();
    EXPECT_EQ(host->transport, DockerHost::Transport::Unix);
    EXPECT_EQ(host->socketPath, "/var/run/docker.sock");
    EXPECT_EQ(host->text(), "unix:///var/run/docker.sock");
  }
}

TEST(DockerHostTest, ParsesUnixSockets) {
  Result<DockerHost> host = DockerHost::parse("unix:///tmp/cr/docker.sock");
  ASSERT_TRUE(host.ok()) << host.error().describe();
  EXPECT_EQ(host->transport, DockerHost::Transport::Unix);
  EXPECT_EQ(host->socketPath, "/tmp/cr/docker.sock");
  EXPECT_EQ(host->text(), "unix:///tmp/cr/docker.sock");
  // Docker reads an empty unix:// path as its default socket.
  EXPECT_EQ(DockerHost::parse("unix://")->socketPath, "/var/run/docker.sock");
}

TEST(DockerHostTest, ParsesTcpHostsAndPorts) {
  Result<DockerHost> host = DockerHost::parse("tcp://127.0.0.1:2375");
  ASSERT_TRUE(host.ok()) << host.error().describe();
  EXPECT_EQ(host->transport, DockerHost::Transport::Tcp);
  EXPECT_EQ(host->host, "127.0.0.1");
  EXPECT_EQ(host->port, 2375);
  EXPECT_EQ(host->text(), "tcp://127.0.0.1:2375");
  EXPECT_EQ(DockerHost::parse("tcp://docker.internal:2376/")->text(), "tcp://docker.internal:2376");
  Result<DockerHost> v6 = DockerHost::parse("tcp://[::1]:2375");
  ASSERT_TRUE(v6.ok()) << v6.error().describe();
  EXPECT_EQ(v6->host, "[::1]");
  EXPECT_EQ(v6->port, 2375);
}

TEST(DockerHostTest, RejectsEveryOtherFormNamingTheVariableAndTheAcceptedForms) {
  for (const char* value : {"ssh://me@build-host", "npipe:////./pipe/docker_engine", "fd://", "localhost:2375",
                            "tcp://127.0.0.1", "tcp://127.0.0.1:0", "tcp://127.0.0.1:99999", "tcp://:2375",
                            "tcp://127.0.0.1:2375/api", "unix://relative/docker.sock", "http://127.0.0.1:2375",
                            "garbage"}) {
    Result<DockerHost> host = DockerHost::parse(value);
    ASSERT_FALSE(host.ok()) << value;
    EXPECT_EQ(host.error().kind, ErrorKind::Permanent) << value;
    const std::string& message = host.error().message;
    EXPECT_NE(message.find(std::string("DOCKER_HOST=\"") + value + "\""), std::string::npos) << message;
    EXPECT_NE(message.find("unix:///"), std::string::npos) << message;
    EXPECT_NE(message.find("tcp://HOST:PORT"), std::string::npos) << message;
  }
  EXPECT_NE(DockerHost::parse("tcp://127.0.0.1").error().message.find("no port"), std::string::npos);
  EXPECT_NE(DockerHost::parse("ssh://me@host").error().message.find("forward the socket"), std::string::npos);
}

TEST(DockerHostTest, ASocketPathTooLongForAnAddressIsPermanent) {
  Result<DockerHost> host = DockerHost::parse("unix:///tmp/" + std::string(200, 'x'));
  ASSERT_TRUE(host.ok());
  Result<std::unique_ptr<HttpClient>> client = makeDockerHttpClient(*host);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error().kind, ErrorKind::Permanent);
  EXPECT_NE(client.error().message.find("DOCKER_HOST"), std::string::npos) << client.error().message;
}

TEST(DockerApiVersionTest, ParsesAndOrders) {
  EXPECT_EQ(DockerApiVersion::parse("1.45")->text(), "1.45");
  EXPECT_EQ(DockerApiVersion::parse("v1.41")->text(), "1.41");
  EXPECT_LT(*DockerApiVersion::parse("1.9"), *DockerApiVersion::parse("1.24"));
  EXPECT_LT(*DockerApiVersion::parse("1.45"), *DockerApiVersion::parse("2.0"));
  for (const char* bad : {"", "1", "1.", ".4", "one.two", "1.45.1", "1.45beta"}) {
    EXPECT_FALSE(DockerApiVersion::parse(bad).has_value()) << bad;
  }
}

TEST(DockerOptionsTest, FromEnvironmentReadsHostAndPinnedVersion) {
  ScopedEnv host("DOCKER_HOST", "tcp://127.0.0.1:2375");
  ScopedEnv version("DOCKER_API_VERSION", "1.41");
  Result<DockerBackendOptions> options = DockerBackendOptions::fromEnvironment();
  ASSERT_TRUE(options.ok()) << options.error().describe();
  EXPECT_EQ(options->dockerHost, "tcp://127.0.0.1:2375");
  EXPECT_EQ(options->apiVersion, "1.41");
}

TEST(DockerOptionsTest, MalformedVariablesAreNamed) {
  {
    ScopedEnv host("DOCKER_HOST", "ssh://build-host");
    ScopedEnv version("DOCKER_API_VERSION", std::nullopt);
    Result<DockerBackendOptions> options = DockerBackendOptions::fromEnvironment();
    ASSERT_FALSE(options.ok());
    EXPECT_NE(options.error().message.find("DOCKER_HOST"), std::string::npos);
  }
  ScopedEnv host("DOCKER_HOST", std::nullopt);
  ScopedEnv version("DOCKER_API_VERSION", "latest");
  Result<DockerBackendOptions> options = DockerBackendOptions::fromEnvironment();
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.error().kind, ErrorKind::Permanent);
  EXPECT_NE(options.error().message.find("DOCKER_API_VERSION=\"latest\""), std::string::npos) << options.error().message;
}

TEST(DockerOptionsTest, BackendConstructorThrowsConfigErrorOnMalformedSettings) {
  DockerBackendOptions badHost;
  badHost.dockerHost = "tcp://nowhere";
  EXPECT_THROW(DockerBackend{badHost}, ConfigError);
  DockerBackendOptions badVersion;
  badVersion.apiVersion = "one";
  EXPECT_THROW(DockerBackend{badVersion}, ConfigError);
}

TEST(DockerOptionsTest, LocatorRebuildsTheSameBackend) {
  DockerBackendOptions options;
  options.dockerHost = "unix:///tmp/cr-test/docker.sock";
  options.apiVersion = "1.41";
  options.stopTimeout = std::chrono::seconds(7);
  DockerBackend backend(options);
  std::map<std::string, std::string> locator = backend.locator();
  EXPECT_EQ(locator.at("dockerHost"), "unix:///tmp/cr-test/docker.sock");
  EXPECT_EQ(locator.at("stopTimeoutSeconds"), "7");
  EXPECT_EQ(locator.at("apiVersion"), "1.41");

  Result<DockerBackendOptions> rebuilt = DockerBackendOptions::fromLocator(locator);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().describe();
  EXPECT_EQ(rebuilt->dockerHost, options.dockerHost);
  EXPECT_EQ(rebuilt->apiVersion, options.apiVersion);
  EXPECT_EQ(rebuilt->stopTimeout, options.stopTimeout);
  EXPECT_EQ(DockerBackend(DockerBackendOptions{}).locator().count("apiVersion"), 0u);
}

TEST(DockerOptionsTest, BrokenLocatorsAreNamed) {
  EXPECT_NE(DockerBackendOptions::fromLocator({}).error().message.find("dockerHost"), std::string::npos);
  EXPECT_NE(DockerBackendOptions::fromLocator({{"dockerHost", "ssh://x"}}).error().message.find("DOCKER_HOST"),
            std::string::npos);
  EXPECT_FALSE(DockerBackendOptions::fromLocator({{"dockerHost", kDefaultDockerHost}, {"stopTimeoutSeconds", "x"}}).ok());
}

TEST(DockerStateTest, MapsEveryDockerState) {
  EXPECT_EQ(DockerBackend::classify("created"), ResourceState::Pending);
  EXPECT_EQ(DockerBackend::classify("running"), ResourceState::Running);
  EXPECT_EQ(DockerBackend::classify("paused"), ResourceState::Running);
  EXPECT_EQ(DockerBackend::classify("restarting"), ResourceState::Running);
  EXPECT_EQ(DockerBackend::classify("removing"), ResourceState::Stopping);
  EXPECT_EQ(DockerBackend::classify("exited"), ResourceState::Stopped);
  EXPECT_EQ(DockerBackend::classify("dead"), ResourceState::Stopped);
  EXPECT_EQ(DockerBackend::classify("frozen"), ResourceState::Unknown);
}

}  // namespace
}  // namespace cleanroom
