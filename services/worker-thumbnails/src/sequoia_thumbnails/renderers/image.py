"""Image previews and thumbnails: Pillow (JPEG draft decoding, reducing gap) or libvips where it wins.

Both backends check the pixel and frame limits from the header before decoding, take the first
frame or page, apply the orientation and hand an sRGB RGB(A) picture to the same encoder.
libvips (optional: `pyvips` over the system's libvips) decodes WebP at reduced size and streams
PNG and TIFF, where Pillow must decode every pixel; Pillow's draft mode already wins on JPEG.
HEIF (HEIC) and AVIF go to libvips's heif loader first; Pillow reads AVIF itself and HEIC through
pi-heif (libheif and libde265). libheif applies their `irot`/`imir` rotation on both paths. When
the first decoder refuses a file the other one reads, the other one renders it: two decoders, one
answer.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import pi_heif
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

# Where libvips beat Pillow in `make bench` (shrink-on-load for WebP, streaming PNG/TIFF decode),
# and HEIF/AVIF (Pillow then decodes them where libvips has no HEVC, as the pyvips-binary wheel).
VIPS_FIRST = frozenset({"webp", "png", "tiff", "heif", "avif"})
# Each decoder is told what the sniffed content is and may open nothing else: Pillow's plugin for
# the format, libvips's loader for it (`pngload_source`, `heifload` for HEIF and AVIF, ...).
PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "tiff": "TIFF", "avif": "AVIF",
                  "heif": "HEIF"}
VIPS_LOADERS = {"jpeg": "jpeg", "png": "png", "webp": "webp", "gif": "gif", "tiff": "tiff", "heif": "heif",
                "avif": "heif"}
# Failures that another decoder may cure; limits and crashes are answers, not refusals.
_REFUSALS = frozenset({ErrorCode.CORRUPT_FILE})
_NEW_SUBFILE_TYPE, _REDUCED_RESOLUTION = 254, 1
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError)


class ImageRenderer:
    """Preview (long edge 1280) and thumbnail (long edge 320) of a still image."""

    kinds = frozenset({MediaKind.IMAGE})

    def __init__(self, spec: RenderSpec) -> None:
        self.spec = spec
        # Load every Pillow codec plugin now, in the worker process: a render child forked later
        # inherits them instead of importing them again for each file.
        Image.init()
        pi_heif.register_heif_opener()
        if spec.image_engine == "vips" and pyvips is None:
            raise RuntimeError("IMAGE_ENGINE=vips but pyvips/libvips cannot be loaded")
        if pyvips is not None:
            # A worker renders each file once: libvips's operation cache would only hold memory.
            pyvips.cache_set_max(0)
            # Loaders not meant for untrusted input (ImageMagick, FITS, Matlab, ...) are refused.
            pyvips.block_untrusted_set(True)

    def engines_for(self, fmt: MediaFormat) -> list[str]:
        """The decoders that read `fmt`, the configured or fastest one first."""
        readers = [name for name, formats in (("pillow", PILLOW_FORMATS), ("vips", VIPS_LOADERS))
                   if fmt.name in formats and (name == "pillow" or pyvips is not None)]
        first = self.spec.image_engine if self.spec.image_engine != "auto" else (
            "vips" if fmt.name in VIPS_FIRST else "pillow")
        return sorted(readers, key=lambda name: name != first)

    def render(self, source: Path, fmt: MediaFormat, out_dir: Path) -> RenderResult:
        """Decode once (at reduced size where the codec allows), then write both sizes; when the
        first decoder refuses the file, the next one tries, and the first refusal is the answer."""
        engines = self.engines_for(fmt)
        refusals: list[PermanentError] = []
        for engine in engines:
            try:
                result = _RENDERERS[engine](source, fmt, out_dir, self.spec)
            except PermanentError as err:
                if err.code not in _REFUSALS:
                    raise
                log.info("%s refused a %s file: %s", engine, fmt.name, err.message)
                refusals.append(err)
                continue
            if refusals:  # shown with the item's metadata in the API
                result.metadata["refused_by"] = engines[:len(refusals)]
            return result
        raise refusals[0]


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
    # First frame of an animation, main page of a TIFF.
    image.seek(_main_page(image, frames) if image.format == "TIFF" else 0)
    width, height = image.size
    _check_limits(width, height, frames, spec)
    exif_orientation = pictures.orientation(image)
    icc_profile = image.info.get("icc_profile")
    largest = spec.largest_edge(MediaKind.IMAGE)
    if image.format == "JPEG":
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale, never below the largest recipe's size.
        image.draft(image.mode if image.mode in ("L", "CMYK") else "RGB", fit(image.size, largest))
    image.load()
    # Shrink first: orientation and colour conversion then touch the largest recipe's size, not the picture's.
    picture = pictures.shrink(pictures.resizable(image, _sample_bits(image)), largest)
    picture = pictures.upright(pictures.to_srgb(picture, icc_profile), exif_orientation)
    result = pictures.derive(picture, spec.recipes_for(MediaKind.IMAGE), out_dir)
    result.metadata = _metadata(width, height, frames, "pillow", exif_orientation)
    return result


def _sample_bits(image: Image.Image) -> int:
    """The bits used of each 16-bit sample: a TIFF says (BitsPerSample, 12 from many scanners)."""
    bits = image.tag_v2.get(258, 16) if image.format == "TIFF" else 16
    bits = bits[0] if isinstance(bits, tuple) else bits
    return bits if 8 < bits <= 16 else 16


def _main_page(tiff: Image.Image, frames: int) -> int:
    """The first page of a TIFF that is not a reduced-resolution copy (NewSubfileType bit 0):
    cameras and scanners often put a small preview first. Page 0 when every page is one."""
    for page in range(frames):
        tiff.seek(page)
        if not tiff.tag_v2.get(_NEW_SUBFILE_TYPE, 0) & _REDUCED_RESOLUTION:
            return page
    return 0


def _vips_main_page(source: Path, frames: int) -> int:
    """`_main_page` for libvips, which does not report NewSubfileType: Pillow reads the directories."""
    try:
        with Image.open(source, formats=["TIFF"]) as tiff:
            return _main_page(tiff, frames)
    except _DECODE_ERRORS:
        return 0


# -- libvips


def _render_vips(source: Path, fmt: MediaFormat, out_dir: Path, spec: RenderSpec) -> RenderResult:
    try:
        header = pyvips.Image.new_from_file(str(source), access="sequential", fail=True)
        loader = header.get("vips-loader") if header.get_typeof("vips-loader") else ""
        if not loader.startswith(VIPS_LOADERS[fmt.name]):
            raise PermanentError(f"libvips read it as {loader or 'unknown'}, not {fmt.name}",
                                 code=ErrorCode.CORRUPT_FILE)
        frames = header.get("n-pages") if header.get_typeof("n-pages") else 1
        _check_limits(header.width, header.height, frames, spec)
        page = _vips_main_page(source, frames) if loader.startswith("tiff") and frames > 1 else 0
        if page:
            header = pyvips.Image.new_from_file(str(source), page=page, access="sequential", fail=True)
        width, height = header.width, header.height
        _check_limits(width, height, frames, spec)
        exif_orientation, ours = _vips_orientation(header, loader)
        picture = _vips_to_pillow(_vips_preview(source, page, header, spec.largest_edge(MediaKind.IMAGE)))
        picture = pictures.upright(picture, ours)
    except pyvips.Error as err:
        raise PermanentError(f"cannot decode image: {_first_line(err)}", code=ErrorCode.CORRUPT_FILE) from err
    result = pictures.derive(picture, spec.recipes_for(MediaKind.IMAGE), out_dir)
    result.metadata = _metadata(width, height, frames, "vips", exif_orientation)
    return result


def _vips_orientation(header: Any, loader: str) -> tuple[int, int]:
    """The picture's orientation, and the turn left to us: libvips applies an EXIF orientation, not
    one found only in XMP (as some PNG and TIFF editors write it; Pillow's `getexif` reads both).
    HEIF and AVIF are turned by libheif (`irot`/`imir`), never again by their metadata."""
    if header.get_typeof("orientation"):
        return header.get("orientation"), 1
    if loader.startswith("heif"):
        return 1, 1
    turn = pictures.xmp_orientation(header.get("xmp-data")) if header.get_typeof("xmp-data") else 1
    return turn, turn


def _vips_preview(source: Path, page: int, header: Any, long_edge: int) -> Any:
    """The picture shrunk to `long_edge`: shrink-on-load, EXIF rotation, embedded profile → sRGB,
    premultiplied alpha. A picture without a profile is sRGB already (as browsers take it):
    transforming it from and to sRGB would cost 13% of a WebP render for nothing (`make bench`)."""
    if header.format in ("float", "double") and header.interpretation == "b-w":
        # Float grey holds 0..1 (as in `pictures.resizable`); a cast to 8 bits would clip it.
        return (header * 255).thumbnail_image(long_edge, height=long_edge, size="down")
    managed = {"export_profile": "srgb"} if header.get_typeof("icc-profile-data") else {}
    # libvips 8.14's thumbnail takes load options in the file name only.
    return pyvips.Image.thumbnail(f"{source}[page={page}]" if page else str(source), long_edge, height=long_edge,
                                  size="down", fail_on="error", **managed)


_RENDERERS = {"pillow": _render_pillow, "vips": _render_vips}


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
