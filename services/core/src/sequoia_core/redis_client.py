"""Every Redis client of Sequoia, TLS included: one place that turns the settings into connection
options, for redis-py clients and for Celery (broker, result backend; Flower reads the same config).

With a `rediss://` REDIS_URL the server's certificate is checked (REDIS_TLS_CERT_REQS, `required` by
default) against REDIS_TLS_CA_FILE, or the system's CA store when unset. Celery refuses a `rediss://`
URL without a certificate requirement, so the requirement is always given.

With REDIS_SENTINELS, every client asks the sentinels for the current master (REDIS_SENTINEL_MASTER)
and follows a failover: redis-py through `Sentinel.master_for`, Celery through kombu's `sentinel://`
transport with the same master name.
"""

from __future__ import annotations

import ssl
from typing import Any

from urllib.parse import urlsplit

from redis import Redis
from redis.connection import parse_url
from redis.sentinel import Sentinel

from sequoia_core.settings import Settings

_CERT_REQS = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}


def redis_ssl_options(settings: Settings) -> dict[str, Any] | None:
    """TLS options for a `rediss://` REDIS_URL (redis-py and kombu take the same keys); None otherwise."""
    if not settings.redis_url.startswith("rediss://"):
        return None
    options: dict[str, Any] = {"ssl_cert_reqs": _CERT_REQS[settings.redis_tls_cert_reqs]}
    if settings.redis_tls_ca_file is not None:
        options["ssl_ca_certs"] = str(settings.redis_tls_ca_file)
    return options


def redis_client(settings: Settings, timeout: float = 3.0) -> Redis:
    """A redis-py client of REDIS_URL (or of the master the sentinels name) with short timeouts
    (health checks, queue depths, metrics)."""
    if settings.redis_sentinels:
        credentials = {key: value for key, value in parse_url(settings.redis_url).items()
                       if key in ("username", "password", "db")}
        sentinel = Sentinel(_sentinel_hosts(settings), socket_timeout=timeout, socket_connect_timeout=timeout)
        return sentinel.master_for(settings.redis_sentinel_master, socket_timeout=timeout,
                                   socket_connect_timeout=timeout, **credentials)
    return Redis.from_url(settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout,
                          **(redis_ssl_options(settings) or {}))


def celery_redis_url(settings: Settings) -> str:
    """The broker/backend URL for Celery: REDIS_URL, or one `sentinel://` URL per sentinel (kombu
    tries them in turn) carrying REDIS_URL's credentials and db."""
    if not settings.redis_sentinels:
        return settings.redis_url
    url = urlsplit(settings.redis_url)
    credentials = url.netloc.rpartition("@")[0]
    auth = f"{credentials}@" if credentials else ""
    return ";".join(f"sentinel://{auth}{sentinel}{url.path}" for sentinel in settings.redis_sentinels)


def celery_transport_options(settings: Settings) -> dict[str, Any]:
    """Transport options the broker and the result backend share (the master's name with Sentinel)."""
    options: dict[str, Any] = {"visibility_timeout": settings.visibility_timeout}
    if settings.redis_sentinels:
        options["master_name"] = settings.redis_sentinel_master
    return options


def _sentinel_hosts(settings: Settings) -> list[tuple[str, int]]:
    return [(host, int(port)) for host, _, port in (s.rpartition(":") for s in settings.redis_sentinels)]
