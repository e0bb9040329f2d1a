"""`sequoia-render`: one JSON line per input, exit 0 only when every file rendered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sequoia_thumbnails.cli import main
from tests.corpus import conformance, hostile

BIN = Path(sys.executable).parent


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_renders_each_kind_and_describes_every_derivative(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray .env
    files = [conformance.small_jpeg(tmp_path), conformance.ten_page_pdf(tmp_path),
             conformance.one_frame_mp4(tmp_path), conformance.stereo_wav(tmp_path)]

    status = main([*map(str, files), "--out", str(tmp_path / "out"), "--json"])

    lines = _lines(capsys.readouterr().out)
    assert status == 0
    assert [line["kind"] for line in lines] == ["image", "pdf", "video", "audio"]
    assert [line["source"] for line in lines] == [str(f) for f in files]
    names = [[d["name"] for d in line["derivatives"]] for line in lines]
    assert names == [["preview", "thumbnail"], ["thumbnail"], ["preview", "thumbnail"], ["waveform", "peaks"]]
    for line in lines:
        assert line["error"] is None
        assert line["thumbhash"]  # every kind has a picture the gallery shows
        for derivative in line["derivatives"]:
            assert set(derivative) == {"name", "path", "width", "height", "format"}
            assert Path(derivative["path"]).is_file()
            assert derivative["format"] in ("jpeg", "png", "json")


def test_a_refused_file_gets_its_code_and_exit_status_1(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = conformance.small_jpeg(tmp_path)
    bad = hostile.html_as_jpeg(tmp_path)
    flood = hostile.pixel_flood_png(tmp_path)

    status = main([str(good), str(bad), str(flood), str(tmp_path / "missing.png"), "--out", str(tmp_path / "o")])

    captured = capsys.readouterr()
    lines = _lines(captured.out)
    assert status == 1
    assert lines[0]["error"] is None
    assert [line["error"]["code"] for line in lines[1:]] == ["unsupported_type", "image_too_large", "unreadable"]
    assert all(line["derivatives"] == [] for line in lines[1:])
    assert "1 rendered, 3 failed" in captured.err


def test_format_and_quality_options(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    image = conformance.progressive_jpeg(tmp_path)

    assert main([str(image), "--out", str(tmp_path / "o"), "--format", "webp", "--quality", "60", "--json"]) == 0

    [line] = _lines(capsys.readouterr().out)
    assert {d["format"] for d in line["derivatives"]} == {"webp"}
    assert all(d["path"].endswith(".webp") for d in line["derivatives"])


def test_relative_paths_name_files_of_the_working_directory(tmp_path, capsys, monkeypatch):
    """The render server works elsewhere: paths given relative to the caller's directory still hold."""
    monkeypatch.chdir(tmp_path)
    conformance.small_jpeg(tmp_path)
    (image,) = [p.name for p in tmp_path.iterdir() if p.is_file()]

    assert main([image, "--out", "out", "--json"]) == 0

    [line] = _lines(capsys.readouterr().out)
    assert line["error"] is None and all(Path(d["path"]).is_file() for d in line["derivatives"])


def test_same_names_do_not_overwrite_each_other(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = conformance.small_jpeg(tmp_path / "a"), conformance.small_jpeg(tmp_path / "b")

    assert main([str(first), str(second), "--out", str(tmp_path / "o"), "--json"]) == 0

    paths = [d["path"] for line in _lines(capsys.readouterr().out) for d in line["derivatives"]]
    assert len(set(paths)) == 4


def test_console_script_runs_without_any_service(tmp_path):
    image = conformance.small_jpeg(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "REDIS_URL": "redis://127.0.0.1:1/0", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}

    done = subprocess.run([str(BIN / "sequoia-render"), str(image), "--out", str(tmp_path / "o"), "--json"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)

    assert done.returncode == 0, done.stderr
    [line] = _lines(done.stdout)
    assert line["kind"] == "image" and len(line["derivatives"]) == 2
