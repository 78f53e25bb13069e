#!/usr/bin/env bash
# Prepares a fresh Debian/Ubuntu machine to run lab and its tests: installs Docker and debootstrap if
# missing, starts the Docker daemon if it is not running (machines without systemd included), and makes
# sure the lab images exist: pulled from a registry where one is reachable, else local stand-ins built
# from Debian and npm packages (`lab images offline`). Run as root. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '>>> %s\n' "$*" >&2; }

need_install=()
command -v dockerd >/dev/null 2>&1 || need_install+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_install+=(debootstrap)
[ -x /usr/bin/chromium ] || need_install+=(chromium) # the dashboard's browser test (TestE2EWorkshopDashboard)
if [ ${#need_install[@]} -gt 0 ]; then
  log "installing ${need_install[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_install[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  if command -v systemctl >/dev/null 2>&1 && systemctl start docker 2>/dev/null; then
    :
  else
    nohup dockerd >/var/log/dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/dockerd.log"; exit 1; }
fi

make -s build
bash hack/build-images.sh
