"""One scenario's run: submit a batch through the API, wait for the middle of it, inject the fault,
wait for recovery, audit."""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from uuid import UUID

import httpx

from tests.faults.audit import FINAL, Outcome, Snapshot, audit, wait_for
from tests.faults.media import Sample
from tests.faults.stack import Stack

RECOVERY_TIMEOUT = 240.0
# The goal with production defaults: every item final within 2 minutes of the failed part coming back.
RECOVERY_BOUND = 120.0


def upload(stack: Stack, voyage: str, samples: list[Sample]) -> dict:
    """POST every sample in one multipart request: one batch."""
    files = [("files", (s.name, s.data)) for s in samples]
    with stack.api.client() as client:
        response = client.post(f"/api/voyages/{voyage}/media", files=files)
    response.raise_for_status()
    return response.json()


@dataclass
class Run:
    """A batch under test and the timeline of its fault."""

    stack: Stack
    scenario: str
    voyage: str
    samples: list[Sample]
    submitted: set[UUID] = field(default_factory=set)
    fault_at: float | None = None
    back_at: float | None = None

    @classmethod
    def new(cls, stack: Stack, scenario: str, samples: list[Sample]) -> Run:
        """A run with a voyage of its own."""
        slug = re.sub(r"[^a-z0-9]+", "-", scenario.lower()).strip("-")
        return cls(stack, scenario, f"faults-{slug}-{secrets.token_hex(3)}", samples)

    def submit(self) -> Run:
        """Upload the batch; every file must be accepted."""
        body = upload(self.stack, self.voyage, self.samples)
        assert body["accepted"] == len(self.samples), body
        self.submitted = {UUID(f["media_id"]) for f in body["files"]}
        return self

    def submit_in_background(self) -> threading.Thread:
        """Upload from a thread whose request may die with the API (the fault decides)."""
        def post() -> None:
            try:
                upload(self.stack, self.voyage, self.samples)
            except httpx.HTTPError:
                pass  # the API was killed under the request: what the scenario is about

        thread = threading.Thread(target=post, daemon=True)
        thread.start()
        return thread

    def wait(self, predicate, what: str, timeout: float = 120.0) -> Snapshot:
        """Wait until the batch's rows satisfy `predicate`."""
        return wait_for(self.stack, self.voyage, predicate, timeout, what)

    def wait_mid_batch(self, final: int = 15) -> Snapshot:
        """Wait until `final` items are done and at least one is being rendered."""
        return self.wait(lambda s: s.final() >= final and s.counts()["processing"] >= 1,
                         f"{final} items final and one processing")

    def inject(self) -> None:
        """Mark the moment the fault starts (recovery time is measured from here)."""
        self.fault_at = time.monotonic()

    def back(self) -> None:
        """Mark the moment the failed part is back (the "time to recover with defaults" starts here);
        a fault with no part to bring back (duplicates, poison files) counts from the fault."""
        self.back_at = time.monotonic()

    def finish(self, timeout: float = RECOVERY_TIMEOUT) -> Outcome:
        """Wait until every item and the batch are final, then audit."""
        expected = len(self.samples)

        def settled(snap: Snapshot) -> bool:
            items_done = len(snap.items) == expected and snap.final() == expected
            return items_done and all(b["batch_status"] in FINAL | {"completed_with_errors"} for b in snap.batches)

        start = self.fault_at or time.monotonic()
        try:
            snap = self.wait(settled, "every item and the batch final", timeout)
        except AssertionError:
            snap = self.wait(lambda s: True, "a last look")
        return audit(self.stack, self.scenario, self.voyage, self.submitted, expected, start,
                     self.back_at or start, time.monotonic(), snap)
