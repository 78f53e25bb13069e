#!/bin/bash
# Entry point of lab's Backstage backend image.
# Starts the backend with the base config, then every /config/*.yaml (sorted), then any extra arguments.
set -euo pipefail
shopt -s nullglob

fail() {
  echo "docker-entrypoint.sh: $*" >&2
  exit 64
}
for v in LAB_TOKEN LAB_BASE_URL POSTGRES_HOST POSTGRES_USER POSTGRES_PASSWORD; do
  [ -n "${!v:-}" ] || fail "environment variable $v is required"
done
# Backstage refuses static tokens shorter than 8 characters or containing whitespace (every plugin fails).
if [ "${#LAB_TOKEN}" -lt 8 ] || [[ "$LAB_TOKEN" =~ [[:space:]] ]]; then
  fail "LAB_TOKEN must be at least 8 characters long and contain no whitespace"
fi
export POSTGRES_PORT="${POSTGRES_PORT:-5432}"

cd /app
args=(--config /app/app-config.yaml)
for f in /config/*.yaml; do
  if [ -f "$f" ]; then
    args+=(--config "$f")
  fi
done
exec node index.js "${args[@]}" "$@"
