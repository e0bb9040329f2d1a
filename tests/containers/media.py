"""One small file of each media kind: a JPEG, a two-page PDF, an MP4 video and an MP3 (host ffmpeg);
and a HEIC and a clip of each further codec family the worker image's ffmpeg must decode."""

from __future__ import annotations

import subprocess
from pathlib import Path

import fitz

from tests.corpus import stubborn
from tests.factories import jpeg_bytes

_VIDEO = ("-f", "lavfi", "-i", "testsrc2=duration=1:size=320x240:rate=10", "-pix_fmt", "yuv420p")
_AUDIO = ("-f", "lavfi", "-i", "sine=frequency=440:duration=2")
# name (its kind first): file name and encoder options; H.264, MP3 are in sample_files already.
CODECS = {
    "video_hevc": ("hevc.mp4", (*_VIDEO, "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
                               "-tag:v", "hvc1")),
    "video_vp9": ("vp9.webm", (*_VIDEO, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8")),
    "video_av1": ("av1.mkv", (*_VIDEO, "-c:v", "libaom-av1", "-cpu-used", "8")),
    "video_mpeg2": ("mpeg2.mkv", (*_VIDEO, "-c:v", "mpeg2video")),
    "video_mpeg4": ("mpeg4.avi", (*_VIDEO, "-c:v", "mpeg4")),
    "video_prores": ("prores.mov", ("-f", "lavfi", "-i", "testsrc2=duration=1:size=320x240:rate=10",
                                    "-pix_fmt", "yuv422p10le", "-c:v", "prores_ks")),
    "audio_aac": ("aac.m4a", (*_AUDIO, "-c:a", "aac")),
    "audio_flac": ("flac.ogg", (*_AUDIO, "-c:a", "flac")),
    "audio_opus": ("opus.ogg", (*_AUDIO, "-c:a", "libopus")),
    "audio_vorbis": ("vorbis.ogg", (*_AUDIO, "-c:a", "libvorbis")),
    "audio_wav": ("pcm.wav", (*_AUDIO, "-c:a", "pcm_s24le")),
}


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=120)


def sample_files(directory: Path) -> dict[str, Path]:
    """Write the samples into `directory`; returns their paths by media kind."""
    image = directory / "harbour.jpg"
    image.write_bytes(jpeg_bytes(1600, 1200))
    pdf = directory / "logbook.pdf"
    with fitz.open() as document:
        for number in (1, 2):
            document.new_page().insert_text((72, 72), f"Logbook page {number}", fontsize=24)
        document.save(pdf)
    video = directory / "deck.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=duration=3:size=320x240:rate=10", "-pix_fmt", "yuv420p", str(video))
    audio = directory / "waves.mp3"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3", str(audio))
    return {"image": image, "pdf": pdf, "video": video, "audio": audio}


def codec_samples(directory: Path) -> dict[str, Path]:
    """A HEIC (real HEVC, from heif-enc) and one short clip of each of CODECS, by name."""
    samples = {"heic": stubborn.heic(directory)}
    for name, (filename, options) in CODECS.items():
        samples[name] = directory / filename
        _ffmpeg(*options, str(samples[name]))
    return samples
