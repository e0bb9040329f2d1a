"""Every Redis client of Sequoia, TLS included: one place that turns the settings into connection
options, for redis-py clients and for Celery (broker, result backend; Flower reads the same config).

With a `rediss://` REDIS_URL the server's certificate is checked (REDIS_TLS_CERT_REQS, `required` by
default) against REDIS_TLS_CA_FILE, or the system's CA store when unset. Celery refuses a `rediss://`
URL without a certificate requirement, so the requirement is always given.
"""

from __future__ import annotations

import ssl
from typing import Any

from redis import Redis

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
    """A redis-py client of REDIS_URL with short timeouts (health checks, queue depths, metrics)."""
    return Redis.from_url(settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout,
                          **(redis_ssl_options(settings) or {}))
