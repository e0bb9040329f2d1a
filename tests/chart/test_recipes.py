"""Recipes in the chart's values reach every Sequoia process as DERIVATIVE_RECIPES, load into the
same recipes in Settings, and a malformed recipe is refused by the values schema."""

from __future__ import annotations

import pytest

from sequoia_core.settings import Settings
from tests.chart.conftest import CHART, by_kind

RECIPES = CHART / "ci" / "recipes-values.yaml"


def _config(objects: list[dict]) -> dict[str, str]:
    (config,) = [c for c in by_kind(objects, "ConfigMap") if "DERIVATIVE_RECIPES" in c.get("data", {})] or [None]
    return {} if config is None else config["data"]


def test_recipes_become_the_settings_recipes(rendered, monkeypatch):
    monkeypatch.setenv("DERIVATIVE_RECIPES", _config(rendered[RECIPES.name])["DERIVATIVE_RECIPES"])

    recipes = Settings(_env_file=None).recipes

    assert [(r.name, r.long_edge, r.format, r.quality, r.kinds) for r in recipes] == [
        ("thumbnail", 256, "webp", 80, ("image", "pdf", "video")),
        ("preview", 1600, "avif", 60, ("image", "video")),
        ("social", 2048, "jpeg", 88, ("image",)),
    ]


def test_without_recipes_the_defaults_apply(rendered):
    assert _config(rendered["default-values.yaml"]) == {}


@pytest.mark.parametrize("bad", ["recipes[0].name=Thumb", "recipes[0].long_edge=8", "recipes[0].format=gif",
                                 "recipes[0].size=3", "recipes[0].kinds={audio}"])
def test_a_malformed_recipe_is_refused(render, bad):
    with pytest.raises(AssertionError, match="values don't meet the specifications|schema"):
        render(RECIPES, bad)
