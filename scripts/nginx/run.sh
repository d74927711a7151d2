#!/usr/bin/env bash
# Run nginx as a caching proxy in front of `mosaique serve`, in the foreground, under DIR (created):
#   MOSAIQUE_UPSTREAM=127.0.0.1:8000 MOSAIQUE_NGINX_LISTEN=127.0.0.1:8080 scripts/nginx/run.sh /tmp/mosaique-nginx
# Settings (environment): MOSAIQUE_UPSTREAM (the server, default 127.0.0.1:8000),
# MOSAIQUE_NGINX_LISTEN (default 127.0.0.1:8080), MOSAIQUE_NGINX_CACHE_DIR (default DIR/cache),
# MOSAIQUE_NGINX_CACHE_SIZE (default 10g). Ctrl-C or SIGTERM stops it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: $0 DIR}
mkdir -p "$dir/tmp"
dir=$(cd "$dir" && pwd)
export MOSAIQUE_UPSTREAM=${MOSAIQUE_UPSTREAM:-127.0.0.1:8000}
export MOSAIQUE_NGINX_LISTEN=${MOSAIQUE_NGINX_LISTEN:-127.0.0.1:8080}
export MOSAIQUE_NGINX_CACHE_DIR=${MOSAIQUE_NGINX_CACHE_DIR:-$dir/cache}
export MOSAIQUE_NGINX_CACHE_SIZE=${MOSAIQUE_NGINX_CACHE_SIZE:-10g}
envsubst '${MOSAIQUE_UPSTREAM} ${MOSAIQUE_NGINX_LISTEN} ${MOSAIQUE_NGINX_CACHE_DIR} ${MOSAIQUE_NGINX_CACHE_SIZE}' \
  < "$here/mosaique.conf.template" > "$dir/mosaique.conf"
cp "$here/nginx.conf" "$dir/nginx.conf"
nginx=$(command -v nginx || echo /usr/sbin/nginx)
# As root, nginx would run its workers as "nobody", who cannot reach a private DIR: keep the invoking user.
globals="daemon off;"
[ "$(id -u)" != 0 ] || globals="$globals user root root;"
"$nginx" -t -q -e stderr -p "$dir" -c nginx.conf -g "$globals"
exec "$nginx" -e stderr -p "$dir" -c nginx.conf -g "$globals"
