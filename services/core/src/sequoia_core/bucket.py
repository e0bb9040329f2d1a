"""`python -m sequoia_core.bucket`: wait until S3 answers, then create the bucket when missing.

The chart runs it as an init step of the API pods (`s3.createBucket`), so a bucket is there before
the API serves, however late the in-cluster S3 comes up; a rerun finds the bucket and returns at once.
"""

from __future__ import annotations

import argparse
import logging
import time

from sequoia_core.backoff import retry_countdown
from sequoia_core.errors import TransientError
from sequoia_core.settings import get_settings
from sequoia_core.storage import Storage

log = logging.getLogger("sequoia.bucket")


def wait_for_bucket(storage: Storage, wait_seconds: float) -> bool:
    """Retry `ensure_bucket` with backoff until it succeeds (True) or `wait_seconds` pass (False)."""
    deadline = time.monotonic() + wait_seconds
    attempt = 0
    while True:
        try:
            storage.ensure_bucket()
            return True
        except TransientError as err:
            pause = min(retry_countdown(attempt, 0.5, 5.0), deadline - time.monotonic())
            if pause <= 0:
                return False
            log.info("waiting for S3: %s", err.message)
            time.sleep(pause)
            attempt += 1


def main(argv: list[str] | None = None) -> int:
    """Entry point; exits 1 when S3 did not answer in time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait-seconds", type=float, default=300.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings().model_copy(update={"s3_create_bucket": True})
    if wait_for_bucket(Storage(settings), args.wait_seconds):
        log.info("bucket %s is ready", settings.s3_bucket)
        return 0
    log.error("S3 did not answer within %g s at %s", args.wait_seconds, settings.s3_endpoint_url or "AWS")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
