#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang in build-fuzz and runs each for the given
# number of seconds (default 60). Crashes leave their input in build-fuzz/fuzz-artifacts/.
# Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
SECONDS_EACH="${1:-60}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$ROOT/build-fuzz"
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCIRO_FUZZ=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address" >/dev/null
ninja -C "$BUILD" fuzz_targets
mkdir -p "$BUILD/fuzz-artifacts"
status=0
for t in fuzz_multistream fuzz_noise fuzz_yamux fuzz_identify fuzz_gossipsub fuzz_kad fuzz_multiaddr; do
  corpus="$BUILD/fuzz-corpus/$t"
  mkdir -p "$corpus"
  echo "== $t (${SECONDS_EACH}s)"
  if ! "$BUILD/tests/fuzz/$t" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 \
       -artifact_prefix="$BUILD/fuzz-artifacts/$t-" -print_final_stats=0 "$corpus" 2>"$BUILD/fuzz-artifacts/$t.log"; then
    echo "!! $t found a crash: see $BUILD/fuzz-artifacts/$t.log"
    tail -30 "$BUILD/fuzz-artifacts/$t.log"
    status=1
  else
    grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" "$BUILD/fuzz-artifacts/$t.log" | tail -1 || true
  fi
done
exit $status
