"""Completion webhooks (docs/webhooks.md): the event types, endpoint secrets, the retry schedule and
Standard Webhooks signing (the `standardwebhooks` package: HMAC-SHA256 over "id.timestamp.body" with
the base64-decoded secret, sent as `webhook-signature: v1,<base64>`)."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


class EventType(StrEnum):
    """What an endpoint can subscribe to; each is written with the state change it reports."""

    MEDIA_COMPLETED = "media.completed"
    MEDIA_FAILED = "media.failed"
    BATCH_COMPLETED = "batch.completed"
    MEDIA_DELETED = "media.deleted"  # opt-in: S3 holds nothing more of a deleted item


# When each attempt of a delivery is made, counted from the previous one (Standard Webhooks' own
# schedule): the last of the 8 attempts comes 27.6 hours after the first, then the delivery fails.
RETRY_SCHEDULE = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                  timedelta(hours=5), timedelta(hours=10), timedelta(hours=10))
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1


def new_secret() -> str:
    """A fresh endpoint secret, `whsec_` and 32 random bytes in base64 (what receivers' libraries take)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def retry_delay(attempts: int) -> timedelta | None:
    """How long after its `attempts`-th failed attempt a delivery is tried again; None: give up."""
    return RETRY_SCHEDULE[attempts - 1] if 1 <= attempts <= len(RETRY_SCHEDULE) else None


def body_of(payload: dict[str, Any]) -> str:
    """The exact text sent and signed: compact JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def signed_headers(secret: str, event_id: str, sent_at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt (`sent_at` in UTC)."""
    signature = Webhook(secret).sign(msg_id=event_id, timestamp=sent_at, data=body)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
