"""Verify a Sequoia webhook the Standard Webhooks way (https://www.standardwebhooks.com): the
`webhook-signature` header holds `v1,<base64 HMAC-SHA256>` signatures (space-separated, one per
active secret) of `"{webhook-id}.{webhook-timestamp}.{body}"`, keyed with the base64-decoded secret
after its `whsec_` prefix; a timestamp more than `tolerance` seconds off the clock is refused, so a
captured delivery cannot be replayed later."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

from sequoia_client.errors import WebhookVerificationError

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as err:
        raise WebhookVerificationError("the webhook secret is not base64 after its whsec_ prefix") from err


def _header(headers: Mapping[str, str], name: str) -> str:
    value = next((v for k, v in headers.items() if k.lower() == name), None)
    if not value:
        raise WebhookVerificationError(f"the {name} header is missing")
    return value


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes | str, *,
                   tolerance: float = TOLERANCE_SECONDS, now: float | None = None) -> None:
    """Return if `body` was signed with `secret` within `tolerance` seconds of now; else raise
    `WebhookVerificationError`. Pass the raw body, exactly as received (not re-serialised JSON)."""
    message_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not timestamp.isdigit():
        raise WebhookVerificationError("webhook-timestamp is not a Unix time in seconds")
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is too far from now (a replay, or a wrong clock)")
    payload = body.encode() if isinstance(body, str) else body
    digest = hmac.new(_key(secret), f"{message_id}.{timestamp}.".encode() + payload, hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode()
    for signature in signatures.split():
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return
    raise WebhookVerificationError("no v1 signature of this body matches the secret")
