"""Worker-side plumbing that needs no worker: the multiprocess directory, the oldest-age rule of the
queue collector, and importing a worker module starts nothing."""

from __future__ import annotations

from celery.signals import task_postrun, task_prerun, worker_init

from sequoia_core.multiprocess import prepare_dir
from sequoia_media.queue_metrics import PostgresView, RedisView, oldest_age


def test_a_configured_directory_is_emptied_of_a_previous_run(tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"old counts")
    (directory / "keep.txt").write_text("not ours")

    path, private = prepare_dir(directory)

    assert (path, private) == (directory, False)
    assert sorted(p.name for p in directory.iterdir()) == ["keep.txt"]


def test_without_a_configured_directory_each_worker_gets_a_private_one():
    first, private = prepare_dir(None)
    second, _ = prepare_dir(None)
    try:
        assert private and first != second and first.is_dir() and not any(first.iterdir())
    finally:
        first.rmdir()
        second.rmdir()


def _uids(signal) -> set:
    return {key[0] for key, _receiver in signal.receivers if isinstance(key[0], str)}


def test_importing_the_worker_modules_connects_only_the_worker_start():
    import sequoia_media.worker  # noqa: F401
    import sequoia_thumbnails.worker  # noqa: F401

    assert "sequoia-worker-metrics-init" in _uids(worker_init)
    assert "sequoia-metrics-prerun" not in _uids(task_prerun)
    assert "sequoia-metrics-postrun" not in _uids(task_postrun)


def test_oldest_age_is_the_older_of_the_broker_and_the_database():
    redis_view = RedisView(depths={"thumbnails": 2}, oldest_stamps={"thumbnails": 1000.0, "media": None})
    pg_view = PostgresView(items={}, oldest_ages={"thumbnails": 30.0, "media": 90.0})

    assert oldest_age("thumbnails", redis_view, pg_view, now=1060.0) == 60.0
    assert oldest_age("media", redis_view, pg_view, now=1060.0) == 90.0
    assert oldest_age("default", redis_view, pg_view, now=1060.0) == 0.0
    assert oldest_age("thumbnails", None, None, now=1060.0) == 0.0
    assert oldest_age("thumbnails", redis_view, None, now=1060.0) == 60.0
