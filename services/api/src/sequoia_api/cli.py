"""The `sequoia` command line: ingest files through the API and watch them finish."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sequoia_api.client import ApiError, SequoiaClient
from sequoia_core.settings import get_settings

console = Console(stderr=True)
UPLOAD_CHUNK = 20  # files per request: keeps each request small and the progress bar moving


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            yield path
        else:
            raise SystemExit(f"no such file or directory: {path}")


def _wait(client: SequoiaClient, batch_ids: list[str], total: int, timeout: float) -> None:
    with Progress(TextColumn("[bold]processing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        bar = progress.add_task("processing", total=total)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            finished = sum(client.batch(b)["finished"] for b in batch_ids)
            progress.update(bar, completed=finished)
            if finished >= total:
                return
            time.sleep(0.5)
    console.print(f"[yellow]timed out after {timeout:.0f}s with items still in progress")


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1024:.1f} KiB" if n < 1024**2 else f"{n / 1024**2:.1f} MiB"


def _summary(client: SequoiaClient, results: list[dict]) -> tuple[Table, list[dict], bool]:
    table = Table(title="Sequoia ingest")
    for column in ("file", "kind", "state", "derivatives", "time"):
        table.add_column(column)
    rows, ok = [], True
    for result in results:
        if result.get("media_id") is None:
            error = result["error"]
            rows.append({"file": result["filename"], "state": "rejected", "error": error})
            table.add_row(result["filename"], "-", f"[red]rejected: {error['code']}", "", "")
            ok = False
            continue
        item = client.media(result["media_id"])
        derivatives = ", ".join(
            f"{d['name']} {d['width']}×{d['height']} {_size(d['size_bytes'])}" if d.get("width")
            else f"{d['name']} {_size(d['size_bytes'])}"
            for d in item["derivatives"]
        )
        seconds = ""
        if item["completed_at"] and item["created_at"]:
            delta = datetime.fromisoformat(item["completed_at"]) - datetime.fromisoformat(item["created_at"])
            seconds = f"{delta.total_seconds():.2f} s"
        state = item["status"] if not item["error"] else f"{item['status']}: {item['error']['code']}"
        colour = "green" if item["status"] == "completed" else "red"
        table.add_row(item["original_filename"], item["media_kind"], f"[{colour}]{state}", derivatives, seconds)
        ok &= item["status"] == "completed"
        rows.append(item)
    return table, rows, ok


def cmd_ingest(client: SequoiaClient, args: argparse.Namespace) -> int:
    """Upload files (directories recurse), optionally wait for every item to finish."""
    paths = list(_files(args.paths))
    if not paths:
        raise SystemExit("nothing to ingest")
    results, batch_ids = [], []
    with Progress(TextColumn("[bold]uploading"), BarColumn(), MofNCompleteColumn(), console=console) as progress:
        bar = progress.add_task("upload", total=len(paths))
        for start in range(0, len(paths), UPLOAD_CHUNK):
            chunk = paths[start:start + UPLOAD_CHUNK]
            answer = client.ingest(args.voyage, chunk)
            results.extend(answer["files"])
            if answer.get("batch_id"):
                batch_ids.append(answer["batch_id"])
            progress.advance(bar, len(chunk))
    accepted = sum(1 for r in results if r.get("media_id"))
    if args.wait and accepted:
        _wait(client, batch_ids, accepted, args.timeout)
    if not args.wait:
        if args.json:
            print(json.dumps(results, indent=2))
        else:
            console.print(f"accepted {accepted} of {len(results)} file(s) in {len(batch_ids)} batch(es)")
        return 0 if accepted == len(results) else 1
    table, rows, ok = _summary(client, results)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        Console().print(table)
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    """The `sequoia` argument parser."""
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="sequoia", description="Operate Sequoia through its REST API.")
    parser.add_argument("--api-url", default=settings.sequoia_api_url)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    sub = parser.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest", help="upload files or directories for a voyage")
    ingest.add_argument("paths", nargs="+", type=Path)
    ingest.add_argument("--voyage", required=True, help="voyage slug")
    ingest.add_argument("--wait", action="store_true", help="wait until every item is final")
    ingest.add_argument("--timeout", type=float, default=600.0)
    ingest.set_defaults(handler=cmd_ingest)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `sequoia` console script."""
    args = build_parser().parse_args(argv)
    settings = get_settings()
    token = settings.api_tokens[0] if settings.api_tokens else None
    client = SequoiaClient(args.api_url, token)
    try:
        return args.handler(client, args)
    except ApiError as err:
        console.print(f"[red]error: {err}")
        return 2
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
