"""The engine: sniff a file, pick its renderer, render. Shared by the worker and `sequoia-render`."""

from __future__ import annotations

from pathlib import Path

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.mediatypes import SNIFF_BYTES, MediaFormat, MediaKind, identify
from sequoia_thumbnails.renderers.base import Renderer, RenderResult, RenderSpec
from sequoia_thumbnails.renderers.image import ImageRenderer


def registry(spec: RenderSpec) -> dict[MediaKind, Renderer]:
    """Every renderer, by the media kind it serves. Built explicitly; nothing registers itself."""
    renderers: list[Renderer] = [ImageRenderer(spec)]
    return {kind: renderer for renderer in renderers for kind in renderer.kinds}


class Engine:
    """Renders local files into derivatives, refusing what is not allowed."""

    def __init__(self, spec: RenderSpec) -> None:
        self.spec = spec
        self._renderers = registry(spec)

    def identify(self, source: Path, filename_hint: str | None = None) -> MediaFormat:
        """The allowed format of `source` by its content; the file name is only a hint."""
        size = source.stat().st_size
        if size > self.spec.max_file_bytes:
            raise PermanentError(
                f"{size} bytes is over the limit of {self.spec.max_file_bytes}", code=ErrorCode.FILE_TOO_LARGE
            )
        with source.open("rb") as stream:
            header = stream.read(SNIFF_BYTES)
        return identify(header, filename_hint)

    def render(self, source: Path, out_dir: Path, filename_hint: str | None = None) -> tuple[MediaFormat, RenderResult]:
        """Identify `source` and render its derivatives into `out_dir`."""
        fmt = self.identify(source, filename_hint)
        renderer = self._renderers.get(fmt.kind)
        if renderer is None:
            raise PermanentError(f"no renderer for {fmt.kind} yet", code=ErrorCode.UNSUPPORTED_TYPE)
        out_dir.mkdir(parents=True, exist_ok=True)
        return fmt, renderer.render(source, fmt, out_dir)
