"""The worker trusts nothing in a job's answer: each derivative must be the job's own file."""

from __future__ import annotations

import base64
import os
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.recipes import Recipe
from sequoia_core.mediatypes import format_named
from sequoia_thumbnails.render_job import request, result_from_json
from sequoia_thumbnails.renderers.base import RenderSpec

SPEC = RenderSpec()


def _answer(path: Path, name: str = "thumbnail", fmt: str = "jpeg", size=(320, 240)) -> dict:
    return {"derivatives": [{"name": name, "path": str(path), "width": size[0], "height": size[1], "format": fmt}],
            "metadata": {"width": 640}}


@pytest.fixture
def out_dir(tmp_path) -> Path:
    folder = tmp_path / "job" / "out"
    folder.mkdir(parents=True)
    return folder


def test_a_file_of_the_job_is_accepted(out_dir):
    made = out_dir / "thumbnail.jpg"
    made.write_bytes(b"\xff\xd8")

    result = result_from_json(_answer(made), out_dir, SPEC)

    assert result.derivatives[0].path == made.resolve()
    assert (result.derivatives[0].width, result.metadata) == (320, {"width": 640})


def _refused(answer, out_dir) -> str:
    with pytest.raises(PermanentError) as caught:
        result_from_json(answer, out_dir, SPEC)
    assert caught.value.code == ErrorCode.RENDER_CRASHED
    return caught.value.message


def test_a_file_outside_the_job_folder_is_refused(out_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("DATABASE_URL=postgresql://...")

    assert "outside" in _refused(_answer(secret), out_dir)
    assert "outside" in _refused(_answer(out_dir / ".." / ".." / "secret.txt"), out_dir)


def test_links_out_of_the_folder_are_refused(out_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("AWS_SECRET_ACCESS_KEY=...")
    (out_dir / "thumbnail.jpg").symlink_to(secret)
    os.link(secret, out_dir / "preview.jpg")

    assert "plain file" in _refused(_answer(out_dir / "thumbnail.jpg"), out_dir)
    assert "plain file" in _refused(_answer(out_dir / "preview.jpg", name="preview"), out_dir)


def test_unknown_names_formats_sizes_and_shapes_are_refused(out_dir):
    made = out_dir / "thumbnail.jpg"
    made.write_bytes(b"\xff\xd8")

    assert "unknown derivative" in _refused(_answer(made, name="original"), out_dir)
    assert "unknown derivative" in _refused(_answer(made, fmt="html"), out_dir)
    assert "size" in _refused(_answer(made, size=(-1, 10)), out_dir)
    assert "malformed" in _refused({"derivatives": "x"}, out_dir)
    assert "malformed" in _refused({"derivatives": [], "metadata": []}, out_dir)
    assert "malformed" in _refused(_answer(out_dir / "missing.jpg"), out_dir)


def test_names_are_the_specs_recipes_and_audios_own(out_dir):
    made = out_dir / "social.jpg"
    made.write_bytes(b"\xff\xd8")
    social = replace(SPEC, recipes=(*SPEC.recipes, Recipe(name="social", long_edge=2048, kinds=("image",))))

    assert result_from_json(_answer(made, name="social"), out_dir, social).derivatives[0].name == "social"
    assert "unknown derivative" in _refused(_answer(made, name="social"), out_dir)  # not a recipe of SPEC


def test_the_placeholder_must_be_a_short_base64_string(out_dir):
    made = out_dir / "thumbnail.jpg"
    made.write_bytes(b"\xff\xd8")
    answer = _answer(made)

    assert result_from_json({**answer, "thumbhash": "lBcKJgZTqPh1dyeJeYeHaqdoDZTUYCk="}, out_dir,
                            SPEC).thumbhash == base64.b64decode("lBcKJgZTqPh1dyeJeYeHaqdoDZTUYCk=")
    assert result_from_json(answer, out_dir, SPEC).thumbhash is None
    for bad in ("not base64!", base64.b64encode(b"x" * 200).decode(), "AAE=", 7):
        assert "malformed" in _refused({**answer, "thumbhash": bad}, out_dir)


def test_a_request_carries_the_fields_of_its_own_spec(tmp_path):
    spec, other = RenderSpec(), RenderSpec(max_frames=7)
    asked = [request(tmp_path / "a.jpg", format_named("jpeg"), tmp_path / "out", s)["spec"] for s in (spec, other, spec)]

    assert asked == [asdict(spec), asdict(other), asdict(spec)]
