#!/usr/bin/env bash
# Runs a local Podman service that speaks the Docker Engine API over a Unix socket, for tests and
# `make run` (see ../shared/recipes/container-engine.md for why these settings).
#
# Usage: scripts/engine.sh start|stop|status|socket|ensure-image
#   start         start the service in the background (idempotent) and import the base image
#   stop          stop the service this script started (by its own pid file only)
#   status        print whether the socket answers GET /_ping (exit 1 when not)
#   socket        print the socket path
#   ensure-image  import ciro/busybox:latest from busybox-static when it is missing
#
# Environment: CIRO_ENGINE_DIR (default <repo>/.run/engine) holds containers.conf, the socket,
# the pid file and the log. Every podman command runs with CONTAINERS_CONF pointing there.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENGINE_DIR="${CIRO_ENGINE_DIR:-$REPO_DIR/.run/engine}"
SOCK="$ENGINE_DIR/podman.sock"
PID_FILE="$ENGINE_DIR/podman.pid"
LOG_FILE="$ENGINE_DIR/podman.log"
CONF_FILE="$ENGINE_DIR/containers.conf"
IMAGE="${CIRO_ENGINE_IMAGE:-ciro/busybox:latest}"  # override only to test the import
START_TIMEOUT_S="${CIRO_ENGINE_START_TIMEOUT_S:-30}"

die() { echo "engine.sh: $*" >&2; exit 1; }

write_conf() {
  mkdir -p "$ENGINE_DIR"
  # runc: crun refuses hybrid cgroups here; ulimits: root lacks CAP_SYS_RESOURCE and conmon
  # accepts at most nproc 32768; no systemd, hence cgroupfs and the file events logger.
  cat >"$CONF_FILE.tmp" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  mv -f "$CONF_FILE.tmp" "$CONF_FILE"
}

podman_cmd() { CONTAINERS_CONF="$CONF_FILE" podman "$@"; }

ping() {
  [ -S "$SOCK" ] || return 1
  local out
  out="$(curl -s --max-time 2 --unix-socket "$SOCK" http://d/_ping 2>/dev/null)" || return 1
  [ "$out" = "OK" ]
}

our_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

ensure_image() {
  command -v podman >/dev/null || die "podman is not installed (scripts/install-deps.sh)"
  [ -f "$CONF_FILE" ] || write_conf
  if podman_cmd image exists "$IMAGE" 2>/dev/null; then
    return 0
  fi
  local bb
  bb="$(command -v busybox || true)"
  [ -n "$bb" ] || die "busybox is not installed (package busybox-static)"
  if ! file_is_static "$bb"; then
    die "$bb is not statically linked: install busybox-static"
  fi
  local root
  root="$(mktemp -d "${TMPDIR:-/tmp}/ciro-busybox.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$root'" RETURN
  mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/tmp" "$root/input" \
    "$root/output" "$root/proc" "$root/sys" "$root/dev" "$root/etc" "$root/root"
  chmod 1777 "$root/tmp"
  chmod 0777 "$root/output"
  cp "$bb" "$root/bin/busybox"
  chroot "$root" /bin/busybox --install -s
  echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
  echo "root:x:0:" >"$root/etc/group"
  tar -C "$root" -c . | podman_cmd import -q --change 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
  echo "engine.sh: imported $IMAGE"
}

# busybox-static is what we need; a dynamically linked busybox would not run in an empty root.
file_is_static() {
  # ELF program headers: a static binary has no PT_INTERP. Avoid depending on `file`.
  if command -v readelf >/dev/null; then
    ! readelf -l "$1" 2>/dev/null | grep -q "Requesting program interpreter"
  else
    ! grep -q "ld-linux" "$1"
  fi
}

start() {
  command -v podman >/dev/null || die "podman is not installed (scripts/install-deps.sh)"
  command -v curl >/dev/null || die "curl is not installed (scripts/install-deps.sh)"
  write_conf
  if ping; then
    ensure_image
    echo "engine.sh: already running at $SOCK"
    return 0
  fi
  if pid="$(our_pid)"; then
    # Our process is alive but does not answer: replace it.
    kill "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$SOCK"
  : >"$LOG_FILE"
  # setsid: the service must outlive this shell and not get its terminal's signals. Its working
  # folder is ENGINE_DIR: conmon writes an "oom" marker file into the current folder on OOM kills.
  (cd "$ENGINE_DIR" && CONTAINERS_CONF="$CONF_FILE" exec setsid podman system service --time=0 "unix://$SOCK" \
    >>"$LOG_FILE" 2>&1 </dev/null) &
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until ping; do
    if ! our_pid >/dev/null; then
      echo "engine.sh: podman service exited; last log lines:" >&2
      tail -n 20 "$LOG_FILE" >&2 || true
      exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "engine.sh: $SOCK did not answer /_ping within ${START_TIMEOUT_S}s; last log lines:" >&2
      tail -n 20 "$LOG_FILE" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  ensure_image
  echo "engine.sh: running at $SOCK (pid $(cat "$PID_FILE"))"
}

stop() {
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PID_FILE"
    echo "engine.sh: not running (no live pid in $PID_FILE)"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$PID_FILE" "$SOCK"
  echo "engine.sh: stopped (pid $pid)"
}

status() {
  if ping; then
    echo "engine.sh: running at $SOCK"
  else
    echo "engine.sh: not answering at $SOCK"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  socket) echo "$SOCK" ;;
  ensure-image) ensure_image ;;
  *) echo "usage: $0 start|stop|status|socket|ensure-image" >&2; exit 2 ;;
esac
