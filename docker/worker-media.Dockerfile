# The media worker (queues media and default) and Celery beat: outbox relay, sweeper, orphan janitor, outbox pruner.
# Build from the repository root: docker build -f docker/worker-media.Dockerfile -t sequoia-worker-media .
# No digest pin: none could be fetched where this was written (docs/testing.md); pin yours, e.g.
# --build-arg BASE_IMAGE=python:3.11-slim@sha256:<digest from `docker buildx imagetools inspect`>.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
# binutils for strip (slim-venv.sh); the build stage only, nothing of it reaches the image.
RUN apt-get update && apt-get install -y --no-install-recommends binutils && python3 -m venv /opt/venv
COPY docker/slim-venv.sh /usr/local/bin/slim-venv.sh
COPY requirements/worker-media.txt /src/requirements.txt
COPY services/core /src/core
COPY services/worker-media /src/worker-media
# Dependencies from the hash-checked lock (requirements/, exported from uv.lock), then our own
# packages without theirs: a local directory has no hash to check.
RUN /opt/venv/bin/pip install --no-compile --require-hashes -r /src/requirements.txt \
 && /opt/venv/bin/pip install --no-compile --no-deps /src/core /src/worker-media && slim-venv.sh /opt/venv

FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10001 sequoia \
 && useradd --system --uid 10001 --gid sequoia --home-dir /tmp --shell /usr/sbin/nologin sequoia
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER 10001:10001
CMD ["celery", "-A", "sequoia_media.worker", "worker", "-Q", "media,default", "--without-mingle", "--without-gossip", "--loglevel", "info"]
