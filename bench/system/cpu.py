"""CPU seconds of groups of processes, read from /proc: a process tree counts itself and every child
it has reaped (the kernel folds a waited-for child's CPU into its parent's), so the difference of
two snapshots of a tree is what the tree spent in between, even across forks and exits."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    """One live process: parent, its own CPU seconds and those of the children it reaped."""

    pid: int
    ppid: int
    own: float
    reaped: float

    @property
    def total(self) -> float:
        return self.own + self.reaped


class Snapshot:
    """Every live process at one moment."""

    def __init__(self) -> None:
        self.procs: dict[int, Proc] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            values = [int(value) / _TICKS for value in fields[11:15]]
            self.procs[int(entry.name)] = Proc(int(entry.name), int(fields[1]), values[0] + values[1],
                                               values[2] + values[3])
        self.children: dict[int, list[int]] = {}
        for proc in self.procs.values():
            self.children.setdefault(proc.ppid, []).append(proc.pid)

    def tree(self, root: int, stop: frozenset[int] = frozenset()) -> set[int]:
        """`root` and its live descendants, not descending into the pids of `stop`."""
        found, pending = set(), [root]
        while pending:
            pid = pending.pop()
            if pid in self.procs and pid not in stop:
                found.add(pid)
                pending += self.children.get(pid, [])
        return found

    def cpu(self, pids: Iterable[int]) -> float:
        """CPU seconds of these processes and of the children they reaped."""
        return sum(self.procs[pid].total for pid in pids if pid in self.procs)

    def matching(self, pids: Iterable[int], text: str) -> set[int]:
        """The pids among `pids` whose command line contains `text`."""
        found = set()
        for pid in pids:
            try:
                if text in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.add(pid)
            except OSError:
                continue
        return found


def busy_fraction(before: list[int], after: list[int]) -> float:
    """Share of the machine's CPU time that was not idle between two `/proc/stat` readings."""
    deltas = [b - a for a, b in zip(before, after, strict=True)]
    idle = deltas[3] + deltas[4]  # idle + iowait
    total = sum(deltas[:8])
    return 1 - idle / total if total else 0.0


def machine_ticks() -> list[int]:
    """The machine's `cpu` line of /proc/stat (user nice system idle iowait irq softirq steal ...)."""
    return [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
