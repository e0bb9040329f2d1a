"""Nothing lost: the outbox relay, the sweeper and duplicate deliveries, on the real stack."""

from __future__ import annotations

from datetime import timedelta

from sequoia_core import dispatch
from sequoia_core.db import media
from sequoia_media.outbox_relay import relay_pending
from sequoia_media.sweeper import sweep
from tests.factories import png_bytes, truncated_jpeg
from tests.integration.helpers import ingest_unpublished, set_row, upload


def test_relay_publishes_what_a_crash_between_commit_and_publish_left(api, api_state, pool, thumbnails_worker,
                                                                     voyage, wait_final):
    batch_id, entries = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()), ("b.png", png_bytes()))

    sent = relay_pending(pool, api_state.celery, older_than=timedelta(0))

    assert sent >= 2
    assert [wait_final(e.media_id)["status"] for e in entries] == ["completed", "completed"]
    assert api.get(f"/api/batches/{batch_id}").json()["batch_status"] == "completed"
    assert relay_pending(pool, api_state.celery, older_than=timedelta(0)) == 0


def test_duplicate_delivery_processes_once(api_state, pool, thumbnails_worker, voyage, wait_final):
    _, [entry] = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()))

    dispatch.send(api_state.celery, entry)
    dispatch.send(api_state.celery, entry)

    done = wait_final(entry.media_id)
    assert done["status"] == "completed" and done["attempts"] == 1
    keys = {d["url"].split("?")[0].rsplit("/", 1)[-1] for d in done["derivatives"]}
    assert keys == {"preview.jpg", "thumbnail.jpg"}


def test_sweeper_requeues_an_item_stuck_in_processing(api_state, pool, thumbnails_worker, voyage, wait_final):
    _, [entry] = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()))
    # What a worker killed mid-task leaves: claimed, never finished, message gone.
    set_row(pool, entry.media_id, processing_status="processing", attempts=1,
            updated_at=media_time_ago(pool, hours=1))

    result = sweep(pool, api_state.celery, stuck_after=timedelta(minutes=30), max_attempts=3)

    assert result.requeued == 1
    done = wait_final(entry.media_id)
    assert done["status"] == "completed" and done["attempts"] == 2
    with pool.connection() as conn:
        assert media.get_media(conn, entry.media_id).task_id != entry.task_id


def test_sweeper_fails_an_item_out_of_attempts_and_closes_its_batch(api, api_state, pool, voyage):
    batch_id, [entry] = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()))
    set_row(pool, entry.media_id, processing_status="processing", attempts=3,
            updated_at=media_time_ago(pool, hours=1))

    result = sweep(pool, api_state.celery, stuck_after=timedelta(minutes=30), max_attempts=3)

    assert result.gave_up >= 1
    item = api.get(f"/api/media/{entry.media_id}").json()
    assert item["status"] == "failed" and item["error"]["code"] == "max_attempts"
    assert api.get(f"/api/batches/{batch_id}").json()["batch_status"] == "completed_with_errors"


def test_sweeper_leaves_fresh_items_alone(api_state, pool, voyage):
    _, [entry] = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()))
    set_row(pool, entry.media_id, processing_status="processing", attempts=1)

    sweep(pool, api_state.celery, stuck_after=timedelta(minutes=30), max_attempts=3)

    with pool.connection() as conn:
        row = media.get_media(conn, entry.media_id)
    assert row.processing_status == "processing" and row.task_id == entry.task_id


def media_time_ago(pool, hours: int):
    with pool.connection() as conn:
        return conn.execute("SELECT now() - %s", (timedelta(hours=hours),)).fetchone()[0]


def test_trigger_kept_counts_match_the_items(api, thumbnails_worker, pool, voyage, wait_final):
    body = upload(api, voyage, ("a.png", png_bytes()), ("b.jpg", truncated_jpeg())).json()
    for item in body["files"]:
        wait_final(item["media_id"])

    with pool.connection() as conn:
        kept = conn.execute(
            "SELECT voyage_slug, media_kind, processing_status, count FROM media_state_counts WHERE count > 0"
            " ORDER BY 1, 2, 3").fetchall()
        actual = conn.execute(
            "SELECT voyage_slug, media_kind, processing_status, count(*) FROM media GROUP BY 1, 2, 3"
            " ORDER BY 1, 2, 3").fetchall()
    assert kept == actual
