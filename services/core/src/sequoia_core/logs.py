"""LOG_LEVEL, applied the same way in every process.

Celery workers take their level from `--loglevel` (the images and the chart pass `info`); uvicorn
configures only its own loggers, so the API's records went to Python's last-resort handler
(warnings and up). When LOG_LEVEL is set it wins in both; unset, the command line decides.
"""

from __future__ import annotations

import logging

from celery.signals import after_setup_logger, after_setup_task_logger

FORMAT = "[%(asctime)s: %(levelname)s/%(processName)s] %(name)s: %(message)s"


def configure_api_logging(level: str | None) -> None:
    """Give the API's own loggers a handler (uvicorn adds none to the root) and LOG_LEVEL's level."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel((level or "info").upper())


def install_worker_log_level(level: str | None) -> None:
    """Make LOG_LEVEL, when set, override the worker's `--loglevel` once Celery has set up logging."""
    if level is None:
        return

    def apply(logger: logging.Logger, **_: object) -> None:
        logger.setLevel(level.upper())

    after_setup_logger.connect(apply, weak=False)
    after_setup_task_logger.connect(apply, weak=False)
