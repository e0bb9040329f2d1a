"""The renderer protocol and the values renderers exchange with the engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from sequoia_core.mediatypes import MediaFormat, MediaKind
from sequoia_core.recipes import Recipe, default_recipes, recipes_for
from sequoia_core.settings import Settings

OutputFormat = Literal["jpeg", "webp", "avif", "png", "json"]

CONTENT_TYPES: dict[str, str] = {
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "avif": "image/avif",
    "png": "image/png",
    "json": "application/json",
}
EXTENSIONS: dict[str, str] = {"jpeg": "jpg", "webp": "webp", "avif": "avif", "png": "png", "json": "json"}


@dataclass(frozen=True)
class RenderSpec:
    """What to make and the safety limits to make it under."""

    recipes: tuple[Recipe, ...] = default_recipes()
    image_engine: Literal["auto", "pillow", "vips"] = "auto"
    waveform_size: tuple[int, int] = (1800, 280)
    # Peaks: one min/max pair per this many samples of mono PCM at the file's own rate (512 is the
    # smallest of peaks.js's default zoom levels, so its views resample from these peaks directly).
    peaks_samples_per_pixel: int = 512
    # -- limits
    max_file_bytes: int = 2 * 1024**3
    max_image_pixels: int = 100_000_000
    max_frames: int = 10_000
    max_pdf_stream_bytes: int = 64 * 1024**2
    max_duration_seconds: float = 6 * 3600
    max_video_edge: int = 16384
    time_limit_seconds: float = 300.0
    memory_limit_bytes: int | None = 2048 * 1024**2

    @classmethod
    def from_settings(cls, settings: Settings) -> RenderSpec:
        """The spec the configured service renders with."""
        return cls(
            recipes=settings.recipes,
            image_engine=settings.image_engine,
            waveform_size=(settings.waveform_width, settings.waveform_height),
            max_file_bytes=settings.max_upload_bytes,
            max_image_pixels=settings.max_image_pixels,
            max_duration_seconds=settings.max_media_duration_seconds,
            # Leave the task room to download and upload before Celery's soft limit strikes.
            time_limit_seconds=min(settings.render_time_limit_seconds, settings.soft_time_limit * 0.8),
            memory_limit_bytes=settings.render_memory_limit_mb * 1024**2,
        )


    def recipes_for(self, kind: MediaKind) -> tuple[Recipe, ...]:
        """The recipes of `kind`, largest first."""
        return recipes_for(self.recipes, kind)

    def largest_edge(self, kind: MediaKind) -> int:
        """The long edge of the largest picture `kind` gets: what a decoder must deliver."""
        return max(recipe.long_edge for recipe in self.recipes_for(kind))


def fit(size: tuple[int, int], long_edge: int) -> tuple[int, int]:
    """`size` scaled so its long edge is at most `long_edge`; never upscaled, never below 1 px."""
    width, height = size
    scale = min(1.0, long_edge / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


@dataclass(frozen=True)
class Derivative:
    """One file a renderer wrote."""

    name: str  # a recipe's name (thumbnail, preview, ...), or the audio engine's waveform | peaks
    path: Path
    width: int | None
    height: int | None
    format: OutputFormat

    @property
    def content_type(self) -> str:
        """MIME type to store the derivative with."""
        return CONTENT_TYPES[self.format]

    @property
    def extension(self) -> str:
        """File extension of the derivative's key."""
        return EXTENSIONS[self.format]


@dataclass
class RenderResult:
    """Everything a render produced: the derivatives and facts learnt about the original."""

    derivatives: list[Derivative]
    metadata: dict[str, Any] = field(default_factory=dict)
    thumbhash: bytes | None = None  # the placeholder of the picture the gallery shows

    def describe(self) -> list[dict[str, Any]]:
        """Derivatives as JSON-ready dicts."""
        return [{**asdict(d), "path": str(d.path)} for d in self.derivatives]


class Renderer(Protocol):
    """Makes the derivatives of one media kind."""

    kinds: frozenset[MediaKind]

    def render(self, source: Path, fmt: MediaFormat, out_dir: Path) -> RenderResult:
        """Render `source` (already sniffed as `fmt`) into files under `out_dir`.

        Raises `PermanentError` with a stable code for a bad file.
        """
        ...
