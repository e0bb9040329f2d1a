"""Image previews and thumbnails: Pillow (JPEG draft decoding, reducing gap) or libvips where it wins.

Both backends check the pixel and frame limits from the header before decoding, take the first
frame or page, apply the EXIF orientation and hand an sRGB RGB(A) picture to the same encoder.
libvips (optional: `pyvips` over the system's libvips) decodes WebP at reduced size and streams
PNG and TIFF, where Pillow must decode every pixel; Pillow's draft mode already wins on JPEG.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.mediatypes import MediaFormat, MediaKind
from sequoia_thumbnails.renderers import pictures
from sequoia_thumbnails.renderers.base import RenderResult, RenderSpec, fit

log = logging.getLogger(__name__)

try:  # optional: the system's libvips through pyvips
    import pyvips
except (ImportError, OSError):
    pyvips = None

# Where libvips beat Pillow in `make bench` (shrink-on-load for WebP, streaming PNG/TIFF decode).
VIPS_FORMATS = frozenset({"webp", "png", "tiff"})
# Each decoder is told what the sniffed content is and may open nothing else: Pillow's plugin for
# the format, libvips's loader for it (whose name starts with the format's: `pngload_source`, ...).
PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "tiff": "TIFF"}
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError)


def vips_available() -> bool:
    """Whether libvips can be used in this process."""
    return pyvips is not None


class ImageRenderer:
    """Preview (long edge 1280) and thumbnail (long edge 320) of a still image."""

    kinds = frozenset({MediaKind.IMAGE})

    def __init__(self, spec: RenderSpec) -> None:
        self.spec = spec
        # Load every Pillow codec plugin now, in the worker process: a render child forked later
        # inherits them instead of importing them again for each file.
        Image.init()
        if spec.image_engine == "vips" and pyvips is None:
            raise RuntimeError("IMAGE_ENGINE=vips but pyvips/libvips cannot be loaded")
        if pyvips is not None:
            # A worker renders each file once: libvips's operation cache would only hold memory.
            pyvips.cache_set_max(0)
            # Loaders not meant for untrusted input (ImageMagick, FITS, Matlab, ...) are refused.
            pyvips.block_untrusted_set(True)

    def engine_for(self, fmt: MediaFormat) -> str:
        """`pillow` or `vips`, by configuration and by where each is fastest."""
        if self.spec.image_engine != "auto":
            return self.spec.image_engine
        return "vips" if pyvips is not None and fmt.name in VIPS_FORMATS else "pillow"

    def render(self, source: Path, fmt: MediaFormat, out_dir: Path) -> RenderResult:
        """Decode once (at reduced size where the codec allows), then write both sizes."""
        if self.engine_for(fmt) == "vips":
            return _render_vips(source, fmt, out_dir, self.spec)
        return _render_pillow(source, fmt, out_dir, self.spec)


def _check_limits(width: int, height: int, frames: int, spec: RenderSpec) -> None:
    if width * height > spec.max_image_pixels:
        raise PermanentError(
            f"{width}×{height} is over the limit of {spec.max_image_pixels} pixels", code=ErrorCode.IMAGE_TOO_LARGE
        )
    if frames > spec.max_frames:
        raise PermanentError(
            f"{frames} frames is over the limit of {spec.max_frames}", code=ErrorCode.TOO_MANY_FRAMES
        )


def _metadata(width: int, height: int, frames: int, engine: str, exif_orientation: int) -> dict[str, Any]:
    return {"width": width, "height": height, "frames": frames, "orientation": exif_orientation,
            "image_engine": engine}


# -- Pillow


def _render_pillow(source: Path, fmt: MediaFormat, out_dir: Path, spec: RenderSpec) -> RenderResult:
    try:
        with warnings.catch_warnings():
            # The limit is ours (checked below), not Pillow's global one.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source, formats=[PILLOW_FORMATS[fmt.name]]) as image:
                return _render_open(image, out_dir, spec)
    except PermanentError:
        raise
    except Image.DecompressionBombError as err:
        raise PermanentError(str(err), code=ErrorCode.IMAGE_TOO_LARGE) from err
    except _DECODE_ERRORS as err:
        raise PermanentError(f"cannot decode image: {err}", code=ErrorCode.CORRUPT_FILE) from err


def _render_open(image: Image.Image, out_dir: Path, spec: RenderSpec) -> RenderResult:
    width, height = image.size
    _check_limits(width, height, 1, spec)  # before counting frames, which walks the file
    frames = getattr(image, "n_frames", 1)
    _check_limits(width, height, frames, spec)
    image.seek(0)  # first frame of an animation, first page of a TIFF
    exif_orientation = pictures.orientation(image)
    icc_profile = image.info.get("icc_profile")
    if image.format == "JPEG":
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale, never below the preview size.
        image.draft(image.mode if image.mode in ("L", "CMYK") else "RGB", fit(image.size, spec.preview_long_edge))
    image.load()
    # Shrink first: orientation and colour conversion then touch 1280 px, not the full picture.
    preview = pictures.shrink(pictures.resizable(image), spec.preview_long_edge)
    preview = pictures.upright(pictures.to_srgb(preview, icc_profile), exif_orientation)
    derivatives = pictures.preview_and_thumbnail(preview, out_dir, spec)
    return RenderResult(derivatives, _metadata(width, height, frames, "pillow", exif_orientation))


# -- libvips


def _render_vips(source: Path, fmt: MediaFormat, out_dir: Path, spec: RenderSpec) -> RenderResult:
    try:
        header = pyvips.Image.new_from_file(str(source), access="sequential", fail=True)
        loader = header.get("vips-loader") if header.get_typeof("vips-loader") else ""
        if not loader.startswith(fmt.name):
            raise PermanentError(f"libvips read it as {loader or 'unknown'}, not {fmt.name}",
                                 code=ErrorCode.CORRUPT_FILE)
        width, height = header.width, header.height
        frames = header.get("n-pages") if header.get_typeof("n-pages") else 1
        _check_limits(width, height, frames, spec)
        exif_orientation = header.get("orientation") if header.get_typeof("orientation") else 1
        # thumbnail: shrink-on-load, EXIF rotation, embedded profile → sRGB, premultiplied alpha. A
        # picture without a profile is sRGB already (as browsers take it): transforming it from and
        # to sRGB would cost 13% of a WebP render for nothing (`make bench`).
        long_edge = spec.preview_long_edge
        managed = {"export_profile": "srgb"} if header.get_typeof("icc-profile-data") else {}
        preview = pyvips.Image.thumbnail(
            str(source), long_edge, height=long_edge, size="down", fail_on="error", **managed
        )
        preview = _vips_to_pillow(preview)
    except pyvips.Error as err:
        raise PermanentError(f"cannot decode image: {_first_line(err)}", code=ErrorCode.CORRUPT_FILE) from err
    derivatives = pictures.preview_and_thumbnail(preview, out_dir, spec)
    return RenderResult(derivatives, _metadata(width, height, frames, "vips", exif_orientation))


def _vips_to_pillow(image: Any) -> Image.Image:
    """An 8-bit sRGB RGB(A) Pillow image of a libvips image (grey, 16-bit and CMYK converted)."""
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    if image.bands in (1, 2):
        image = image.colourspace("srgb")
    if image.bands > 4:
        image = image.extract_band(0, n=4)
    mode = {3: "RGB", 4: "RGBA"}[image.bands]
    return Image.frombuffer(mode, (image.width, image.height), image.write_to_memory(), "raw", mode, 0, 1)


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
