"""`sequoia-render FILE... --out DIR [--json]`: the derivative engines without the stack.

No Redis, Postgres or S3: each file is sniffed and rendered locally, by the very engine the worker
uses, and described by one JSON line. Exit status 0 when every file rendered, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from sequoia_core.errors import SequoiaError
from sequoia_core.settings import get_settings
from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers.base import RenderSpec


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sequoia-render", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="originals to render")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="where derivatives go")
    parser.add_argument("--json", action="store_true", help="JSON lines only (the default output is JSON "
                        "lines too; without --json a summary line goes to stderr)")
    parser.add_argument("--format", choices=("jpeg", "webp", "avif"),
                        help="format of every recipe's picture (default: each recipe's own)")
    parser.add_argument("--quality", type=int,
                        help="quality 1-100 of every recipe's picture (default: each recipe's own)")
    parser.add_argument("--image-engine", choices=("auto", "pillow", "vips"), help="image decoder (default: auto)")
    parser.add_argument("--timeout", type=float, help="time limit of one render, seconds")
    return parser


def _spec(args: argparse.Namespace) -> RenderSpec:
    spec = RenderSpec.from_settings(get_settings())
    overrides: dict[str, Any] = {}
    recipe_changes: dict[str, Any] = {}
    if args.format:
        recipe_changes["format"] = args.format
    if args.quality is not None:
        recipe_changes["quality"] = max(1, min(100, args.quality))
    if recipe_changes:
        overrides["recipes"] = tuple(replace(recipe, **recipe_changes) for recipe in spec.recipes)
    if args.image_engine:
        overrides["image_engine"] = args.image_engine
    if args.timeout:
        overrides["time_limit_seconds"] = args.timeout
    return replace(spec, **overrides)


def _out_dir(root: Path, source: Path, index: int, taken: set[str]) -> Path:
    """One folder per input, named after it (made unique when two inputs share a name)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", source.name) or f"file{index}"
    if name in taken:
        name = f"{name}-{index}"
    taken.add(name)
    return root / name


def render_one(engine: Engine, source: Path, out_dir: Path) -> dict[str, Any]:
    """The JSON line describing one input: its derivatives, or its error."""
    line: dict[str, Any] = {"source": str(source), "kind": None, "derivatives": [], "error": None}
    try:
        fmt, result = engine.render(source, out_dir, filename_hint=source.name)
    except SequoiaError as err:
        line["error"] = {"code": str(err.code), "message": err.message}
        return line
    except OSError as err:  # a missing or unreadable input
        line["error"] = {"code": "unreadable", "message": f"{err.strerror or err}: {source}"}
        return line
    line["kind"] = fmt.kind.value
    line["derivatives"] = result.describe()
    line["metadata"] = result.metadata
    line["thumbhash"] = None if result.thumbhash is None else base64.b64encode(result.thumbhash).decode()
    return line


def main(argv: list[str] | None = None) -> int:
    """Render every FILE into DIR and print one JSON line per FILE."""
    args = _parser().parse_args(argv)
    engine = Engine(_spec(args))
    args.out.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    failed = 0
    for index, source in enumerate(args.files):
        line = render_one(engine, source, _out_dir(args.out, source, index, taken))
        failed += line["error"] is not None
        print(json.dumps(line, default=str), flush=True)
    if not args.json:
        print(f"sequoia-render: {len(args.files) - failed} rendered, {failed} failed", file=sys.stderr)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
