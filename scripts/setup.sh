#!/usr/bin/env bash
# Install everything Mosaïque needs on Debian 12, as root: system packages (GDAL 3.6 dev and
# tools, Node.js and npm, Chromium for the page tests), a virtualenv with the pinned Python
# dependencies, the GDAL Python bindings and rasterio both built against the system GDAL, and the
# page's npm packages. Idempotent: a second run checks and returns in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

APT_PACKAGES=(gdal-bin libgdal-dev python3-venv python3-dev g++ make zip chromium)
# nginx: the caching reverse proxy in front of the server (scripts/nginx/, docs/operations.md), and
# envsubst to fill in its template. Tests and benchmarks run their own unprivileged instances.
APT_PACKAGES+=(nginx gettext-base)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Node.js and npm: Debian's, unless the machine already has them (from elsewhere, they conflict).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "setup: installing system packages: ${missing[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

stamp="$VENV/.mosaique-setup"
want=$(cat requirements.lock requirements-dev.lock pyproject.toml scripts/setup.sh scripts/python-env.sh \
  frontend/package-lock.json | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d frontend/node_modules/maplibre-gl ] \
   && "$VENV/bin/python" -c "import osgeo.gdal_array, rasterio, app" 2>/dev/null; then
  exit 0
fi

echo "setup: creating the virtualenv in $VENV"
VENV=$VENV PYTHON=$PYTHON scripts/python-env.sh requirements.lock requirements-dev.lock  # runtime, dev tools
# The page's map library, from the npm registry (served by the app: the page loads nothing from elsewhere).
(cd frontend && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" > "$stamp"
