#!/usr/bin/env bash
# Start Flower (seed: ./start_celery_flower.sh) on port 5555 with basic auth.
# FLOWER_USER (admin) and FLOWER_PASSWORD come from the environment or .env; there is no default
# password, and Flower does not start without one. The credentials reach Flower as FLOWER_BASIC_AUTH,
# its own variable, never as an argument (`ps` shows every process's arguments to every user).
set -euo pipefail
cd "$(dirname "$0")/.."
# .env fills in what the environment leaves unset: the environment wins, as for the Python services.
if [ -f .env ]; then environment=$(export -p); set -a; . ./.env; set +a; eval "$environment"; fi
: "${FLOWER_PASSWORD:?set FLOWER_PASSWORD (make up writes one into .env)}"
celery_bin=${CELERY_BIN:-$( [ -x .venv/bin/celery ] && echo .venv/bin/celery || echo celery )}
export FLOWER_BASIC_AUTH="${FLOWER_USER:-admin}:${FLOWER_PASSWORD}"
exec "$celery_bin" -A "${CELERY_APP:-sequoia_media.flower_app}" flower \
  --port="${FLOWER_PORT:-5555}" --address="${FLOWER_ADDRESS:-127.0.0.1}" "$@"
