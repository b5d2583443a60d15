#!/usr/bin/env bash
# Runs every benchmark binary already built in a build folder (it builds nothing):
# bench_job_overhead (needs the container engine: started here when none answers, and stopped
# afterwards if this script started it), then any other bench binary found (bench/stark,
# bench/p2p, ...). Each prints its own figures and ratios against a reference measured in the
# same run; see bench/README.md.
#
# Usage: scripts/bench.sh [BUILD_DIR]          (default: build)
# Environment: BENCH_JOB_OVERHEAD_ARGS  extra arguments for bench_job_overhead (e.g. "--jobs 60")
# Exit status: non-zero when a benchmark failed to run (never because of a measured ratio).
set -uo pipefail
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-build}"
cd "$REPO_DIR"
[ -d "$BUILD_DIR" ] || { echo "bench.sh: no build folder $BUILD_DIR (cmake -S . -B $BUILD_DIR -G Ninja; ninja -C $BUILD_DIR)" >&2; exit 2; }

# Benchmarks: bench_* anywhere near the top of the build tree, and every executable under its
# bench/ folder (other owners name theirs ciro_stark_bench, ciro_p2p_perf, ...).
mapfile -t BINS < <(
  {
    find "$BUILD_DIR" -maxdepth 3 -name 'bench_*' -type f -executable
    [ -d "$BUILD_DIR/bench" ] && find "$BUILD_DIR/bench" -maxdepth 3 -type f -executable -not -path '*/CMakeFiles/*'
  } 2>/dev/null | sort -u
)
if [ "${#BINS[@]}" -eq 0 ]; then
  echo "bench.sh: no benchmark binaries in $BUILD_DIR (build them: ninja -C $BUILD_DIR bench_job_overhead ...)" >&2
  exit 2
fi

started_engine=0
cleanup() { if [ "$started_engine" = 1 ]; then scripts/engine.sh stop || true; fi; }
trap cleanup EXIT

failed=()
for bin in "${BINS[@]}"; do
  name="$(basename "$bin")"
  echo "=== $name ($bin)"
  args=()
  if [ "$name" = bench_job_overhead ]; then
    if ! scripts/engine.sh status >/dev/null 2>&1; then
      if ! scripts/engine.sh start; then failed+=("$name (engine did not start)"); continue; fi
      started_engine=1
    else
      scripts/engine.sh ensure-image || { failed+=("$name (image)"); continue; }
    fi
    export CIRO_TEST_ENGINE_SOCKET="${CIRO_TEST_ENGINE_SOCKET:-$(scripts/engine.sh socket)}"
    # shellcheck disable=SC2206
    args=(${BENCH_JOB_OVERHEAD_ARGS:-})
  fi
  "$bin" "${args[@]}"
  rc=$?
  [ "$rc" -eq 0 ] || failed+=("$name (exit $rc)")
  echo
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "bench.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "bench.sh: ran ${#BINS[@]} benchmark(s)"
