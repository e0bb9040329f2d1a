"""Image previews and thumbnails with Pillow: JPEG draft decoding, reducing gap, sRGB output."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.mediatypes import MediaFormat, MediaKind
from sequoia_thumbnails.renderers.base import Derivative, RenderResult, RenderSpec

# Resampling in two steps: a cheap box reduction to within 3× of the target, then a good filter.
_REDUCING_GAP = 3.0
_SRGB = ImageCms.createProfile("sRGB")


def _fit(size: tuple[int, int], long_edge: int) -> tuple[int, int]:
    """`size` scaled so its long edge is at most `long_edge`; never upscaled."""
    width, height = size
    scale = min(1.0, long_edge / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_srgb(image: Image.Image) -> Image.Image:
    """RGB or RGBA in sRGB, whatever the source mode or embedded profile."""
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "CMYK"):
        try:
            embedded = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(image, embedded, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile is ignored, as browsers do
    if image.mode in ("RGB", "RGBA"):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grey: keep the top 8 bits.
        return image.point(lambda v: v / 256).convert("L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info or image.mode in ("LA", "PA", "La", "RGBa"):
        return image.convert("RGBA")
    return image.convert("RGB")


def _flatten(image: Image.Image, output_format: str) -> Image.Image:
    """JPEG has no alpha: composite on white."""
    if image.mode == "RGBA" and output_format == "jpeg":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image


class ImageRenderer:
    """Preview (long edge 1280) and thumbnail (long edge 320) of a still image."""

    kinds = frozenset({MediaKind.IMAGE})

    def __init__(self, spec: RenderSpec) -> None:
        self.spec = spec

    def render(self, source: Path, fmt: MediaFormat, out_dir: Path) -> RenderResult:
        """Decode once (at reduced size where the codec allows), then write both sizes."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(source) as image:
                    return self._render_open(image, out_dir)
        except PermanentError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise PermanentError(str(err), code=ErrorCode.IMAGE_TOO_LARGE) from err
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as err:
            raise PermanentError(f"cannot decode image: {err}", code=ErrorCode.CORRUPT_FILE) from err

    def _render_open(self, image: Image.Image, out_dir: Path) -> RenderResult:
        width, height = image.size
        if width * height > self.spec.max_image_pixels:
            raise PermanentError(
                f"{width}×{height} is over the limit of {self.spec.max_image_pixels} pixels",
                code=ErrorCode.IMAGE_TOO_LARGE,
            )
        frames = getattr(image, "n_frames", 1)
        if image.format == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale, never below the preview size.
            image.draft("RGB", (self.spec.preview_long_edge, self.spec.preview_long_edge))
        image.seek(0)  # first frame of an animation, first page of a TIFF
        upright = _to_srgb(ImageOps.exif_transpose(image))
        preview = upright.resize(_fit(upright.size, self.spec.preview_long_edge), Image.Resampling.LANCZOS,
                                 reducing_gap=_REDUCING_GAP)
        thumbnail = preview.resize(_fit(preview.size, self.spec.thumbnail_long_edge), Image.Resampling.LANCZOS,
                                   reducing_gap=_REDUCING_GAP)
        derivatives = [self._save(preview, "preview", out_dir), self._save(thumbnail, "thumbnail", out_dir)]
        metadata = {"width": width, "height": height, "frames": frames}
        return RenderResult(derivatives=derivatives, metadata=metadata)

    def _save(self, image: Image.Image, name: str, out_dir: Path) -> Derivative:
        fmt = self.spec.output_format
        image = _flatten(image, fmt)
        path = out_dir / f"{name}.{'jpg' if fmt == 'jpeg' else fmt}"
        options = {"quality": self.spec.quality}
        if fmt == "jpeg":
            options |= {"optimize": False, "progressive": False}
        image.save(path, format=fmt.upper(), **options)
        return Derivative(name=name, path=path, width=image.width, height=image.height, format=fmt)
