"""What a render job runs inside the render server: every renderer, loaded once by `warm_up` before
the first job is forked, and `render`, the job itself."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import Any

from sequoia_core.mediatypes import MediaKind, format_named
from sequoia_core.recipes import Recipe
from sequoia_thumbnails.renderers import pdf
from sequoia_thumbnails.renderers.base import RenderSpec
from sequoia_thumbnails.renderers.registry import registry


def warm_up() -> None:
    """Load every engine and codec plugin in the render server, so no job imports anything, and
    render one PDF page made here, so no job builds MuPDF's colour transforms (lcms2) again."""
    renderers = registry(RenderSpec())
    with tempfile.TemporaryDirectory(prefix="sequoia-warm-up-") as folder:
        source = Path(folder) / "warm-up.pdf"
        source.write_bytes(pdf.colour_sample())
        renderers[MediaKind.PDF].render(source, format_named("pdf"), Path(folder))


def render(payload: dict[str, Any]) -> dict[str, Any]:
    """Render as `render_job.request` asked and describe the files written."""
    spec_fields = payload["spec"]
    spec = RenderSpec(**{**spec_fields, "waveform_size": tuple(spec_fields["waveform_size"]),
                         "recipes": tuple(Recipe(**recipe) for recipe in spec_fields["recipes"])})
    fmt = format_named(payload["format"])
    out_dir = Path(payload["out_dir"])
    # Scratch files (the audio engine's PCM) go to the job's folder, removed with it.
    tempfile.tempdir = str(out_dir.parent)
    result = registry(spec)[fmt.kind].render(Path(payload["source"]), fmt, out_dir)
    placeholder = None if result.thumbhash is None else base64.b64encode(result.thumbhash).decode()
    return {"derivatives": result.describe(), "metadata": result.metadata, "thumbhash": placeholder}
