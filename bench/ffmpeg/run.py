"""`make bench-ffmpeg`: the worker image's ffmpeg against Debian's, on every codec we accept.

The image's ffmpeg and ffprobe (built by docker/build-ffmpeg.sh) are copied out of `--image` and
run here beside Debian's (/usr/bin), in the same run:
- start: the CPU one `ffprobe -version` costs (every render runs ffprobe once, ffmpeg once or more);
- coverage: a short clip of each codec, in a container we accept, goes through our own video or
  audio renderer with each ffmpeg first on PATH: `ok`, or the error the renderer gave;
- speed: on longer clips (720p video, minutes of audio), the renderer's wall time and the CPU time
  of a full decode (`ffmpeg -threads 1 -i FILE` to raw frames or PCM), each the median of `--repeat` runs;
  the ratio is the image's over Debian's.

    python -m bench.ffmpeg.run [--image IMAGE] [--repeat 3]     (the image is built when missing)

The clips are made once into var/bench/codecs with Debian's ffmpeg and its encoders.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.coldstart.run import DEFAULT_IMAGE, ensure_image
from sequoia_core.errors import PermanentError
from sequoia_core.mediatypes import ALLOWED_FORMATS, MediaFormat, MediaKind
from sequoia_thumbnails.renderers.audio import AudioRenderer
from sequoia_thumbnails.renderers.base import RenderSpec
from sequoia_thumbnails.renderers.video import VideoRenderer
from tests.containers import podman

ROOT = Path(__file__).resolve().parents[2]
CLIPS = ROOT / "var" / "bench" / "codecs"
DEBIAN = Path("/usr/bin")
_X265 = ("-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1")
_V = ("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "2", "-pix_fmt", "yuv420p")
_A = ("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3", "-ac", "2")
# name: (file name, format name of sequoia_core.mediatypes, ffmpeg output options)
COVERAGE: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "H.264": ("h264.mp4", "mp4", (*_V, "-c:v", "libx264", "-preset", "ultrafast")),
    "HEVC": ("hevc.mp4", "mp4", (*_V, *_X265)),
    "VP8": ("vp8.webm", "mkv", (*_V, "-c:v", "libvpx", "-b:v", "300k")),
    "VP9": ("vp9.webm", "mkv", (*_V, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8")),
    "AV1": ("av1.mkv", "mkv", (*_V, "-c:v", "libaom-av1", "-cpu-used", "8", "-row-mt", "1")),
    "MPEG-2": ("mpeg2.mkv", "mkv", (*_V, "-c:v", "mpeg2video")),
    "MPEG-4 Part 2": ("mpeg4.avi", "avi", (*_V, "-c:v", "mpeg4")),
    "H.263": ("h263.mov", "mov", ("-f", "lavfi", "-i", "testsrc2=size=352x288:rate=25", "-t", "2",
                                  "-pix_fmt", "yuv420p", "-c:v", "h263")),
    "Motion JPEG": ("mjpeg.avi", "avi", ("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "2",
                                         "-pix_fmt", "yuvj420p", "-c:v", "mjpeg")),
    "ProRes": ("prores.mov", "mov", ("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "2",
                                     "-pix_fmt", "yuv422p10le", "-c:v", "prores_ks")),
    "DNxHR": ("dnxhr.mov", "mov", ("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "2",
                                   "-pix_fmt", "yuv422p", "-c:v", "dnxhd", "-profile:v", "dnxhr_lb")),
    "DV": ("dv.avi", "avi", ("-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25", "-t", "2",
                             "-pix_fmt", "yuv420p", "-c:v", "dvvideo")),
    "Theora": ("theora.mkv", "mkv", (*_V, "-c:v", "libtheora")),
    "MP3": ("mp3.mp3", "mp3", (*_A, "-c:a", "libmp3lame")),
    "AAC (MP4)": ("aac.m4a", "m4a", (*_A, "-c:a", "aac")),
    "AAC (ADTS)": ("adts.aac", "aac", (*_A, "-c:a", "aac", "-f", "adts")),
    "ALAC": ("alac.m4a", "m4a", (*_A, "-c:a", "alac")),
    "FLAC (Ogg)": ("flac.ogg", "ogg", (*_A, "-c:a", "flac")),
    "Opus": ("opus.ogg", "ogg", (*_A, "-c:a", "libopus")),
    "Vorbis": ("vorbis.ogg", "ogg", (*_A, "-c:a", "libvorbis")),
    "WAV PCM 16": ("pcm16.wav", "wav", (*_A, "-c:a", "pcm_s16le")),
    "WAV PCM 24": ("pcm24.wav", "wav", (*_A, "-c:a", "pcm_s24le")),
    "WAV float": ("float.wav", "wav", (*_A, "-c:a", "pcm_f32le")),
    "WAV ADPCM": ("adpcm.wav", "wav", (*_A, "-c:a", "adpcm_ms")),
    "AC-3 (MP4)": ("ac3.m4a", "m4a", (*_A, "-c:a", "ac3")),
    "E-AC-3 (MP4)": ("eac3.mp4", "m4a", (*_A, "-c:a", "eac3")),
    "MP2": ("mp2.mp3", "mp3", (*_A, "-c:a", "mp2", "-f", "mp2")),
}
_HD = ("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-t", "30", "-pix_fmt", "yuv420p", "-g", "50")
_LONG_AUDIO = ("-f", "lavfi", "-i", "anoisesrc=sample_rate=44100:amplitude=0.3:duration=300", "-ac", "2")
SPEED: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "H.264 720p 30 s": ("h264_720p.mp4", "mp4", (*_HD, "-c:v", "libx264", "-preset", "veryfast")),
    "HEVC 720p 30 s": ("hevc_720p.mp4", "mp4", (*_HD, *_X265)),
    "VP9 720p 30 s": ("vp9_720p.webm", "mkv", (*_HD, "-c:v", "libvpx-vp9", "-deadline", "realtime",
                                               "-cpu-used", "8", "-b:v", "2M")),
    "AV1 720p 30 s": ("av1_720p.mkv", "mkv", (*_HD, "-c:v", "libsvtav1", "-preset", "12")),
    "MP3 5 min": ("long.mp3", "mp3", (*_LONG_AUDIO, "-c:a", "libmp3lame", "-b:a", "192k")),
    "AAC 5 min": ("long.m4a", "m4a", (*_LONG_AUDIO, "-c:a", "aac", "-b:a", "192k")),
    "Opus 5 min": ("long.opus.ogg", "ogg", (*_LONG_AUDIO, "-c:a", "libopus", "-b:a", "128k")),
    "FLAC 5 min": ("long.flac.ogg", "ogg", (*_LONG_AUDIO, "-c:a", "flac")),
}


def clip(name: str, options: tuple[str, ...]) -> Path:
    """The clip `name` in var/bench/codecs, made once with Debian's ffmpeg."""
    path = CLIPS / name
    if not path.exists():
        CLIPS.mkdir(parents=True, exist_ok=True)
        partial = path.with_name("partial." + name)
        subprocess.run([str(DEBIAN / "ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *options,
                        str(partial)], check=True, timeout=900)
        partial.rename(path)
    return path


def image_ffmpeg(image: str, folder: Path) -> Path:
    """ffmpeg and ffprobe copied out of `image` into `folder`."""
    name = f"sequoia-bench-ffmpeg-{secrets.token_hex(3)}"
    podman.podman("create", "--name", name, image)
    try:
        for tool in ("ffmpeg", "ffprobe"):
            podman.podman("cp", f"{name}:/usr/local/bin/{tool}", str(folder / tool))
    finally:
        podman.podman("rm", name, check=False)
    return folder


def render(bin_dir: Path, source: Path, fmt: MediaFormat, out: Path) -> float:
    """Seconds our renderer takes on `source` with the ffmpeg of `bin_dir` first on PATH."""
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    try:
        renderer = (VideoRenderer if fmt.kind is MediaKind.VIDEO else AudioRenderer)(RenderSpec())
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        renderer.render(source, fmt, out)
        return time.perf_counter() - start
    finally:
        os.environ["PATH"] = os.environ["PATH"].split(os.pathsep, 1)[1]


def decode(bin_dir: Path, source: Path, kind: MediaKind) -> float:
    """CPU seconds (user + system) of a full single-threaded decode of `source`'s first stream, raw
    frames or PCM to /dev/null (the image's ffmpeg has only those outputs): CPU, not wall time, so
    other work on the machine does not blur the comparison."""
    out = ("-f", "rawvideo") if kind is MediaKind.VIDEO else ("-f", "s16le", "-acodec", "pcm_s16le")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([str(bin_dir / "ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
                    "-i", str(source), "-map", "0:0", *out, "-y", "/dev/null"], check=True, timeout=900)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def start_cost(bin_dir: Path, runs: int = 20) -> float:
    """CPU seconds of one `ffprobe -version`: what each run pays before it reads a byte (Debian's
    binaries load some 200 shared libraries)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(runs):
        subprocess.run([str(bin_dir / "ffprobe"), "-version"], capture_output=True, check=True, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default=DEFAULT_IMAGE, help="built when missing")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    formats = {fmt.name: fmt for fmt in ALLOWED_FORMATS}
    with tempfile.TemporaryDirectory() as tmp:
        candidates = {"debian": DEBIAN, "image": image_ffmpeg(ensure_image(args.image), Path(tmp))}
        version = subprocess.run([str(candidates["image"] / "ffmpeg"), "-version"], capture_output=True,
                                 text=True, check=True).stdout.splitlines()[0]
        print(f"image {args.image}: {version}")
        starts = {c: start_cost(d) for c, d in candidates.items()}
        print(f"CPU to start one ffprobe: debian {starts['debian'] * 1000:.0f} ms, "
              f"image {starts['image'] * 1000:.0f} ms")
        print(f"{'codec':16} {'debian':10} image")
        for codec, (name, fmt, options) in COVERAGE.items():
            source = clip(name, options)
            verdicts = []
            for label, bin_dir in candidates.items():
                try:
                    render(bin_dir, source, formats[fmt], Path(tmp, "out", label, name))
                    verdicts.append("ok")
                except PermanentError as err:
                    verdicts.append(f"FAILED ({err.code}: {err.message[:60]})")
            print(f"{codec:16} {verdicts[0]:10} {verdicts[1]}")
        print(f"\n{'clip':18} {'render debian':>14} {'image':>8} {'ratio':>6}   {'decode CPU deb.':>15} {'image':>8} "
              f"{'ratio':>6}   (median of {args.repeat}, s)")
        for label, (name, fmt, options) in SPEED.items():
            source = clip(name, options)
            rendered = {c: statistics.median(render(d, source, formats[fmt], Path(tmp, "out", c, name))
                                             for _ in range(args.repeat)) for c, d in candidates.items()}
            decoded = {c: statistics.median(decode(d, source, formats[fmt].kind) for _ in range(args.repeat))
                       for c, d in candidates.items()}
            print(f"{label:18} {rendered['debian']:14.3f} {rendered['image']:8.3f} "
                  f"{rendered['image'] / rendered['debian']:6.2f}   {decoded['debian']:15.3f} {decoded['image']:8.3f} "
                  f"{decoded['image'] / decoded['debian']:6.2f}")
    print(f"command: python -m bench.ffmpeg.run --image {args.image} --repeat {args.repeat}")


if __name__ == "__main__":
    main()
