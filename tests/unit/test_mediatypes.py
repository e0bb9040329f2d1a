"""Content sniffing against the allow-list: the extension is only a hint."""

from __future__ import annotations

import io
import random
from pathlib import Path

import puremagic
import pytest
from PIL import Image
from puremagic import main as puremagic_main

from sequoia_core import mediatypes
from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.mediatypes import MediaKind, identify, sniff
from tests.corpus import pdf_bytes, png_bytes
from tests.corpus.hostile import hls_playlist


def _image(fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (1, 2, 3)).save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "name", "kind"), [
    (_image("JPEG"), "jpeg", MediaKind.IMAGE),
    (_image("JPEG", progressive=True), "jpeg", MediaKind.IMAGE),
    (_image("PNG"), "png", MediaKind.IMAGE),
    (_image("WEBP"), "webp", MediaKind.IMAGE),
    (_image("GIF"), "gif", MediaKind.IMAGE),
    (_image("TIFF"), "tiff", MediaKind.IMAGE),
    (pdf_bytes(b""), "pdf", MediaKind.PDF),
    (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "mp4", MediaKind.VIDEO),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", "mov", MediaKind.VIDEO),
    (b"RIFF\x00\x01\x00\x00AVI LIST\x00\x00\x00\x00hdrlavih", "avi", MediaKind.VIDEO),
    (b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\xf2\x81\x04B\xf3\x81\x08B\x82\x88matroska", "mkv",
     MediaKind.VIDEO),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" * 4, "mp3", MediaKind.AUDIO),
    (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00", "wav", MediaKind.AUDIO),
    (b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 32, "aac", MediaKind.AUDIO),
    (b"OggS\x00\x02" + b"\x00" * 40, "ogg", MediaKind.AUDIO),
    (b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A isommp42", "m4a", MediaKind.AUDIO),
])
def test_sniffs_each_allowed_format(data, name, kind):
    fmt = sniff(data)

    assert (fmt.name, fmt.kind) == (name, kind)


def test_mp3_without_id3_tag_is_mp3(tmp_path):
    from tests.corpus.conformance import mono_mp3

    data = mono_mp3(tmp_path).read_bytes()
    start = data.index(b"\xff\xfb") if data.startswith(b"ID3") else 0

    assert sniff(data[start:start + 8192]).name == "mp3"


@pytest.mark.parametrize(("brands", "name"), [
    (b"heic\x00\x00\x00\x00mif1heic", "heif"),
    (b"mif1\x00\x00\x00\x00mif1heic", "heif"),
    (b"msf1\x00\x00\x00\x00msf1hevc", "heif"),
    (b"avif\x00\x00\x00\x00avifmif1miafMA1B", "avif"),
    (b"avis\x00\x00\x00\x00avismsf1", "avif"),
    (b"mif1\x00\x00\x00\x00mif1avif", "avif"),
    (b"isom\x00\x00\x02\x00isomiso2avc1mp41", "mp4"),
])
def test_iso_media_files_are_told_apart_by_their_ftyp_brands(brands, name):
    box = b"ftyp" + brands
    header = (len(box) + 4).to_bytes(4, "big") + box + b"\x00\x00\x00\x08free"

    assert sniff(header).name == name


@pytest.mark.parametrize("header", [b"II+\x00\x08\x00\x00\x00", b"MM\x00+\x00\x08\x00\x00"])
def test_bigtiff_is_tiff(header):
    assert sniff(header + b"\x00" * 8).name == "tiff"


@pytest.mark.parametrize(("data", "code"), [
    (b"", ErrorCode.EMPTY_FILE),
    (b"<!DOCTYPE html><html><body>hi</body></html>", ErrorCode.UNSUPPORTED_TYPE),
    (hls_playlist(Path("/etc/passwd")), ErrorCode.UNSUPPORTED_TYPE),
    (b"ffconcat version 1.0\nfile /etc/passwd\n", ErrorCode.UNSUPPORTED_TYPE),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', ErrorCode.UNSUPPORTED_TYPE),
    (b"PK\x03\x04" + b"\x00" * 60, ErrorCode.UNSUPPORTED_TYPE),
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 60, ErrorCode.UNSUPPORTED_TYPE),
])
def test_refuses_what_is_not_on_the_allow_list(data, code):
    with pytest.raises(PermanentError) as caught:
        sniff(data)

    assert caught.value.code == code


def test_name_of_another_kind_is_a_mismatch_not_a_guess():
    with pytest.raises(PermanentError) as caught:
        identify(pdf_bytes(b""), "holiday.jpg")

    assert caught.value.code == ErrorCode.TYPE_MISMATCH


def test_name_of_the_same_kind_is_only_a_hint():
    png = png_bytes(4, 4, 8, 2, b"\x00" + b"\x00" * 12)

    assert identify(png, "photo.jpg").name == "png"
    assert identify(png, "no-extension").name == "png"
    assert identify(png, None).name == "png"


def _first_allowed(matches) -> str | None:
    """The format `sniff` takes from a list of puremagic matches, as it took it from the whole table."""
    for match in sorted(matches, key=lambda m: -m.confidence):
        ext = match.extension.lstrip(".").lower()
        fmt = mediatypes._BY_EXTENSION.get(mediatypes._EXTENSION_ALIASES.get(ext, ext))
        if fmt is not None:
            return fmt.name
    return None


def _planted(rows, filler: bytes) -> list[bytes]:
    """A header with each signature at its offset (footers at the end) over `filler`."""
    headers = []
    for row in rows:
        data = bytearray(filler)
        end = row.offset + len(row.byte_match)
        data[row.offset:end if end != 0 else None] = row.byte_match
        headers.append(bytes(data))
    return headers


def _signature_headers() -> list[bytes]:
    rng = random.Random(15)
    fillers = [bytes(2048), rng.randbytes(2048)]
    headers = []
    for filler in fillers:
        headers += _planted(puremagic_main.magic_header_array + puremagic_main.magic_footer_array, filler)
        for base, parts in puremagic_main.multi_part_dict.items():
            for first in _planted([row for row in puremagic_main.magic_header_array if row.byte_match == base], filler):
                headers += _planted(parts, first)
    return headers


def test_sniffing_over_the_allowed_signatures_picks_what_the_whole_table_picks():
    samples = [_image(fmt) for fmt in ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "ICO")] + [pdf_bytes(b"")]
    rng = random.Random(7)
    samples += [rng.randbytes(rng.choice((3, 64, 8192))) for _ in range(200)]
    headers = samples + _signature_headers()
    picked = 0
    for header in headers:
        try:
            whole = puremagic.magic_string(header)
        except puremagic.PureError:
            whole = []
        assert _first_allowed(mediatypes._matches(header)) == _first_allowed(whole), header[:32]
        picked += _first_allowed(whole) is not None

    assert len(headers) > 2800 and picked > 200  # every signature planted, and many allowed ones found
