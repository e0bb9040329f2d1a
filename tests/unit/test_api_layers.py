"""The API's layers stay where a newcomer looks for them: the application logic (`services/`) imports
no web framework and none of the HTTP plumbing or routes, so it can be called and read without them."""

from __future__ import annotations

import ast
from pathlib import Path

import sequoia_api

SERVICES = Path(sequoia_api.__file__).parent / "services"
FORBIDDEN = ("fastapi", "starlette", "sequoia_api.http", "sequoia_api.routes")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_services_import_no_web_framework_nor_http_plumbing():
    modules = sorted(SERVICES.glob("*.py"))
    assert len(modules) > 5, "the services package was found"
    for module in modules:
        bad = {n for n in _imports(module) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)}
        assert not bad, f"{module.name} imports {sorted(bad)}"
