"""The chart's rendered release, installed on Podman once per values file (`make test-chart-runtime`)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chart_runtime import release
from tests.chart_runtime.release import CHART, Release

# values file → what platform.py stands in for outside the release: AWS S3 for the defaults; TLS Redis,
# Postgres and HTTPS S3 for external-services; nothing for seaweedfs (all in the release).
OUTSIDE = {"default": "aws_s3", "seaweedfs": None, "external-services": "external_services"}
VALUES = os.environ.get("SEQUOIA_RUNTIME_VALUES", ",".join(OUTSIDE)).split(",")


@pytest.fixture(scope="session")
def built() -> None:
    """Images built once for every values file (podman's layer cache shares them with test-containers)."""
    for tool in ("podman", "runc", "debootstrap", "ffmpeg"):
        assert shutil.which(tool), f"{tool} is missing: apt-get install podman runc debootstrap ffmpeg"
    started = time.monotonic()
    docs = [doc for name in VALUES for doc in release.render(CHART / "ci" / f"{name}-values.yaml")]
    release.build_images(docs)
    print(f"\nimages built or found in {time.monotonic() - started:.0f} s")


@pytest.fixture(scope="module", params=VALUES)
def installed(request, built) -> Iterator[Release]:
    """One values file's release, installed and ready; removed after its module's tests."""
    workdir = Path(tempfile.mkdtemp(prefix="sequoia-rt-"))
    try:
        running = release.install(CHART / "ci" / f"{request.param}-values.yaml", workdir, OUTSIDE[request.param])
        print(f"\n{request.param}: " + ", ".join(f"{k} {v:.0f} s" for k, v in running.timings.items()))
        try:
            yield running
        finally:
            running.cluster.teardown()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
