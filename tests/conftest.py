"""Test-session guard: a skipped test is not a proof. Only tests that this machine kind can never run
(the kind cluster tests, which need Docker) may skip; any other skip fails the run."""

from __future__ import annotations

import pytest

# Node id prefixes allowed to skip, each with why.
ALLOWED_SKIPS = {
    "tests/e2e_kind/": "needs Docker and kind, which this machine kind never has",
}


class SkipGuard:
    """Collects every skip outside ALLOWED_SKIPS and turns a green run with such skips red."""

    def __init__(self) -> None:
        self.unexpected: list[str] = []

    def _record(self, report: pytest.CollectReport | pytest.TestReport) -> None:
        if not report.skipped or hasattr(report, "wasxfail") or report.nodeid.startswith(tuple(ALLOWED_SKIPS)):
            return
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        self.unexpected.append(f"{report.nodeid or '<collection>'}: {reason}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._record(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._record(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.unexpected and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.unexpected:
            terminalreporter.section("a skip is a failure (tests/conftest.py)", red=True)
            for line in self.unexpected:
                terminalreporter.write_line(f"SKIPPED: {line}", red=True)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipGuard(), "sequoia-skip-guard")
