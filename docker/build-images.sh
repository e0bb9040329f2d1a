#!/usr/bin/env bash
# Build Sequoia's four images with docker (when its daemon answers) or podman.
# Usage: docker/build-images.sh [TAG]      (default: the chart's appVersion)
#   REGISTRY=ghcr.io/you   name images REGISTRY/sequoia-<name>:TAG (and PUSH=1 pushes them)
#   BASE_IMAGE=...         build on another base than python:3.11-slim (tests use a local one)
#   ENGINE=docker|podman   force the engine
#   CA_BUNDLE=path         CA bundle mounted into podman builds (default: the host's), for TLS proxies
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/sequoia/Chart.yaml)}
engine=${ENGINE:-}
if [ -z "$engine" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then engine=docker
  elif command -v podman >/dev/null; then engine=podman
  else echo "images: no docker daemon answers and podman is not installed" >&2; exit 1; fi
fi
args=()
if [ -n "${BASE_IMAGE:-}" ]; then args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE"); fi
if [ "$engine" = podman ]; then
  # chroot isolation and the host network: builds as root without a full OCI runtime set-up.
  args+=(--isolation=chroot --network host)
  ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
  if [ -f "$ca" ]; then args+=(--volume "$ca:/etc/ssl/certs/ca-certificates.crt:ro"); fi
fi
for image in api worker-thumbnails worker-media flower; do
  name="${REGISTRY:+$REGISTRY/}sequoia-$image:$tag"
  "$engine" build "${args[@]}" -f "docker/$image.Dockerfile" -t "$name" .
  if [ "${PUSH:-0}" = 1 ]; then "$engine" push "$name"; fi
  echo "images: built $name with $engine"
done
