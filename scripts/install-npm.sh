#!/usr/bin/env bash
# Installs the npm packages the interop and differential tests use, from each committed
# package-lock.json (npm ci), only where node_modules is missing or older than the lockfile.
set -euo pipefail
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for lock in "$REPO_DIR"/tests/interop/*/package-lock.json; do
  [ -f "$lock" ] || continue
  dir="$(dirname "$lock")"
  if [ -d "$dir/node_modules" ] && [ "$dir/node_modules/.package-lock.json" -nt "$lock" ]; then
    continue
  fi
  echo "install-npm: npm ci in ${dir#$REPO_DIR/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
done
