"""What a scenario checks once the system has recovered: every item final, none lost, no derivative
object written under a second key, attempts bounded, the batch's status right and set once."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from tests.faults.stack import Stack

FINAL = {"completed", "failed", "cancelled"}

_ITEMS = """
SELECT m.id, m.batch_id, m.media_kind, m.processing_status, m.attempts, m.retries, m.error_code, m.derivatives,
       (SELECT count(*) FROM task_outbox o WHERE o.media_id = m.id AND o.published_at IS NULL) AS unpublished
  FROM media m WHERE m.voyage_slug = %s
"""
_BATCHES = "SELECT id, batch_status, completed_at FROM async_task_batches WHERE voyage_slug = %s"


@dataclass
class Snapshot:
    """A voyage's items and batches as the database holds them now."""

    items: list[dict]
    batches: list[dict]

    def counts(self) -> Counter:
        """Items by processing status."""
        return Counter(item["processing_status"] for item in self.items)

    def final(self) -> int:
        """How many items are in a final state."""
        return sum(1 for item in self.items if item["processing_status"] in FINAL)


def snapshot(stack: Stack, voyage: str) -> Snapshot | None:
    """The voyage's rows, or None while Postgres does not answer (it may be restarting)."""
    try:
        with stack.connect() as conn, conn.cursor(row_factory=dict_row) as cur:
            return Snapshot(cur.execute(_ITEMS, (voyage,)).fetchall(), cur.execute(_BATCHES, (voyage,)).fetchall())
    except psycopg.OperationalError:
        return None


def wait_for(stack: Stack, voyage: str, predicate, timeout: float, what: str) -> Snapshot:
    """Poll the voyage's rows until `predicate(snapshot)` holds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = snapshot(stack, voyage) or last
        if last is not None and predicate(last):
            return last
        time.sleep(0.05)
    counts = dict(last.counts()) if last else "no answer from Postgres"
    raise AssertionError(f"{voyage}: {what} not reached in {timeout:.0f}s (items: {counts})")


def expected_batch_status(counts: Counter) -> str:
    """The status a batch must end in, given its items' final states."""
    total = sum(counts.values())
    if counts["cancelled"] == total:
        return "cancelled"
    if counts["failed"] or counts["cancelled"]:
        return "completed_with_errors"
    return "completed"


@dataclass
class Outcome:
    """The verdict on one scenario, one row of the report table."""

    scenario: str
    items: int
    states: dict[str, int]
    lost: int
    duplicates: int
    recover_seconds: float
    resume_seconds: float
    max_attempts: int
    max_retries: int
    batch_status: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _derivative_keys(stack: Stack, voyage: str) -> dict[str, set[str]]:
    listing = stack.s3.client().get_paginator("list_objects_v2")
    keys: dict[str, set[str]] = {}
    for page in listing.paginate(Bucket=stack.settings.s3_bucket, Prefix=f"derivatives/{voyage}/"):
        for obj in page.get("Contents", []):
            media_id = obj["Key"].split("/")[2]
            keys.setdefault(media_id, set()).add(obj["Key"])
    return keys


def _check_objects(snap: Snapshot, stored: dict[str, set[str]], problems: list[str]) -> tuple[int, int]:
    """(items whose derivatives are missing, objects beyond what the rows record)."""
    missing = extra = 0
    items = {str(item["id"]): item for item in snap.items}
    for media_id in stored.keys() - items.keys():
        extra += len(stored[media_id])
        problems.append(f"objects of an unknown item {media_id}: {sorted(stored[media_id])}")
    for media_id, item in items.items():
        recorded = {d["key"] for d in item["derivatives"]} if item["processing_status"] == "completed" else set()
        found = stored.get(media_id, set())
        if item["processing_status"] == "completed" and (not recorded or recorded - found):
            missing += 1
            problems.append(f"{media_id}: derivatives {sorted(recorded - found) or 'none'} missing")
        if found - recorded:
            extra += len(found - recorded)
            problems.append(f"{media_id} ({item['processing_status']}): unexpected objects {sorted(found - recorded)}")
    return missing, extra


def audit(stack: Stack, scenario: str, voyage: str, submitted: set[UUID], expected: int, fault_at: float,
          back_at: float, final_at: float, snap: Snapshot) -> Outcome:
    """Check the final state of a voyage against the `expected` items submitted (ids where known)."""
    problems: list[str] = []
    ids = {item["id"] for item in snap.items}
    absent = max(len(submitted - ids), expected - len(ids))
    if absent:
        problems.append(f"{absent} submitted item(s) have no row")
    open_items = [item for item in snap.items if item["processing_status"] not in FINAL]
    if open_items:
        problems.append(f"{len(open_items)} item(s) not final")
    missing, extra = _check_objects(snap, _derivative_keys(stack, voyage), problems)
    settings = stack.settings
    over = [item for item in snap.items if item["attempts"] > settings.max_attempts]
    if over:
        problems.append(f"{len(over)} item(s) started more than MAX_ATTEMPTS={settings.max_attempts} times")
    if any(item["retries"] > settings.task_max_retries for item in snap.items):
        problems.append(f"an item retried more than TASK_MAX_RETRIES={settings.task_max_retries} times")
    if any(item["unpublished"] for item in snap.items):
        problems.append("outbox entries left unpublished")
    counts = snap.counts()
    batch_status = _check_batches(snap, counts, problems)
    return Outcome(
        scenario=scenario,
        items=len(snap.items),
        states=dict(sorted(counts.items())),
        lost=absent + len(open_items) + missing,
        duplicates=extra,
        recover_seconds=round(final_at - fault_at, 1),
        resume_seconds=round(final_at - back_at, 1),
        max_attempts=max((item["attempts"] for item in snap.items), default=0),
        max_retries=max((item["retries"] for item in snap.items), default=0),
        batch_status=batch_status,
        problems=problems,
    )


def _check_batches(snap: Snapshot, counts: Counter, problems: list[str]) -> str:
    if len(snap.batches) != 1:
        problems.append(f"expected one batch, found {len(snap.batches)}")
        return "?"
    [batch] = snap.batches
    expected = expected_batch_status(counts)
    if batch["batch_status"] != expected:
        problems.append(f"batch is {batch['batch_status']}, its items say {expected}")
    if batch["completed_at"] is None:
        problems.append("batch has no completed_at")
    return batch["batch_status"]
