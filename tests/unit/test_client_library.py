"""The client library's own logic, against httpx's mock transport (no server): retries with the
same Idempotency-Key, Retry-After, upload progress, and Standard Webhooks signature verification."""

from __future__ import annotations

import base64
import hashlib
import hmac

import httpx
import pytest

from datetime import UTC, datetime

from sequoia_client import Client, ResponseError, RetryPolicy, WebhookVerificationError, verify_webhook
from sequoia_core import webhooks

SECRET = "whsec_" + base64.b64encode(b"a secret of thirty-two bytes!!!!").decode()


def _client(handler, sleeps: list[float], attempts: int = 4) -> Client:
    return Client("http://sequoia.test", "token", retry=RetryPolicy(max_attempts=attempts),
                  sleep=sleeps.append, transport=httpx.MockTransport(handler))


def _answers(*answers):
    """A handler giving each answer in turn (an exception is raised), recording every request."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


RESULT = {"dry_run": True, "count": 0, "items": []}


def test_a_write_is_retried_with_one_idempotency_key_honouring_retry_after():
    handler, seen = _answers(httpx.Response(503, json={"code": "backpressure"}, headers={"Retry-After": "7"}),
                             httpx.ConnectError("refused"),
                             httpx.Response(409, json={"code": "idempotency_key_in_flight"}, headers={"Retry-After": "1"}),
                             httpx.Response(200, json=RESULT))
    sleeps: list[float] = []

    assert _client(handler, sleeps).retry_failed(dry_run=True) == RESULT

    keys = {request.headers["Idempotency-Key"] for request in seen}
    assert len(seen) == 4 and len(keys) == 1 and len(keys.pop()) == 36
    assert sleeps[0] == 7 and sleeps[2] == 1 and 0 <= sleeps[1] <= 1.0


def test_each_logical_call_draws_its_own_key_and_reads_carry_none():
    handler, seen = _answers(httpx.Response(200, json=RESULT), httpx.Response(200, json=RESULT),
                             httpx.Response(200, json={"url": "u", "expires_at": "t"}))
    client = _client(handler, [])
    client.retry_failed(dry_run=True)
    client.retry_failed(dry_run=True, idempotency_key="mine")
    client.gallery_link("v")

    assert seen[0].headers["Idempotency-Key"] not in ("mine", None)
    assert seen[1].headers["Idempotency-Key"] == "mine" and "Idempotency-Key" not in seen[2].headers


def test_other_errors_are_not_retried_and_retries_end():
    handler, seen = _answers(httpx.Response(409, json={"code": "idempotency_key_reused", "message": "m"}))
    with pytest.raises(ResponseError) as refused:
        _client(handler, []).cancel("t")
    assert refused.value.code == "idempotency_key_reused" and len(seen) == 1

    handler, seen = _answers(*[httpx.Response(429, json={"code": "too_many_requests"})] * 3)
    with pytest.raises(ResponseError) as exhausted:
        _client(handler, [], attempts=3).cancel("t")
    assert exhausted.value.status_code == 429 and len(seen) == 3

    handler, _ = _answers(*[httpx.ReadTimeout("slow")] * 2)
    with pytest.raises(httpx.ReadTimeout):
        _client(handler, [], attempts=2).cancel("t")


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(backoff=1.0, max_delay=5.0)
    assert all(0 <= policy.delay(1, None) <= 1.0 for _ in range(50))
    assert all(0 <= policy.delay(10, None) <= 5.0 for _ in range(50))
    assert policy.delay(1, 120.0) == 5.0


def test_upload_progress_reaches_every_byte_and_restarts_with_a_retry(tmp_path):
    files = [tmp_path / "a.jpg", tmp_path / "b.jpg"]
    files[0].write_bytes(b"a" * 300_000)
    files[1].write_bytes(b"b" * 100_000)
    handler, seen = _answers(httpx.Response(503, json={"code": "backpressure"}),
                             httpx.Response(202, json={"batch_id": "b", "files": []}))
    progress: list[tuple[int, int]] = []

    _client(handler, []).ingest("v", files, on_progress=lambda sent, total: progress.append((sent, total)))

    assert progress[-1] == (400_000, 400_000)
    assert any(later < earlier for (earlier, _), (later, _) in zip(progress, progress[1:])), "the retry starts over"
    assert seen[0].headers["Idempotency-Key"] == seen[1].headers["Idempotency-Key"]
    assert seen[0].headers["Content-Length"] == str(len(seen[0].content))


def _signed(body: bytes, timestamp: int, message_id: str = "msg_1", secret: str = SECRET) -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signature = base64.b64encode(hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": f"v1,{signature.decode()}"}


def test_the_standard_webhooks_example_verifies():
    # The example of the Standard Webhooks specification.
    headers = {"Webhook-Id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "Webhook-Timestamp": "1614265330",
               "Webhook-Signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    verify_webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", headers, b'{"test": 2432232314}', now=1614265330)


def test_what_sequoia_sends_verifies_with_its_secret_only():
    secret, sent_at = webhooks.new_secret(), datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    body = webhooks.body_of({"type": "media.completed", "data": {"filename": "café.jpg"}})
    headers = webhooks.signed_headers(secret, "evt_1", sent_at, body)

    verify_webhook(secret, headers, body.encode(), now=sent_at.timestamp())
    with pytest.raises(WebhookVerificationError):
        verify_webhook(webhooks.new_secret(), headers, body.encode(), now=sent_at.timestamp())


def test_a_webhook_verifies_only_with_its_secret_body_and_a_fresh_timestamp():
    body, now = b'{"type": "media.completed"}', 1_800_000_000
    verify_webhook(SECRET, _signed(body, now), body, now=now + 299)
    rotated = _signed(body, now)
    rotated["webhook-signature"] = "v1,b2xk " + rotated["webhook-signature"]  # an old secret's signature first
    verify_webhook(SECRET, rotated, body.decode(), now=now)

    refusals = [
        (SECRET, _signed(body, now), body + b" ", now),  # another body
        ("whsec_" + base64.b64encode(b"another secret").decode(), _signed(body, now), body, now),
        (SECRET, _signed(body, now), body, now + 301),  # a replay, past the tolerance
        (SECRET, _signed(body, now), body, now - 301),
        (SECRET, {**_signed(body, now), "webhook-signature": "v2," + _signed(body, now)["webhook-signature"][3:]}, body, now),
        (SECRET, {k: v for k, v in _signed(body, now).items() if k != "webhook-id"}, body, now),
        (SECRET, {**_signed(body, now), "webhook-timestamp": "soon"}, body, now),
        ("whsec_not base64!", _signed(body, now), body, now),
    ]
    for secret, headers, payload, at in refusals:
        with pytest.raises(WebhookVerificationError):
            verify_webhook(secret, headers, payload, now=at)
