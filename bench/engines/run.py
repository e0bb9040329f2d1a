"""`make bench`: the derivative engines against the naive way and the reference tools, in one run.

Each (case, tool) pair runs in a fresh Python process that loads what it needs, renders once to
warm up, then times `--repeat` renders; it reports the median wall time (the targets use it), the
median CPU time (user + system, children included: steadier on a busy machine) and the peak RSS
of the process tree (itself and the largest child, as `/usr/bin/time` would). A reference tool that is not
installed is reported as skipped. `--full` adds the very slow naive runs on the 60-minute inputs
(the naive audio path needs ~13 GB there). `--ffmpeg-dir DIR` measures the video cases a second
time, Sequoia and the `ffmpeg -ss` reference alike, with the ffmpeg and ffprobe of DIR first on PATH
(the worker image's own build, docker/build-ffmpeg.sh), beside Debian's in the same run.

    python -m bench.engines.run [--repeat 5] [--only jpeg,pdf] [--full] [--ffmpeg-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "var" / "bench"

IMAGE_TOOLS = ["sequoia", "naive-pillow", "pyvips", "vipsthumbnail", "vipsthumbnail-1280"]
VIDEO_TOOLS = ["sequoia", "ffmpeg-input-seek", "naive-output-seek"]
# With --ffmpeg-dir: the same two measured again with the image's ffmpeg (the suffix names the build).
SHIPPED = "@image"
SHIPPED_VIDEO_TOOLS = [f"sequoia{SHIPPED}", f"ffmpeg-input-seek{SHIPPED}"]
AUDIO_TOOLS = ["sequoia", "audiowaveform", "naive-librosa"]
CASES: dict[str, tuple[str, list[str]]] = {
    "jpeg_24mp": ("image", IMAGE_TOOLS),
    "webp_24mp": ("image", IMAGE_TOOLS),
    "png_24mp": ("image", IMAGE_TOOLS),
    "png_wallpaper": ("image", IMAGE_TOOLS),
    "tiff_24mp": ("image", IMAGE_TOOLS),
    "gif_4mp": ("image", IMAGE_TOOLS),
    # the first decoder (libvips heifload) against the fallback (Pillow with pi-heif, Pillow's AVIF)
    "heic_12mp": ("image", [*IMAGE_TOOLS, "sequoia-pillow"]),
    "avif_12mp": ("image", [*IMAGE_TOOLS, "sequoia-pillow"]),
    "pdf_10_pages": ("pdf", ["sequoia", "pdftoppm"]),
    "pdf_3000_pages": ("pdf", ["sequoia", "pdftoppm"]),
    "video_1min": ("video", VIDEO_TOOLS),
    "video_60min": ("video", VIDEO_TOOLS),
    "video_30min": ("video", VIDEO_TOOLS),
    "mp3_10min": ("audio", AUDIO_TOOLS),
    "mp3_60min": ("audio", AUDIO_TOOLS),
}
# Minutes-long or memory-hungry runs: once, no warm-up; on 60-minute inputs only with --full.
SLOW_TOOLS = {"naive-output-seek", "naive-librosa"}


class Skipped(Exception):
    """The tool is not installed here."""


# -- one measurement, in its own process


_RENDERERS = {"image": "image.ImageRenderer", "pdf": "pdf.PdfRenderer", "video": "video.VideoRenderer",
              "audio": "audio.AudioRenderer"}


def _sequoia(kind: str, source: Path, out: Path, image_engine: str = "auto") -> Callable[[], object]:
    """The worker's renderer for `kind`, loaded alone (so peak RSS is the engine's, not every engine's)."""
    import importlib

    from sequoia_core.mediatypes import sniff
    from sequoia_thumbnails.renderers.base import RenderSpec

    module, name = _RENDERERS[kind].split(".")
    renderer = getattr(importlib.import_module(f"sequoia_thumbnails.renderers.{module}"), name)(
        RenderSpec(image_engine=image_engine))
    with source.open("rb") as stream:
        fmt = sniff(stream.read(8192))
    return lambda: renderer.render(source, fmt, out)


def _naive_pillow(source: Path, out: Path) -> Callable[[], object]:
    import pi_heif
    from PIL import Image

    pi_heif.register_heif_opener()  # HEIC as Pillow users read it

    def run() -> None:  # open, resize ×2 (from the full picture), as one would write it first
        with Image.open(source) as image:
            rgb = image.convert("RGB")
        for name, edge in (("preview", 1280), ("thumbnail", 320)):
            scale = min(1.0, edge / max(rgb.size))
            rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.LANCZOS) \
                .save(out / f"{name}.jpg", quality=85)

    return run


def _pyvips(source: Path, out: Path) -> Callable[[], object]:
    try:
        import pyvips
    except (ImportError, OSError) as err:
        raise Skipped(f"pyvips: {err}") from err
    pyvips.cache_set_max(0)  # it caches by file name: every run must decode

    def run() -> None:
        for name, edge in (("preview", 1280), ("thumbnail", 320)):
            pyvips.Image.thumbnail(str(source), edge, height=edge, size="down").write_to_file(
                str(out / f"{name}.jpg[Q=85]"))

    return run


def _command(*commands: list[str]) -> Callable[[], object]:
    if shutil.which(commands[0][0]) is None:
        raise Skipped(f"{commands[0][0]} is not installed")

    def run() -> None:
        for command in commands:
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return run


def _duration(source: Path) -> float:
    done = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                           str(source)], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def _naive_librosa(source: Path, out: Path) -> Callable[[], object]:
    try:
        import librosa
        import matplotlib
    except ImportError as err:
        raise Skipped(f"librosa: {err}") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def run() -> None:
        samples, _ = librosa.load(str(source), sr=None, mono=True)
        figure = plt.figure(figsize=(18, 2.8), dpi=100)
        plt.plot(samples, linewidth=0.3)
        plt.axis("off")
        figure.savefig(out / "waveform.png")
        plt.close(figure)

    return run


def setup(tool: str, kind: str, source: Path, out: Path) -> Callable[[], object]:
    """What one run of `tool` on `source` does (loading it happens here, untimed)."""
    if tool == "sequoia":
        return _sequoia(kind, source, out)
    if tool == "sequoia-pillow":
        return _sequoia(kind, source, out, image_engine="pillow")
    if tool == "naive-pillow":
        return _naive_pillow(source, out)
    if tool == "pyvips":
        return _pyvips(source, out)
    if tool == "vipsthumbnail":
        return _command(*[["vipsthumbnail", str(source), "--size", f"{edge}x{edge}>", "-o",
                           str(out / f"{edge}.jpg[Q=85]")] for edge in (1280, 320)])
    if tool == "vipsthumbnail-1280":  # the preview alone: the strictest reference for both our sizes
        return _command(["vipsthumbnail", str(source), "--size", "1280x1280>", "-o", str(out / "1280.jpg[Q=85]")])
    if tool == "pdftoppm":
        return _command(["pdftoppm", "-f", "1", "-l", "1", "-scale-to", "320", "-jpeg", "-jpegopt", "quality=85",
                         "-singlefile", str(source), str(out / "page")])
    if tool in ("ffmpeg-input-seek", "naive-output-seek"):
        at = f"{_duration(source) * 0.1:.3f}"
        where = ["-ss", at, "-i", str(source)] if tool == "ffmpeg-input-seek" else ["-i", str(source), "-ss", at]
        # Raw RGB, not JPEG: the image's ffmpeg has no picture encoder, and both builds must run the
        # same command (one frame decoded and scaled, nothing encoded: the strictest reference).
        return _command(["ffmpeg", "-nostdin", "-v", "error", "-y", *where, "-frames:v", "1",
                         "-vf", "scale=1280:-2", "-pix_fmt", "rgb24", "-f", "rawvideo", str(out / "frame.rgb")])
    if tool == "audiowaveform":
        return _command(
            ["audiowaveform", "-i", str(source), "-o", str(out / "peaks.json"), "-b", "8", "-z", "128"],
            ["audiowaveform", "-i", str(source), "-o", str(out / "waveform.png"), "-w", "1800", "-h", "280",
             "--zoom", "auto"],
        )
    if tool == "naive-librosa":
        return _naive_librosa(source, out)
    raise ValueError(tool)


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its waited-for children (getrusage counts in
    microseconds, where os.times() counts 10 ms clock ticks: ±10% on a 100 ms render)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure_one(tool: str, kind: str, source: Path, repeat: int) -> dict:
    """Time `repeat` runs of one tool on one input, in this process."""
    with tempfile.TemporaryDirectory(prefix="sequoia-bench-") as tmp:
        try:
            run = setup(tool, kind, source, Path(tmp))
        except Skipped as why:
            return {"skipped": str(why)}
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if tool not in SLOW_TOOLS:
            run()  # warm the OS cache and the library's first-call costs
        times, cpu = [], []
        for _ in range(1 if tool in SLOW_TOOLS else repeat):
            started, started_cpu = time.perf_counter(), _cpu_seconds()
            run()
            times.append(time.perf_counter() - started)
            cpu.append(_cpu_seconds() - started_cpu)
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"median_s": statistics.median(times), "cpu_s": statistics.median(cpu), "runs": len(times),
            "peak_rss_mb": peak / 1024,
            "baseline_rss_mb": baseline / 1024}


def measure_sandbox(repeat: int) -> dict:
    """What the worker adds per render: a job forked by the warm render server, a JSON result back
    (`make bench-sandbox` measures a whole render through it)."""
    started = time.perf_counter()
    from sequoia_thumbnails import sandbox

    sandbox.run("builtins:len", {}, timeout=120)  # starts the render server, which loads every engine
    load = time.perf_counter() - started
    times = []
    for _ in range(max(repeat, 5)):
        started = time.perf_counter()
        sandbox.run("builtins:len", {}, timeout=10)
        times.append(time.perf_counter() - started)
    return {"engine_load_s": load, "fork_median_s": statistics.median(times)}


# -- the whole bench


def _run_child(*args: str, ffmpeg_dir: Path | None = None) -> dict:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if ffmpeg_dir is not None:
        env["PATH"] = f"{ffmpeg_dir}{os.pathsep}{env['PATH']}"
    done = subprocess.run([sys.executable, "-m", "bench.engines.run", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _format(case: str, tool: str, result: dict, reference: dict | None) -> str:
    if "skipped" in result or "error" in result:
        return f"  {case:<15} {tool:<24} {'skipped: ' + result.get('skipped', result.get('error', ''))}"
    ratio = ""
    if reference and "median_s" in reference and tool != "sequoia":
        ratio = f"{result['median_s'] / reference['median_s']:7.2f}×"
    return (f"  {case:<15} {tool:<24} {result['median_s'] * 1000:9.0f} ms {result['cpu_s'] * 1000:9.0f} ms"
            f" {result['peak_rss_mb']:8.0f} MB   {ratio:>8}  ({result['runs']} runs)")


def _targets(results: dict[str, dict[str, dict]], sandbox: dict) -> list[tuple[str, bool | None, str]]:
    def time_of(case: str, tool: str, key: str = "median_s") -> float | None:
        return results.get(case, {}).get(tool, {}).get(key)

    def check(name: str, value: float | None, limit: float, more_is_better: bool = False) -> tuple:
        if value is None:
            return name, None, "not measured"
        ok = value >= limit if more_is_better else value <= limit
        return name, ok, f"{value:.2f} ({'≥' if more_is_better else '≤'} {limit:g})"

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    rows = [check("JPEG: naive Pillow / sequoia", ratio(time_of("jpeg_24mp", "naive-pillow"),
                                                             time_of("jpeg_24mp", "sequoia")), 5, True),
            check("JPEG: naive Pillow / sequoia, CPU time", ratio(time_of("jpeg_24mp", "naive-pillow", "cpu_s"),
                                                                  time_of("jpeg_24mp", "sequoia", "cpu_s")), 5, True)]
    for case, (kind, _) in CASES.items():
        if kind == "image":
            rows.append(check(f"{case}: sequoia / pyvips", ratio(time_of(case, "sequoia"), time_of(case, "pyvips")),
                              1.5))
    for case in ("jpeg_24mp", "webp_24mp", "png_24mp"):  # both our sizes against its preview alone
        rows.append(check(f"{case}: sequoia / vipsthumbnail 1280, CPU", ratio(
            time_of(case, "sequoia", "cpu_s"), time_of(case, "vipsthumbnail-1280", "cpu_s")), 1.0))
    rows += [
        check("PDF: 3000 pages / 10 pages", ratio(time_of("pdf_3000_pages", "sequoia"),
                                                   time_of("pdf_10_pages", "sequoia")), 2),
        check("PDF: sequoia / pdftoppm (3000 pages)", ratio(time_of("pdf_3000_pages", "sequoia"),
                                                            time_of("pdf_3000_pages", "pdftoppm")), 1.2),
        check("PDF: sequoia / pdftoppm (10 pages)", ratio(time_of("pdf_10_pages", "sequoia"),
                                                          time_of("pdf_10_pages", "pdftoppm")), 1.2),
        check("video: 60 min / 1 min", ratio(time_of("video_60min", "sequoia"), time_of("video_1min", "sequoia")),
              1.5),
        # CPU time: wall time on this shared 2-core machine mostly measures the neighbours' load.
        *(check(f"{case}: sequoia (both sizes) / ffmpeg -ss, CPU{build}", ratio(
            time_of(case, f"sequoia{build}", "cpu_s"), time_of(case, f"ffmpeg-input-seek{build}", "cpu_s")), 2)
          for build in ("", SHIPPED) for case, (kind, _) in CASES.items() if kind == "video"),
        check("audio: peak RSS MB, 60 min", results.get("mp3_60min", {}).get("sequoia", {}).get("peak_rss_mb"), 100),
        check("audio: sequoia / audiowaveform (60 min)", ratio(time_of("mp3_60min", "sequoia"),
                                                               time_of("mp3_60min", "audiowaveform")), 1.5),
        check("audio: naive / sequoia (10 min)", ratio(time_of("mp3_10min", "naive-librosa"),
                                                       time_of("mp3_10min", "sequoia")), 3, True),
        check("audio: naive / sequoia (60 min)", ratio(time_of("mp3_60min", "naive-librosa"),
                                                       time_of("mp3_60min", "sequoia")), 3, True),
        check("worker: per-render fork, ms", sandbox.get("fork_median_s", 0) * 1000, 50),
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    """Build the corpus, measure every case with every tool, print the table and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated case name prefixes (jpeg,pdf,video,...)")
    parser.add_argument("--full", action="store_true", help="also the slow naive runs on 60-minute inputs")
    parser.add_argument("--ffmpeg-dir", type=Path, help="video also with this folder's ffmpeg and ffprobe (the image's)")
    parser.add_argument("--one", nargs=4, metavar=("TOOL", "KIND", "SOURCE", "_"), help=argparse.SUPPRESS)
    parser.add_argument("--sandbox", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        tool, kind, source, _ = args.one
        print(json.dumps(measure_one(tool, kind, Path(source), args.repeat)))
        return 0
    if args.sandbox:
        print(json.dumps(measure_sandbox(args.repeat)))
        return 0
    from bench.engines import corpus

    if args.corpus:
        print(json.dumps({case: str(path) for case, path in corpus.build(WORK / "corpus").items()}))
        return 0

    missing = corpus.missing_sources()
    if missing:
        print(f"bench: install the real sources first: apt-get install {' '.join(missing)} (make bench-deps)")
        return 2
    if args.ffmpeg_dir and not all((args.ffmpeg_dir / tool).is_file() for tool in ("ffmpeg", "ffprobe")):
        print(f"bench: no ffmpeg and ffprobe in {args.ffmpeg_dir}")
        return 2
    prefixes = [p for p in args.only.split(",") if p]
    load_at_start = os.getloadavg()[0]
    print("bench: making the corpus in var/bench/corpus (once) ...", flush=True)
    # In a child: this process stays small, and a child's peak RSS starts from its parent's
    # (Linux keeps the high-water mark across fork and exec), so the measurements stay honest.
    built = _run_child("--corpus")
    if "error" in built:
        print(f"bench: could not make the corpus: {built['error']}")
        return 2
    inputs = {case: Path(path) for case, path in built.items()}
    results: dict[str, dict[str, dict]] = {}
    print(f"  {'case':<15} {'tool':<24} {'median':>12} {'CPU':>12} {'peak RSS':>11}   {'÷ sequoia':>8}")
    for case, (kind, tools) in CASES.items():
        if prefixes and not any(case.startswith(p) for p in prefixes):
            continue
        results[case] = {}
        for tool in [*tools, *(SHIPPED_VIDEO_TOOLS if kind == "video" and args.ffmpeg_dir else ())]:
            if tool in SLOW_TOOLS and ("30min" in case or "60min" in case) and not args.full:
                results[case][tool] = {"skipped": "slow naive run: --full"}
            else:
                results[case][tool] = _run_child(
                    "--repeat", str(args.repeat), "--one", tool.removesuffix(SHIPPED), kind, str(inputs[case]), "-",
                    ffmpeg_dir=args.ffmpeg_dir.resolve() if tool.endswith(SHIPPED) else None)
            reference = results[case].get("sequoia" + (SHIPPED if tool.endswith(SHIPPED) else ""))
            print(_format(case, tool, results[case][tool], reference), flush=True)
    sandbox = _run_child("--sandbox", "--repeat", str(args.repeat))
    print(f"\n  worker: the render server loads the engines once in {sandbox.get('engine_load_s', 0) * 1000:.0f} ms;"
          f" each render then forks a job in {sandbox.get('fork_median_s', 0) * 1000:.1f} ms that inherits them"
          " (no import per task)")
    print(f"\n  load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (at the start: {load_at_start:.1f});"
          " wall times above a load of one per core are inflated, CPU times much less")
    print("\n  targets")
    for name, ok, detail in _targets(results, sandbox):
        mark = {True: "ok  ", False: "MISS", None: "--  "}[ok]
        print(f"    {mark} {name:<42} {detail}")
    (WORK / "results.json").write_text(json.dumps({"results": results, "worker": sandbox}, indent=2))
    print(f"\n  raw numbers: {WORK / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
