"""Make the demo's sample media under samples/ from real sources on this machine (no binaries in git).

Photos and data come from matplotlib's `mpl-data/sample_data` (Grace Hopper's portrait, a
photo of a gift pack, terrain elevation data, an EEG recording, stock prices); the script
re-encodes them into each format the seed lists: images, a PDF report of the data, a short video
panning over the photos (ffmpeg) and a short sonification of the EEG (ffmpeg). Under 2 MB in all.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import cbook  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from PIL import Image  # noqa: E402

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "samples")


def sample(name: str) -> Path:
    return Path(cbook.get_sample_data(name, asfileobj=False))


def terrain_photo(path: Path) -> None:
    """Elevation data rendered as a 2400×1800 shaded-relief picture (a large photo-like image)."""
    dem = np.load(sample("jacksboro_fault_dem.npz"))["elevation"]
    light = matplotlib.colors.LightSource(azdeg=315, altdeg=45)
    rgb = light.shade(dem, cmap=plt.cm.gist_earth, vert_exag=0.05, blend_mode="soft")
    image = Image.fromarray((rgb[..., :3] * 255).astype("uint8")).resize((2400, 1800), Image.Resampling.BICUBIC)
    image.save(path, quality=92)


def make_images() -> None:
    hopper = Image.open(sample("grace_hopper.jpg"))
    hopper.save(OUT / "grace_hopper.jpg")
    hopper.save(OUT / "grace_hopper.webp", quality=90)
    hopper.convert("P", palette=Image.Palette.ADAPTIVE).save(OUT / "grace_hopper.gif")
    # EXIF orientation 6: stored sideways, shown upright by every viewer (and by Sequoia).
    exif = Image.Exif()
    exif[0x0112] = 6
    hopper.transpose(Image.Transpose.ROTATE_90).save(OUT / "grace_hopper_rotated.jpg", exif=exif)
    Image.open(sample("Minduka_Present_Blue_Pack.png")).save(OUT / "present.png")
    Image.open(sample("logo2.png")).save(OUT / "matplotlib_logo.tiff", compression="tiff_deflate")
    terrain_photo(OUT / "jacksboro_terrain.jpg")


def make_pdf(path: Path) -> None:
    """A three-page report of the sample data: terrain, stock prices, the portrait (pictures kept
    small: a PDF stores them losslessly)."""
    dem = np.load(sample("jacksboro_fault_dem.npz"))["elevation"]
    prices = np.load(sample("goog.npz"))["price_data"]
    with PdfPages(path) as pdf:
        figure, axes = plt.subplots(figsize=(8.27, 11.69))
        axes.imshow(dem[::3, ::3], cmap="gist_earth")
        axes.set_title("Jacksboro fault: elevation")
        pdf.savefig(figure)
        plt.close(figure)
        figure, axes = plt.subplots(figsize=(11.69, 8.27))
        axes.plot(prices["date"], prices["adj_close"])
        axes.set_title("GOOG adjusted close")
        pdf.savefig(figure)
        plt.close(figure)
        figure, axes = plt.subplots(figsize=(8.27, 11.69))
        axes.imshow(Image.open(sample("grace_hopper.jpg")).reduce(3))
        axes.set_axis_off()
        pdf.savefig(figure)
        plt.close(figure)


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_video(path: Path) -> None:
    """Six seconds panning over the terrain picture and the portrait (H.264, 640×360)."""
    with tempfile.TemporaryDirectory() as tmp:
        terrain, hopper = Path(tmp) / "terrain.png", Path(tmp) / "hopper.png"
        terrain_photo(terrain)
        Image.open(sample("grace_hopper.jpg")).save(hopper)
        pan = "scale=1280:-2,crop=640:360:x='(in_w-640)*t/3':y='(in_h-360)/2',format=yuv420p"
        _ffmpeg("-loop", "1", "-t", "3", "-i", str(terrain), "-loop", "1", "-t", "3", "-i", str(hopper),
                "-filter_complex", f"[0]{pan}[a];[1]scale=640:360:force_original_aspect_ratio=increase,"
                "crop=640:360,format=yuv420p[b];[a][b]concat=n=2:v=1[v]",
                "-map", "[v]", "-r", "25", "-c:v", "libx264", "-preset", "slow", "-crf", "30", str(path))


def make_audio(path: Path) -> None:
    """Ten seconds of an EEG recording made audible: a tone whose loudness and pitch follow two channels."""
    eeg = np.fromfile(sample("eeg.dat"), dtype=float).reshape(4, -1)  # 4 channels × 800 samples
    rate, seconds = 22050, 10.0
    t = np.linspace(0, seconds, int(rate * seconds), endpoint=False)
    positions = np.linspace(0, eeg.shape[1] - 1, t.size)

    def channel(index: int) -> np.ndarray:
        values = np.interp(positions, np.arange(eeg.shape[1]), eeg[index])
        return (values - values.min()) / (np.ptp(values) or 1.0)

    pitch = 220 + 440 * channel(1)
    signal = channel(0) ** 2 * np.sin(2 * np.pi * np.cumsum(pitch) / rate)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "eeg.wav"
        with wave.open(str(raw), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes((signal * 0.8 * 32767).astype("<i2").tobytes())
        _ffmpeg("-i", str(raw), "-c:a", "libmp3lame", "-b:a", "48k", str(path))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    make_images()
    make_pdf(OUT / "sample_data_report.pdf")
    if shutil.which("ffmpeg"):
        make_video(OUT / "terrain_pan.mp4")
        make_audio(OUT / "eeg_sonified.mp3")
    else:
        print("samples: no ffmpeg, so no video or audio sample (apt-get install ffmpeg)")
    files = sorted(p for p in OUT.iterdir() if p.is_file())
    total = sum(p.stat().st_size for p in files)
    print(f"samples: {len(files)} files, {total / 1024:.0f} KiB in {OUT}/")


if __name__ == "__main__":
    main()
