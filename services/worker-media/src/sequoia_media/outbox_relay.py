"""The outbox relay: publishes tasks whose media row committed but whose publish never happened
(the API died or Redis was down between commit and publish)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Celery
from psycopg_pool import ConnectionPool

from sequoia_core import dispatch
from sequoia_core.db import outbox
from sequoia_core.db.pool import transaction

log = logging.getLogger(__name__)


def relay_pending(pool: ConnectionPool, celery: Celery, older_than: timedelta, limit: int = 500) -> int:
    """Publish up to `limit` entries left unpublished for `older_than`; returns how many went out.

    The API publishes right after its commit; waiting `older_than` keeps the relay from racing it
    (a race would only duplicate a delivery, which the guarded claim ignores).
    """
    with transaction(pool) as conn:
        sent = dispatch.publish_claimed(conn, celery, outbox.claim_unpublished(conn, older_than, limit))
    if sent:
        log.info("outbox relay published %d task(s)", sent)
    return sent
