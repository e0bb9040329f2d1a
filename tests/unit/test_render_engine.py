"""The engine as the worker uses it: sandboxed renders that inherit every library from the render server."""

from __future__ import annotations


from sequoia_core.mediatypes import SNIFF_BYTES, identify
from sequoia_thumbnails import render_job, sandbox
from sequoia_thumbnails.renderers.base import RenderSpec
from tests.corpus import conformance


def test_a_render_imports_nothing_new(tmp_path):
    """Heavy libraries load once, in the render server, never per task: each job inherits them."""
    files = [conformance.animated_webp(tmp_path), conformance.multipage_tiff(tmp_path), conformance.cmyk_jpeg(tmp_path),
             conformance.ten_page_pdf(tmp_path), conformance.one_frame_mp4(tmp_path), conformance.stereo_wav(tmp_path)]
    spec = RenderSpec(time_limit_seconds=30)

    def imported_while_rendering(path):
        out_dir = tmp_path / path.stem
        out_dir.mkdir()
        fmt = identify(path.read_bytes()[:SNIFF_BYTES], path.name)
        payload = render_job.request(path, fmt, out_dir, spec)
        return sandbox.run("tests.unit.sandbox_targets:modules_added_by_render", payload, timeout=60)

    new = {path.name: imported_while_rendering(path) for path in files}

    assert new == {path.name: [] for path in files}
