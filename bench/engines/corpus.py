"""The bench corpus, made once into var/bench/corpus from real files on this machine (Debian's
mate-backgrounds photos, gnuplot-doc's manual, extremetuxracer-data's music) and ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path

PHOTO = Path("/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg")
PHOTOS = sorted(Path("/usr/share/backgrounds/mate/nature").glob("*.jpg"))
MANUAL = Path("/usr/share/doc/gnuplot/gnuplot.pdf")
MUSIC = sorted(Path("/usr/share/games/etr/music").glob("*.ogg"))
SIZE_24MP = (6000, 4000)


def missing_sources() -> list[str]:
    """Debian packages whose files the corpus needs but which are not installed."""
    needs = {"mate-backgrounds": PHOTO, "gnuplot-doc": MANUAL, "extremetuxracer-data": MUSIC[0] if MUSIC else None,
             "libheif-examples": Path("/usr/bin/heif-enc"), "libavif-bin": Path("/usr/bin/avifenc")}
    return [package for package, path in needs.items() if path is None or not path.exists()]


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _once(path: Path, make) -> Path:
    if not path.exists():
        partial = path.with_name(path.name + ".partial" + path.suffix)
        make(partial)
        partial.rename(path)
    return path


def images(folder: Path) -> dict[str, Path]:
    """A 24 MP photo in every image format (plus the real PNG wallpaper as it ships)."""
    from PIL import Image

    photo = Image.open(PHOTO).convert("RGB").resize(SIZE_24MP, Image.Resampling.LANCZOS) \
        if not (folder / "photo_24mp.jpg").exists() else None

    def encoded(tool: list[str]):  # a 12 MP phone-sized photo through a real HEIC/AVIF encoder
        def make(path: Path) -> None:
            png = _once(folder / "photo_12mp.png", from_photo("PNG", compress_level=1, size=(4032, 3024)))
            subprocess.run([*tool, str(png), str(path)] if tool[0] == "avifenc" else [*tool, "-o", str(path), str(png)],
                           check=True, capture_output=True)
        return make

    def from_photo(fmt: str, size: tuple[int, int] | None = None, **options):
        def make(path: Path) -> None:
            source = photo if photo is not None else Image.open(folder / "photo_24mp.jpg")
            if fmt == "GIF":
                source = source.resize((2400, 1600)).quantize(256)
            if size:
                source = source.resize(size, Image.Resampling.LANCZOS)
            source.save(path, format=fmt, **options)
        return make

    return {
        "jpeg_24mp": _once(folder / "photo_24mp.jpg", from_photo("JPEG", quality=92)),
        "webp_24mp": _once(folder / "photo_24mp.webp", from_photo("WEBP", quality=90, method=4)),
        "png_24mp": _once(folder / "photo_24mp.png", from_photo("PNG", compress_level=6)),
        "tiff_24mp": _once(folder / "photo_24mp.tiff", from_photo("TIFF")),
        "gif_4mp": _once(folder / "photo_4mp.gif", from_photo("GIF")),
        "heic_12mp": _once(folder / "photo_12mp.heic", encoded(["heif-enc", "-q", "80"])),
        "avif_12mp": _once(folder / "photo_12mp.avif", encoded(["avifenc", "-s", "6"])),
        "png_wallpaper": Path("/usr/share/backgrounds/mate/desktop/Ubuntu-Mate-Cold-no-logo.png"),
    }


def pdfs(folder: Path) -> dict[str, Path]:
    """gnuplot's manual cut to 10 pages, and repeated to 3,000."""
    import fitz


    def pages(count: int):
        def make(path: Path) -> None:
            manual = fitz.open(MANUAL)
            out = fitz.open()
            while out.page_count < count:
                out.insert_pdf(manual, to_page=min(manual.page_count, count - out.page_count) - 1)
            out.save(path, garbage=1)
        return make

    return {
        "pdf_10_pages": _once(folder / "manual_10.pdf", pages(10)),
        "pdf_3000_pages": _once(folder / "manual_3000.pdf", pages(3000)),
    }


def videos(folder: Path) -> dict[str, Path]:
    """A 1-minute 720p H.264 slideshow of the photos, and the same looped to 60 minutes."""

    def one_minute(path: Path) -> None:
        listing = folder / "slides.txt"
        listing.write_text("".join(f"file '{p}'\nduration 5\n" for p in PHOTOS[:12]) + f"file '{PHOTOS[0]}'\n")
        _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-t", "60",
                "-vf", "scale=1280:720:force_original_aspect_ratio=increase,crop=1280:720,format=yuv420p",
                "-r", "25", "-c:v", "libx264", "-preset", "veryfast", "-g", "250", str(path))

    clip = _once(folder / "slides_1min.mp4", one_minute)

    def sixty_minutes(path: Path) -> None:
        listing = folder / "loop.txt"
        listing.write_text(f"file '{clip}'\n" * 60)
        _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(path))

    return {"video_1min": clip, "video_60min": _once(folder / "slides_60min.mp4", sixty_minutes),
            "video_30min": camera_like(folder)}


def camera_like(folder: Path) -> Path:
    """30 minutes of 1080p30 H.264 with a keyframe every 50 frames, as cameras and phones write it:
    65 s of lavfi's moving test pattern, looped 28 times (10% then falls between two keyframes)."""

    def clip(path: Path) -> None:
        _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30", "-t", "65", "-pix_fmt", "yuv420p",
                "-c:v", "libx264", "-preset", "veryfast", "-g", "50", str(path))

    base = _once(folder / "camera_65s.mp4", clip)

    def looped(path: Path) -> None:
        listing = folder / "camera_loop.txt"
        listing.write_text(f"file '{base}'\n" * 28)
        _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(path))

    return _once(folder / "camera_30min.mp4", looped)


def audio(folder: Path) -> dict[str, Path]:
    """The game's music as 128 kb/s stereo MP3: 10 minutes, and that looped to 60."""

    def ten_minutes(path: Path) -> None:
        listing = folder / "music.txt"
        listing.write_text("".join(f"file '{p}'\n" for p in MUSIC) * 2)
        _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-t", "600",
                "-ac", "2", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "128k", str(path))

    ten = _once(folder / "music_10min.mp3", ten_minutes)

    def sixty_minutes(path: Path) -> None:
        listing = folder / "music_loop.txt"
        listing.write_text(f"file '{ten}'\n" * 6)
        _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(path))

    return {"mp3_10min": ten, "mp3_60min": _once(folder / "music_60min.mp3", sixty_minutes)}


def build(folder: Path) -> dict[str, Path]:
    """Every bench input by case name, made where missing."""
    folder.mkdir(parents=True, exist_ok=True)
    return {**images(folder), **pdfs(folder), **videos(folder), **audio(folder)}
