"""Fixtures of the fault-injection suite: one disposable stack per session, the media mix, the report."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults import media
from tests.faults.audit import Outcome
from tests.faults.infra import missing_tools
from tests.faults.report import table
from tests.faults.stack import Stack, running_stack

REPORT = pytest.StashKey[list[Outcome]]()
ITEMS_PER_BATCH = 100


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: fault-injection scenario on a disposable stack (make test-faults)")
    config.addinivalue_line("markers", "faults_full: a scenario only the full suite runs (make test-faults), not "
                            "CI's `make test`, which runs one scenario per recovery mechanism")
    config.stash[REPORT] = []


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    outcomes = config.stash.get(REPORT, [])
    if outcomes:
        terminalreporter.section("fault injection: nothing lost")
        terminalreporter.write_line(table(outcomes))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Redis, Postgres, SeaweedFS, the API and both workers, all of the suite's own."""
    missing = missing_tools()
    if missing:
        pytest.fail(f"fault suite needs {', '.join(missing)}: run `make test` as root (it installs "
                    "redis-server and postgresql from .ci/apt-packages) or `make install` for weed", pytrace=False)
    with running_stack(tmp_path_factory.mktemp("faults")) as running:
        yield running


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[media.Sample]:
    """One file of each format the engine renders (images, PDF, video, audio where available)."""
    from sequoia_thumbnails.renderers.base import RenderSpec
    from sequoia_thumbnails.renderers.registry import registry

    kinds = frozenset(str(kind) for kind in registry(RenderSpec()))
    return media.sample_set(tmp_path_factory.mktemp("samples"), kinds)


@pytest.fixture
def batch(samples: list[media.Sample]) -> list[media.Sample]:
    """A batch of mixed kinds."""
    return media.mix(samples, ITEMS_PER_BATCH)


@pytest.fixture
def record(request: pytest.FixtureRequest):
    """Add a scenario's outcome to the table printed at the end."""
    return request.config.stash[REPORT].append
