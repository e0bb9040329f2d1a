"""The engine as the worker uses it: isolated renders that inherit every library from the parent."""

from __future__ import annotations

import sys
from pathlib import Path

from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers.base import RenderSpec
from sequoia_thumbnails.sandbox import run_isolated
from tests.corpus import conformance


def test_a_render_imports_nothing_new(tmp_path):
    """Heavy libraries load once per worker process, never per task: each render child inherits them."""
    files = [conformance.animated_webp(tmp_path), conformance.multipage_tiff(tmp_path), conformance.cmyk_jpeg(tmp_path),
             conformance.ten_page_pdf(tmp_path), conformance.one_frame_mp4(tmp_path), conformance.stereo_wav(tmp_path)]
    engine = Engine(RenderSpec(time_limit_seconds=30), isolate=False)

    def imported_while_rendering(path: Path) -> set[str]:
        before = set(sys.modules)
        engine.render(path, tmp_path / path.stem, filename_hint=path.name)
        return set(sys.modules) - before

    new = {path.name: run_isolated(lambda p=path: imported_while_rendering(p), timeout=60) for path in files}

    assert new == {path.name: set() for path in files}
