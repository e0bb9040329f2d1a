"""Every file the API's pages read at run time (templates, the scripts they include) is package data:
an installed API (the image installs the package, not the source tree) has each of them."""

from __future__ import annotations

import tomllib
from pathlib import Path

API = Path(__file__).parents[2] / "services" / "api"


def test_every_template_file_is_package_data():
    globs = tomllib.loads((API / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["sequoia_api"]
    package = API / "src" / "sequoia_api"
    files = sorted(p.relative_to(package) for p in (package / "templates").iterdir() if p.is_file())

    assert files and {p.name for p in files} >= {"voyage.html", "thumbhash.js"}
    assert [str(p) for p in files if not any(p.match(pattern) for pattern in globs)] == []
