"""The webhook sender: on each beat tick, lease the due deliveries, send them signed and in parallel
(each bounded by short connect and read timeouts, the response body never read), log every attempt
and schedule the next one. A receiver that hangs or answers 500 costs one timeout of one thread, on
the media worker: never a thumbnails worker, never a lock held across HTTP."""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
from psycopg_pool import ConnectionPool

from sequoia_core import metrics, webhooks
from sequoia_core.db import webhooks as webhook_db
from sequoia_core.db.pool import transaction
from sequoia_core.db.webhooks import Attempt, DueDelivery
from sequoia_core.settings import Settings

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 500
DEFAULT_PORTS = {"http": 80, "https": 443}


class AddressRefused(Exception):
    """The receiver's host resolves to no public address (loopback, private, link-local, metadata ...)."""


def pinned(url: str, allow_private: bool) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The URL to connect to, with the headers and TLS name that keep the request addressed to its host.
    The host is resolved here, once, and the request goes to the public address found, so a name that
    resolves to an internal service (now or after the check: DNS rebinding) is never reached."""
    target = httpx.URL(url)
    if allow_private:
        return target, {}, {}
    address = public_address(target.host, target.port or DEFAULT_PORTS[target.scheme])
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return target.copy_with(host=address), {"host": target.netloc.decode("ascii")}, extensions


def public_address(host: str, port: int) -> str:
    """The first globally routable address `host` resolves to; AddressRefused when it has none."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as err:
        raise AddressRefused(f"cannot resolve the host: {err}") from err
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0])
        if address.is_global and not address.is_multicast:
            return str(address)
    raise AddressRefused("the host resolves to no public address (WEBHOOK_ALLOW_PRIVATE_ADDRESSES)")


def http_client(settings: Settings) -> httpx.Client:
    """One client per sender: timeouts on every phase, no redirects, no environment proxies."""
    timeout = httpx.Timeout(settings.webhook_timeout_seconds, connect=settings.webhook_connect_timeout_seconds)
    limits = httpx.Limits(max_connections=settings.webhook_delivery_concurrency)
    return httpx.Client(timeout=timeout, limits=limits, follow_redirects=False, trust_env=False,
                        headers={"user-agent": "sequoia-webhooks"})


def send(client: httpx.Client, delivery: DueDelivery, allow_private: bool = False) -> Attempt:
    """One signed POST to a public address (unless `allow_private`); any 2xx is success. Only the
    status line and headers are waited for."""
    body = webhooks.body_of(delivery.payload)
    headers = webhooks.signed_headers(delivery.secret, str(delivery.event_id), datetime.now(UTC), body)
    started = time.perf_counter()
    try:
        url, host_header, extensions = pinned(delivery.url, allow_private)
        with client.stream("POST", url, content=body.encode(), headers=headers | host_header,
                           extensions=extensions) as response:
            code = response.status_code
    except AddressRefused as err:
        return Attempt(False, None, _ms_since(started), f"AddressRefused: {err}"[:MAX_ERROR_CHARS])
    except httpx.HTTPError as err:
        return Attempt(False, None, _ms_since(started), f"{type(err).__name__}: {err}"[:MAX_ERROR_CHARS])
    ok = 200 <= code < 300
    return Attempt(ok, code, _ms_since(started), None if ok else f"HTTP {code}")


def any_due(pool: ConnectionPool) -> bool:
    """Whether a delivery is due: the tick looks before it takes the sender's lock."""
    with transaction(pool) as conn:
        return webhook_db.any_due(conn)


def deliver_due(pool: ConnectionPool, client: httpx.Client, settings: Settings, budget_seconds: float) -> int:
    """Send due deliveries, `webhook_delivery_concurrency` at a time, until none is due or the budget
    is spent (the next tick goes on); returns how many attempts were made."""
    concurrency = settings.webhook_delivery_concurrency
    # Longer than any attempt can take, so a lease never runs out under a live sender.
    lease = timedelta(seconds=2 * (settings.webhook_connect_timeout_seconds + settings.webhook_timeout_seconds))
    deadline = time.monotonic() + budget_seconds
    allow_private = settings.webhook_allow_private_addresses
    made = 0
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook") as threads:
        while time.monotonic() < deadline:
            with transaction(pool) as conn:
                due = webhook_db.lease_due(conn, concurrency, lease)
            if not due:
                break
            attempts = list(threads.map(lambda d: send(client, d, allow_private), due))
            _record(pool, due, attempts)
            made += len(due)
    return made


def _record(pool: ConnectionPool, due: list[DueDelivery], attempts: list[Attempt]) -> None:
    with transaction(pool) as conn:
        for delivery, attempt in zip(due, attempts, strict=True):
            retry_in = None if attempt.succeeded else webhooks.retry_delay(delivery.attempts + 1)
            webhook_db.record_attempt(conn, delivery.id, attempt, retry_in)
            result = metrics.DELIVERED if attempt.succeeded else (metrics.RETRIED_LATER if retry_in else metrics.FAILED)
            metrics.WEBHOOK_ATTEMPTS.labels(str(delivery.payload.get("type")), result).inc()
            metrics.WEBHOOK_DURATION.labels(result).observe(attempt.duration_ms / 1000)
            if not attempt.succeeded:
                # The endpoint's id, never its URL (it may carry a token) nor its secret.
                log.warning("webhook event %s to endpoint %s: attempt %d failed (%s)%s", delivery.event_id,
                            delivery.endpoint_id, delivery.attempts + 1, attempt.error,
                            "" if retry_in else "; giving up")


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
