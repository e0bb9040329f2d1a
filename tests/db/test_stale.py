"""Stale items: completed under other recipe versions than the current ones. Their counts follow every
transition (a trigger), a re-render picks exactly them and, once requeued, never again."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from sequoia_core.db import media, reports, transitions
from sequoia_core.db.transitions import StaleFilter
from sequoia_core.db.media import Run
from sequoia_core.lifecycle import Status
from sequoia_core.recipes import Recipe, current_versions, default_recipes
from tests.db.factories import new_item

RECIPES = default_recipes()
CURRENT = current_versions(RECIPES)


def rendered(conn, voyage: str, kind: str = "image", versions=None, status: Status = Status.COMPLETED):
    held = CURRENT[kind] if versions is None else versions
    return new_item(conn, status, voyage=voyage, media_kind=kind,
                    recipe_versions=None if held == "none" else Jsonb(held))


def stale_by_kind(conn, voyage: str, current=CURRENT) -> dict[str, int]:
    return {row.media_kind: row.count for row in reports.stale_counts(conn, current, voyage)}


def test_only_items_under_other_versions_or_none_are_stale(conn):
    rendered(conn, "stale-a")
    rendered(conn, "stale-a", "pdf")
    rendered(conn, "stale-a", "audio")  # audio has no recipes: {} is current
    old = rendered(conn, "stale-a", versions={"preview": "0ld", "thumbnail": CURRENT["image"]["thumbnail"]})
    unknown = rendered(conn, "stale-a", "video", versions="none")
    rendered(conn, "stale-a", versions={"preview": "0ld"}, status=Status.FAILED)  # only completed items count

    assert stale_by_kind(conn, "stale-a") == {"image": 1, "video": 1}
    picked = transitions.stale_items(conn, StaleFilter(CURRENT, voyage_slug="stale-a"))
    assert {item.id for item in picked} == {old.id, unknown.id}


def test_a_changed_recipe_makes_its_kinds_stale(conn):
    for kind in ("image", "pdf", "video", "audio"):
        rendered(conn, "stale-b", kind)
    bigger = (RECIPES[0], Recipe(name="thumbnail", long_edge=400, kinds=("image", "pdf", "video")))

    assert stale_by_kind(conn, "stale-b") == {}
    assert stale_by_kind(conn, "stale-b", current_versions(bigger)) == {"image": 1, "pdf": 1, "video": 1}
    # A recipe added for one kind makes that kind stale only.
    extra = (*RECIPES, Recipe(name="social", long_edge=1080, kinds=("video",), format="webp"))
    assert stale_by_kind(conn, "stale-b", current_versions(extra)) == {"video": 1}


def test_rerender_requeues_the_stale_once_and_counts_follow(conn):
    fresh = rendered(conn, "stale-c")
    stale = [rendered(conn, "stale-c", versions="none") for _ in range(3)]
    other_voyage = rendered(conn, "stale-d", versions="none")
    flt = StaleFilter(CURRENT, voyage_slug="stale-c", limit=2)

    first = transitions.rerender_stale(conn, flt)
    second = transitions.rerender_stale(conn, flt)
    third = transitions.rerender_stale(conn, flt)

    assert (len(first), len(second), third) == (2, 1, [])
    assert {e.media_id for e in first + second} == {item.id for item in stale}
    for entry in first + second:
        row = media.get_media(conn, entry.media_id)
        assert (row.processing_status, row.task_id, row.attempts) == ("pending", entry.task_id, 0)
        assert (row.priority, row.queue, entry.queue) == ("backfill", "thumbnails.backfill", "thumbnails.backfill")
        assert row.derivatives == stale[0].derivatives  # kept until the new render replaces them
    assert media.get_media(conn, fresh.id).processing_status == "completed"
    assert media.get_media(conn, other_voyage.id).processing_status == "completed"
    assert stale_by_kind(conn, "stale-c") == {}
    assert stale_by_kind(conn, "stale-d") == {"image": 1}


def test_a_render_under_the_current_versions_is_no_longer_stale(conn):
    item = rendered(conn, "stale-e", versions="none")
    (entry,) = transitions.rerender_stale(conn, StaleFilter(CURRENT, voyage_slug="stale-e"))
    conn.execute("UPDATE media SET processing_status = 'processing', run_token = gen_random_uuid() WHERE id = %s",
                 (item.id,))
    run = Run(item.id, entry.task_id, media.get_media(conn, item.id).run_token)

    assert media.complete(conn, run, [], {}, b"\x01\x02\x03\x04\x05", CURRENT["image"]) is None
    row = media.get_media(conn, item.id)
    assert (row.thumbhash, row.recipe_versions) == (b"\x01\x02\x03\x04\x05", CURRENT["image"])
    assert stale_by_kind(conn, "stale-e") == {}
    assert transitions.stale_items(conn, StaleFilter(CURRENT, voyage_slug="stale-e")) == []


def test_filters_by_kind_and_dry_run_selection_changes_nothing(conn):
    image = rendered(conn, "stale-f", versions="none")
    rendered(conn, "stale-f", "pdf", versions="none")

    picked = transitions.stale_items(conn, StaleFilter(CURRENT, voyage_slug="stale-f", media_kind="image"))

    assert [item.id for item in picked] == [image.id]
    assert stale_by_kind(conn, "stale-f") == {"image": 1, "pdf": 1}
