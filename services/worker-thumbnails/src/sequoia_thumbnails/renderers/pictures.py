"""Pillow helpers every renderer shares: colour to sRGB RGB(A), orientation, resizing, encoding."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from sequoia_core.recipes import THUMBNAIL, Recipe
from sequoia_thumbnails.renderers import thumbhash
from sequoia_thumbnails.renderers.base import EXTENSIONS, Derivative, RenderResult, fit

# Resampling in two steps: a cheap box reduction to within 2× of the target (Pillow's own default
# for thumbnails), then a good filter: Lanczos, or bicubic for a mild last step (under 2×, as after
# JPEG draft decoding), where Lanczos's wider support costs twice as much for no visible gain.
REDUCING_GAP = 2.0
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# EXIF orientation → the transposition that shows the picture upright (as ImageOps.exif_transpose).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_RESIZABLE = {"L", "LA", "RGB", "RGBA", "CMYK"}
# Encoder effort: AVIF speed 8 encodes a 1280 px preview in about the time of WebP's method 4
# (0.15 s against 0.11 s here; speed 6, libavif's default, takes 0.6 s for a 2× smaller file).
_ENCODER_OPTIONS: dict[str, dict[str, object]] = {
    "jpeg": {"optimize": False, "progressive": False},
    "webp": {"method": 4},
    "avif": {"speed": 8},
}


def orientation(image: Image.Image) -> int:
    """The EXIF orientation tag of `image` (1, upright, when absent or unreadable)."""
    try:
        value = image.getexif().get(0x0112, 1)
    except (OSError, ValueError, SyntaxError):
        return 1
    return value if value in _ORIENTATION else 1


def xmp_orientation(xmp: bytes | str) -> int:
    """The `tiff:Orientation` of an XMP packet (1 when absent), read as Pillow's `getexif` does."""
    text = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else xmp
    match = re.search(r'tiff:Orientation(="|>)([0-9])', text)
    value = int(match[2]) if match else 1
    return value if value in _ORIENTATION else 1


def upright(image: Image.Image, exif_orientation: int) -> Image.Image:
    """`image` turned as its EXIF orientation says."""
    method = _ORIENTATION.get(exif_orientation)
    return image if method is None else image.transpose(method)


def resizable(image: Image.Image, bits: int = 16) -> Image.Image:
    """`image` in an 8-bit mode Pillow resamples well (palette, 16-bit, float and 1-bit converted);
    `bits` is how many bits of a 16-bit sample are used (12 in many scanners' and cameras' TIFFs)."""
    if image.mode in _RESIZABLE:
        return image
    if image.mode in ("P", "PA"):
        has_alpha = image.mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        # 16-bit (or wider) grey: keep the top 8 of the sample's bits; float grey holds 0..1
        # (as Photoshop, GIMP and libvips write it).
        values = np.asarray(image, dtype=np.float32) * (255.0 if image.mode == "F" else 255 / (2**bits - 1))
        return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), mode="L")
    if image.mode in ("1",):
        return image.convert("L")
    if image.mode in ("La", "RGBa"):
        return image.convert({"La": "LA", "RGBa": "RGBA"}[image.mode])
    return image.convert("RGB")


def to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """RGB or RGBA in sRGB, through the embedded ICC profile when there is a usable one."""
    if icc_profile and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            embedded = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            alpha = image.getchannel("A") if image.mode == "RGBA" else None
            colour = image.convert("RGB") if alpha is not None else image
            converted = ImageCms.profileToProfile(colour, embedded, _SRGB, outputMode="RGB")
            if converted is not None:
                if alpha is not None:
                    converted.putalpha(alpha)
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken profile is ignored, as browsers do
    if image.mode in ("RGB", "RGBA"):
        return image
    if image.mode == "LA":
        return image.convert("RGBA")
    return image.convert("RGB")


def shrink(image: Image.Image, long_edge: int) -> Image.Image:
    """`image` with its long edge at most `long_edge` (never upscaled)."""
    size = fit(image.size, long_edge)
    if size == image.size:
        return image
    mild = max(image.size) < 2 * max(size)
    return image.resize(size, Image.Resampling.BICUBIC if mild else Image.Resampling.LANCZOS,
                        reducing_gap=REDUCING_GAP)


def flatten(image: Image.Image, output_format: str) -> Image.Image:
    """JPEG has no alpha: composite on white."""
    if image.mode == "RGBA" and output_format == "jpeg":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image


def save(image: Image.Image, recipe: Recipe, out_dir: Path) -> Derivative:
    """Encode `image` as `recipe` says and describe the file."""
    fmt = recipe.format
    image = flatten(image, fmt)
    path = out_dir / f"{recipe.name}.{EXTENSIONS[fmt]}"
    image.save(path, format=fmt.upper(), quality=recipe.quality, **_ENCODER_OPTIONS[fmt])
    return Derivative(name=recipe.name, path=path, width=image.width, height=image.height, format=fmt)


def derive(image: Image.Image, recipes: tuple[Recipe, ...], out_dir: Path) -> RenderResult:
    """Write every recipe of an upright sRGB picture, each shrunk from the larger one before it
    (`recipes` largest first), with the ThumbHash of the thumbnail as the gallery shows it."""
    derivatives, placeholder = [], None
    for recipe in recipes:
        image = shrink(image, recipe.long_edge)
        derivatives.append(save(image, recipe, out_dir))
        if recipe.name == THUMBNAIL:
            placeholder = thumbhash.encode(flatten(image, recipe.format))
    return RenderResult(derivatives, thumbhash=placeholder)


# Grey levels (0-255) of standard deviation below which a picture counts as one colour.
FLAT_STD = 6.0


def is_flat(image: Image.Image) -> bool:
    """Whether a picture is (nearly) one colour: black, white or a fade, useless as a thumbnail."""
    grey = np.asarray(image.convert("L").reduce(max(1, min(image.size) // 64)), dtype=np.float32)
    return float(grey.std()) < FLAT_STD
