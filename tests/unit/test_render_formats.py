"""Pictures beyond the seed formats: HEIC and AVIF (made by the real encoders at test time), and
the fallback from one decoder to the other."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.recipes import default_recipes
from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers.base import RenderSpec
from tests.corpus import build, conformance, stubborn, tiff_bytes

SPEC = RenderSpec(time_limit_seconds=30)
PICTURES = {"heic": stubborn.heic, "avif": stubborn.avif, "rotated_avif": stubborn.rotated_avif}


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> dict[str, Path]:
    return build(tmp_path_factory.mktemp("pictures"), PICTURES)


def _spec(spec: RenderSpec, output_format: str = "jpeg", quality: int = 85, **changes) -> RenderSpec:
    return replace(spec, recipes=default_recipes(output_format=output_format, quality=quality), **changes)


def _render(path: Path, out: Path, **changes):
    fmt, result = Engine(_spec(SPEC, **changes)).render(path, out, filename_hint=path.name)
    return fmt, result, {d.name: d for d in result.derivatives}


def _hue_at(path: Path, fx: float, fy: float) -> str:
    with Image.open(path) as image:
        colour = image.convert("RGB").getpixel((int(fx * (image.width - 1)), int(fy * (image.height - 1))))
    ranked = sorted(zip(colour, ("red", "green", "blue"), strict=True), reverse=True)
    return ranked[0][1] if ranked[0][0] - ranked[1][0] > 30 else "mixed"


def _assert_upright_scene(derived: dict) -> None:
    assert (derived["preview"].width, derived["preview"].height) == (800, 600)
    assert (derived["thumbnail"].width, derived["thumbnail"].height) == (320, 240)
    for derivative in derived.values():
        assert _hue_at(derivative.path, 0.05, 0.05) == "green"
        assert _hue_at(derivative.path, 0.6, 0.25) == "red"
        assert _hue_at(derivative.path, 0.6, 0.7) == "blue"


@pytest.mark.parametrize("engine", ["auto", "pillow", "vips"])
@pytest.mark.parametrize(("case", "name"), [("heic", "heif"), ("avif", "avif"), ("rotated_avif", "avif")])
def test_heif_and_avif_render_upright_on_any_configured_engine(pictures, tmp_path, engine, case, name):
    fmt, result, derived = _render(pictures[case], tmp_path, image_engine=engine)

    assert fmt.name == name and fmt.kind == "image"
    # libvips first by default; Pillow (AVIF itself, HEIC through pi-heif) when configured first.
    assert result.metadata["image_engine"] == ("pillow" if engine == "pillow" else "vips")
    _assert_upright_scene(derived)


@pytest.mark.parametrize("case", ["heic", "avif"])
def test_heif_pixel_limit_is_checked_from_the_header(pictures, tmp_path, case):
    with pytest.raises(PermanentError) as caught:
        _render(pictures[case], tmp_path, max_image_pixels=100_000)

    assert caught.value.code == ErrorCode.IMAGE_TOO_LARGE


def test_truncated_heic_fails_as_corrupt(tmp_path):
    with pytest.raises(PermanentError) as caught:
        _render(stubborn.truncated_heic(tmp_path), tmp_path / "out")

    assert caught.value.code == ErrorCode.CORRUPT_FILE


# -- Two decoders, one answer

COLOUR = {"bigtiff": stubborn.bigtiff, "planar_stripped": stubborn.planar_stripped_tiff,
          "planar_tiled": stubborn.planar_tiled_tiff, "float_rgb": stubborn.float_rgb_tiff, "rgb16": stubborn.rgb16_tiff,
          "old_jpeg": stubborn.old_jpeg_tiff, "preview_first": stubborn.preview_first_tiff,
          "xmp_rotated": stubborn.xmp_rotated_png}
GREY = {"grey12": stubborn.grey12_tiff, "float_grey": stubborn.float_grey_tiff}
# Who renders each file when the other decoder is asked first: its refusal falls back.
FALLBACKS = {("planar_tiled", "vips"): "pillow", ("old_jpeg", "vips"): "pillow", ("grey12", "vips"): "pillow",
             ("float_rgb", "pillow"): "vips"}


@pytest.fixture(scope="module")
def stubborn_files(tmp_path_factory) -> dict[str, Path]:
    return build(tmp_path_factory.mktemp("stubborn"), COLOUR | GREY)


@pytest.mark.parametrize("engine", ["auto", "pillow", "vips"])
@pytest.mark.parametrize("case", COLOUR)
def test_stubborn_pictures_render_the_main_image_upright(stubborn_files, tmp_path, engine, case):
    _, result, derived = _render(stubborn_files[case], tmp_path, image_engine=engine)

    _assert_upright_scene(derived)
    first = "vips" if engine == "auto" else engine  # TIFF and PNG: libvips first
    assert result.metadata["image_engine"] == FALLBACKS.get((case, first), first)
    assert result.metadata.get("refused_by") == ([first] if (case, first) in FALLBACKS else None)


@pytest.mark.parametrize("engine", ["auto", "pillow", "vips"])
@pytest.mark.parametrize("case", GREY)
def test_deep_grey_tiffs_keep_their_tones(stubborn_files, tmp_path, engine, case):
    _, result, derived = _render(stubborn_files[case], tmp_path, image_engine=engine)

    assert (derived["preview"].width, derived["preview"].height) == (800, 600)
    with Image.open(derived["preview"].path) as image:
        grey = image.convert("L")
        green, blue = grey.getpixel((40, 30)), grey.getpixel((480, 420))
    assert abs(green - 133) < 12 and abs(blue - 51) < 12  # the scene's luma, not its top 8 of 16 bits
    first = "vips" if engine == "auto" else engine
    assert result.metadata["image_engine"] == FALLBACKS.get((case, first), first)


@pytest.mark.parametrize("engine", ["pillow", "vips"])
def test_a_tiff_no_decoder_reads_fails_as_corrupt_on_both(tmp_path, engine):
    path = tmp_path / "unknown_compression.tif"
    path.write_bytes(tiff_bytes({256: (3, [64]), 257: (3, [64]), 258: (3, [8]), 259: (3, [50000]), 262: (3, [1]),
                                 273: (4, [None]), 277: (3, [1]), 278: (3, [64]), 279: (4, [64])}, b"\x00" * 64))

    with pytest.raises(PermanentError) as caught:
        _render(path, tmp_path / "out", image_engine=engine)

    assert caught.value.code == ErrorCode.CORRUPT_FILE


# -- Output formats


@pytest.mark.parametrize(("output", "pillow_format", "suffix"), [
    ("jpeg", "JPEG", ".jpg"), ("webp", "WEBP", ".webp"), ("avif", "AVIF", ".avif"),
])
def test_pictures_are_written_in_each_output_format(tmp_path, output, pillow_format, suffix):
    _, _, image = _render(conformance.palette_alpha_png(tmp_path), tmp_path / "image", output_format=output)
    _, _, page = _render(conformance.ten_page_pdf(tmp_path), tmp_path / "pdf", output_format=output)

    for derivative in [*image.values(), *page.values()]:
        assert (derivative.format, derivative.path.suffix) == (output, suffix)
        assert derivative.content_type == f"image/{output}"
        with Image.open(derivative.path) as written:
            assert (written.format, written.size) == (pillow_format, (derivative.width, derivative.height))
    with Image.open(image["thumbnail"].path) as thumbnail:
        # JPEG flattens transparency on white; WebP and AVIF keep it.
        assert thumbnail.mode == ("RGB" if output == "jpeg" else "RGBA")
