# The thumbnails worker: renders previews, thumbnails, PDF pages, video frames and waveforms.
# Build from the repository root: docker build -f docker/worker-thumbnails.Dockerfile -t sequoia-worker-thumbnails .
# No digest pin: none could be fetched where this was written (docs/testing.md); pin yours, e.g.
# --build-arg BASE_IMAGE=python:3.11-slim@sha256:<digest from `docker buildx imagetools inspect`>.
ARG BASE_IMAGE=python:3.11-slim

# ffmpeg and ffprobe from Debian's source of the base's release, with only the demuxers and decoders
# the renderers use (docker/build-ffmpeg.sh): ~20 MB where Debian's ffmpeg package brings 674 MB of
# libraries (docs/engines.md, "ffmpeg in the worker image").
FROM ${BASE_IMAGE} AS ffmpeg
RUN if [ -f /etc/apt/sources.list.d/debian.sources ]; then \
      sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources; fi \
 && if [ -f /etc/apt/sources.list ]; then sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/src.list; fi \
 && apt-get update \
 && apt-get install -y --no-install-recommends gcc make nasm pkg-config libdav1d-dev zlib1g-dev dpkg-dev xz-utils
COPY docker/build-ffmpeg.sh /usr/local/bin/build-ffmpeg.sh
RUN build-ffmpeg.sh /opt/ffmpeg

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
# binutils for strip (slim-venv.sh); the build stage only, nothing of it reaches the image.
RUN apt-get update && apt-get install -y --no-install-recommends binutils && python3 -m venv /opt/venv
COPY docker/slim-venv.sh /usr/local/bin/slim-venv.sh
COPY requirements/worker-thumbnails.txt /src/requirements.txt
COPY services/core /src/core
COPY services/worker-thumbnails /src/worker-thumbnails
# libvips for WebP, PNG and TIFF comes as the pyvips-binary wheel: one 18 MB library, its codecs
# linked in, needing only glibc and libstdc++. Debian's libvips42 adds 57 MB (ImageMagick, Poppler,
# OpenSlide and HDF5 among it) to the ffmpeg layer.
# Dependencies from the hash-checked lock (requirements/, exported from uv.lock), then our own
# packages without theirs: a local directory has no hash to check.
RUN /opt/venv/bin/pip install --no-compile --require-hashes -r /src/requirements.txt \
 && /opt/venv/bin/pip install --no-compile --no-deps /src/core "/src/worker-thumbnails[vips-binary]" && slim-venv.sh /opt/venv

FROM ${BASE_IMAGE}
# ffmpeg decodes video frames and audio for the waveform renderer, libdav1d6 its AV1; libseccomp2
# (already there through apt) filters the renderer's system calls.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libdav1d6 libseccomp2 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc /usr/share/man \
 && groupadd --system --gid 10001 sequoia \
 && useradd --system --uid 10001 --gid sequoia --home-dir /tmp --shell /usr/sbin/nologin sequoia
COPY --from=ffmpeg /opt/ffmpeg/ /usr/local/
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /app
USER 10001:10001
CMD ["celery", "-A", "sequoia_thumbnails.worker", "worker", "-Q", "thumbnails", "--without-mingle", "--without-gossip", "--loglevel", "info"]
