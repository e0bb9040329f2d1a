"""Every renderer, by the media kind it serves."""

from __future__ import annotations

from sequoia_core.mediatypes import MediaKind
from sequoia_thumbnails.renderers.audio import AudioRenderer
from sequoia_thumbnails.renderers.base import Renderer, RenderSpec
from sequoia_thumbnails.renderers.image import ImageRenderer
from sequoia_thumbnails.renderers.pdf import PdfRenderer
from sequoia_thumbnails.renderers.video import VideoRenderer


def registry(spec: RenderSpec) -> dict[MediaKind, Renderer]:
    """Every renderer, by the media kind it serves. Built explicitly; nothing registers itself."""
    renderers: list[Renderer] = [ImageRenderer(spec), PdfRenderer(spec), VideoRenderer(spec), AudioRenderer(spec)]
    return {kind: renderer for renderer in renderers for kind in renderer.kinds}
