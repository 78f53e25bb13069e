#!/bin/bash
# Starts the backend with the base config, then every /config/*.yaml (sorted), then any extra arguments.
set -euo pipefail
shopt -s nullglob
cd /app
args=(--config /app/app-config.yaml)
for f in /config/*.yaml; do
  if [ -f "$f" ]; then
    args+=(--config "$f")
  fi
done
exec node index.js "${args[@]}" "$@"
