"""Real-world edge cases each engine must render: orientation, colour models, bit depths, animation,
pages, rotation, odd sizes and rates."""

from __future__ import annotations

from pathlib import Path

import fitz
import numpy as np
from PIL import Image, ImageDraw

from tests.corpus import Maker, ffmpeg, png_bytes

RED, BLUE, GREEN = (220, 30, 30), (30, 30, 220), (30, 200, 60)


def _scene(width: int, height: int) -> Image.Image:
    """Red top half, blue bottom half, a green square top-left and a gradient: orientation and
    colour can be read back from any derivative."""
    image = Image.new("RGB", (width, height), BLUE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, height // 2), fill=RED)
    draw.rectangle((0, 0, width // 5, height // 5), fill=GREEN)
    gradient = Image.linear_gradient("L").resize((width, height // 8))
    image.paste(Image.merge("RGB", (gradient,) * 3), (0, height - height // 8))
    return image


def exif_rotated_jpeg(folder: Path) -> Path:
    """Stored sideways with orientation 6 (turn 90° clockwise to view): upright it is 600×800."""
    path = folder / "exif_rotated.jpg"
    upright = _scene(600, 800)
    exif = Image.Exif()
    exif[0x0112] = 6
    upright.transpose(Image.Transpose.ROTATE_90).save(path, quality=92, exif=exif)
    return path


def cmyk_jpeg(folder: Path) -> Path:
    """A print-ready CMYK JPEG (Adobe inverted CMYK, as Photoshop writes it)."""
    path = folder / "cmyk.jpg"
    _scene(1600, 1200).convert("CMYK").save(path, quality=90)
    return path


def broken_icc_jpeg(folder: Path) -> Path:
    """An RGB JPEG whose embedded ICC profile is garbage: ignored, as browsers do."""
    path = folder / "broken_icc.jpg"
    _scene(800, 600).save(path, quality=90, icc_profile=b"not a profile" * 40)
    return path


def rgb16_png(folder: Path) -> Path:
    """A 16-bit-per-channel RGB PNG (photographers' exports)."""
    path = folder / "rgb16.png"
    scene = np.asarray(_scene(900, 600), dtype=np.uint16) * 257
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in scene)
    path.write_bytes(png_bytes(900, 600, 16, 2, rows))
    return path


def grey16_png(folder: Path) -> Path:
    """A 16-bit greyscale PNG (scans, medical and scientific pictures)."""
    path = folder / "grey16.png"
    ramp = np.tile(np.linspace(0, 65535, 1000, dtype=np.uint16), (500, 1))
    Image.fromarray(ramp).save(path)
    return path


def palette_alpha_png(folder: Path) -> Path:
    """A palette PNG whose left half is fully transparent."""
    path = folder / "palette_alpha.png"
    image = _scene(640, 480).quantize(16)
    transparent = image.getpixel((0, 0))
    ImageDraw.Draw(image).rectangle((0, 0, 319, 479), fill=transparent)
    image.save(path, transparency=transparent)
    return path


def grey_alpha_png(folder: Path) -> Path:
    """Grey with alpha (LA)."""
    path = folder / "grey_alpha.png"
    Image.merge("LA", (Image.linear_gradient("L").resize((500, 400)), Image.new("L", (500, 400), 200))).save(path)
    return path


def progressive_jpeg(folder: Path) -> Path:
    """A 3000×2000 progressive JPEG."""
    path = folder / "progressive.jpg"
    _scene(3000, 2000).save(path, quality=90, progressive=True)
    return path


def small_jpeg(folder: Path) -> Path:
    """200×150: smaller than both sizes, so never upscaled."""
    path = folder / "small.jpg"
    _scene(200, 150).save(path, quality=90)
    return path


def _frames() -> list[Image.Image]:
    return [_scene(480, 360)] + [Image.new("RGB", (480, 360), colour) for colour in (GREEN, BLUE)]


def animated_gif(folder: Path) -> Path:
    """Three frames; the first is the scene."""
    path = folder / "animated.gif"
    first, *rest = _frames()
    first.save(path, save_all=True, append_images=rest, duration=100, loop=0)
    return path


def animated_webp(folder: Path) -> Path:
    """Three frames; the first is the scene."""
    path = folder / "animated.webp"
    first, *rest = _frames()
    first.save(path, save_all=True, append_images=rest, duration=100, loop=0, quality=90)
    return path


def lossless_webp(folder: Path) -> Path:
    """A lossless WebP with alpha, 2000×1500."""
    path = folder / "alpha.webp"
    image = _scene(2000, 1500).convert("RGBA")
    image.putalpha(Image.linear_gradient("L").resize((2000, 1500)))
    image.save(path, lossless=True, method=0)
    return path


def multipage_tiff(folder: Path) -> Path:
    """Two pages: the scene at 800×600, then a blue 1000×1000 page."""
    path = folder / "multipage.tiff"
    _scene(800, 600).save(path, save_all=True, append_images=[Image.new("RGB", (1000, 1000), BLUE)],
                          compression="tiff_deflate")
    return path


# -- PDF


def _document(pages: int, width: float = 612, height: float = 792) -> fitz.Document:
    document = fitz.open()
    for number in range(pages):
        page = document.new_page(width=width, height=height)
        page.draw_rect(fitz.Rect(0, 0, width, height / 2), color=None, fill=(0.86, 0.12, 0.12))
        page.insert_text((72, height * 0.75), f"Page {number + 1}", fontsize=min(width, height) / 10)
    return document


def ten_page_pdf(folder: Path) -> Path:
    """Ten US Letter pages."""
    path = folder / "ten_pages.pdf"
    _document(10).save(path)
    return path


def rotated_pdf(folder: Path) -> Path:
    """Page 1 carries /Rotate 90: shown landscape."""
    path = folder / "rotated.pdf"
    document = _document(2)
    document[0].set_rotation(90)
    document.save(path)
    return path


def huge_page_pdf(folder: Path) -> Path:
    """Page 1 is 200 × 100 inches (14400 × 7200 pt, the PDF maximum)."""
    path = folder / "huge_page.pdf"
    _document(1, 14400, 7200).save(path)
    return path


def owner_password_pdf(folder: Path) -> Path:
    """Encrypted with an owner password only: anyone may open it."""
    path = folder / "owner_only.pdf"
    _document(2).save(path, encryption=fitz.PDF_ENCRYPT_AES_256, owner_pw="owner-secret", user_pw="")
    return path


# -- video and audio


def plain_mp4(folder: Path) -> Path:
    """4 s of H.264 640×360 with AAC sound."""
    path = folder / "plain.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=frequency=330",
           "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
           "-c:a", "aac", str(path))
    return path


def rotated_mov(folder: Path) -> Path:
    """A phone video: 640×360 coded, rotation metadata 90° → shown 360×640."""
    path = folder / "rotated.mov"
    plain = folder / "unrotated.mov"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "2", "-c:v", "libx264", "-preset",
           "ultrafast", "-pix_fmt", "yuv420p", str(plain))
    # ffmpeg 5 writes the display matrix from the `rotate` tag when remuxing, not when encoding.
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(path))
    plain.unlink()
    return path


def black_intro_mkv(folder: Path) -> Path:
    """6 s whose first 3 s are black: the thumbnail must not be black."""
    path = folder / "black_intro.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=480x270:rate=25", "-t", "6",
           "-vf", "drawbox=c=black:t=fill:enable='lt(t,3)'", "-c:v", "libx264", "-preset", "ultrafast",
           "-g", "12", "-pix_fmt", "yuv420p", str(path))
    return path


def two_scenes_mp4(folder: Path) -> Path:
    """3 s of a red grid then 3 s of a blue one, keyframes only at 0 and 3 s: 10% (0.6 s) lies
    in the red scene, whose keyframe is *before* the seek target."""
    path = folder / "two_scenes.mp4"
    grid = "drawgrid=w=40:h=40:t=4:c=white"
    ffmpeg("-f", "lavfi", "-i", f"color=c=red:s=320x240:r=25:d=3,{grid}", "-f", "lavfi",
           "-i", f"color=c=blue:s=320x240:r=25:d=3,{grid}", "-filter_complex", "[0][1]concat=n=2:v=1[v]",
           "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-g", "1000", "-sc_threshold", "0",
           "-force_key_frames", "0,3", "-pix_fmt", "yuv420p", str(path))
    return path


def anamorphic_avi(folder: Path) -> Path:
    """720×576 with 16:15 pixels (PAL 4:3): shown 768×576, so the preview is 768×576."""
    path = folder / "anamorphic.avi"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25", "-t", "2", "-vf", "setsar=16/15",
           "-c:v", "mpeg4", "-q:v", "5", str(path))
    return path


def one_frame_mp4(folder: Path) -> Path:
    """A single frame (0.04 s)."""
    path = folder / "one_frame.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "1", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(path))
    return path


def webm_video(folder: Path) -> Path:
    """VP8 in WebM (sniffed as Matroska)."""
    path = folder / "clip.webm"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "1", "-c:v", "libvpx", "-b:v", "200k",
           str(path))
    return path


def mono_mp3(folder: Path) -> Path:
    """5 s of mono MP3 at 44.1 kHz: a tone that swells."""
    path = folder / "mono.mp3"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "5",
           "-af", "volume='t/5':eval=frame", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", str(path))
    return path


def stereo_wav(folder: Path) -> Path:
    """3 s of stereo 48 kHz PCM, different tones left and right."""
    path = folder / "stereo.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000", "-f", "lavfi",
           "-i", "sine=frequency=500:sample_rate=48000", "-t", "3", "-filter_complex", "amerge=inputs=2",
           "-c:a", "pcm_s16le", str(path))
    return path


def odd_rate_ogg(folder: Path) -> Path:
    """4 s of Vorbis at 11025 Hz."""
    path = folder / "odd_rate.ogg"
    ffmpeg("-f", "lavfi", "-i", "anoisesrc=sample_rate=11025:amplitude=0.4", "-t", "4", "-c:a", "libvorbis",
           str(path))
    return path


def adts_aac(folder: Path) -> Path:
    """6 s of raw ADTS AAC (whose header cannot say its duration)."""
    path = folder / "raw.aac"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:sample_rate=22050", "-t", "6", "-c:a", "aac", "-f", "adts",
           str(path))
    return path


def silent_wav(folder: Path) -> Path:
    """2 s of digital silence: a flat line, not an empty picture."""
    path = folder / "silence.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "2", "-c:a", "pcm_s16le", str(path))
    return path


IMAGES: dict[str, Maker] = {
    "exif_rotated": exif_rotated_jpeg, "cmyk": cmyk_jpeg, "broken_icc": broken_icc_jpeg, "rgb16": rgb16_png,
    "grey16": grey16_png, "palette_alpha": palette_alpha_png, "grey_alpha": grey_alpha_png,
    "progressive": progressive_jpeg, "small": small_jpeg, "animated_gif": animated_gif,
    "animated_webp": animated_webp, "alpha_webp": lossless_webp, "multipage_tiff": multipage_tiff,
}
PDFS: dict[str, Maker] = {
    "ten_pages": ten_page_pdf, "rotated": rotated_pdf, "huge_page": huge_page_pdf, "owner_only": owner_password_pdf,
}
VIDEOS: dict[str, Maker] = {
    "plain": plain_mp4, "rotated": rotated_mov, "black_intro": black_intro_mkv, "anamorphic": anamorphic_avi,
    "one_frame": one_frame_mp4, "webm": webm_video, "two_scenes": two_scenes_mp4,
}
AUDIO: dict[str, Maker] = {
    "mono_mp3": mono_mp3, "stereo_wav": stereo_wav, "odd_rate_ogg": odd_rate_ogg, "adts_aac": adts_aac,
    "silence": silent_wav,
}

