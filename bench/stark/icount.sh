#!/usr/bin/env bash
# Instructions per operation under callgrind: (count(n) - count(0)) / n for each operation.
# Usage: bench/stark/icount.sh BUILD_DIR [n=200]
set -euo pipefail
bin="$1/bench/stark/ciro_stark_icount"
n="${2:-200}"
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
for op in pedersen poseidon_pair poseidon_many_10 sign verify verify_x public_key; do
  base=$(count "$op" 0)
  full=$(count "$op" "$n")
  echo "$op $(( (full - base) / n ))"
done
