"""Hostile clients at the front door, against the real API in a uvicorn process: bodies that are too
big, endless, malformed or sent without a token are refused before (or as soon as) they cost memory.
Memory is the API process's resident set, read from /proc."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.factories import png_bytes
from tests.integration.helpers import keys_under
from tests.support import rawhttp
from tests.support.services import TEST_TOKEN, ApiProcess, running_api

GIB = 1024**3
MIB = 1024**2
UPLOAD = "/api/voyages/hostile/media"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={rawhttp.BOUNDARY}"}
WRITER = {"Authorization": f"Bearer {TEST_TOKEN}"}


@pytest.fixture(scope="module")
def small_limit_api(service_env, workdir) -> Iterator[ApiProcess]:
    """An API whose upload limit is 64 MiB, to cross it without streaming the 2 GiB default."""
    with running_api(service_env, workdir, MAX_UPLOAD_BYTES=str(64 * MIB)) as process:
        yield process


@pytest.mark.parametrize("declared", [GIB, None], ids=["content-length", "chunked"])
def test_an_unauthenticated_gigabyte_is_refused_before_it_is_read(api_process, declared):
    before = api_process.rss_bytes()

    exchange = rawhttp.post(api_process.url, UPLOAD, rawhttp.multipart_file(GIB), MULTIPART, content_length=declared)

    assert exchange.status == 401 and b'"unauthorized"' in exchange.body
    assert exchange.seconds < 1.0  # a safety bound: the answer comes from the headers alone
    assert api_process.rss_bytes() - before < 20 * MIB


def test_a_declared_length_over_the_limit_is_refused_at_once(api_process):
    too_big = 3 * GIB  # over the 2 GiB default

    exchange = rawhttp.post(api_process.url, UPLOAD, rawhttp.multipart_file(too_big), {**WRITER, **MULTIPART},
                            content_length=too_big)

    assert exchange.status == 413 and b'"file_too_large"' in exchange.body
    assert exchange.sent < 16 * MIB  # what the sockets' buffers took before the answer


def test_an_endless_upload_is_cut_off_where_it_crosses_the_limit(small_limit_api):
    before = small_limit_api.rss_bytes()

    exchange = rawhttp.post(small_limit_api.url, UPLOAD, rawhttp.multipart_file(GIB), {**WRITER, **MULTIPART})

    assert exchange.status == 413 and b'"file_too_large"' in exchange.body
    assert 64 * MIB < exchange.sent < 80 * MIB  # the limit, plus what the sockets' buffers held
    assert small_limit_api.rss_bytes() - before < 20 * MIB


def _many_parts(count: int, size: int) -> Iterator[bytes]:
    for index in range(count):
        yield (b"\r\n" if index else b"") + rawhttp.multipart_head(f"part{index}.bin")
        yield from rawhttp.zeros(size)
    yield f"\r\n--{rawhttp.BOUNDARY}--\r\n".encode()


def test_a_thousand_one_megabyte_parts_are_refused_without_growing_memory(api_process):
    before = api_process.rss_bytes()

    exchange = rawhttp.post(api_process.url, UPLOAD, _many_parts(1000, MIB), {**WRITER, **MULTIPART}, timeout=60)

    assert exchange.status == 413 and b'"too_many_files"' in exchange.body
    assert api_process.rss_bytes() - before < 20 * MIB


def test_a_hundred_one_megabyte_files_spool_to_disk_past_the_memory_budget(api_process):
    before = api_process.rss_bytes()

    exchange = rawhttp.post(api_process.url, UPLOAD, _many_parts(100, MIB), {**WRITER, **MULTIPART}, timeout=60)

    assert exchange.status == 415 and exchange.body.count(b'"unsupported_type"') == 101  # each file, and the call
    assert api_process.rss_bytes() - before < 20 * MIB


def test_a_multipart_body_without_its_closing_boundary_is_400(api_process):
    body = [rawhttp.multipart_head(), b"\x89PNG not really"]

    exchange = rawhttp.post(api_process.url, UPLOAD, body, {**WRITER, **MULTIPART})

    assert exchange.status == 400 and b'"malformed_multipart"' in exchange.body


def test_a_part_with_endless_headers_is_400(api_process):
    header = f"--{rawhttp.BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"".encode()
    body = [header, *rawhttp.zeros(MIB)]

    exchange = rawhttp.post(api_process.url, UPLOAD, body, {**WRITER, **MULTIPART})

    assert exchange.status == 400 and b'"malformed_multipart"' in exchange.body


def test_a_body_that_is_not_multipart_is_422(api_process):
    exchange = rawhttp.post(api_process.url, UPLOAD, [b"{}"], {**WRITER, "Content-Type": "application/json"})

    assert exchange.status == 422


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_huge_json_is_refused_past_its_own_small_limit(api_process, declared):
    body = b'{"items": [' + b'{"key": "originals/x"},' * (5 * MIB // 22) + b'{"key": "x"}]}'
    before = api_process.rss_bytes()

    exchange = rawhttp.post(api_process.url, "/api/voyages/hostile/media/register", [body],
                            {**WRITER, "Content-Type": "application/json"},
                            content_length=len(body) if declared else None)

    assert exchange.status == 413 and b'"payload_too_large"' in exchange.body
    assert api_process.rss_bytes() - before < 20 * MIB


def test_a_json_write_without_a_token_is_refused_before_its_body(api_process):
    exchange = rawhttp.post(api_process.url, "/api/async/retry-failed-thumbnails", rawhttp.zeros(GIB),
                            {"Content-Type": "application/json"}, content_length=GIB)

    assert exchange.status == 401 and exchange.seconds < 1.0


def test_a_file_name_with_control_characters_is_refused_on_its_own_before_any_write(api_process, storage):
    names = ["nul\x00.png", "bell\x07.png", "esc\x1b[31m.png", "fine.png"]
    voyage = "hostile-names"
    body = [part for index, name in enumerate(names)
            for part in ((b"\r\n" if index else b"") + rawhttp.multipart_head(name), png_bytes())]

    exchange = rawhttp.post(api_process.url, f"/api/voyages/{voyage}/media",
                            [*body, f"\r\n--{rawhttp.BOUNDARY}--\r\n".encode()], {**WRITER, **MULTIPART})

    files = json.loads(exchange.body)["files"]
    assert exchange.status == 202
    assert [f["error"]["code"] if f["error"] else f["status"] for f in files] == ["invalid_filename"] * 3 + ["accepted"]
    assert len(keys_under(storage, f"originals/{voyage}/")) == 1  # only the accepted file was written


def test_a_body_that_stops_arriving_is_cut_off(service_env, workdir):
    # BODY_IDLE_TIMEOUT_SECONDS is 30 by default; 2 here, so the test waits 2 s instead of 30.
    def stalled() -> Iterator[bytes]:
        yield rawhttp.multipart_head()
        yield b"partial"

    with running_api(service_env, workdir, BODY_IDLE_TIMEOUT_SECONDS="2") as api:
        exchange = rawhttp.post(api.url, UPLOAD, stalled(), {**WRITER, **MULTIPART}, content_length=10 * MIB,
                                timeout=20)

    assert exchange.status == 408 and b'"body_timeout"' in exchange.body and exchange.seconds < 10
