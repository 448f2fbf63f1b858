#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, starts
# cleanroom-mock-agents, runs the example suite (examples/agents) against it
# with CLEANROOM_LOG=debug and realistic 1-3 s agent exit delays so the cleanup
# trace is visible, then shows with `cleanroom ls` that nothing is left and
# stops the mock. Leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
build_dir=${CLEANROOM_BUILD_DIR:-build}
bin="$build_dir"

work=$(mktemp -d -t cleanroom-demo.XXXXXX)
mock_pid=""
finish() {
  if [ -n "$mock_pid" ] && kill -0 "$mock_pid" 2>/dev/null; then
    kill -TERM "$mock_pid" && wait "$mock_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap finish EXIT

mock="$bin/mocks/agents/cleanroom-mock-agents"
example="$bin/examples/agents/cleanroom_example_agents"
cli="$bin/harness/cli/cleanroom"

echo "== starting $mock"
exec {mock_out}< <(exec "$mock" --port 0 --log-level warn 2>"$work/mock.err")
mock_pid=$!
# Its first stdout line says where it listens: block on that line, not a clock.
if ! read -r first_line <&"$mock_out"; then
  echo "demo: cleanroom-mock-agents exited before listening:" >&2
  cat "$work/mock.err" >&2
  exit 1
fi
url=${first_line#listening on }
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
