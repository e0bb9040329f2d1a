"""The API's request metrics (labels by route template, never the raw path), ingest counters and
the /metrics endpoint, on a small app with the real middleware."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import uuid4

import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from sequoia_api.services.ingest import Accepted, Rejected
from sequoia_api.http.metrics import count_ingest, install_metrics
from sequoia_core.db.media import NewMedia
from sequoia_core.errors import PermanentError
from sequoia_core.settings import Settings

router = APIRouter(prefix="/api/things")


@router.get("/{thing_id}")
def read_thing(thing_id: int) -> dict:
    if thing_id == 0:
        raise HTTPException(404)
    if thing_id == 1:
        raise RuntimeError("a bug")
    return {"id": thing_id}


@pytest.fixture(scope="module")
def client():
    app = FastAPI()
    install_metrics(app)
    app.include_router(router)
    app.state.sequoia = SimpleNamespace(settings=Settings(_env_file=None))
    return TestClient(app, raise_server_exceptions=False)


def count(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("sequoia_api_requests_total", labels) or 0.0


def test_requests_count_by_route_template_and_status(client):
    route = "/api/things/{thing_id}"
    before = {s: count("GET", route, s) for s in ("200", "404", "500", "422")}

    for path in ("/api/things/5", "/api/things/6", "/api/things/0", "/api/things/1", "/api/things/nan"):
        client.get(path)

    assert count("GET", route, "200") == before["200"] + 2
    assert count("GET", route, "404") == before["404"] + 1
    assert count("GET", route, "500") == before["500"] + 1  # an unhandled error is a 500 for the client
    assert count("GET", route, "422") == before["422"] + 1
    latency = {"method": "GET", "route": route, "status": "200"}
    assert REGISTRY.get_sample_value("sequoia_api_request_duration_seconds_count", latency) >= 2


def test_random_paths_share_one_series(client):
    before = count("GET", "unmatched", "404")

    for _ in range(3):
        client.get(f"/no/such/{uuid4()}")

    assert count("GET", "unmatched", "404") == before + 3
    routes = {s.labels["route"] for f in REGISTRY.collect() if f.name == "sequoia_api_requests"
              for s in f.samples}
    assert not any("no/such" in route for route in routes)


def test_unknown_methods_share_one_label(client):
    before = count("other", "/api/things/{thing_id}", "405")

    client.request("BREW", "/api/things/5")

    assert count("other", "/api/things/{thing_id}", "405") == before + 1


def test_metrics_endpoint_serves_the_exposition_and_is_not_counted(client):
    before = count("GET", "/metrics", "200")

    response = client.get("/metrics")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"sequoia_api_requests", "sequoia_ingest_files", "sequoia_api_request_duration_seconds"} <= names
    assert count("GET", "/metrics", "200") == before


def _accepted(kind: str, size: int) -> Accepted:
    item = NewMedia(id=uuid4(), voyage_slug="v", batch_id=None, media_kind=kind, media_format="x",
                    original_filename="f", content_type="x/y", size_bytes=size, checksum_sha256=None,
                    original_key="k", task_id=uuid4(), queue="thumbnails", priority="live")
    return Accepted(filename="f", item=item)


def test_ingest_counts_files_and_bytes_by_kind_and_refusals_by_code():
    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = (value("sequoia_ingest_files_total", media_kind="audio"),
              value("sequoia_ingest_bytes_total", media_kind="audio"),
              value("sequoia_ingest_rejected_total", code="type_mismatch"))

    count_ingest([_accepted("audio", 1000), _accepted("audio", 24),
                  Rejected(filename="x.jpg", error=PermanentError("no", code="type_mismatch"))])

    assert value("sequoia_ingest_files_total", media_kind="audio") == before[0] + 2
    assert value("sequoia_ingest_bytes_total", media_kind="audio") == before[1] + 1024
    assert value("sequoia_ingest_rejected_total", code="type_mismatch") == before[2] + 1
