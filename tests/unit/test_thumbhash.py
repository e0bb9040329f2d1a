"""ThumbHash placeholders: encoded from the picture the gallery shows, they decode back to its average
colour and shape; every kind of picture gets one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers import thumbhash
from sequoia_thumbnails.renderers.base import RenderSpec
from tests.corpus import conformance

# Each of the average's parts is quantised to 6 bits: a decoded colour is within about 2/63 of it.
COLOUR_TOLERANCE = 0.04


def _mean_rgba(picture: Image.Image) -> np.ndarray:
    return np.asarray(picture.convert("RGBA"), dtype=np.float64).reshape(-1, 4).mean(axis=0) / 255


def _gradient(width: int, height: int) -> Image.Image:
    x = np.linspace(0, 255, width)[None, :].repeat(height, axis=0)
    y = np.linspace(0, 255, height)[:, None].repeat(width, axis=1)
    return Image.fromarray(np.stack([x, y, 255 - x / 2], axis=-1).astype(np.uint8), mode="RGB")


@pytest.mark.parametrize("colour", [(30, 120, 200), (250, 250, 250), (0, 0, 0), (200, 40, 40)])
def test_a_flat_colour_decodes_to_itself(colour):
    placeholder = thumbhash.encode(Image.new("RGB", (64, 48), colour))

    assert thumbhash.average_rgba(placeholder) == pytest.approx((*(c / 255 for c in colour), 1.0),
                                                                abs=COLOUR_TOLERANCE)


@pytest.mark.parametrize(("size", "landscape"), [((320, 180), True), ((180, 320), False), ((300, 300), None),
                                                 ((1800, 280), True), ((90, 320), False)])
def test_a_picture_decodes_to_its_average_colour_and_shape(size, landscape):
    picture = _gradient(*size)

    placeholder = thumbhash.encode(picture)

    assert thumbhash.average_rgba(placeholder) == pytest.approx(tuple(_mean_rgba(picture)), abs=COLOUR_TOLERANCE)
    ratio = thumbhash.aspect_ratio(placeholder)
    assert ratio == pytest.approx(size[0] / size[1], rel=0.25) or ratio == 7  # 7:1 is the widest it holds
    assert (ratio > 1 if landscape else ratio < 1) if landscape is not None else ratio == 1
    assert len(placeholder) in range(5, 33)


def test_transparency_is_kept():
    picture = _gradient(200, 100).convert("RGBA")
    alpha = np.zeros((100, 200), dtype=np.uint8)
    alpha[:, 100:] = 255  # the right half is opaque
    picture.putalpha(Image.fromarray(alpha))

    placeholder = thumbhash.encode(picture)

    *colour, opacity = thumbhash.average_rgba(placeholder)
    assert opacity == pytest.approx(0.5, abs=COLOUR_TOLERANCE)
    opaque_half = np.asarray(picture, dtype=np.float64)[:, 100:, :3].reshape(-1, 3).mean(axis=0) / 255
    assert colour == pytest.approx(list(opaque_half), abs=COLOUR_TOLERANCE)


def _engine_placeholder(path: Path, out: Path) -> tuple[bytes, Image.Image]:
    _, result = Engine(RenderSpec(time_limit_seconds=30)).render(path, out, filename_hint=path.name)
    thumbnail = next(d for d in result.derivatives if d.name == "thumbnail")
    assert result.thumbhash is not None
    return result.thumbhash, Image.open(thumbnail.path)


@pytest.mark.parametrize("maker", [conformance.exif_rotated_jpeg, conformance.ten_page_pdf,
                                   conformance.cmyk_jpeg])
def test_each_render_brings_the_placeholder_of_its_thumbnail(tmp_path, maker):
    placeholder, thumbnail = _engine_placeholder(maker(tmp_path), tmp_path / "out")

    with thumbnail:
        assert thumbhash.average_rgba(placeholder) == pytest.approx(tuple(_mean_rgba(thumbnail)),
                                                                    abs=COLOUR_TOLERANCE)
        expected = thumbnail.width / thumbnail.height
    assert thumbhash.aspect_ratio(placeholder) == pytest.approx(expected, rel=0.25)
