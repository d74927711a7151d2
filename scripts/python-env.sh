#!/usr/bin/env bash
# Create or update the virtualenv VENV (default .venv) with the Python side of Mosaïque: numpy,
# GDAL's bindings and rasterio both built against the system GDAL (one libgdal per process), the
# pinned requirements of the lock files given (default: requirements.lock, the runtime), and the
# project itself (editable; not with INSTALL_PROJECT=0). Needs the system GDAL's development files
# and a C++ compiler.
# Used by scripts/setup.sh (runtime and development locks) and the Dockerfile (runtime lock).
# Usage: scripts/python-env.sh [LOCK...]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
locks=("$@")
((${#locks[@]})) || locks=(requirements.lock)

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
"${PIP[@]}" --upgrade pip setuptools wheel
# numpy first, at the locked version: the GDAL bindings compile against it.
"${PIP[@]}" "$(grep -i '^numpy==' requirements.lock)"
gdal_version=$(gdal-config --version)
if ! "$VENV/bin/python" -c "import osgeo, osgeo.gdal_array; assert osgeo.__version__ == '$gdal_version'" 2>/dev/null; then
  # Without --no-build-isolation the build does not see numpy and gdal_array is silently left out.
  "${PIP[@]}" --no-build-isolation "gdal==$gdal_version"
fi
# rasterio built from source against the system GDAL (its wheel bundles a GDAL of its own): one
# libgdal per process, so osgeo and rasterio share one block cache and one configuration. pip keeps
# the built wheel in its cache, so a new virtualenv does not compile it again.
rasterio_pin=$(grep -i '^rasterio==' requirements.lock)
if ! "$VENV/bin/python" -c "import rasterio; assert rasterio.__gdal_version__ == '$gdal_version' \
     and rasterio.__version__ == '${rasterio_pin#*==}'" 2>/dev/null; then
  echo "setup: building $rasterio_pin against GDAL $gdal_version"
  # -g0: no debug symbols (a third of the size, half the compile time); a compile job per core.
  build_cfg=$(mktemp) && printf '[build_ext]\nparallel = %s\n' "$(nproc)" > "$build_cfg"
  CFLAGS=-g0 DIST_EXTRA_CONFIG="$build_cfg" \
    "${PIP[@]}" --force-reinstall --no-deps --no-binary rasterio "$rasterio_pin"
  rm -f "$build_cfg"
fi
"${PIP[@]}" "${locks[@]/#/-r}"
[ "${INSTALL_PROJECT:-1}" = 0 ] || "${PIP[@]}" --no-deps --no-build-isolation -e .
"$VENV/bin/python" -c "import osgeo.gdal_array, rasterio; print('setup: GDAL', osgeo.__version__, '/ rasterio', \
rasterio.__version__, 'on GDAL', rasterio.__gdal_version__)"
