#!/usr/bin/env bash
# Start one Celery worker (seed: ./start_celery_worker.sh [NAME] [LOGLEVEL]).
#   NAME      worker name, default worker1 (the node name becomes NAME@host)
#   LOGLEVEL  debug | info | warning, default info
#   QUEUES    third argument or CELERY_QUEUES: thumbnails (default) or media,default
# Tuning (seed "Worker Configuration"), from the environment or .env:
#   WORKER_CONCURRENCY (2)  WORKER_MAX_TASKS_PER_CHILD (1000)  TASK_TIME_LIMIT_SECONDS (1800)
#   CELERY_BEAT=1 also runs the beat schedule (outbox relay, sweeper): one per deployment.
set -euo pipefail
cd "$(dirname "$0")/.."
# .env fills in what the environment leaves unset: the environment wins, as for the Python services.
if [ -f .env ]; then environment=$(export -p); set -a; . ./.env; set +a; eval "$environment"; fi

name=${1:-worker1}
loglevel=${2:-info}
queues=${3:-${CELERY_QUEUES:-thumbnails}}
case "$queues" in
  thumbnails) app_default=sequoia_thumbnails.worker ;;
  *)          app_default=sequoia_media.worker ;;
esac
celery_bin=${CELERY_BIN:-$( [ -x .venv/bin/celery ] && echo .venv/bin/celery || echo celery )}

args=(-A "${CELERY_APP:-$app_default}" worker --hostname "$name@%h" --loglevel "$loglevel" -Q "$queues" --without-mingle --without-gossip
      --concurrency "${WORKER_CONCURRENCY:-2}"
      --max-tasks-per-child "${WORKER_MAX_TASKS_PER_CHILD:-1000}"
      --time-limit "${TASK_TIME_LIMIT_SECONDS:-1800}")
if [ "${CELERY_BEAT:-0}" = "1" ]; then
  mkdir -p var/run
  args+=(-B --schedule "var/run/celerybeat-schedule-$name")
fi
exec "$celery_bin" "${args[@]}"
