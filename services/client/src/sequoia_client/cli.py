"""The `sequoia` command line: ingest files through the API and watch them finish. Every call goes
through `Client`; this module only parses arguments and draws tables and progress bars."""

from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TransferSpeedColumn)
from rich.table import Table
from rich.text import Text

from sequoia_client.client import Client
from sequoia_client.config import DEFAULT_API_URL, ClientConfig
from sequoia_client.errors import ResponseError

console = Console(stderr=True)
# The client installs without the server's packages, so it keeps its own copies of the item states and
# media kinds; tests/unit/test_client_vocabulary.py holds them equal to sequoia_core's.
STATES = ("pending", "queued", "processing", "retrying", "completed", "failed", "cancelled")
KINDS = ("image", "pdf", "video", "audio")
UPLOAD_CHUNK = 20  # files per request: keeps each request small (a retry resends one chunk, never all)


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            yield path
        else:
            raise SystemExit(f"no such file or directory: {path}")


def _wait(client: Client, batch_ids: list[str], total: int, timeout: float) -> None:
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


def plain(value: object, style: str = "") -> Text:
    """Text from the server or a file system, shown as text (never rich markup), control characters removed."""
    return Text("".join(ch for ch in str(value) if unicodedata.category(ch) not in ("Cc", "Cs")), style=style)


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1024:.1f} KiB" if n < 1024**2 else f"{n / 1024**2:.1f} MiB"


def _summary(client: Client, results: list[dict]) -> tuple[Table, list[dict], bool]:
    table = Table(title="Sequoia ingest")
    for column in ("file", "kind", "state", "derivatives", "time"):
        table.add_column(column)
    rows, ok = [], True
    for result in results:
        if result.get("media_id") is None:
            error = result["error"]
            rows.append({"file": result["filename"], "state": "rejected", "error": error})
            table.add_row(plain(result["filename"]), "-", plain(f"rejected: {error['code']}", "red"), "", "")
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
        table.add_row(plain(item["original_filename"]), plain(item["media_kind"]), plain(state, colour),
                      plain(derivatives), seconds)
        ok &= item["status"] == "completed"
        rows.append(item)
    return table, rows, ok


def cmd_ingest(client: Client, args: argparse.Namespace) -> int:
    """Upload files (directories recurse), optionally wait for every item to finish."""
    paths = list(_files(args.paths))
    if not paths:
        raise SystemExit("nothing to ingest")
    results, batch_ids = [], []
    with Progress(TextColumn("[bold]uploading"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=console) as progress:
        bar = progress.add_task("upload", total=sum(p.stat().st_size for p in paths))
        done = 0
        for start in range(0, len(paths), UPLOAD_CHUNK):
            chunk = paths[start:start + UPLOAD_CHUNK]
            answer = client.ingest(args.voyage, chunk, dedupe=args.dedupe, priority=args.priority,
                                   on_progress=lambda sent, _total: progress.update(bar, completed=done + sent))
            done += sum(p.stat().st_size for p in chunk)
            results.extend(answer["files"])
            if answer.get("batch_id"):
                batch_ids.append(answer["batch_id"])
    accepted = sum(1 for r in results if r["status"] == "accepted")
    known = sum(1 for r in results if r.get("media_id"))  # accepted, and duplicates of items already there
    if args.wait and accepted:
        _wait(client, batch_ids, accepted, args.timeout)
    if not args.wait:
        if args.json:
            print(json.dumps(results, indent=2))
        else:
            duplicates = known - accepted
            console.print(f"accepted {accepted} of {len(results)} file(s) in {len(batch_ids)} batch(es)"
                          + (f", {duplicates} already in the voyage" if duplicates else ""))
            _print_gallery_link(client, args.voyage)
        return 0 if known == len(results) else 1
    table, rows, ok = _summary(client, results)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        Console().print(table)
        _print_gallery_link(client, args.voyage)
    return 0 if ok else 1


def _print_gallery_link(client: Client, voyage: str) -> None:
    """End with a signed, read-only link to the voyage's gallery (it carries no token)."""
    link = client.gallery_link(voyage)
    console.print(f"gallery (read-only, until {link['expires_at']}): {link['url']}", markup=False, soft_wrap=True)


def _print(args: argparse.Namespace, data: Any, table: Table) -> None:
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        Console().print(table)


def cmd_status(client: Client, args: argparse.Namespace) -> int:
    """A voyage's counts by state, progress and failures."""
    status = client.voyage_status(args.voyage)
    table = Table(title=f"voyage {args.voyage}: {status['progress_percent']}% done of {status['total']}")
    for column in ("kind", *STATES, "stale"):  # stale: made under recipes since changed (rerender-stale)
        table.add_column(column)
    stale = status.get("stale_by_kind", {})
    for kind, counts in sorted(status["counts_by_kind"].items()):
        table.add_row(kind, *(str(counts.get(state, 0)) for state in STATES), str(stale.get(kind, 0)))
    for failed in status["failed_items"]:
        table.add_row(plain(failed["filename"], "red"), plain(failed["error"]["code"]),
                      plain(failed["error"].get("message") or ""))
    _print(args, status, table)
    return 1 if status["counts_by_state"].get("failed") else 0


def cmd_stats(client: Client, args: argparse.Namespace) -> int:
    """Totals, failure rate, throughput and runtime percentiles."""
    stats = client.stats(args.window)
    window = stats["window"]
    table = Table(title=f"last {args.window}: {window['completed']} completed, {window['failed']} failed, "
                        f"failure rate {window['failure_rate']}, {window['throughput_per_minute']}/min")
    for column in ("kind", "completed", "failed", "p50 s", "p95 s"):
        table.add_column(column)
    for kind, runtime in sorted(stats["runtime_by_kind"].items()):
        table.add_row(kind, str(runtime["completed"]), str(runtime["failed"]),
                      f"{runtime['p50_seconds'] or 0:.3f}", f"{runtime['p95_seconds'] or 0:.3f}")
    table.add_row("queues", *(f"{q}={n}" for q, n in stats["queue_depths"].items()))
    _print(args, stats, table)
    return 0


def cmd_retry_failed(client: Client, args: argparse.Namespace) -> int:
    """Requeue failed items."""
    result = client.retry_failed(voyage_slug=args.voyage, media_kind=args.kind, error_code=args.error_code,
                                 limit=args.limit, dry_run=args.dry_run, include_permanent=args.include_permanent)
    table = Table(title=f"{'would retry' if result['dry_run'] else 'retried'} {result['count']} item(s)")
    for column in ("media", "previous error", "new task"):
        table.add_column(column)
    for item in result["items"]:
        table.add_row(item["media_id"], item["previous_error_code"] or "", item["task_id"] or "")
    _print(args, result, table)
    return 0


def cmd_rerender_stale(client: Client, args: argparse.Namespace) -> int:
    """Render stale items again."""
    result = client.rerender_stale(voyage_slug=args.voyage, media_kind=args.kind, limit=args.limit,
                                   dry_run=args.dry_run)
    table = Table(title=f"{'would render again' if result['dry_run'] else 'requeued'} {result['count']} item(s)")
    for column in ("media", "new task"):
        table.add_column(column)
    for item in result["items"]:
        table.add_row(item["media_id"], item["task_id"] or "")
    _print(args, result, table)
    return 0


def cmd_cancel(client: Client, args: argparse.Namespace) -> int:
    """Cancel one task."""
    result = client.cancel(args.task_id)
    table = Table(title="cancelled")
    table.add_column("task")
    table.add_column("was")
    table.add_row(result["task_id"], result["previous_state"])
    _print(args, result, table)
    return 0


def cmd_workers(client: Client, args: argparse.Namespace) -> int:
    """Workers online, depth and oldest age per queue."""
    code, health = client.worker_health()
    table = Table(title=plain(f"workers: {health['status']}" + "".join(f"\n{r}" for r in health["reasons"])))
    for column in ("queue", "online", "depth", "oldest s", "workers"):
        table.add_column(column)
    for name, queue in health["queues"].items():
        age = queue["oldest_queued_age_seconds"]
        table.add_row(name, str(queue["workers_online"]), str(queue["depth"]),
                      "" if age is None else f"{age:.0f}", plain(", ".join(queue["workers"])))
    _print(args, health, table)
    return 1 if code == 503 else 0


def build_parser() -> argparse.ArgumentParser:
    """The `sequoia` argument parser."""
    parser = argparse.ArgumentParser(prog="sequoia", description="Operate Sequoia through its REST API.")
    parser.add_argument("--api-url", help=f"the API's base URL (default: SEQUOIA_API_URL, else {DEFAULT_API_URL})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    sub = parser.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest", help="upload files or directories for a voyage")
    ingest.add_argument("paths", nargs="+", type=Path)
    ingest.add_argument("--voyage", required=True, help="voyage slug")
    ingest.add_argument("--wait", action="store_true", help="wait until every item is final")
    ingest.add_argument("--dedupe", action="store_true",
                        help="a file whose content the voyage already has is answered with that item, not stored")
    ingest.add_argument("--priority", choices=("live", "backfill"), default="live",
                        help="backfill waits behind live work without starving (docs/priorities.md)")
    ingest.add_argument("--timeout", type=float, default=600.0)
    ingest.set_defaults(handler=cmd_ingest)
    status = sub.add_parser("status", help="processing status of a voyage")
    status.add_argument("voyage")
    status.set_defaults(handler=cmd_status)
    stats = sub.add_parser("stats", help="generation statistics")
    stats.add_argument("--window", default="1h")
    stats.set_defaults(handler=cmd_stats)
    retry = sub.add_parser("retry-failed", help="requeue failed items")
    retry.add_argument("--voyage")
    retry.add_argument("--kind", choices=KINDS)
    retry.add_argument("--error-code")
    retry.add_argument("--limit", type=int, default=100)
    retry.add_argument("--dry-run", action="store_true")
    retry.add_argument("--include-permanent", action="store_true")
    retry.set_defaults(handler=cmd_retry_failed)

    rerender = sub.add_parser("rerender-stale", help="render again items made under changed recipes")
    rerender.add_argument("--voyage")
    rerender.add_argument("--kind", choices=KINDS)
    rerender.add_argument("--limit", type=int, default=100)
    rerender.add_argument("--dry-run", action="store_true")
    rerender.set_defaults(handler=cmd_rerender_stale)
    cancel = sub.add_parser("cancel", help="cancel a task")
    cancel.add_argument("task_id")
    cancel.set_defaults(handler=cmd_cancel)
    workers = sub.add_parser("workers", help="worker health per queue")
    workers.set_defaults(handler=cmd_workers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `sequoia` console script."""
    args = build_parser().parse_args(argv)
    config = ClientConfig.from_env()
    with Client(args.api_url or config.api_url, config.token) as client:
        try:
            return args.handler(client, args)
        except ResponseError as err:
            console.print(plain(f"error: {err}", "red"))
            return 2


if __name__ == "__main__":
    sys.exit(main())
