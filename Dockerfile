# Mosaïque on Debian 12: the same steps as the README's commands (scripts/setup.sh, then make run).
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    MOSAIQUE_DATA_DIR=/data

# python3 and make are needed to run the setup script; it installs everything else
# (GDAL 3.6 dev and tools, Node.js/npm and Chromium, nginx for the caching proxy of
# scripts/nginx/, the virtualenv with requirements.lock, GDAL's Python bindings, the page's npm packages).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/mosaique
COPY requirements.lock pyproject.toml Makefile README.md ./
COPY scripts/ scripts/
COPY processing/ processing/
COPY sample/ sample/
COPY mosaic/ mosaic/
COPY app/ app/
COPY frontend/package.json frontend/package-lock.json frontend/
COPY frontend/page/ frontend/page/
RUN ./scripts/setup.sh && rm -rf /var/lib/apt/lists/* /root/.cache

# Run as an unprivileged user: the code and virtualenv stay root-owned (read-only to the server);
# only the data volume is the user's.
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin mosaique \
 && mkdir -p /data && chown mosaique:mosaique /data
USER mosaique

VOLUME ["/data"]
EXPOSE 8000
# /healthz answers from the event loop, without touching the data (see docs/operations.md).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10m --retries=3 \
  CMD ["/opt/mosaique/.venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["make", "run", "DATA_DIR=/data", "HOST=0.0.0.0", "PORT=8000"]
