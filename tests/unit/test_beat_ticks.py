"""Beat's ticks send no task events, even while a Flower has turned them on (docs/monitoring.md)."""

from __future__ import annotations

from types import SimpleNamespace

from celery import Celery
from celery.signals import beat_init

from sequoia_media import tasks  # noqa: F401  (registers the tasks)
from sequoia_media.worker import _no_task_sent_events, app


def test_every_scheduled_task_sends_no_task_events():
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}

    assert scheduled
    assert {name: app.tasks[name].send_events for name in scheduled} == dict.fromkeys(scheduled, False)


def test_beat_publishes_without_task_sent_events_and_nobody_else_does():
    beat_app = Celery("beat-under-test", set_as_current=False)
    beat_app.conf.task_send_sent_event = True

    _no_task_sent_events(SimpleNamespace(app=beat_app))

    assert beat_app.conf.task_send_sent_event is False
    assert app.conf.task_send_sent_event is True  # the worker and the API keep theirs
    uids = {key[0] for key, _receiver in beat_init.receivers if isinstance(key[0], str)}
    assert "sequoia-beat-no-sent-events" in uids
