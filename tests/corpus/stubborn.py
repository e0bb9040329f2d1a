"""Pictures people upload that one decoder or the other refuses: HEIC and AVIF made by the real
encoders (`heif-enc` of libheif-examples, `avifenc` of libavif-bin), and TIFFs and PNGs written
with options the seed corpus does not use."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, PngImagePlugin

from tests.corpus import tiff_bytes
from tests.corpus.conformance import _scene


def _encode(tool: str, *args: str) -> None:
    """Run an encoder quietly; fail loudly if it is missing or fails."""
    subprocess.run([tool, *args], check=True, capture_output=True)


def _scene_png(folder: Path, name: str, transpose: Image.Transpose | None = None) -> Path:
    image = _scene(800, 600)
    path = folder / f"{name}.png"
    (image if transpose is None else image.transpose(transpose)).save(path)
    return path


def heic(folder: Path) -> Path:
    """An 800×600 HEIC (HEVC-coded, as phones write them)."""
    path = folder / "phone.heic"
    _encode("heif-enc", "-q", "60", "-o", str(path), str(_scene_png(folder, "heic_source")))
    return path


def avif(folder: Path) -> Path:
    """An 800×600 AVIF (AV1-coded)."""
    path = folder / "scene.avif"
    _encode("avifenc", "-s", "8", str(_scene_png(folder, "avif_source")), str(path))
    return path


def rotated_avif(folder: Path) -> Path:
    """Stored sideways (600×800) with `irot` 1 (turn 90° anticlockwise to view): upright 800×600."""
    path = folder / "rotated.avif"
    source = _scene_png(folder, "rotated_avif_source", Image.Transpose.ROTATE_270)
    _encode("avifenc", "-s", "8", "--irot", "1", str(source), str(path))
    return path


def truncated_heic(folder: Path) -> Path:
    """A HEIC cut after its header: the coded picture is missing."""
    data = heic(folder).read_bytes()
    path = folder / "truncated.heic"
    path.write_bytes(data[: len(data) // 2])
    return path


# -- TIFFs and PNGs one decoder or the other refuses (or misreads)

_RGB = 2


def _scene_array() -> np.ndarray:
    return np.asarray(_scene(800, 600))


def bigtiff(folder: Path) -> Path:
    """A BigTIFF (64-bit offsets, `II+`)."""
    path = folder / "bigtiff.tif"
    tifffile.imwrite(path, _scene_array(), bigtiff=True, photometric="rgb")
    return path


def planar_stripped_tiff(folder: Path) -> Path:
    """RGB stored plane by plane (PlanarConfiguration 2) in strips."""
    path = folder / "planar_stripped.tif"
    tifffile.imwrite(path, np.moveaxis(_scene_array(), _RGB, 0), photometric="rgb", planarconfig="separate",
                     rowsperstrip=64)
    return path


def planar_tiled_tiff(folder: Path) -> Path:
    """RGB stored plane by plane in 256×256 tiles (libvips 8.14 refuses it)."""
    path = folder / "planar_tiled.tif"
    tifffile.imwrite(path, np.moveaxis(_scene_array(), _RGB, 0), photometric="rgb", planarconfig="separate",
                     tile=(256, 256))
    return path


def float_rgb_tiff(folder: Path) -> Path:
    """32-bit float RGB (0..1), which Pillow cannot decode."""
    path = folder / "float_rgb.tif"
    tifffile.imwrite(path, _scene_array().astype(np.float32) / 255, photometric="rgb")
    return path


def float_grey_tiff(folder: Path) -> Path:
    """32-bit float grey (0..1)."""
    path = folder / "float_grey.tif"
    tifffile.imwrite(path, np.asarray(_scene(800, 600).convert("L"), dtype=np.float32) / 255,
                     photometric="minisblack")
    return path


def rgb16_tiff(folder: Path) -> Path:
    """16 bits per sample RGB."""
    path = folder / "rgb16.tif"
    tifffile.imwrite(path, _scene_array().astype(np.uint16) * 257, photometric="rgb")
    return path


def grey12_tiff(folder: Path) -> Path:
    """12-bit grey, two samples packed in three bytes (no Python writer makes one; libvips refuses it)."""
    samples = np.asarray(_scene(800, 600).convert("L"), dtype=np.uint16).reshape(-1) * 16
    first, second = samples[0::2], samples[1::2]
    packed = np.stack([first >> 4, ((first & 0xF) << 4) | (second >> 8), second & 0xFF], axis=1)
    data = packed.astype(np.uint8).tobytes()
    path = folder / "grey12.tif"
    path.write_bytes(tiff_bytes({256: (3, [800]), 257: (3, [600]), 258: (3, [12]), 259: (3, [1]), 262: (3, [1]),
                                 273: (4, [None]), 277: (3, [1]), 278: (3, [600]), 279: (4, [len(data)])}, data))
    return path


def old_jpeg_tiff(folder: Path) -> Path:
    """Old-style JPEG-in-TIFF (Compression 6): a whole JFIF stream named by JPEGInterchangeFormat,
    as 1990s scanners and early cameras wrote them (libvips refuses it)."""
    stream = io.BytesIO()
    _scene(800, 600).save(stream, "JPEG", quality=90)
    jpeg = stream.getvalue()
    path = folder / "old_jpeg.tif"
    path.write_bytes(tiff_bytes({256: (3, [800]), 257: (3, [600]), 258: (3, [8, 8, 8]), 259: (3, [6]),
                                 262: (3, [6]), 273: (4, [None]), 277: (3, [3]), 278: (3, [600]),
                                 279: (4, [len(jpeg)]), 513: (4, [None]), 514: (4, [len(jpeg)])}, jpeg))
    return path


def preview_first_tiff(folder: Path) -> Path:
    """A 160×120 preview directory (NewSubfileType 1, reduced resolution) before the 800×600 picture,
    as scanners and cameras write them."""
    path = folder / "preview_first.tif"
    with tifffile.TiffWriter(path) as tiff:
        tiff.write(np.asarray(_scene(800, 600).resize((160, 120))), photometric="rgb", subfiletype=1)
        tiff.write(_scene_array(), photometric="rgb")
    return path


def xmp_rotated_png(folder: Path) -> Path:
    """Stored sideways with its orientation (6) in XMP only, no EXIF: upright it is 800×600."""
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/>'
           "</rdf:RDF></x:xmpmeta>")
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp)
    path = folder / "xmp_rotated.png"
    _scene(800, 600).transpose(Image.Transpose.ROTATE_90).save(path, pnginfo=info)
    return path

