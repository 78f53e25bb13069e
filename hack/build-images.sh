#!/usr/bin/env bash
# Makes every image lab needs, as fast as two cores allow. Where a registry answers, the base images are
# pulled; where none does, local stand-ins are built from Debian and npm packages, and the PostgreSQL
# stand-in is built while the Backstage image builds (it only needs the node stand-in).
#   hack/build-images.sh [--cold]   --cold rebuilds everything from scratch (for make bench)
# Run as root. Expects bin/lab (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=${LAB:-./bin/lab}
cold=0
[ "${1:-}" = --cold ] && cold=1
force=() nocache=()
if [ "$cold" = 1 ]; then force=(--force) nocache=(--rebuild --no-cache); fi
# Behind a TLS-inspecting proxy npm needs the host's CA bundle (used only in the build stages that run npm).
if [ -z "${LAB_CA_BUNDLE:-}" ] && [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export LAB_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
fi

pullable() { timeout 60 docker pull -q "$1" >/dev/null 2>&1; }
have() { docker image inspect "$1" >/dev/null 2>&1; }

pg_pid=""
if [ "$cold" = 1 ] || ! have node:22-bookworm-slim; then
  if [ "$cold" = 1 ] || ! pullable node:22-bookworm-slim; then
    echo ">>> no registry for node:22-bookworm-slim: building local stand-ins from Debian and npm packages" >&2
    $LAB images offline --only node "${force[@]}"
  fi
fi
if [ "$cold" = 1 ] || ! have postgres:17; then
  if [ "$cold" = 1 ] || ! pullable postgres:17; then
    $LAB images offline --only postgres "${force[@]}" &
    pg_pid=$!
  fi
fi
$LAB images build --only backstage --progress plain "${nocache[@]}"
if [ -n "$pg_pid" ]; then wait "$pg_pid"; fi
$LAB images build --progress quiet
