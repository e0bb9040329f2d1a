"""The seed's un-numbered migration applies first, numbered ones after, in number order."""

from pathlib import Path

from sequoia_core.db.migrate import migration_files


def test_seed_baseline_sorts_before_numbered_files(tmp_path: Path):
    for name in ("010_later.sql", "add_async_media_processing.sql", "002_next.sql"):
        (tmp_path / name).write_text("SELECT 1;")

    assert [p.name for p in migration_files(tmp_path)] == [
        "add_async_media_processing.sql", "002_next.sql", "010_later.sql"
    ]


def test_repository_migrations_start_with_the_seed_file():
    files = migration_files(Path(__file__).resolve().parents[2] / "migrations")

    assert files[0].name == "add_async_media_processing.sql"
