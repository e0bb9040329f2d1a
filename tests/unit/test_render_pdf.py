"""PDF engine: page 1 at the thumbnail's scale, rotation, huge pages, encryption and bombs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers.base import RenderSpec
from tests.corpus import build, conformance, hostile, pdf_bytes

SPEC = RenderSpec(time_limit_seconds=30)


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory) -> dict[str, Path]:
    return build(tmp_path_factory.mktemp("pdfs"), conformance.PDFS)


def _render(path: Path, out: Path, **changes):
    fmt, result = Engine(replace(SPEC, **changes)).render(path, out, filename_hint=path.name)
    return fmt, result


def _top_is_red(path: Path) -> bool:
    with Image.open(path) as image:
        r, g, b = image.convert("RGB").getpixel((image.width // 2, 3))
    return r > 180 and g < 80 and b < 80


@pytest.mark.parametrize(("case", "size", "pages"), [
    ("ten_pages", (248, 320), 10),
    ("huge_page", (320, 160), 1),
    ("owner_only", (248, 320), 2),
])
def test_page_one_becomes_a_320px_thumbnail(pdfs, tmp_path, case, size, pages):
    fmt, result = _render(pdfs[case], tmp_path)

    assert fmt.kind == "pdf"
    [thumbnail] = result.derivatives
    assert (thumbnail.name, thumbnail.format) == ("thumbnail", "jpeg")
    with Image.open(thumbnail.path) as image:
        assert image.size == size == (thumbnail.width, thumbnail.height)
    assert _top_is_red(thumbnail.path)
    assert result.metadata["pages"] == pages


def test_rotated_first_page_is_shown_turned(pdfs, tmp_path):
    _, result = _render(pdfs["rotated"], tmp_path)

    thumbnail = result.derivatives[0]
    assert (thumbnail.width, thumbnail.height) == (320, 248)
    assert result.metadata["rotation"] == 90
    with Image.open(thumbnail.path) as image:
        # Turned a quarter clockwise, the red top half of the page is now the right half.
        assert image.convert("RGB").getpixel((300, 124))[0] > 180
        assert image.convert("RGB").getpixel((20, 124)) > (200, 200, 200)


def test_a_sliver_of_a_page_gets_at_least_one_pixel(tmp_path):
    path = tmp_path / "sliver.pdf"
    path.write_bytes(pdf_bytes(b"0 0 1 100000 re f", media_box="0 0 1 100000"))

    _, result = _render(path, tmp_path / "out")

    assert (result.derivatives[0].width, result.derivatives[0].height) == (1, 320)


def test_user_password_is_encrypted_pdf(tmp_path):
    with pytest.raises(PermanentError) as caught:
        _render(hostile.encrypted_pdf(tmp_path), tmp_path / "out")

    assert caught.value.code == ErrorCode.ENCRYPTED_PDF


def test_stream_inflating_to_gigabytes_fails_in_little_memory(tmp_path):
    path = hostile.pdf_stream_bomb(tmp_path)

    with pytest.raises(PermanentError) as caught:
        _render(path, tmp_path / "out", memory_limit_bytes=256 * 1024**2)

    assert caught.value.code == ErrorCode.CONTENT_TOO_LARGE  # how fast: bench/engines/hostile.py


def test_a_page_that_draws_forever_times_out(tmp_path):
    path = hostile.pdf_slow_page(tmp_path)

    with pytest.raises(PermanentError) as caught:
        _render(path, tmp_path / "out", time_limit_seconds=2)

    assert caught.value.code == ErrorCode.TIMEOUT  # killed at its limit: bench/engines/hostile.py


@pytest.mark.parametrize("data", [
    b"%PDF-1.4\n" + b"garbage " * 100,
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
])
def test_broken_pdfs_are_corrupt_file(tmp_path, data):
    path = tmp_path / "broken.pdf"
    path.write_bytes(data)

    with pytest.raises(PermanentError) as caught:
        _render(path, tmp_path / "out")

    assert caught.value.code == ErrorCode.CORRUPT_FILE


def test_truncated_pdf_is_corrupt_file(pdfs, tmp_path):
    path = tmp_path / "truncated.pdf"
    data = pdfs["ten_pages"].read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])

    with pytest.raises(PermanentError) as caught:
        _render(path, tmp_path / "out")

    assert caught.value.code == ErrorCode.CORRUPT_FILE
