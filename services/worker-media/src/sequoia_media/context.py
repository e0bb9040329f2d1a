"""What a media-worker process needs, built once per process on first use."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import httpx
from redis import Redis

from sequoia_core.redis_client import redis_client
from sequoia_core.settings import get_settings
from sequoia_core.worker_context import WorkerContext
from sequoia_media.webhook_sender import http_client


@dataclass
class MediaWorkerContext(WorkerContext):
    """The worker context plus a Redis client, to look at the queues, and the webhook sender's HTTP client."""

    redis: Redis
    webhooks: httpx.Client


@cache
def worker_context() -> MediaWorkerContext:
    """This process's context."""
    settings = get_settings()
    return MediaWorkerContext.build(settings, redis=redis_client(settings), webhooks=http_client(settings))
