"""The suite's results table: one row per scenario, printed at the end of the run."""

from __future__ import annotations

from tests.faults.audit import Outcome

HEADER = ("scenario", "items", "final states", "lost", "duplicates", "max attempts", "max retries", "batch",
          "recover (s)", "time to recover with defaults (s)")


def _row(outcome: Outcome) -> tuple[str, ...]:
    states = ", ".join(f"{name} {count}" for name, count in outcome.states.items())
    return (outcome.scenario, str(outcome.items), states, str(outcome.lost), str(outcome.duplicates),
            str(outcome.max_attempts), str(outcome.max_retries), outcome.batch_status,
            f"{outcome.recover_seconds:.1f}", f"{outcome.resume_seconds:.1f}")


def table(outcomes: list[Outcome]) -> str:
    """A Markdown table of the outcomes (readable as plain text too)."""
    rows = [HEADER, *(_row(o) for o in outcomes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    notes = [f"- {o.scenario}: {note}" for o in outcomes for note in o.notes]
    return "\n".join(lines + ([""] + notes if notes else []))
