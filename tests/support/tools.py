"""Missing tools fail the test that needs them, naming the one command that installs them."""

from __future__ import annotations

import shutil

import pytest

APT_HINT = "run `make test` as root (it installs .ci/apt-packages) or `sudo apt-get install -y {package}`"


def require_binary(name: str, package: str) -> str:
    """The path of `name` on PATH; fails the test with the install command when it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: {APT_HINT.format(package=package)}", pytrace=False)
    return path
