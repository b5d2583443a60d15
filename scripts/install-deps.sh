#!/usr/bin/env bash
# Installs every Debian package the project needs to build, test and run (apt only, idempotent).
# Usage: scripts/install-deps.sh            (build + test + run dependencies)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config g++ git
  libboost1.81-dev libssl-dev libsodium-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libtomlplusplus-dev libcli11-dev libsqlite3-dev sqlite3 prometheus-cpp-dev
  libprotobuf-dev protobuf-compiler libgtest-dev libgmock-dev libbenchmark-dev
  podman runc conmon busybox-static prometheus
  curl ca-certificates python3 procps clang libclang-rt-14-dev
)
# Node.js (for the interop and differential tests against npm packages): Debian's nodejs+npm
# unless a Node.js with npm is already installed (some images ship nodesource's, which bundles npm).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then PACKAGES+=(nodejs npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
