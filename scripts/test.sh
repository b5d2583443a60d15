#!/usr/bin/env bash
# Builds and runs every test: unit, integration (real Podman engine), interop (npm peers) and
# functional (the real binaries). Starts the engine when none answers and stops it afterwards.
set -euo pipefail
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-build}"
cd "$REPO_DIR"
export CCACHE_BASEDIR="$REPO_DIR"

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" -j "${JOBS:-2}"

started_engine=0
if ! scripts/engine.sh status >/dev/null 2>&1; then
  scripts/engine.sh start
  started_engine=1
else
  scripts/engine.sh ensure-image
fi
cleanup() { if [ "$started_engine" = 1 ]; then "$REPO_DIR/scripts/engine.sh" stop || true; fi; }
trap cleanup EXIT

export CIRO_TEST_ENGINE_SOCKET="$(scripts/engine.sh socket)"
cd "$BUILD_DIR"
ctest --output-on-failure -j "${CTEST_JOBS:-2}" --timeout 600

# CI also runs each libFuzzer target briefly (make fuzz runs them longer).
if [ "${CI:-}" = "true" ] && [ "${CIRO_SKIP_FUZZ:-}" != "1" ]; then
  cd "$REPO_DIR"
  scripts/fuzz.sh "${CIRO_FUZZ_SECONDS:-5}"
fi
