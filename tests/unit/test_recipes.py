"""Recipes: read from DERIVATIVE_RECIPES or made from the older size settings; versions change with
what shapes the file, never with anything else."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from pydantic import ValidationError

from sequoia_core.recipes import Recipe, current_versions, default_recipes, recipes_for
from sequoia_core.settings import Settings

PICTURES = ["image", "pdf", "video"]


def make(monkeypatch, **env: str) -> Settings:
    for name in ("DERIVATIVE_RECIPES", "PREVIEW_LONG_EDGE", "THUMBNAIL_LONG_EDGE", "OUTPUT_FORMAT", "OUTPUT_QUALITY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def test_without_recipes_the_older_settings_make_the_defaults(monkeypatch):
    settings = make(monkeypatch, PREVIEW_LONG_EDGE="1024", OUTPUT_FORMAT="webp", OUTPUT_QUALITY="70")

    preview, thumbnail = settings.recipes
    assert (preview.name, preview.long_edge, preview.format, preview.quality, preview.kinds) == (
        "preview", 1024, "webp", 70, ("image", "video"))
    assert (thumbnail.name, thumbnail.long_edge, thumbnail.kinds) == ("thumbnail", 320, tuple(PICTURES))


def test_recipes_from_json_replace_the_defaults(monkeypatch):
    recipes = [{"name": "thumbnail", "long_edge": 256, "format": "avif", "quality": 60, "kinds": PICTURES},
               {"name": "social", "long_edge": 2048, "kinds": ["image"]}]
    settings = make(monkeypatch, DERIVATIVE_RECIPES=json.dumps(recipes), PREVIEW_LONG_EDGE="999")

    assert [r.name for r in settings.recipes] == ["thumbnail", "social"]
    assert [r.name for r in recipes_for(settings.recipes, "image")] == ["social", "thumbnail"]  # largest first
    assert [r.name for r in recipes_for(settings.recipes, "pdf")] == ["thumbnail"]
    assert recipes_for(settings.recipes, "audio") == ()


@pytest.mark.parametrize(("recipes", "message"), [
    ([{"name": "preview", "long_edge": 800, "kinds": PICTURES}], "named 'thumbnail'"),
    ([{"name": "thumbnail", "long_edge": 320, "kinds": ["image"]}], "named 'thumbnail'"),
    ([{"name": "thumbnail", "long_edge": 320, "kinds": PICTURES}, {"name": "thumbnail", "long_edge": 9,
                                                                    "kinds": ["pdf"]}], "long_edge"),
    ([{"name": "thumbnail", "long_edge": 320, "kinds": PICTURES}] * 2, "unique"),
    ([{"name": "thumbnail", "long_edge": 320, "kinds": PICTURES}, {"name": "waveform", "long_edge": 320,
                                                                    "kinds": ["image"]}], "audio engine"),
    ([{"name": "thumbnail", "long_edge": 320, "kinds": PICTURES, "format": "gif"}], "format"),
    ([{"name": "thumbnail", "long_edge": 320, "kinds": [*PICTURES, "audio"]}], "audio gets"),
    ([{"name": "../thumbnail", "long_edge": 320, "kinds": PICTURES}], "pattern"),
    ([{"name": "thumbnail", "long_edge": 320, "kinds": PICTURES, "size": 3}], "size"),
])
def test_unusable_recipes_stop_the_process_at_start(monkeypatch, recipes, message):
    with pytest.raises(ValidationError, match=message):
        make(monkeypatch, DERIVATIVE_RECIPES=json.dumps(recipes))


def test_a_version_changes_with_what_shapes_the_file_only():
    base = Recipe(name="thumbnail", long_edge=320, kinds=("image", "pdf", "video"))

    assert base.version == Recipe(name="thumbnail", long_edge=320, kinds=("image", "pdf", "video")).version
    assert base.version == replace(base, kinds=("pdf", "image", "video")).version
    changed = [replace(base, long_edge=321), replace(base, format="webp"), replace(base, quality=84),
               replace(base, name="thumb")]
    assert len({base.version, *(recipe.version for recipe in changed)}) == 5


def test_current_versions_name_every_kind():
    versions = current_versions(default_recipes())

    assert set(versions["image"]) == set(versions["video"]) == {"preview", "thumbnail"}
    assert set(versions["pdf"]) == {"thumbnail"}
    assert versions["audio"] == {}
