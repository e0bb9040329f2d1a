"""The lock is the truth: uv.lock matches the pyproject.toml files and requirements/ is its export
(what `make install`, CI and the images install with --require-hashes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_lock_and_its_exports_are_current():
    uv = Path(sys.executable).with_name("uv")
    done = subprocess.run([str(ROOT / "scripts" / "lock.sh"), "--check"], capture_output=True, text=True,
                          env={"UV": str(uv), "PATH": "/usr/bin:/bin"}, timeout=120)

    assert done.returncode == 0, f"{done.stderr}{done.stdout}\nrun `make lock` and commit uv.lock and requirements/"


def test_every_image_installs_from_the_lock_with_hashes():
    for dockerfile in (ROOT / "docker").glob("*.Dockerfile"):
        text = dockerfile.read_text()
        assert f"COPY requirements/{dockerfile.name.removesuffix('.Dockerfile')}.txt" in text, dockerfile.name
        assert "--require-hashes -r /src/requirements.txt" in text and "--no-deps /src/core" in text, dockerfile.name
