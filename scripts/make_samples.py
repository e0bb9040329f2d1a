"""Make the demo's sample media under samples/ from real sources on this machine (no binaries in git).

Photos and data come from matplotlib's `mpl-data/sample_data` (Grace Hopper's portrait, a
photo of a gift pack, terrain elevation data); the script re-encodes them into each format the
seed lists.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import cbook  # noqa: E402
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


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    make_images()
    files = sorted(p for p in OUT.iterdir() if p.is_file())
    total = sum(p.stat().st_size for p in files)
    print(f"samples: {len(files)} files, {total / 1024:.0f} KiB in {OUT}/")


if __name__ == "__main__":
    main()
