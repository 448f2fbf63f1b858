#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every
# test with ctest. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
build_dir=${CLEANROOM_BUILD_DIR:-build}
ctest --test-dir "$build_dir" -j"$(nproc)" --output-on-failure --timeout 300
