"""Hostile files: each must fail with one exact code (or, where the file is merely dishonest,
render what is really there), within the time limit, leaving the renderer's parent alive."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import fitz
from PIL import Image

from tests import factories
from tests.corpus import Maker, conformance, ffmpeg, pdf_bytes, png_bytes


def pixel_flood_png(folder: Path) -> Path:
    """IHDR claims 100000×100000 (10 gigapixels) in a 100-byte file."""
    path = folder / "pixel_flood.png"
    path.write_bytes(png_bytes(100_000, 100_000, 8, 2, None))
    return path


def pixel_flood_gif(folder: Path) -> Path:
    """A GIF whose logical screen and frame claim 65535×65535."""
    path = folder / "pixel_flood.gif"
    screen = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x02\x02\x44\x01\x00\x3b"
    path.write_bytes(screen + frame)
    return path


def lying_png(folder: Path) -> Path:
    """A header that lies: IHDR says 2000×2000 but the pixel data holds 8 rows of 8 pixels."""
    path = folder / "lying_header.png"
    rows = b"".join(b"\x00" + bytes(range(24)) for _ in range(8))
    path.write_bytes(png_bytes(2000, 2000, 8, 2, rows))
    return path


def truncated_jpeg(folder: Path) -> Path:
    """A JPEG cut off after its headers."""
    path = folder / "truncated.jpg"
    path.write_bytes(factories.truncated_jpeg())
    return path


def truncated_png(folder: Path) -> Path:
    """A PNG cut in the middle of its pixel data."""
    path = folder / "truncated.png"
    image = Image.effect_noise((600, 400), 60).convert("RGB")
    image.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def truncated_mp4(folder: Path) -> Path:
    """The first 4 KiB of an MP4 whose index (moov) sits at the end."""
    source = conformance.plain_mp4(folder)
    path = folder / "truncated.mp4"
    path.write_bytes(source.read_bytes()[:4096])
    return path


def zero_bytes(folder: Path) -> Path:
    """An empty file named like a photo."""
    path = folder / "empty.jpg"
    path.write_bytes(b"")
    return path


def html_as_jpeg(folder: Path) -> Path:
    """An HTML page named `.jpg`."""
    path = folder / "page.jpg"
    path.write_bytes(factories.html_page())
    return path


def mp3_as_jpeg(folder: Path) -> Path:
    """Real MP3 bytes under a photo's name: the content is allowed, the name lies (`type_mismatch`)."""
    path = folder / "song.jpg"
    path.write_bytes(conformance.mono_mp3(folder).read_bytes())
    return path


def hls_playlist(segment: Path, url: str = "http://127.0.0.1:9/probe.ts") -> bytes:
    """An HLS playlist naming a local file and a loopback URL: what ffmpeg's HLS demuxer would fetch."""
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:10.0,\nfile://{segment}\n#EXTINF:10.0,\n{url}\n#EXT-X-ENDLIST\n"
    ).encode()


def hls_as_mp4(folder: Path) -> Path:
    """An HLS playlist named `.mp4` pointing at a local file and at a loopback URL."""
    path = folder / "playlist.mp4"
    path.write_bytes(hls_playlist(Path("/etc/passwd")))
    return path


def concat_as_avi(folder: Path) -> Path:
    """An ffconcat script named `.avi` pointing at a local file."""
    path = folder / "concat.avi"
    path.write_bytes(b"ffconcat version 1.0\nfile /etc/passwd\n")
    return path


def encrypted_pdf(folder: Path) -> Path:
    """A PDF that needs a user password to open."""
    path = folder / "encrypted.pdf"
    document = fitz.open()
    document.new_page().insert_text((72, 72), "secret")
    document.save(path, encryption=fitz.PDF_ENCRYPT_AES_256, owner_pw="owner", user_pw="user")
    return path


def deflate_bomb(unit: bytes, repeats: int) -> bytes:
    """A zlib stream of `unit` × `repeats`, built from one compressed block repeated (seconds, not
    minutes, for gigabytes): a full flush makes every block after the first identical."""
    compressor = zlib.compressobj(9)
    first = compressor.compress(unit) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(unit) + compressor.flush(zlib.Z_FULL_FLUSH)
    checksum = 1
    for _ in range(repeats):
        checksum = zlib.adler32(unit, checksum)
    return first + block * (repeats - 1) + b"\x03\x00" + struct.pack(">I", checksum)


def pdf_stream_bomb(folder: Path) -> Path:
    """Page 1's content stream is 2 MiB that inflates to 2 GiB."""
    path = folder / "stream_bomb.pdf"
    path.write_bytes(pdf_bytes(b"", compressed=deflate_bomb(b" " * (4 << 20), 512)))
    return path


def pdf_slow_page(folder: Path) -> Path:
    """A small page painting a full-page gradient 400,000 times: under every size limit, only the clock
    stops it. A gradient costs each pixel a colour function (flat fills drew this page in 19.6 s on an
    idle core, too close to the tests' 20 s limit); this page takes minutes."""
    gradient = (b"/Resources << /Shading << /Sh1 << /ShadingType 2 /ColorSpace /DeviceRGB /Coords [0 0 612 792] "
                b"/Function << /FunctionType 2 /Domain [0 1] /C0 [1 0 0] /C1 [0 0 1] /N 1 >> >> >> >> ")
    path = folder / "slow_page.pdf"
    path.write_bytes(pdf_bytes(b"/Sh1 sh\n" * 400_000, extra=gradient))
    return path


def wav_claiming_2_31_frames(folder: Path) -> Path:
    """A WAV whose header claims 2³¹ frames (13.5 hours) but holds one second."""
    path = folder / "lying.wav"
    rate = 44100
    data = (b"\x00\x10\x00\xf0" * (rate // 2))
    header = (b"RIFF" + struct.pack("<I", 0xFFFFFFF0) + b"WAVE"
              + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate, 1, 8)
              + b"data" + struct.pack("<I", 2**31))
    path.write_bytes(header + data[:rate])
    return path


def many_frames_gif(folder: Path) -> Path:
    """60 tiny frames (the tests set the frame cap to 50)."""
    path = folder / "many_frames.gif"
    frames = [Image.new("RGB", (8, 8), (i * 4, 255 - i * 4, 0)) for i in range(60)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=20)
    return path


def audio_only_mp4(folder: Path) -> Path:
    """An MP4 (brand isom) holding sound only: no frame to show."""
    path = folder / "no_video.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine", "-t", "1", "-c:a", "aac", "-brand", "isom", str(path))
    return path


HOSTILE: dict[str, Maker] = {
    "pixel_flood_png": pixel_flood_png, "pixel_flood_gif": pixel_flood_gif, "lying_png": lying_png,
    "truncated_jpeg": truncated_jpeg, "truncated_png": truncated_png, "truncated_mp4": truncated_mp4,
    "zero_bytes": zero_bytes, "html_as_jpeg": html_as_jpeg, "mp3_as_jpeg": mp3_as_jpeg, "hls_as_mp4": hls_as_mp4,
    "concat_as_avi": concat_as_avi, "encrypted_pdf": encrypted_pdf, "pdf_stream_bomb": pdf_stream_bomb,
    "wav_2_31_frames": wav_claiming_2_31_frames, "audio_only_mp4": audio_only_mp4,
}
