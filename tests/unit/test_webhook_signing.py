"""Standard Webhooks signing: the headers Sequoia sends carry `v1,` and the base64 HMAC-SHA256 of
"id.timestamp.body" keyed with the base64-decoded secret, and a receiver's library accepts them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from sequoia_core import webhooks

EVENT_ID = "5f0c7a36-0000-4000-8000-000000000001"


def test_the_signature_is_hmac_sha256_of_id_timestamp_and_body_with_the_decoded_secret():
    secret = webhooks.new_secret()
    body = webhooks.body_of({"type": "media.completed", "data": {"media_id": "x", "name": "é"}})
    sent_at = datetime.now(UTC)

    headers = webhooks.signed_headers(secret, EVENT_ID, sent_at, body)

    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, f"{EVENT_ID}.{int(sent_at.timestamp())}.{body}".encode(), hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()
    assert headers["webhook-id"] == EVENT_ID and headers["webhook-timestamp"] == str(int(sent_at.timestamp()))
    assert Webhook(secret).verify(body.encode(), headers)["data"]["name"] == "é"


def test_another_secret_or_a_changed_body_does_not_verify():
    secret = webhooks.new_secret()
    body = webhooks.body_of({"type": "media.failed"})
    headers = webhooks.signed_headers(secret, EVENT_ID, datetime.now(UTC), body)

    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("failed", "completed"), headers)


def test_secrets_are_fresh_and_carry_32_random_bytes():
    first, second = webhooks.new_secret(), webhooks.new_secret()

    assert first != second and first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
