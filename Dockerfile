# Mosaïque on Debian 12: the same steps as the README's commands (scripts/setup.sh, then make run).
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    MOSAIQUE_DATA_DIR=/data

# python3 and make are needed to run the setup script; it installs everything else
# (GDAL 3.6 dev and tools, Node.js/npm and Chromium, the virtualenv with requirements.lock,
# GDAL's Python bindings, the page's npm packages).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/mosaique
COPY requirements.lock pyproject.toml Makefile README.md ./
COPY scripts/ scripts/
COPY processing/ processing/
COPY mosaic/ mosaic/
COPY app/ app/
COPY frontend/package.json frontend/package-lock.json frontend/
COPY frontend/page/ frontend/page/
RUN ./scripts/setup.sh && rm -rf /var/lib/apt/lists/* /root/.cache

VOLUME ["/data"]
EXPOSE 8000
CMD ["make", "run", "DATA_DIR=/data", "HOST=0.0.0.0", "PORT=8000"]
