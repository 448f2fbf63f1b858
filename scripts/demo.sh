#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, starts
# cleanroom-mock-agents, runs the example suite (examples/agents) against it
# with CLEANROOM_LOG=debug and realistic 1-3 s agent exit delays so the cleanup
# trace is visible, then shows with `cleanroom ls` that nothing is left and
# stops the mock. Then the same for ECS sessions: cleanroom-mock-aws with
# 2 s task stops, the examples/ecs-sessions suite attached to it, and
# `cleanroom ls` listing the run's stopped tasks, drained targets and
# uploaded logs. Leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
build_dir=${CLEANROOM_BUILD_DIR:-build}
bin="$build_dir"

work=$(mktemp -d -t cleanroom-demo.XXXXXX)
mock_pid=""
aws_pid=""
stop_mock() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" && wait "$1" 2>/dev/null || true
  fi
}
finish() {
  stop_mock "$mock_pid"
  stop_mock "$aws_pid"
  rm -rf "$work"
}
trap finish EXIT

# Starts a mock (the command after its name) in the background and blocks on
# its first stdout line, "listening on URL" — a line, not a clock. Sets
# started_pid and started_url.
start_mock() {
  local name=$1 line
  shift
  exec {mock_fd}< <(exec "$@" 2>"$work/$name.err")
  started_pid=$!
  if ! read -r line <&"$mock_fd"; then
    echo "demo: $name exited before listening:" >&2
    cat "$work/$name.err" >&2
    exit 1
  fi
  started_url=${line#listening on }
}

mock="$bin/mocks/agents/cleanroom-mock-agents"
example="$bin/examples/agents/cleanroom_example_agents"
cli="$bin/harness/cli/cleanroom"

echo "== starting $mock"
start_mock cleanroom-mock-agents "$mock" --port 0 --log-level warn
mock_pid=$started_pid
url=$started_url
echo "== mock listening on $url (pid $mock_pid)"

export CLEANROOM_AGENTS_URL="$url"
export CLEANROOM_RUN_ID="demo-$$"
export CLEANROOM_LOG=debug
export CLEANROOM_EXAMPLE_EXIT_DELAY_MS=1000,3000

echo "== running the example suite (run id $CLEANROOM_RUN_ID); cleanup trace lines start with 'cleanroom'"
"$example" --gtest_color=no

echo "== what did the suite leave behind? cleanroom ls --all-runs (finished agents stay listed for a while; exit 0 = nothing active)"
CLEANROOM_LOG=warn "$cli" ls --all-runs
echo "== nothing active is left; stopping the mock (it kills any agent process it still has)"

aws_mock="$bin/mocks/aws/cleanroom-mock-aws"
ecs_example="$bin/examples/ecs-sessions/cleanroom_example_ecs_sessions"
echo
echo "== ECS sessions: starting $aws_mock (tasks take 2 s to stop, as Fargate's do)"
start_mock cleanroom-mock-aws "$aws_mock" --port 0 --task-start-ms 200 --task-stop-ms 2000 \
  --deregistration-delay-ms 300000 --log-level warn
aws_pid=$started_pid
aws_url=$started_url
echo "== AWS mock listening on $aws_url (pid $aws_pid)"

# The suite attaches to this mock (AWS_ENDPOINT_URL) with its test credentials.
unset AWS_ENDPOINT_URL_ECS AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 AWS_ENDPOINT_URL_STS \
  AWS_SESSION_TOKEN CLEANROOM_AGENTS_URL
export AWS_ENDPOINT_URL="$aws_url" AWS_ACCESS_KEY_ID=cleanroom AWS_SECRET_ACCESS_KEY=cleanroom-secret AWS_REGION=us-east-1
export CLEANROOM_RUN_ID="demo-ecs-$$"
echo "== running the ECS sessions suite (run id $CLEANROOM_RUN_ID); each session cleanup traces its steps with durations"
"$ecs_example" --gtest_color=no

# The site the suite provisioned: cluster, target group, bucket.
target_group=$(python3 -c 'import json, sys, urllib.request
state = json.load(urllib.request.urlopen(sys.argv[1] + "/__cleanroom/state"))
print(",".join(g["targetGroupArn"] for g in state["targetGroups"]))' "$aws_url")
echo "== what did the ECS suite leave behind? cleanroom ls (stopped tasks, draining targets and uploaded logs stay listed; exit 0 = nothing active)"
CLEANROOM_LOG=warn CLEANROOM_ECS_CLUSTER=cleanroom-agents CLEANROOM_ALB_TARGET_GROUPS="$target_group" \
  CLEANROOM_LOG_BUCKET=cleanroom-logs CLEANROOM_LOG_PREFIX=sessions \
  "$cli" ls --backend ecs --backend alb --backend s3
echo "== nothing active is left; the logs are in S3; stopping the AWS mock"
