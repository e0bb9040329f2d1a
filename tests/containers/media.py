"""One small file of each media kind: a JPEG, a two-page PDF, an MP4 video and an MP3 (host ffmpeg)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import fitz

from tests.factories import jpeg_bytes


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
