"""Derivative recipes: which pictures each media kind gets, and the version each one is made at.

A recipe names one derivative (its key is `derivatives/<voyage>/<media_id>/<name>.<ext>`), its long
edge, encoding and quality, and the kinds it applies to. Its version is a hash of what shapes the
file (not of its kinds), so an item records the versions it was rendered with and becomes stale
when a recipe of its kind changes, appears or goes away (`POST /api/async/rerender-stale`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator
from pydantic.dataclasses import dataclass

from sequoia_core.mediatypes import MediaKind

# Audio gets its waveform and peaks, not recipes.
PICTURE_KINDS = tuple(kind for kind in MediaKind if kind is not MediaKind.AUDIO)
# The gallery shows this one and the ThumbHash placeholder is computed from it: every picture has it.
THUMBNAIL = "thumbnail"
# Names the audio engine writes under (waveform picture, peaks data): no recipe may take them.
RESERVED_NAMES = frozenset({"waveform", "peaks"})
# Bumped when the engine changes what a recipe makes (an encoder option, the resampling), so every
# item made before becomes stale.
ENGINE_REVISION = 1


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class Recipe:
    """One derivative a picture gets: name, long edge (never upscaled), encoding and kinds."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
    long_edge: Annotated[int, Field(ge=16, le=16384)]
    kinds: Annotated[tuple[MediaKind, ...], Field(min_length=1)]
    format: Literal["jpeg", "webp", "avif"] = "jpeg"
    quality: Annotated[int, Field(ge=1, le=100)] = 85

    @field_validator("kinds")
    @classmethod
    def _pictures_only(cls, kinds: tuple[MediaKind, ...]) -> tuple[MediaKind, ...]:
        if MediaKind.AUDIO in kinds:
            raise ValueError("audio gets its waveform and peaks, not recipes")
        return kinds

    @property
    def version(self) -> str:
        """A short hash of everything that shapes the file this recipe makes."""
        definition = {**asdict(self), "revision": ENGINE_REVISION}
        del definition["kinds"]
        return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:12]


def default_recipes(preview_long_edge: int = 1280, thumbnail_long_edge: int = 320,
                    output_format: Literal["jpeg", "webp", "avif"] = "jpeg", quality: int = 85) -> tuple[Recipe, ...]:
    """The two recipes every release before recipes made: a preview of images and video frames, and
    a thumbnail of every picture (PREVIEW_LONG_EDGE, THUMBNAIL_LONG_EDGE, OUTPUT_FORMAT, OUTPUT_QUALITY)."""
    return (
        Recipe(name="preview", long_edge=preview_long_edge, kinds=(MediaKind.IMAGE, MediaKind.VIDEO),
               format=output_format, quality=quality),
        Recipe(name=THUMBNAIL, long_edge=thumbnail_long_edge, kinds=PICTURE_KINDS, format=output_format,
               quality=quality),
    )


def check_recipes(recipes: tuple[Recipe, ...]) -> tuple[Recipe, ...]:
    """`recipes` if they are a usable set: unique names, none reserved, a thumbnail of every picture."""
    names = [recipe.name for recipe in recipes]
    if len(set(names)) != len(names):
        raise ValueError(f"recipe names must be unique: {names}")
    if reserved := RESERVED_NAMES.intersection(names):
        raise ValueError(f"recipe names {sorted(reserved)} are the audio engine's")
    thumbnail = next((recipe for recipe in recipes if recipe.name == THUMBNAIL), None)
    if thumbnail is None or set(thumbnail.kinds) != set(PICTURE_KINDS):
        kinds = ", ".join(PICTURE_KINDS)
        raise ValueError(f"a recipe named {THUMBNAIL!r} for every kind of picture ({kinds}) is required")
    return recipes


def recipes_for(recipes: tuple[Recipe, ...], kind: str) -> tuple[Recipe, ...]:
    """The recipes of one media kind, largest first (each is then shrunk from the one before)."""
    return tuple(sorted((r for r in recipes if kind in r.kinds), key=lambda r: r.long_edge, reverse=True))


def versions_for(recipes: tuple[Recipe, ...], kind: str) -> dict[str, str]:
    """What an item of `kind` rendered now records: recipe name → version ({} for audio)."""
    return {recipe.name: recipe.version for recipe in recipes_for(recipes, kind)}


@lru_cache(maxsize=8)  # a process has one recipe list; the status reads ask on every request
def current_versions(recipes: tuple[Recipe, ...]) -> dict[str, dict[str, str]]:
    """`versions_for` of every media kind: an item whose record differs is stale. Shared: do not change it."""
    return {kind.value: versions_for(recipes, kind) for kind in MediaKind}
