"""The media a fault batch is made of: small files of every kind the engine renders, made here.

Images come from Pillow, the PDF from PyMuPDF, video and audio from ffmpeg's test sources; a missing
maker fails the suite (no kind is left out in silence).
"""

from __future__ import annotations

import io
import itertools
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tests.factories import jpeg_bytes, png_bytes
from tests.support.tools import require_binary


@dataclass(frozen=True)
class Sample:
    """One file to upload: its name (with the extension the API expects) and content."""

    name: str
    data: bytes
    kind: str


def _image(fmt: str, mode: str = "RGB", size: tuple[int, int] = (240, 180)) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert(mode).save(buffer, format=fmt)
    return buffer.getvalue()


def image_samples() -> list[Sample]:
    """Still images in each allowed image format, a few hundred pixels each."""
    return [
        Sample("photo.jpg", jpeg_bytes(320, 240), "image"),
        Sample("alpha.png", png_bytes(200, 150), "image"),
        Sample("scan.webp", _image("WEBP"), "image"),
        Sample("anim.gif", _image("GIF", "P"), "image"),
        Sample("page.tiff", _image("TIFF"), "image"),
    ]


def pdf_sample() -> Sample:
    """A one-page PDF with text, made by PyMuPDF."""
    import pymupdf

    with pymupdf.open() as doc:
        page = doc.new_page(width=300, height=400)
        page.insert_text((40, 60), "Sequoia fault suite", fontsize=14)
        page.draw_rect(pymupdf.Rect(40, 80, 260, 300), color=(0, 0, 1), fill=(0.8, 0.9, 1))
        return Sample("notes.pdf", doc.tobytes(), "pdf")


def _ffmpeg(workdir: Path, name: str, *args: str) -> bytes:
    out = workdir / name
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args, str(out)], check=True, timeout=60)
    return out.read_bytes()


def av_samples(workdir: Path) -> list[Sample]:
    """A one-second video and a one-second tone, from ffmpeg's test sources."""
    require_binary("ffmpeg", "ffmpeg")
    video = _ffmpeg(workdir, "clip.mp4", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "1",
                    "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast")
    audio = _ffmpeg(workdir, "tone.wav", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-ar", "8000")
    return [Sample("clip.mp4", video, "video"), Sample("tone.wav", audio, "audio")]


def sample_set(workdir: Path, kinds: frozenset[str]) -> list[Sample]:
    """One sample of each format, limited to the kinds the engine has a renderer for."""
    found = [*image_samples(), pdf_sample(), *av_samples(workdir)]
    return [s for s in found if s.kind in kinds]


def mix(samples: list[Sample], count: int, prefix: str = "item") -> list[Sample]:
    """`count` files cycling through `samples`, each with a name of its own."""
    cycle = itertools.islice(itertools.cycle(samples), count)
    return [Sample(f"{prefix}-{i:03d}-{s.name}", s.data, s.kind) for i, s in enumerate(cycle)]


def gif_bomb(width: int = 12_000, height: int = 8_000) -> Sample:
    """A one-colour GIF of 96 megapixels (under the pixel limit) in a few hundred KB: decoding it
    needs ~100 MB as palette and three times that as RGB, more than the suite's render memory limit."""
    buffer = io.BytesIO()
    Image.new("L", (width, height), 90).save(buffer, format="GIF")
    return Sample("bomb.gif", buffer.getvalue(), "image")


def slow_image(side: int = 9_000) -> Sample:
    """An 81-megapixel gradient PNG of a few hundred KB that takes a second or two to render: long
    enough for the harness to catch the worker process holding it."""
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((side, side)).save(buffer, format="PNG")
    return Sample("killer.png", buffer.getvalue(), "image")
