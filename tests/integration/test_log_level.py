"""LOG_LEVEL overrides the `--loglevel info` every image and the chart pass to celery, both ways."""

from __future__ import annotations

import pytest

from tests.support import services


@pytest.mark.parametrize(("level", "shown", "hidden"), [("debug", " DEBUG/", None), ("warning", None, " INFO/")])
def test_a_worker_logs_at_log_level_not_at_its_command_line_level(service_env, settings, workdir, level, shown,
                                                                    hidden):
    with services.running_worker({**service_env, "LOG_LEVEL": level}, "sequoia_media.worker", "media",
                                 f"log-{level}", workdir, settings) as worker:
        pass
    log = worker.log()
    if shown:
        assert shown in log, log[-2000:]
    if hidden:
        assert hidden not in log, log[-2000:]
