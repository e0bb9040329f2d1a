"""`make bench-sandbox`: what the sandbox adds to one render of a small JPEG.

The same engine renders the same 1024×768 JPEG (to 1280 + 320 px, so the preview keeps its size)
`--repeat` times directly in this process (`Engine(isolate=False)`) and through the sandbox
(`Engine()`, as the worker does), after one warm-up render each (which starts the render server).
Reported per render: the median wall time and the mean CPU time of the whole process tree (this
process, the children it reaped, and its live children with the children they reaped: the render
server and its jobs), and the difference, the sandbox's overhead. Only the public `Engine` API is
used, so the same script measures an older sandbox too (put its source first on `PYTHONPATH`).

    python -m bench.sandbox.run [--repeat 40]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers.base import RenderSpec

_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds() -> float:
    """CPU used so far by this process, the children it reaped and its live children's trees."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == me:  # ppid; utime, stime, cutime, cstime follow at 11..14
            total += sum(int(value) for value in fields[11:15]) / _TICK
    return total


def measure(engine: Engine, source: Path, out: Path, repeat: int) -> dict[str, float]:
    """Median wall and mean tree CPU of `repeat` renders, after one warm-up."""
    engine.render(source, out)
    walls = []
    cpu_before = tree_cpu_seconds()
    for _ in range(repeat):
        started = time.perf_counter()
        engine.render(source, out)
        walls.append(time.perf_counter() - started)
    cpu = (tree_cpu_seconds() - cpu_before) / repeat
    return {"wall_ms": statistics.median(walls) * 1000, "cpu_ms": cpu * 1000}


def main() -> None:
    """Print one JSON line per mode and the overhead line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        source = Path(tmp) / "small.jpg"
        Image.effect_noise((1024, 768), 40).convert("RGB").save(source, quality=90)
        spec = RenderSpec()
        started = time.perf_counter()
        sandboxed = Engine(spec)
        sandboxed.render(source, Path(tmp) / "first")
        first = (time.perf_counter() - started) * 1000
        results = {
            "direct": measure(Engine(spec, isolate=False), source, Path(tmp) / "direct", args.repeat),
            "sandbox": measure(sandboxed, source, Path(tmp) / "sandbox", args.repeat),
        }
    for mode, figures in results.items():
        print(json.dumps({"mode": mode, **{k: round(v, 1) for k, v in figures.items()}}))
    overhead = {k: round(results["sandbox"][k] - results["direct"][k], 1) for k in ("wall_ms", "cpu_ms")}
    print(json.dumps({"mode": "overhead", **overhead, "first_render_ms": round(first, 1),
                      "load_average": round(os.getloadavg()[0], 2), "repeat": args.repeat}))


if __name__ == "__main__":
    main()
