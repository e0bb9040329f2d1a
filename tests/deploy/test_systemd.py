"""deploy/systemd: every unit passes `systemd-analyze verify`, runs its process in the foreground
(Type=exec, not the seed's Type=forking), restarts on failure, and gives a worker's warm shutdown longer
than the task time limit."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sequoia_core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
INSTALLED_VENV = "/opt/sequoia/venv"


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser


def test_there_is_a_unit_for_the_api_each_worker_beat_and_flower():
    assert [p.name for p in UNITS] == ["sequoia-api.service", "sequoia-beat.service", "sequoia-flower.service",
                                       "sequoia-worker-media.service", "sequoia-worker-thumbnails.service"]


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_passes_systemd_analyze_verify(path: Path, tmp_path: Path):
    assert shutil.which("systemd-analyze"), "systemd-analyze is missing (apt-get install systemd)"
    # verify checks that each ExecStart binary exists: point the units at this checkout's venv, which
    # installs the same entry points as /opt/sequoia/venv.
    unit = tmp_path / path.name
    unit.write_text(path.read_text().replace(INSTALLED_VENV, str(Path(sys.executable).parent.parent)))

    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True,
                          timeout=60)

    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_runs_in_the_foreground_and_restarts_on_failure(path: Path):
    service = _unit(path)["Service"]

    assert (service["Type"], service["Restart"]) == ("exec", "on-failure")


@pytest.mark.parametrize("path", [p for p in UNITS if "worker" in p.name], ids=lambda p: p.name)
def test_worker_waits_for_a_warm_shutdown_longer_than_the_task_time_limit(path: Path):
    service = _unit(path)["Service"]

    assert int(service["TimeoutStopSec"]) > Settings().task_time_limit_seconds
    assert (service["KillMode"], service["KillSignal"]) == ("mixed", "SIGTERM")
