# The API: ingest, status, health. Enqueues by task name, so no renderer, ffmpeg, librosa or matplotlib.
# Build from the repository root: docker build -f docker/api.Dockerfile -t sequoia-api .
# No digest pin: none could be fetched where this was written (docs/testing.md); pin yours, e.g.
# --build-arg BASE_IMAGE=python:3.11-slim@sha256:<digest from `docker buildx imagetools inspect`>.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
# PIP_CERT: pip trusts the system CA bundle, so a build behind a TLS-intercepting proxy works too.
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
# binutils for strip (slim-venv.sh); the build stage only, nothing of it reaches the image.
RUN apt-get update && apt-get install -y --no-install-recommends binutils && python3 -m venv /opt/venv
COPY docker/slim-venv.sh /usr/local/bin/slim-venv.sh
COPY requirements/api.txt /src/requirements.txt
COPY services/core /src/core
COPY services/api /src/api
# Dependencies from the hash-checked lock (requirements/, exported from uv.lock), then our own
# packages without theirs: a local directory has no hash to check.
RUN /opt/venv/bin/pip install --no-compile --require-hashes -r /src/requirements.txt \
 && /opt/venv/bin/pip install --no-compile --no-deps /src/core /src/api && slim-venv.sh /opt/venv

FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10001 sequoia \
 && useradd --system --uid 10001 --gid sequoia --home-dir /tmp --shell /usr/sbin/nologin sequoia
COPY --from=build /opt/venv /opt/venv
COPY migrations /app/migrations
# Bytecode was compiled at install; the root filesystem is read-only in the cluster.
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 MIGRATIONS_DIR=/app/migrations
WORKDIR /app
USER 10001:10001
EXPOSE 8000
CMD ["uvicorn", "--factory", "sequoia_api.main:create_app", "--host", "0.0.0.0", "--port", "8000", \
     "--http", "sequoia_api.http_protocol:HttpToolsProtocol"]
