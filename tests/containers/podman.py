"""Podman for the container test: a local Debian base image, the four Sequoia images, containers."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "localhost/sequoia-base:bookworm"
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
IMAGES = ("api", "worker-thumbnails", "worker-media", "flower")
# Rootful podman on these machines: no default ulimits (the sandbox refuses them), runc, host network.
_CONF = "[containers]\ndefault_ulimits = []\n"


def engine_env() -> dict[str, str]:
    """The environment podman runs with here (CONTAINERS_CONF without default ulimits)."""
    conf = Path(tempfile.gettempdir()) / "sequoia-containers.conf"
    if not conf.exists():
        conf.write_text(_CONF)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def podman(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run podman with this machine's settings; output captured."""
    return subprocess.run(["podman", "--runtime", "runc", *args], env=engine_env(), capture_output=True, text=True,
                          check=check, timeout=timeout)


def ensure_base_image() -> str:
    """The Debian bookworm base (python3, venv, CA certificates), made with debootstrap once."""
    if podman("image", "exists", BASE_IMAGE, check=False).returncode == 0:
        return BASE_IMAGE
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
                        "bookworm", str(root), MIRROR], check=True, capture_output=True, timeout=1200)
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
                     "usr/share/locale"):
            shutil.rmtree(root / junk, ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["podman", "import", "-", BASE_IMAGE], stdin=tar.stdout, env=engine_env(), check=True,
                       capture_output=True, timeout=600)
        tar.wait()
    return BASE_IMAGE


def build_images(tag: str) -> dict[str, str]:
    """Build the four images with docker/build-images.sh (the `make images` path); name by image."""
    env = {**engine_env(), "ENGINE": "podman", "BASE_IMAGE": ensure_base_image(), "REGISTRY": "localhost"}
    done = subprocess.run([str(ROOT / "docker" / "build-images.sh"), tag], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"image build failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return {name: f"localhost/sequoia-{name}:{tag}" for name in IMAGES}


def build_file(dockerfile: Path, image: str, context: Path | None = None) -> str:
    """Build one more image from `dockerfile` (`context` the build context, by default the
    Dockerfile's folder) on the local base, as build-images.sh builds (chroot, host network)."""
    args = ["build", "--isolation=chroot", "--network", "host", "--build-arg", f"BASE_IMAGE={ensure_base_image()}",
            "-f", str(dockerfile), "-t", image]
    ca = Path("/etc/ssl/certs/ca-certificates.crt")
    if ca.exists():
        args += ["--volume", f"{ca}:{ca}:ro"]
    done = podman(*args, str(context or dockerfile.parent), check=False, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"building {image} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return image


def add_names(image: str, *names: str) -> None:
    """Give `image` more names (a rendered manifest's image names, for instance)."""
    podman("tag", image, *names)


def image_size(image: str) -> int:
    """Bytes of the image, as podman counts them."""
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())


@dataclass
class Container:
    """A detached container started by this test."""

    name: str

    def logs(self) -> str:
        """Everything the container printed."""
        done = podman("logs", self.name, check=False)
        return done.stdout + done.stderr

    def running(self) -> bool:
        """The container still runs."""
        state = podman("inspect", "--format", "{{.State.Running}}", self.name, check=False).stdout.strip()
        return state == "true"

    def remove(self) -> None:
        """Stop (warm: SIGTERM first) and remove."""
        podman("rm", "--force", "--time", "10", self.name, check=False)


def run(image: str, name: str, env: dict[str, str], command: list[str] | None = None,
        detach: bool = True, read_only: dict[Path, str] | None = None) -> Container | subprocess.CompletedProcess:
    """Run `image` as the cluster does: non-root, read-only root filesystem, a tmpfs /tmp, host network;
    `read_only` mounts host folders (read-only) at the paths it names."""
    args = ["run", "--name", name, "--network", "host", "--ulimit", "host", "--read-only",
            "--tmpfs", "/tmp:rw,size=512m", "--user", "10001:10001", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges"]
    for folder, target in (read_only or {}).items():
        args += ["--volume", f"{folder}:{target}:ro"]
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    if detach:
        podman(*args, "--detach", image, *(command or []))
        return Container(name)
    return podman(*args, "--rm", image, *(command or []), check=False, timeout=300)
