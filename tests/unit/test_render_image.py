"""Image engine conformance: sizes, orientation, colour, frames and pages, on both backends."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.recipes import default_recipes
from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers.base import RenderSpec
from sequoia_thumbnails.renderers import image as image_renderer
from tests.corpus import build, conformance, hostile

BACKENDS = ["pillow", "vips"]
SPEC = RenderSpec(time_limit_seconds=30)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    return build(tmp_path_factory.mktemp("images"), conformance.IMAGES)


def _spec(spec: RenderSpec, output_format: str = "jpeg", quality: int = 85, **changes) -> RenderSpec:
    return replace(spec, recipes=default_recipes(output_format=output_format, quality=quality), **changes)


def _render(path: Path, out: Path, spec: RenderSpec = SPEC, **changes):
    if changes.get("image_engine") == "vips" and image_renderer.pyvips is None:
        pytest.fail("pyvips cannot load libvips: `make install` (pyvips) and `sudo apt-get install -y libvips42`",
                    pytrace=False)
    fmt, result = Engine(_spec(spec, **changes)).render(path, out, filename_hint=path.name)
    return fmt, result, {d.name: d for d in result.derivatives}


def _colour(path: Path, fx: float, fy: float) -> tuple[int, ...]:
    with Image.open(path) as image:
        return image.convert("RGBA").getpixel((int(fx * (image.width - 1)), int(fy * (image.height - 1))))


def _hue(colour: tuple[int, ...]) -> str:
    """The clearly dominant primary of a colour, or `mixed`."""
    ranked = sorted(zip(colour[:3], ("red", "green", "blue"), strict=True), reverse=True)
    return ranked[0][1] if ranked[0][0] - ranked[1][0] > 30 else "mixed"


def _near(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("case", "preview", "thumbnail"), [
    ("exif_rotated", (600, 800), (240, 320)),
    ("cmyk", (1280, 960), (320, 240)),
    ("broken_icc", (800, 600), (320, 240)),
    ("rgb16", (900, 600), (320, 213)),
    ("progressive", (1280, 853), (320, 213)),
    ("small", (200, 150), (200, 150)),
    ("animated_gif", (480, 360), (320, 240)),
    ("animated_webp", (480, 360), (320, 240)),
    ("multipage_tiff", (800, 600), (320, 240)),
])
def test_scene_renders_upright_in_srgb_at_both_sizes(images, tmp_path, backend, case, preview, thumbnail):
    fmt, result, derived = _render(images[case], tmp_path, image_engine=backend)

    assert fmt.kind == "image"
    assert (derived["preview"].width, derived["preview"].height) == preview
    assert (derived["thumbnail"].width, derived["thumbnail"].height) == thumbnail
    for derivative in derived.values():
        with Image.open(derivative.path) as image:
            assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (derivative.width, derivative.height))
        # The scene, upright: green square top-left, red top, blue bottom (first frame, first page).
        # (Hues, not exact values: a CMYK file without a profile may be read through a default one.)
        assert _hue(_colour(derivative.path, 0.05, 0.05)) == "green", case
        assert _hue(_colour(derivative.path, 0.6, 0.25)) == "red", case
        assert _hue(_colour(derivative.path, 0.6, 0.7)) == "blue", case


def test_metadata_records_size_frames_and_orientation(images, tmp_path):
    _, rotated, _ = _render(images["exif_rotated"], tmp_path / "r")
    _, animated, _ = _render(images["animated_gif"], tmp_path / "a")

    assert (rotated.metadata["width"], rotated.metadata["height"], rotated.metadata["orientation"]) == (800, 600, 6)
    assert animated.metadata["frames"] == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_sixteen_bit_grey_keeps_its_tones(images, tmp_path, backend):
    _, _, derived = _render(images["grey16"], tmp_path, image_engine=backend)

    left, middle, right = (_colour(derived["preview"].path, x, 0.5)[0] for x in (0.0, 0.5, 1.0))
    assert left < 20 and 100 < middle < 160 and right > 235


@pytest.mark.parametrize("backend", BACKENDS)
def test_transparency_is_flattened_on_white_for_jpeg_and_kept_for_webp(images, tmp_path, backend):
    _, _, jpeg = _render(images["palette_alpha"], tmp_path / "j", image_engine=backend)
    _, _, webp = _render(images["palette_alpha"], tmp_path / "w", image_engine=backend, output_format="webp")

    assert _near(_colour(jpeg["preview"].path, 0.25, 0.5), (255, 255, 255, 255), tolerance=8)
    assert _near(_colour(jpeg["preview"].path, 0.75, 0.25), (220, 30, 30, 255))
    assert webp["preview"].format == "webp" and webp["preview"].path.suffix == ".webp"
    with Image.open(webp["thumbnail"].path) as image:
        assert image.mode == "RGBA"
        assert image.getpixel((10, 120))[3] == 0 and image.getpixel((300, 60))[3] == 255


@pytest.mark.parametrize("case", ["grey_alpha", "alpha_webp"])
def test_alpha_sources_render(images, tmp_path, case):
    _, _, derived = _render(images[case], tmp_path)

    assert derived["preview"].width > 0
    with Image.open(derived["thumbnail"].path) as image:
        low, high = image.convert("L").getextrema()
        assert high - low > 20  # not blank


def test_quality_is_configurable(images, tmp_path):
    _, _, high = _render(images["progressive"], tmp_path / "h", quality=95)
    _, _, low = _render(images["progressive"], tmp_path / "l", quality=30)

    assert low["preview"].path.stat().st_size < high["preview"].path.stat().st_size


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("maker", "code"), [
    (hostile.pixel_flood_png, ErrorCode.IMAGE_TOO_LARGE),
    (hostile.pixel_flood_gif, ErrorCode.IMAGE_TOO_LARGE),
    (hostile.lying_png, ErrorCode.CORRUPT_FILE),
    (hostile.truncated_jpeg, ErrorCode.CORRUPT_FILE),
    (hostile.truncated_png, ErrorCode.CORRUPT_FILE),
    (hostile.zero_bytes, ErrorCode.EMPTY_FILE),
    (hostile.html_as_jpeg, ErrorCode.UNSUPPORTED_TYPE),
    (hostile.mp3_as_jpeg, ErrorCode.TYPE_MISMATCH),
])
def test_hostile_images_fail_with_their_code(tmp_path, backend, maker, code):
    path = maker(tmp_path)

    with pytest.raises(PermanentError) as caught:
        _render(path, tmp_path / "out", image_engine=backend)

    assert caught.value.code == code, caught.value.message  # how fast: bench/engines/hostile.py


def test_pixel_limit_is_checked_before_decoding(tmp_path):
    path = conformance.progressive_jpeg(tmp_path)

    with pytest.raises(PermanentError) as caught:
        _render(path, tmp_path / "out", max_image_pixels=1_000_000)

    assert caught.value.code == ErrorCode.IMAGE_TOO_LARGE


def test_animation_frame_cap(tmp_path):
    path = hostile.many_frames_gif(tmp_path)

    with pytest.raises(PermanentError) as caught:
        _render(path, tmp_path / "out", max_frames=50)

    assert caught.value.code == ErrorCode.TOO_MANY_FRAMES
    assert _render(path, tmp_path / "ok", max_frames=100)[1].metadata["frames"] == 60


def test_file_size_limit(tmp_path):
    path = conformance.small_jpeg(tmp_path)

    with pytest.raises(PermanentError) as caught:
        _render(path, tmp_path / "out", max_file_bytes=100)

    assert caught.value.code == ErrorCode.FILE_TOO_LARGE


def test_decoding_past_the_memory_limit_fails_the_item_only(tmp_path):
    path = tmp_path / "big.gif"
    Image.new("P", (9000, 9000), 3).save(path)

    with pytest.raises(PermanentError) as caught:
        _render(path, tmp_path / "out", memory_limit_bytes=128 * 1024**2)

    assert caught.value.code == ErrorCode.RENDER_CRASHED
    assert _render(conformance.small_jpeg(tmp_path), tmp_path / "after")[1].derivatives
