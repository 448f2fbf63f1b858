// cleanroom-mock-aws: ECS + ELBv2 + STS + S3 on one port (aws_mock.h) as an
// executable. Credentials it accepts: --access-key-id/--secret-access-key
// (default cleanroom / cleanroom-secret); --no-verify skips SigV4 checks.
#include <memory>

#include "cleanroom/mocks/aws/aws_mock.h"
#include "cleanroom/mocks/mock_main.h"

int main(int argc, char** argv) {
  using namespace cleanroom::mocks;
  using namespace cleanroom::mocks::aws;
  AwsMockOptions options;
  std::string accessKeyId = "cleanroom";
  std::string secretAccessKey = "cleanroom-secret";
  bool noVerify = false;
  std::int64_t taskStartMs = options.taskStart.count();
  std::int64_t taskStopMs = options.taskStop.count();
  std::int64_t lingerMs = options.stoppedLinger.count();
  std::int64_t healthyMs = options.targetHealthy.count();
  std::int64_t deregistrationMs = options.deregistrationDelay.count();
  std::unique_ptr<AwsMock> mock;

  MockProgram program;
  program.description = "cleanroom-mock-aws: ECS (JSON 1.1), ELBv2 + STS (query/XML) and S3 on one port, SigV4 verified";
  program.addFlags = [&](CLI::App& app) {
    const CLI::Range delays(std::int64_t{0}, std::int64_t{86400000});
    app.add_option("--region", options.region, "region in ARNs and the default bucket location")->capture_default_str();
    app.add_option("--account-id", options.accountId, "account id in ARNs and GetCallerIdentity")->capture_default_str();
    app.add_option("--access-key-id", accessKeyId, "access key id to accept")->capture_default_str();
    app.add_option("--secret-access-key", secretAccessKey, "its secret")->capture_default_str();
    app.add_flag("--no-verify", noVerify, "accept requests without checking SigV4 signatures");
    app.add_option("--task-start-ms", taskStartMs, "ECS RunTask -> RUNNING")->check(delays)->capture_default_str();
    app.add_option("--task-stop-ms", taskStopMs, "ECS StopTask -> STOPPED")->check(delays)->capture_default_str();
    app.add_option("--stopped-linger-ms", lingerMs, "how long STOPPED tasks stay listed and described")
        ->check(delays)
        ->capture_default_str();
    app.add_option("--target-healthy-ms", healthyMs, "ELBv2 target initial -> healthy")->check(delays)->capture_default_str();
    app.add_option("--deregistration-delay-ms", deregistrationMs, "ELBv2 target draining -> gone")
        ->check(delays)
        ->capture_default_str();
  };
  program.start = [&](const MockCommonFlags& flags) {
    options.host = flags.host;
    options.port = flags.port;
    options.credentials = {{accessKeyId, secretAccessKey}};
    options.verifySignatures = !noVerify;
    options.taskStart = std::chrono::milliseconds(taskStartMs);
    options.taskStop = std::chrono::milliseconds(taskStopMs);
    options.stoppedLinger = std::chrono::milliseconds(lingerMs);
    options.targetHealthy = std::chrono::milliseconds(healthyMs);
    options.deregistrationDelay = std::chrono::milliseconds(deregistrationMs);
    mock = std::make_unique<AwsMock>(options);
    mock->start();
    return mock->url();
  };
  program.stop = [&] { mock->stop(); };
  return runMockProgram(argc, argv, program);
}
