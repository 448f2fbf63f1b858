// Real-client compatibility of cleanroom-mock-aws: a gtest fixture that starts
// the mock executable as a real process (port 0) and runs the real aws CLI v1
// and boto3 scripts (python3, e2e/aws/*.py) as child processes against it.
//
// Isolation: every client runs with HOME, AWS_CONFIG_FILE and
// AWS_SHARED_CREDENTIALS_FILE in a private temporary directory, credentials
// and region from the environment, AWS_ENDPOINT_URL = the mock, instance
// metadata disabled and every other AWS_* setting that could leak in from the
// user's environment unset. TearDown stops the mock and removes the directory.
//
// Never skipped: a missing client fails the test naming the Debian package
// to install (awscli, python3-boto3).
#pragma once

#include <sys/socket.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cleanroom/clock.h"
#include "cleanroom/wait.h"
#include "mock_server_process.h"
#include "run_command.h"

namespace cleanroom::e2e {

inline constexpr const char* kAccessKeyId = "cleanroom";
inline constexpr const char* kSecretAccessKey = "cleanroom-secret";
inline constexpr const char* kAccountId = "123456789012";

class AwsClientsTest : public ::testing::Test {
 protected:
  // Flags for cleanroom-mock-aws besides --port; suites override to change delays.
  virtual std::vector<std::string> mockFlags() const {
    return {"--log-level", "warn", "--task-start-ms", "300", "--task-stop-ms", "300",
            "--target-healthy-ms", "300", "--deregistration-delay-ms", "300"};
  }

  void SetUp() override {
    char pattern[] = "/tmp/craws-e2e-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    directory_ = pattern;
    std::filesystem::create_directories(directory_ / "home");
    writeFile(directory_ / "aws-config", "[default]\nregion = us-east-1\noutput = json\n");
    writeFile(directory_ / "aws-credentials", "");
    mock_ = std::make_unique<tests::MockServerProcess>(CLEANROOM_MOCK_AWS_PATH, mockFlags());
    environment_ = isolatedEnvironment(mock_->url());
  }

  void TearDown() override {
    if (mock_) {
      auto ending = mock_->process().stop(std::chrono::seconds(10));
      EXPECT_TRUE(ending.graceful) << "cleanroom-mock-aws did not stop on SIGTERM: " << ending.description;
      mock_.reset();
    }
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  // The client environment: everything AWS-related pinned or unset.
  EnvironmentChanges isolatedEnvironment(const std::string& endpoint) const {
    EnvironmentChanges env = {
        {"HOME", (directory_ / "home").string()},
        {"AWS_CONFIG_FILE", (directory_ / "aws-config").string()},
        {"AWS_SHARED_CREDENTIALS_FILE", (directory_ / "aws-credentials").string()},
        {"AWS_ACCESS_KEY_ID", kAccessKeyId},
        {"AWS_SECRET_ACCESS_KEY", kSecretAccessKey},
        {"AWS_DEFAULT_REGION", "us-east-1"},
        {"AWS_REGION", "us-east-1"},
        {"AWS_ENDPOINT_URL", endpoint},
        {"AWS_EC2_METADATA_DISABLED", "true"},
        {"AWS_DEFAULT_OUTPUT", "json"},
        {"NO_PROXY", "127.0.0.1,localhost"},
        {"no_proxy", "127.0.0.1,localhost"},
        {"PYTHONDONTWRITEBYTECODE", "1"},
    };
    for (const char* name :
         {"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN",
          "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL_ECS", "AWS_ENDPOINT_URL_S3",
          "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
          "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
          "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT",
          "AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION", "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
          "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"}) {
      env[name] = std::nullopt;
    }
    return env;
  }

  // Runs the aws CLI with `args` (plus `changes` over the isolated environment).
  CommandResult aws(std::vector<std::string> args, const EnvironmentChanges& changes = {}) const {
    const std::string cli = CLEANROOM_AWS_CLI;
    if (cli.empty() || !std::filesystem::exists(cli)) {
      ADD_FAILURE() << "the aws CLI was not found at configure time (" << cli
                    << "): install it (Debian: apt-get install awscli) and re-run cmake";
      return {};
    }
    args.insert(args.begin(), cli);
    return runCommand(args, withChanges(changes), std::chrono::seconds(120));
  }

  // Runs the aws CLI; expects exit 0 and JSON on stdout, returns it parsed.
  nlohmann::json awsJson(std::vector<std::string> args, const EnvironmentChanges& changes = {}) const {
    const auto result = aws(args, changes);
    EXPECT_EQ(result.exitCode, 0) << joined(args) << "\n" << result.describe();
    if (result.out.empty()) return nlohmann::json::object();
    auto parsed = nlohmann::json::parse(result.out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << joined(args) << ": not JSON\n" << result.describe();
    return parsed.is_discarded() ? nlohmann::json::object() : parsed;
  }

  // Runs e2e/aws/`script` with python3; expects exit 0 and one JSON document
  // on stdout, returns it parsed.
  nlohmann::json python(const std::string& script, std::vector<std::string> args,
                        const EnvironmentChanges& changes = {}) const {
    const std::string python3 = CLEANROOM_PYTHON3;
    if (python3.empty() || !std::filesystem::exists(python3)) {
      ADD_FAILURE() << "python3 was not found at configure time: install python3 and python3-boto3 "
                       "(Debian: apt-get install python3-boto3) and re-run cmake";
      return nlohmann::json::object();
    }
    const auto probe = runCommand({python3, "-c", "import boto3"}, withChanges({}), std::chrono::seconds(60));
    if (probe.exitCode != 0) {
      ADD_FAILURE() << "boto3 is not importable by " << python3
                    << ": install it (Debian: apt-get install python3-boto3)\n" << probe.describe();
      return nlohmann::json::object();
    }
    args.insert(args.begin(), {python3, std::string(CLEANROOM_AWS_E2E_SCRIPTS) + "/" + script});
    const auto result = runCommand(args, withChanges(changes), std::chrono::seconds(120));
    EXPECT_EQ(result.exitCode, 0) << joined(args) << "\n" << result.describe();
    auto parsed = nlohmann::json::parse(result.out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << script << ": not JSON\n" << result.describe();
    return parsed.is_discarded() ? nlohmann::json::object() : parsed;
  }

  // The mock's request log entries for `operation` ("ecs:ListTasks"), in order.
  std::vector<nlohmann::json> requestsFor(const std::string& operation) const {
    std::vector<nlohmann::json> out;
    for (const auto& r : mock_->control("GET", "/__cleanroom/requests")) {
      if (r.value("operation", "") == operation) out.push_back(r);
    }
    return out;
  }

  // Polls `condition` (adaptive, up to `limit`); returns whether it became true.
  static bool eventually(const std::function<bool()>& condition,
                         std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    Clock& clock = Clock::system();
    const AdaptiveWait pacing{milliseconds(20), 1.5, milliseconds(500)};
    return waitUntil(clock, clock.now() + limit, pacing, condition).met;
  }

  // Writes `size` pseudo-random bytes to `path` (deterministic per seed).
  static void writeRandomFile(const std::filesystem::path& path, std::size_t size, unsigned seed) {
    std::string bytes(size, '\0');
    std::uint64_t state = 0x9E3779B97F4A7C15ull ^ seed;
    for (auto& b : bytes) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      b = static_cast<char>(state & 0xff);
    }
    writeFile(path, bytes);
  }

  static void writeFile(const std::filesystem::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }

  static std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  // Returns a loopback port nothing listens on (bound, then closed).
  static std::string deadPort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return std::to_string(ntohs(address.sin_port));
  }

  EnvironmentChanges withChanges(const EnvironmentChanges& changes) const {
    EnvironmentChanges env = environment_;
    for (const auto& [name, value] : changes) env[name] = value;
    return env;
  }

  static std::string joined(const std::vector<std::string>& args) {
    std::string out;
    for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
    return out;
  }

  std::filesystem::path directory_;
  std::unique_ptr<tests::MockServerProcess> mock_;
  EnvironmentChanges environment_;
};

}  // namespace cleanroom::e2e
