"""A media worker with beat, its task events turned on as Flower turns them on: the ticks still run,
and neither beat nor the worker publishes a task event for them (docs/monitoring.md, "Flower")."""

from __future__ import annotations

import threading

from sequoia_core import tasks as task_names
from sequoia_core.celery_app import create_celery_app
from tests.support import services
from tests.support.processes import wait_for


def _ticks(worker: services.WorkerProcess) -> int:
    return sum(1 for line in worker.log().splitlines() if f"{task_names.RELAY_OUTBOX}[" in line and " succeeded " in line)


def test_beat_ticks_send_no_task_events_while_a_flower_would_watch(service_env, settings, workdir):
    app = create_celery_app(settings)
    events: list[dict] = []
    with app.connection_for_read() as connection:
        receiver = app.events.Receiver(connection, handlers={"*": events.append})
        listener = threading.Thread(target=receiver.capture, kwargs={"limit": None, "wakeup": False}, daemon=True)
        listener.start()
        env = {**service_env, "RELAY_INTERVAL_SECONDS": "1"}
        with services.running_worker(env, "sequoia_media.worker", "media,default", "media-beat", workdir, settings,
                                     extra_args=("-B", "--schedule", str(workdir / "beat-events-schedule"),
                                                 "--without-mingle", "--without-gossip")) as worker:
            node = next(name for reply in app.control.ping(timeout=2) for name in reply if worker.name in name)
            replies = app.control.broadcast("enable_events", reply=True, destination=[node], timeout=5)
            assert replies == [{node: {"ok": "task events enabled"}}]
            before = _ticks(worker)
            wait_for(lambda: _ticks(worker) >= before + 2, 30, "two relay ticks run with task events on")
            wait_for(lambda: any(e["type"] == "worker-heartbeat" and e["hostname"] == node for e in events),
                     30, "the worker's heartbeat event (events do flow)")
        receiver.should_stop = True
        listener.join(10)
    # Ticks beat sent as the worker stopped wait on `media` and `default` with nobody to run them:
    # the next tests' worker health would call those queues unhealthy.
    services.purge_queues(service_env["REDIS_URL"])

    task_events = [e for e in events if e["type"].startswith("task-")
                   and (e.get("hostname") == node or str(e.get("name", "")).startswith("media."))]
    assert task_events == []
