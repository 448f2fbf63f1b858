#!/usr/bin/env bash
# Runs the benchmarks (e2e/bench): they print figures and assert nothing.
# Pass section names (teardown scaling fixture mock) to run only some of
# cleanroom_bench (the reaper and containers benches then do not run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
"${CLEANROOM_BUILD_DIR:-build}/e2e/bench/cleanroom_bench" "$@"
# When a test process dies (kill -> last resource gone; journaling cost).
if [ $# -eq 0 ]; then "${CLEANROOM_BUILD_DIR:-build}/e2e/bench/cleanroom_reaper_bench"; fi
# Containers: cleanroom vs the sequential stop/rm loop, docker mock request rate, `docker ps`.
if [ $# -eq 0 ]; then "${CLEANROOM_BUILD_DIR:-build}/e2e/bench/cleanroom_containers_bench"; fi
# ECS sessions: parallel pipeline vs the sequential order, 100 sessions, mock start-up and rate.
if [ $# -eq 0 ]; then "${CLEANROOM_BUILD_DIR:-build}/e2e/bench/cleanroom_ecs_sessions_bench"; fi
