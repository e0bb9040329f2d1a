"""The orphan janitor against real SeaweedFS and Postgres: an original whose item was never committed
goes once it is old enough; owned originals, young uploads and other keys stay."""

from __future__ import annotations

import io
from datetime import timedelta
from uuid import uuid4

from sequoia_core import tasks as task_names
from sequoia_core.queues import QueueName, queue_for
from sequoia_core.storage import original_key
from sequoia_media.orphans import remove_orphan_originals
from tests.factories import jpeg_bytes
from tests.integration.helpers import ingest_unpublished, keys_under


def _put(storage, key: str) -> None:
    storage.put_stream(key, io.BytesIO(jpeg_bytes(32, 32)), "image/jpeg")


def test_an_original_without_its_item_is_removed_once_old_enough(api_state, storage, pool, voyage):
    _, entries = ingest_unpublished(api_state, voyage, ("kept.jpg", jpeg_bytes(64, 48)))
    owned = original_key(voyage, entries[0].media_id, "jpg")
    orphan = original_key(voyage, uuid4(), "jpg")  # stored, then its commit failed
    foreign = f"originals/{voyage}/imported/holiday.jpg"  # not an API key: never the janitor's
    _put(storage, orphan)
    _put(storage, foreign)

    too_young = remove_orphan_originals(storage, pool, timedelta(hours=1))
    removed = remove_orphan_originals(storage, pool, timedelta(0))

    assert orphan not in too_young
    assert orphan in removed
    assert owned not in removed and foreign not in removed
    assert set(keys_under(storage, f"originals/{voyage}/")) == {owned, foreign}


def test_the_janitor_runs_on_beat_on_the_media_queue(settings):
    from sequoia_media.worker import app

    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}

    assert schedule[task_names.REMOVE_ORPHAN_ORIGINALS] == settings.orphan_sweep_interval_seconds == 3600
    assert queue_for(task_names.REMOVE_ORPHAN_ORIGINALS) is QueueName.MEDIA
    assert settings.orphan_min_age_seconds == 86400
