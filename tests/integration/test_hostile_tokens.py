"""Tokens at the front door, against the real API in a uvicorn process: read tokens cannot write,
voyage-limited tokens reach only their voyages, and a token without the scope is refused before the
body is read."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.factories import png_bytes
from tests.support import rawhttp
from tests.support.services import ApiProcess, running_api

READER, ALPHA_WRITER, ALPHA_READER = "reader-token-1", "alpha-writer-token", "alpha-reader-token"


@pytest.fixture(scope="module")
def scoped_api(service_env, workdir) -> Iterator[ApiProcess]:
    with running_api(service_env, workdir, SEQUOIA_READ_TOKENS=f"{READER},{ALPHA_READER}@alpha",
                     SEQUOIA_API_TOKENS=f"{ALPHA_WRITER}@alpha+alpha-2") as process:
        yield process


def call(api: ApiProcess, method: str, path: str, token: str, **kwargs) -> httpx.Response:
    return httpx.request(method, api.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30, **kwargs)


def upload(api: ApiProcess, voyage: str, token: str) -> httpx.Response:
    return call(api, "POST", f"/api/voyages/{voyage}/media", token, files=[("files", ("a.png", png_bytes()))])


def test_a_read_token_reads_but_cannot_write(scoped_api):
    assert upload(scoped_api, "alpha", ALPHA_WRITER).status_code == 202
    assert call(scoped_api, "GET", "/api/async/media-processing-status/alpha", READER).status_code == 200
    refused = upload(scoped_api, "alpha", READER)

    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert call(scoped_api, "POST", "/api/async/retry-failed-thumbnails", READER, json={}).status_code == 403


def test_a_voyage_limited_writer_reaches_only_its_voyages(scoped_api):
    assert upload(scoped_api, "alpha", ALPHA_WRITER).status_code == 202
    assert upload(scoped_api, "beta", ALPHA_WRITER).status_code == 403
    # calls that name no voyage cannot be checked against one, so a limited token gets none of them
    assert call(scoped_api, "GET", "/api/async/worker-health", ALPHA_WRITER).status_code == 403


def test_a_voyage_limited_reader_reads_only_its_voyage(scoped_api):
    assert upload(scoped_api, "alpha", ALPHA_WRITER).status_code == 202
    assert call(scoped_api, "GET", "/api/async/media-processing-status/alpha", ALPHA_READER).status_code == 200
    assert call(scoped_api, "GET", "/api/async/media-processing-status/beta", ALPHA_READER).status_code == 403


@pytest.mark.parametrize("token", [READER, ALPHA_WRITER], ids=["read-token", "other-voyage"])
def test_a_token_without_the_scope_is_refused_before_the_body(scoped_api, token):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={rawhttp.BOUNDARY}"}

    exchange = rawhttp.post(scoped_api.url, "/api/voyages/beta/media", rawhttp.multipart_file(1024**3), headers)

    assert exchange.status == 403 and exchange.seconds < 1.0 and exchange.sent < 16 * 1024**2


@pytest.mark.parametrize("token", [READER, ALPHA_WRITER], ids=["read-token", "voyage-limited-writer"])
def test_webhooks_need_a_writer_of_every_voyage(scoped_api, token):
    endpoint = {"url": "https://example.com/hook", "voyage_slug": "alpha"}
    created = call(scoped_api, "POST", "/api/webhooks", token, json=endpoint)

    assert created.status_code == 403 and created.json()["code"] == "forbidden"
    assert call(scoped_api, "GET", "/api/webhooks", token).status_code == 403
