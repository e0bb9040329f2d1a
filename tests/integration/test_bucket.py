"""The bucket race: S3 may come up after the API. The chart's init step waits for S3 and creates the
bucket; the API's readiness heals by itself instead of hanging on a one-shot start-up call."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from scripts.devstack import seaweed
from scripts.devstack.seaweed import free_port
from sequoia_api.main import create_app
from sequoia_core.settings import Settings

ACCESS, SECRET = "bucket-" + secrets.token_hex(4), secrets.token_urlsafe(24)


@pytest.fixture
def late_s3(tmp_path) -> Iterator[tuple[str, callable]]:
    """An S3 endpoint nobody answers yet, and a function that starts SeaweedFS on it."""
    port = free_port()
    started: list[seaweed.SeaweedS3] = []

    def start() -> seaweed.SeaweedS3:
        gateway = seaweed.start(tmp_path / "weed", ACCESS, SECRET, s3_port=port)
        started.append(gateway)
        return gateway

    yield f"http://127.0.0.1:{port}", start
    for gateway in started:
        seaweed.stop(gateway.process)


def _s3_env(endpoint: str, bucket: str) -> dict[str, str]:
    return {"S3_ENDPOINT_URL": endpoint, "S3_BUCKET": bucket, "AWS_ACCESS_KEY_ID": ACCESS,
            "AWS_SECRET_ACCESS_KEY": SECRET}


def _bucket_exists(gateway: seaweed.SeaweedS3, bucket: str) -> bool:
    return bucket in {b["Name"] for b in gateway.client().list_buckets().get("Buckets", [])}


def test_the_init_step_waits_for_s3_then_creates_the_bucket(late_s3):
    endpoint, start = late_s3
    bucket = "late-" + secrets.token_hex(4)
    waiter = subprocess.Popen([sys.executable, "-m", "sequoia_core.bucket", "--wait-seconds", "120"],
                              env={**os.environ, **_s3_env(endpoint, bucket)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    gateway = start()  # SeaweedFS takes seconds to answer: the waiter meets a dead endpoint first

    output, _ = waiter.communicate(timeout=150)
    assert waiter.returncode == 0, output
    assert "waiting for S3" in output
    assert _bucket_exists(gateway, bucket)
    # A second run (the next pod) finds the bucket and is done at once.
    again = subprocess.run([sys.executable, "-m", "sequoia_core.bucket", "--wait-seconds", "5"],
                           env={**os.environ, **_s3_env(endpoint, bucket)}, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr


def test_the_init_step_gives_up_with_a_clear_error(late_s3):
    endpoint, _ = late_s3
    done = subprocess.run([sys.executable, "-m", "sequoia_core.bucket", "--wait-seconds", "3"],
                          env={**os.environ, **_s3_env(endpoint, "never")}, capture_output=True, text=True)

    assert done.returncode == 1
    assert "S3 did not answer within 3 s" in done.stdout + done.stderr


def test_readiness_heals_when_s3_comes_up_after_the_api(late_s3):
    endpoint, start = late_s3
    bucket = "ready-" + secrets.token_hex(4)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    settings = Settings(_env_file=None, redis_url=redis_url, s3_create_bucket=True,
                        database_url="postgresql://postgres@127.0.0.1:5432/postgres",
                        s3_endpoint_url=endpoint, s3_bucket=bucket,
                        AWS_ACCESS_KEY_ID=ACCESS, AWS_SECRET_ACCESS_KEY=SECRET)
    with TestClient(create_app(settings)) as api:
        assert api.get("/readyz").status_code == 503
        gateway = start()
        gateway.wait_ready()
        deadline = time.monotonic() + 60
        while (ready := api.get("/readyz")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert ready.status_code == 200, ready.json()
    assert _bucket_exists(gateway, bucket)
