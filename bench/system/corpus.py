"""The system bench's inputs: distinct files of every kind, made at run time from real sources on
this machine (Debian's mate-backgrounds photos, gnuplot-doc's manual, extremetuxracer-data's music),
so no two uploads are the same bytes and no cache flatters a repeat."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.engines.corpus import MANUAL, MUSIC, PHOTOS

KINDS = ("image", "pdf", "video", "audio")


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def photo(index: int, folder: Path) -> Path:
    """A 12 MP (4000×3000) JPEG, quality 90, as a phone writes it: photo `index` of the set,
    cropped at a position of its own so every file differs."""
    from PIL import Image

    source = Image.open(PHOTOS[index % len(PHOTOS)]).convert("RGB")
    shift = (index // len(PHOTOS)) * 37 % max(1, source.width // 10)
    cropped = source.crop((shift, 0, source.width - source.width // 10 + shift, source.height))
    path = folder / f"photo-{index:03d}.jpg"
    cropped.resize((4000, 3000), Image.Resampling.BICUBIC).save(path, quality=90)
    return path


def pdf(index: int, folder: Path) -> Path:
    """Ten pages of gnuplot's manual, starting at page 10 × `index`."""
    import fitz

    manual = fitz.open(MANUAL)
    first = (index * 10) % (manual.page_count - 10)
    out = fitz.open()
    out.insert_pdf(manual, from_page=first, to_page=first + 9)
    path = folder / f"manual-{index:03d}.pdf"
    out.save(path, garbage=1)
    return path


def video(index: int, folder: Path) -> Path:
    """10 s of 1280×720 H.264 at 25 fps with AAC sound: a slideshow of two photos over a piece of
    the game's music, each file from other photos and another stretch of music."""
    listing = folder / f"slides-{index:03d}.txt"
    first, second = PHOTOS[index % len(PHOTOS)], PHOTOS[(index + 1) % len(PHOTOS)]
    listing.write_text(f"file '{first}'\nduration 5\nfile '{second}'\nduration 5\nfile '{second}'\n")
    path = folder / f"clip-{index:03d}.mp4"
    _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-ss", str(index * 7 % 60),
            "-i", str(MUSIC[index % len(MUSIC)]), "-t", "10", "-map", "0:v", "-map", "1:a",
            "-vf", "scale=1280:720:force_original_aspect_ratio=increase,crop=1280:720,format=yuv420p",
            "-r", "25", "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-c:a", "aac", "-b:a", "128k",
            str(path))
    return path


def audio(index: int, folder: Path) -> Path:
    """One minute of the game's music as 128 kb/s stereo MP3, each file another track or stretch."""
    path = folder / f"music-{index:03d}.mp3"
    _ffmpeg("-stream_loop", "-1", "-ss", str(index * 11 % 60), "-i", str(MUSIC[index % len(MUSIC)]),
            "-t", "60", "-ac", "2", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "128k", str(path))
    return path


MAKERS = {"image": photo, "pdf": pdf, "video": video, "audio": audio}


def make(kind: str, count: int, folder: Path, first: int = 0) -> list[Path]:
    """`count` distinct files of `kind`, numbered from `first`."""
    folder.mkdir(parents=True, exist_ok=True)
    return [MAKERS[kind](index, folder) for index in range(first, first + count)]
