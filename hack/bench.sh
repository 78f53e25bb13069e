#!/usr/bin/env bash
# make bench: prints the figures the issues ask for. Not a test: nothing here fails on a slow machine.
#   - cold build of all images (stand-ins where no registry answers, then the Backstage image, no cache)
#   - warm `lab start` → ready, next to a bare `docker run` of the same two images → ready, and their ratio
#   - steady memory of both containers
#   - `lab check` in steady state, and save → verdict in watch mode
# Set BENCH_COLD=0 to skip the cold build (it removes and rebuilds the images).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
LAB=${LAB:-$PWD/bin/lab}
SLUG=catalog-relations
RUNS=${RUNS:-3}
work=$(mktemp -d)
export LAB_STATE_DIR=$work/state
trap 'cd /; $LAB destroy $SLUG --progress quiet >/dev/null 2>&1 || true; docker rm -f bench-pg bench-bs >/dev/null 2>&1 || true; docker network rm bench-net >/dev/null 2>&1 || true; docker volume rm bench-pgdata >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cd "$work"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

if [ "${BENCH_COLD:-1}" = 1 ]; then
  t0=$(now)
  (cd "$repo" && LAB=$LAB bash hack/build-images.sh --cold) >"$work/cold.log" 2>&1 || { cat "$work/cold.log"; exit 1; }
  t1=$(now)
  echo "cold build of all images (stand-ins from Debian/npm where no registry answers, then the Backstage image): $(secs "$t0" "$t1") s"
fi
$LAB images build --progress quiet >/dev/null 2>&1
image=$($LAB images list --json | awk -F'"' '/"image": "backstage-lab/ { print $4 }')

# Warm lab start → ready (containers, readiness, catalog loaded), RUNS times.
starts=()
for _ in $(seq "$RUNS"); do
  t0=$(now)
  $LAB start $SLUG --progress quiet >/dev/null
  t1=$(now)
  starts+=("$(secs "$t0" "$t1")")
  $LAB destroy $SLUG --progress quiet >/dev/null
done
lab_start=$(printf '%s\n' "${starts[@]}" | median)

# The same two images with plain docker run, waiting for the same thing: readiness and the workspace's
# entities in the catalog. The config and fixtures are the ones lab wrote for the session.
$LAB start $SLUG --progress quiet >/dev/null
sess=$work/session-files
cp -r "$LAB_STATE_DIR/sessions/$SLUG" "$sess" # lab destroy removes the session's files
$LAB destroy $SLUG --progress quiet >/dev/null
bares=()
for _ in $(seq "$RUNS"); do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  token=bench-$RANDOM$RANDOM$RANDOM
  t0=$(now)
  docker network create bench-net >/dev/null
  docker run -d --name bench-pg --network bench-net --network-alias postgres --user postgres \
    -e POSTGRES_USER=backstage -e POSTGRES_PASSWORD=benchpass -v bench-pgdata:/var/lib/postgresql/data postgres:17 >/dev/null
  docker run -d --name bench-bs --network bench-net -p 127.0.0.1:$port:7007 \
    -e LAB_TOKEN=$token -e LAB_BASE_URL=http://127.0.0.1:$port -e POSTGRES_HOST=postgres -e POSTGRES_PORT=5432 \
    -e POSTGRES_USER=backstage -e POSTGRES_PASSWORD=benchpass \
    -v "$work/$SLUG:/workspace:ro" -v "$sess/fixtures:/fixtures:ro" -v "$sess/config:/config:ro" "$image" >/dev/null
  until curl -fs "http://127.0.0.1:$port/.backstage/health/v1/readiness" >/dev/null; do sleep 0.1; done
  until curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/catalog/entities/by-name/component/default/payments-api" >/dev/null; do sleep 0.1; done
  t1=$(now)
  bares+=("$(secs "$t0" "$t1")")
  docker rm -f bench-pg bench-bs >/dev/null; docker network rm bench-net >/dev/null; docker volume rm bench-pgdata >/dev/null
done
bare=$(printf '%s\n' "${bares[@]}" | median)
echo "warm lab start → ready: median $lab_start s (runs: ${starts[*]})"
echo "bare docker run → ready: median $bare s (runs: ${bares[*]})"
echo "ratio lab start / bare docker run: $(awk -v a="$lab_start" -v b="$bare" 'BEGIN { printf "%.2f", a / b }')"

# Steady memory, 15 s after start.
$LAB start $SLUG --progress quiet >/dev/null
sleep 15
docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' lab-$SLUG-backstage lab-$SLUG-postgres |
  awk '{ v=$2; u=v; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+/, "", v); m = (u=="GiB") ? v*1024 : (u=="KiB" ? v/1024 : v); t += m; printf "memory %s: %.0f MiB\n", $1, m } END { printf "memory both containers: %.0f MiB\n", t }'

# lab check in steady state.
checks=()
for _ in $(seq 5); do
  t0=$(now); $LAB check >/dev/null || true; t1=$(now)
  checks+=("$(secs "$t0" "$t1")")
done
echo "lab check (steady state, 7 tasks): median $(printf '%s\n' "${checks[@]}" | median) s (runs: ${checks[*]})"

# Watch mode: save → verdict. Fix the owner of payments-worker and time until the task shows as passed.
$LAB check --watch > watch.out 2>/dev/null &
watcher=$!
sleep 3
file=$SLUG/catalog/components.yaml
t0=$(now)
sed -i 's/owner: team-payment$/owner: team-payments/' "$file"
until grep -q '✓ owner-ref' watch.out; do sleep 0.05; done
t1=$(now)
kill $watcher
echo "watch mode: save → verdict $(secs "$t0" "$t1") s"
