"""Pictures people upload that one decoder or the other refuses: HEIC and AVIF made by the real
encoders (`heif-enc` of libheif-examples, `avifenc` of libavif-bin), and TIFFs and PNGs written
with options the seed corpus does not use."""

from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image

from tests.corpus.conformance import _scene


def _encode(tool: str, *args: str) -> None:
    """Run an encoder quietly; fail loudly if it is missing or fails."""
    subprocess.run([tool, *args], check=True, capture_output=True)


def _scene_png(folder: Path, name: str, transpose: Image.Transpose | None = None) -> Path:
    image = _scene(800, 600)
    path = folder / f"{name}.png"
    (image if transpose is None else image.transpose(transpose)).save(path)
    return path


def heic(folder: Path) -> Path:
    """An 800×600 HEIC (HEVC-coded, as phones write them)."""
    path = folder / "phone.heic"
    _encode("heif-enc", "-q", "60", "-o", str(path), str(_scene_png(folder, "heic_source")))
    return path


def avif(folder: Path) -> Path:
    """An 800×600 AVIF (AV1-coded)."""
    path = folder / "scene.avif"
    _encode("avifenc", "-s", "8", str(_scene_png(folder, "avif_source")), str(path))
    return path


def rotated_avif(folder: Path) -> Path:
    """Stored sideways (600×800) with `irot` 1 (turn 90° anticlockwise to view): upright 800×600."""
    path = folder / "rotated.avif"
    source = _scene_png(folder, "rotated_avif_source", Image.Transpose.ROTATE_270)
    _encode("avifenc", "-s", "8", "--irot", "1", str(source), str(path))
    return path


def truncated_heic(folder: Path) -> Path:
    """A HEIC cut after its header: the coded picture is missing."""
    data = heic(folder).read_bytes()
    path = folder / "truncated.heic"
    path.write_bytes(data[: len(data) // 2])
    return path
