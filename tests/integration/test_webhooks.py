"""Signed completion webhooks end to end: endpoints registered through the API, events written when
a real thumbnails worker finishes items, delivered by a real media worker to a real HTTP receiver on
loopback that verifies every signature; a 500 receiver and a hanging one never hold anything else up."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from uuid import uuid4

import pytest
from redis import Redis

from sequoia_core import tasks as task_names
from sequoia_core import webhooks
from sequoia_core.celery_app import create_celery_app
from sequoia_core.db.webhooks import DueDelivery
from sequoia_core.queues import QueueName
from sequoia_core.settings import Settings
from sequoia_media import webhook_sender
from tests.factories import jpeg_bytes
from tests.integration.helpers import upload
from tests.support import services
from tests.support.processes import wait_for
from tests.support.webhook_receiver import Receiver, running_receiver

WAIT = 60.0


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def media_worker(service_env, settings, workdir) -> Iterator[services.WorkerProcess]:
    """A real media worker (concurrency 2, as deployed), without beat: the tests send its ticks. Its
    receivers listen on loopback, which the sender refuses by default (the last test here)."""
    env = {**service_env, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true"}
    try:
        with services.running_worker(env, "sequoia_media.worker", "media", "media-hooks", workdir, settings,
                                     concurrency=2) as worker:
            yield worker
    finally:
        # Ticks sent after the last one that delivered would wait on with no consumer.
        Redis.from_url(settings.redis_url).delete(QueueName.MEDIA.value)


@pytest.fixture
def deliver(settings, media_worker) -> Callable[[Callable[[], bool], float], None]:
    """Send beat's webhook tick to the media worker until `condition` holds."""
    app = create_celery_app(settings)

    def until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert media_worker.alive(), media_worker.log()[-3000:]
            assert time.monotonic() < deadline, f"not delivered in {timeout:.0f}s:\n{media_worker.log()[-3000:]}"
            app.send_task(task_names.DELIVER_WEBHOOKS)
            time.sleep(0.5)

    return until


def register(api, receiver: Receiver, path: str, voyage: str, **fields) -> dict:
    answer = api.post("/api/webhooks", json={"url": receiver.base_url + path, "voyage_slug": voyage, **fields})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    receiver.secrets[path] = body["secret"]
    return body


def ingest_one(api, voyage: str, wait_final) -> str:
    answer = upload(api, voyage, ("a.jpg", jpeg_bytes(64, 48)))
    assert answer.status_code == 202, answer.text
    media_id = answer.json()["files"][0]["media_id"]
    assert wait_final(media_id)["status"] == "completed"
    return media_id


def test_events_arrive_signed_and_verified(api, receiver, voyage, thumbnails_worker, wait_final, deliver):
    path = f"/ok/{voyage}"
    created = register(api, receiver, path, voyage)
    assert created["secret"].startswith("whsec_")

    media_id = ingest_one(api, voyage, wait_final)
    deliver(lambda: {json.loads(r.body)["type"] for r in receiver.at(path)} >= {"media.completed", "batch.completed"})

    by_type = {json.loads(r.body)["type"]: r for r in receiver.at(path)}
    assert all(r.verified for r in receiver.at(path)), "every delivery verifies with the endpoint's secret"
    completed = json.loads(by_type["media.completed"].body)
    assert completed["data"]["media_id"] == media_id and completed["data"]["status"] == "completed"
    assert {d["name"] for d in completed["data"]["derivatives"]} >= {"thumbnail"}
    batch = json.loads(by_type["batch.completed"].body)["data"]
    assert (batch["batch_status"], batch["completed"], batch["total_items"]) == ("completed", 1, 1)
    assert by_type["media.completed"].headers["webhook-signature"].startswith("v1,")


def test_media_deleted_arrives_once_s3_holds_nothing_and_only_where_asked(api, receiver, voyage, settings,
                                                                          thumbnails_worker, wait_final, deliver):
    asked, default = f"/deleted/{voyage}", f"/default/{voyage}"
    register(api, receiver, asked, voyage, event_types=["media.deleted"])
    register(api, receiver, default, voyage)
    media_id = ingest_one(api, voyage, wait_final)
    assert api.delete(f"/api/media/{media_id}").status_code == 202
    app = create_celery_app(settings)

    def deleted_and_delivered() -> bool:
        app.send_task(task_names.REMOVE_DELETED)  # the deleter's beat tick
        return any(json.loads(r.body)["type"] == "media.deleted" for r in receiver.at(asked))

    deliver(deleted_and_delivered)
    app.close()

    [event] = [json.loads(r.body) for r in receiver.at(asked)]
    assert event["data"]["media_id"] == media_id and event["data"]["voyage_slug"] == voyage
    assert event["data"]["removed_objects"] >= 2 and event["data"]["deleted_at"] >= event["data"]["requested_at"]
    assert all(r.verified for r in receiver.at(asked))
    deliver(lambda: {json.loads(r.body)["type"] for r in receiver.at(default)} >= {"media.completed"})
    assert "media.deleted" not in {json.loads(r.body)["type"] for r in receiver.at(default)}


def test_the_secret_is_shown_once_and_never_listed_or_logged(api, receiver, voyage, media_worker):
    created = register(api, receiver, f"/ok/{voyage}-secret", voyage)

    listed = api.get("/api/webhooks", params={"voyage_slug": voyage})
    assert listed.status_code == 200 and [e["id"] for e in listed.json()] == [created["id"]]
    assert "secret" not in listed.json()[0] and created["secret"] not in listed.text
    assert created["secret"] not in media_worker.log()


def test_a_500_receiver_gets_each_attempt_logged_and_the_next_scheduled(api, pool, receiver, voyage,
                                                                         thumbnails_worker, wait_final, deliver):
    path = f"/fail/{voyage}"
    endpoint = register(api, receiver, path, voyage, event_types=["media.completed"])
    ingest_one(api, voyage, wait_final)
    deliver(lambda: len(receiver.at(path)) >= 1)

    def first_attempt_logged() -> bool:
        [delivery] = api.get(f"/api/webhooks/{endpoint['id']}/deliveries").json()
        return delivery["attempts"] == 1
    deliver(first_attempt_logged)

    [delivery] = api.get(f"/api/webhooks/{endpoint['id']}/deliveries").json()
    assert delivery["status"] == "pending" and delivery["next_attempt_at"] is not None
    [attempt] = delivery["attempt_log"]
    assert (attempt["outcome"], attempt["status_code"], attempt["error"]) == ("failed", 500, "HTTP 500")
    with pool.connection() as conn:  # the next attempt waits the schedule's first step, 5 s
        wait = conn.execute("SELECT extract(epoch FROM next_attempt_at - a.attempted_at) FROM webhook_deliveries d "
                            "JOIN webhook_attempts a ON a.delivery_id = d.id WHERE d.endpoint_id = %s",
                            (endpoint["id"],)).fetchone()[0]
    assert 4 <= float(wait) <= 6

    deliver(lambda: len(receiver.at(path)) >= 2, timeout=WAIT)  # the retry comes once due
    assert all(r.verified for r in receiver.at(path))
    assert len({r.headers["webhook-id"] for r in receiver.at(path)}) == 1, "a retry keeps the event's id"


def test_replay_sends_the_event_again_with_the_same_id(api, receiver, voyage, thumbnails_worker, wait_final,
                                                      deliver):
    path = f"/ok/{voyage}-replay"
    endpoint = register(api, receiver, path, voyage, event_types=["media.completed"])
    ingest_one(api, voyage, wait_final)
    deliver(lambda: len(receiver.at(path)) == 1)
    event_id = receiver.at(path)[0].headers["webhook-id"]
    deliver(lambda: api.get(f"/api/webhooks/{endpoint['id']}/deliveries").json()[0]["status"] == "delivered")

    answer = api.post(f"/api/webhooks/events/{event_id}/replay")

    assert answer.status_code == 202 and answer.json() == {"event_id": event_id, "deliveries": 1}
    deliver(lambda: len(receiver.at(path)) == 2)
    assert [r.headers["webhook-id"] for r in receiver.at(path)] == [event_id, event_id]
    assert all(r.verified for r in receiver.at(path))


def test_calls_refuse_bad_input_with_stable_codes(api):
    bad_url = api.post("/api/webhooks", json={"url": "ftp://example.com/x"})
    with_password = api.post("/api/webhooks", json={"url": "https://user:pw@example.com/x"})
    unknown_type = api.post("/api/webhooks", json={"url": "https://example.com/x", "event_types": ["media.lost"]})

    assert (bad_url.status_code, bad_url.json()["code"]) == (422, "invalid_webhook_url")
    assert (with_password.status_code, with_password.json()["code"]) == (422, "invalid_webhook_url")
    assert (unknown_type.status_code, unknown_type.json()["code"]) == (422, "invalid_request")
    missing = "00000000-0000-0000-0000-000000000000"
    assert api.delete(f"/api/webhooks/{missing}").json()["code"] == "not_found"
    assert api.post(f"/api/webhooks/events/{missing}/replay").status_code == 404
    assert api.get(f"/api/webhooks/{missing}/deliveries").status_code == 404


def test_deleting_an_endpoint_stops_it(api, receiver, voyage):
    created = register(api, receiver, f"/ok/{voyage}-gone", voyage)

    assert api.delete(f"/api/webhooks/{created['id']}").status_code == 204
    assert api.get("/api/webhooks", params={"voyage_slug": voyage}).json() == []
    assert api.delete(f"/api/webhooks/{created['id']}").status_code == 404


def test_a_hanging_receiver_costs_one_timeout_and_holds_up_nothing_else(api, receiver, voyage, settings,
                                                                       thumbnails_worker, wait_final, deliver,
                                                                       media_worker):
    hang, ok = f"/hang/{voyage}", f"/ok/{voyage}-beside"
    hanging = register(api, receiver, hang, voyage, event_types=["media.completed"])
    register(api, receiver, ok, voyage, event_types=["media.completed"])

    ingest_one(api, voyage, wait_final)
    deliver(lambda: len(receiver.at(ok)) == 1 and len(receiver.at(hang)) == 1)
    # While the hanging attempt is open: the thumbnails worker renders, the media worker's other
    # process runs its beat tasks.
    second = ingest_one(api, voyage, wait_final)
    relay = create_celery_app(settings).send_task(task_names.RELAY_OUTBOX)
    wait_for(lambda: f"{relay.id}] succeeded" in media_worker.log(), WAIT, "the relay beside a hanging delivery")

    def timed_out() -> bool:
        deliveries = api.get(f"/api/webhooks/{hanging['id']}/deliveries").json()
        return any(d["attempt_log"] for d in deliveries)
    deliver(timed_out, timeout=settings.webhook_timeout_seconds + WAIT)

    attempt = api.get(f"/api/webhooks/{hanging['id']}/deliveries").json()[-1]["attempt_log"][0]
    assert attempt["outcome"] == "failed" and attempt["status_code"] is None
    assert "Timeout" in attempt["error"]
    assert attempt["duration_ms"] >= settings.webhook_timeout_seconds * 1000 * 0.9
    deliver(lambda: any(json.loads(r.body)["data"]["media_id"] == second for r in receiver.at(ok)))
    assert api.delete(f"/api/webhooks/{hanging['id']}").status_code == 204
    receiver.release.set()  # an attempt still hanging ends now, not at the worker's shutdown


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "169.254.169.254", "10.0.0.8", "[::1]"])
def test_by_default_the_sender_reaches_no_internal_address(receiver, host):
    """Loopback, private networks and the cloud metadata address are refused before any connection:
    the loopback receiver hears nothing, and the attempt says why."""
    port = receiver.base_url.rsplit(":", 1)[1]
    delivery = DueDelivery(1, uuid4(), uuid4(), 0, f"http://{host}:{port}/internal", webhooks.new_secret(),
                           {"type": "media.completed"})
    with webhook_sender.http_client(Settings()) as client:
        attempt = webhook_sender.send(client, delivery)
    assert not attempt.succeeded and attempt.status_code is None
    assert attempt.error.startswith("AddressRefused"), attempt.error
    assert receiver.at("/internal") == []
