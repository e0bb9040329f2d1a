"""Placeholders and versioned recipes against a real worker: each item stores its ThumbHash and the
recipe versions it was rendered with; after a recipe changes (the worker restarted with new settings,
the API too) the stale items are counted, a dry run picks exactly them and changes nothing, and
`rerender-stale` renders exactly them again, once.

The services are this module's own (database, Redis db 9, bucket), so the package's shared worker,
which renders with the default recipes, never takes these tasks."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sequoia_api.main import create_app
from sequoia_core.recipes import current_versions
from sequoia_core.storage import Storage
from sequoia_thumbnails.renderers import thumbhash
from tests.corpus import conformance
from tests.factories import jpeg_bytes
from tests.integration.helpers import keys_under, upload
from tests.support import services
from tests.support.services import TEST_TOKEN

PICTURES = ["image", "pdf", "video"]
# The second configuration: previews become 640 px WebP; the thumbnail recipe is unchanged, so
# PDFs (thumbnail only) stay current and images (preview and thumbnail) become stale.
SMALL_WEBP_PREVIEW = json.dumps([
    {"name": "preview", "long_edge": 640, "format": "webp", "quality": 80, "kinds": ["image", "video"]},
    {"name": "thumbnail", "long_edge": 320, "kinds": PICTURES},
])


@pytest.fixture(scope="module")
def own_env(service_env) -> Iterator[dict[str, str]]:
    with services.fresh_database() as database_url:
        env = {**service_env, "DATABASE_URL": database_url, "REDIS_URL": services.redis_db_url(9),
               "S3_BUCKET": f"{service_env['S3_BUCKET']}-recipes"}
        services.purge_queues(env["REDIS_URL"])
        try:
            yield env
        finally:
            services.purge_queues(env["REDIS_URL"])


@contextmanager
def stack(env: dict[str, str], workdir: Path) -> Iterator[tuple[TestClient, Callable[[str], dict]]]:
    """The API and a thumbnails worker, both started with `env`, and a wait for an item to be final."""
    settings = services.settings_from(env)
    Storage(settings).ensure_bucket()
    worker = services.start_worker(env, "sequoia_thumbnails.worker", "thumbnails", "recipes", workdir)
    try:
        services.wait_for_ping(settings, worker)
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {TEST_TOKEN}"}) as client:
            yield client, lambda media_id: services.wait_until_final(lambda path: client.get(path).json(),
                                                                     media_id, 90, 0.2, (worker,))
    finally:
        services.stop_worker(worker)


def test_placeholders_and_stale_items_rerendered_once(own_env, workdir, voyage, tmp_path):
    pdf = conformance.ten_page_pdf(tmp_path).read_bytes()
    with stack(own_env, workdir) as (api, wait_final):
        body = upload(api, voyage, ("a.jpg", jpeg_bytes(1600, 1200)), ("b.jpg", jpeg_bytes(900, 1200, (200, 40, 40))),
                      ("c.pdf", pdf)).json()
        ids = {item["filename"]: item["media_id"] for item in body["files"]}
        first = {name: wait_final(media_id) for name, media_id in ids.items()}
        status = api.get(f"/api/async/media-processing-status/{voyage}").json()

    old_versions = current_versions(services.settings_from(own_env).recipes)
    for name, item in first.items():
        assert item["status"] == "completed", item
        assert item["recipe_versions"] == old_versions["pdf" if name == "c.pdf" else "image"]
        placeholder = base64.b64decode(item["thumbhash"])
        thumbnail = next(d for d in item["derivatives"] if d["name"] == "thumbnail")
        assert thumbhash.aspect_ratio(placeholder) == pytest.approx(thumbnail["width"] / thumbnail["height"],
                                                                    rel=0.25)
    red = thumbhash.average_rgba(base64.b64decode(first["b.jpg"]["thumbhash"]))
    assert red[0] > 0.6 and red[1] < 0.4  # the red picture's placeholder is red
    assert status["stale_by_kind"] == {}

    changed = {**own_env, "DERIVATIVE_RECIPES": SMALL_WEBP_PREVIEW}
    with stack(changed, workdir) as (api, wait_final):
        stale = api.get(f"/api/async/media-processing-status/{voyage}").json()["stale_by_kind"]
        dry = api.post("/api/async/rerender-stale", json={"voyage_slug": voyage, "dry_run": True}).json()
        after_dry = {name: api.get(f"/api/media/{media_id}").json() for name, media_id in ids.items()}
        done = api.post("/api/async/rerender-stale", json={"voyage_slug": voyage}).json()
        again = api.post("/api/async/rerender-stale", json={"voyage_slug": voyage}).json()
        second = {name: wait_final(ids[name]) for name in ("a.jpg", "b.jpg")}
        finally_stale = api.get(f"/api/async/media-processing-status/{voyage}").json()["stale_by_kind"]
        last = api.post("/api/async/rerender-stale", json={"voyage_slug": voyage}).json()
        refused = [api.post("/api/async/rerender-stale", json=body)
                   for body in ({"limit": 0}, {"dry_run": 0}, {"media_kind": "text"}, {"voyage": voyage})]
        pdf_now = api.get(f"/api/media/{ids['c.pdf']}").json()
        storage = Storage(services.settings_from(changed))
        keys = {name: keys_under(storage, f"derivatives/{voyage}/{ids[name]}/") for name in ids}

    images = {ids["a.jpg"], ids["b.jpg"]}
    assert stale == {"image": 2}
    assert (dry["dry_run"], dry["count"], {i["media_id"] for i in dry["items"]}) == (True, 2, images)
    assert all(i["task_id"] is None for i in dry["items"])
    assert all(after_dry[name]["task_id"] == first[name]["task_id"] for name in ids)  # a dry run changes nothing
    assert (done["dry_run"], done["count"], {i["media_id"] for i in done["items"]}) == (False, 2, images)
    assert again["count"] == 0  # requeued items are no longer stale
    new_versions = current_versions(services.settings_from(changed).recipes)["image"]
    for name, item in second.items():
        assert item["status"] == "completed" and item["task_id"] != first[name]["task_id"]
        assert (first[name]["priority"], item["priority"]) == ("live", "backfill")  # behind fresh ingest
        assert item["recipe_versions"] == new_versions
        preview = next(d for d in item["derivatives"] if d["name"] == "preview")
        assert (preview["format"], max(preview["width"], preview["height"])) == ("webp", 640)
        # The JPEG preview no recipe makes any more is gone; the thumbnail was rewritten in place.
        assert sorted(key.rsplit("/", 1)[1] for key in keys[name]) == ["preview.webp", "thumbnail.jpg"]
    assert (finally_stale, last["count"]) == ({}, 0)
    assert [(r.status_code, r.json()["code"]) for r in refused] == [(422, "invalid_request")] * 4
    assert pdf_now["task_id"] == first["c.pdf"]["task_id"] and pdf_now["recipe_versions"] == old_versions["pdf"]
