"""How fast the engine refuses hostile files: wall time from render call to its error code, per file
of the hostile corpus, with the limits the tests used to assert (the tests now check only the code).

    .venv/bin/python -m bench.engines.hostile
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from sequoia_core.errors import PermanentError
from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers.base import RenderSpec
from tests.corpus import hostile

SPEC = RenderSpec(time_limit_seconds=30)
# (maker, spec changes, most seconds to the refusal)
CASES: list[tuple[Callable[[Path], Path], dict, float]] = [
    *[(maker, {"image_engine": engine}, 5.0) for engine in ("pillow", "vips") for maker in (
        hostile.pixel_flood_png, hostile.pixel_flood_gif, hostile.lying_png, hostile.truncated_jpeg,
        hostile.truncated_png, hostile.zero_bytes, hostile.html_as_jpeg, hostile.mp3_as_jpeg)],
    (hostile.pdf_stream_bomb, {"memory_limit_bytes": 256 * 1024**2}, 5.0),
    (hostile.pdf_slow_page, {"time_limit_seconds": 2}, 4.0),  # killed at its 2 s limit
]


def refusal_seconds(maker: Callable[[Path], Path], changes: dict, folder: Path) -> tuple[str, float]:
    """The error code the engine answers with and the seconds it took."""
    path = maker(folder)
    started = time.monotonic()
    try:
        Engine(replace(SPEC, **changes)).render(path, folder / "out", filename_hint=path.name)
    except PermanentError as err:
        return str(err.code), time.monotonic() - started
    return "rendered", time.monotonic() - started


def main() -> int:
    """Print one line per case; exit 1 when a refusal missed its limit."""
    missed = 0
    for maker, changes, limit in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            code, seconds = refusal_seconds(maker, changes, Path(tmp))
        ok = seconds < limit
        missed += not ok
        options = ",".join(f"{k}={v}" for k, v in changes.items())
        print(f"{maker.__name__:<20} {options:<32} {code:<18} {seconds:6.2f} s  (< {limit:.0f} s: {'ok' if ok else 'MISSED'})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
