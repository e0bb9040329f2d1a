"""Memory arithmetic of the workers: every render child may use RENDER_MEMORY_LIMIT_MB at once, so a
thumbnails container must hold WORKER_CONCURRENCY of them plus the worker's own processes."""

from __future__ import annotations

import re

import pytest

from sequoia_core.settings import Settings
from sequoia_core.tasks import GENERATE_DERIVATIVES
from tests.chart.conftest import ALL_VALUES, by_kind

_UNITS = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024**2, "k": 1e3 / 1024**2, "M": 1e6 / 1024**2,
          "G": 1e9 / 1024**2, "": 1 / 1024**2}


def mebibytes(quantity: str) -> float:
    """A Kubernetes memory quantity in MiB."""
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(quantity)).groups()
    return float(number) * _UNITS[unit]


def _worker_limits(objects: list[dict]) -> dict[str, float]:
    return {d["metadata"]["name"]: mebibytes(d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"])
            for d in by_kind(objects, "Deployment") if d["metadata"]["name"].startswith("sequoia-worker-")}


def _config(objects: list[dict]) -> dict[str, str]:
    return next(c for c in by_kind(objects, "ConfigMap") if c["metadata"]["name"] == "sequoia-config")["data"]


def test_chart_arithmetic_starts_from_the_settings_defaults(render):
    config, defaults = _config(render(None)), Settings(_env_file=None)

    assert int(config["WORKER_CONCURRENCY"]) == defaults.worker_concurrency
    assert int(config["RENDER_MEMORY_LIMIT_MB"]) == defaults.render_memory_limit_mb


def test_the_thumbnails_limit_is_derived_from_concurrency_and_render_limit(render):
    assert _worker_limits(render(None))["sequoia-worker-thumbnails"] == 2 * 2048 + 512
    four = render(None, "config.WORKER_CONCURRENCY=4", "config.RENDER_MEMORY_LIMIT_MB=1024")
    assert _worker_limits(four)["sequoia-worker-thumbnails"] == 4 * 1024 + 512


@pytest.mark.parametrize("values", [p.name for p in ALL_VALUES])
def test_every_rendered_thumbnails_worker_fits_its_renders(rendered, values):
    config = _config(rendered[values])
    needed = int(config["WORKER_CONCURRENCY"]) * int(config["RENDER_MEMORY_LIMIT_MB"]) + 512

    assert _worker_limits(rendered[values])["sequoia-worker-thumbnails"] >= needed


def test_a_limit_too_small_for_the_renders_is_refused(render):
    with pytest.raises(AssertionError, match=re.escape(
            "workers.thumbnails.resources.limits.memory (2Gi) is below WORKER_CONCURRENCY (2) x "
            "RENDER_MEMORY_LIMIT_MB (2048) + memoryFootprintMi (512) = 4608Mi")):
        render(None, "workers.thumbnails.resources.limits.memory=2Gi")


def test_a_worker_that_does_not_render_keeps_its_limit_above_its_footprint(render):
    assert _worker_limits(render(None))["sequoia-worker-media"] == 512
    with pytest.raises(AssertionError, match=re.escape("workers.media.resources.limits.memory (200Mi) is below")):
        render(None, "workers.media.resources.limits.memory=200Mi")


# docs/kubernetes.md states it: the default maxmemory holds this many queued files, twice over
# (fragmentation, AOF rewrite), now that no task result is stored beside them.
STATED_BACKLOG = 100_000


def test_redis_maxmemory_holds_the_stated_backlog(rendered, broker):
    app, client = broker
    client.delete("thumbnails")
    sample = 500
    try:
        for _ in range(sample):
            app.send_task(GENERATE_DERIVATIVES, args=["00000000-0000-0000-0000-000000000000"])
        per_message = client.memory_usage("thumbnails", samples=0) / sample
    finally:
        client.delete("thumbnails")
    config = next(c for c in by_kind(rendered["default-values.yaml"], "ConfigMap")
                  if c["metadata"]["name"] == "sequoia-redis")["data"]["redis.conf"]
    maxmemory = mebibytes(re.search(r"^maxmemory (\d+)mb$", config, re.M).group(1) + "M")

    assert 900 < per_message < 1600, f"a queued message takes {per_message:.0f} bytes: update the docs"
    assert STATED_BACKLOG * per_message * 2 / 1024**2 <= maxmemory
