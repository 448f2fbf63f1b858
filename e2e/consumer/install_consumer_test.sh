#!/bin/sh
# Installs a cleanroom build tree into a temporary prefix and builds and runs
# a consumer project against it; removes everything it made on exit.
#   install_consumer_test.sh CMAKE BUILD_DIR CONSUMER_SOURCE_DIR CXX_COMPILER VERSION
set -eu
if [ "$#" -ne 5 ]; then
  echo "usage: $0 CMAKE BUILD_DIR CONSUMER_SOURCE_DIR CXX_COMPILER VERSION" >&2
  exit 2
fi
cmake=$1 build=$2 source=$3 cxx=$4 version=$5

work=$(mktemp -d "${TMPDIR:-/tmp}/cleanroom-consumer.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
prefix=$work/prefix

# Runs a step quietly; prints its output only when it fails.
step() {
  name=$1
  shift
  echo "== $name"
  if ! "$@" >"$work/step.log" 2>&1; then
    cat "$work/step.log"
    echo "FAILED: $name" >&2
    exit 1
  fi
}

step "install $build into $prefix" "$cmake" --install "$build" --prefix "$prefix"
step "configure the consumer" "$cmake" -S "$source" -B "$work/build" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release
step "build the consumer" "$cmake" --build "$work/build" -j2

echo "== run the installed cleanroom CLI"
printed=$("$prefix/bin/cleanroom" version)
if [ "$printed" != "cleanroom $version" ]; then
  echo "FAILED: '$prefix/bin/cleanroom version' printed '$printed', expected 'cleanroom $version'" >&2
  exit 1
fi

echo "== run the consumer's tests against the installed mock"
env -u CLEANROOM_AGENTS_URL -u CLEANROOM_RUN_ID -u CLEANROOM_LOG \
  CLEANROOM_MOCK_AGENTS_BIN="$prefix/bin/cleanroom-mock-agents" \
  "$work/build/cleanroom_consumer_test"
