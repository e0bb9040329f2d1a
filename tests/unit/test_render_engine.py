"""The engine as the worker uses it: sandboxed renders that inherit every library from the render server,
while the worker process itself never loads a decoder."""

from __future__ import annotations

import json
import subprocess
import sys

from sequoia_core.mediatypes import SNIFF_BYTES, identify
from sequoia_thumbnails import render_job, sandbox
from sequoia_thumbnails.renderers.base import RenderSpec
from tests.corpus import conformance, stubborn


def test_a_render_imports_nothing_new(tmp_path):
    """Heavy libraries load once, in the render server, never per task: each job inherits them."""
    files = [conformance.animated_webp(tmp_path), conformance.multipage_tiff(tmp_path), conformance.cmyk_jpeg(tmp_path),
             conformance.ten_page_pdf(tmp_path), conformance.one_frame_mp4(tmp_path), conformance.stereo_wav(tmp_path),
             stubborn.heic(tmp_path), stubborn.avif(tmp_path)]
    spec = RenderSpec(time_limit_seconds=30)

    def imported_while_rendering(path):
        out_dir = tmp_path / path.stem
        out_dir.mkdir()
        fmt = identify(path.read_bytes()[:SNIFF_BYTES], path.name)
        payload = render_job.request(path, fmt, out_dir, spec)
        return sandbox.run("tests.unit.sandbox_targets:modules_added_by_render", payload, timeout=60)

    new = {path.name: imported_while_rendering(path) for path in files}

    assert new == {path.name: [] for path in files}


_WORKER = """
import json, sys
from pathlib import Path
from sequoia_thumbnails import tasks  # what a pool process of the worker imports
from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers.base import RenderSpec
fmt, result = Engine(RenderSpec()).render(Path(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps({"kind": fmt.kind, "rendered": len(result.derivatives),
                  "decoders": [m for m in ("fitz", "pyvips", "PIL", "numpy", "pi_heif") if m in sys.modules]}))
"""


def test_the_worker_process_loads_no_decoder(tmp_path):
    """Only the render server holds MuPDF, libvips, Pillow and numpy (about 70 MB a pool process)."""
    source = conformance.cmyk_jpeg(tmp_path)

    done = subprocess.run([sys.executable, "-c", _WORKER, str(source), str(tmp_path / "out")], capture_output=True,
                          text=True, timeout=120, check=True)

    assert json.loads(done.stdout) == {"kind": "image", "rendered": 2, "decoders": []}
