"""Forward-only migration runner: applies each SQL file once, in order, under an advisory lock."""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import sys
from pathlib import Path

import psycopg

from sequoia_core.settings import get_settings

log = logging.getLogger(__name__)

_LOCK_ID = 0x5E9_0001  # any constant shared by every runner of this schema
_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    filename    text PRIMARY KEY,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


def _order(path: Path) -> tuple[int, str]:
    # The un-numbered baseline (add_async_media_processing.sql) sorts first; later files are numbered 002_, 003_, ...
    number = re.match(r"(\d+)_", path.name)
    return (int(number.group(1)) if number else 0, path.name)


def migration_files(directory: Path) -> list[Path]:
    """The SQL files of `directory` in the order they apply."""
    return sorted(directory.glob("*.sql"), key=_order)


def apply_migrations(database_url: str, directory: Path) -> list[str]:
    """Apply every file not yet recorded; return the names applied. Safe to run concurrently."""
    files = migration_files(directory)
    if not files:
        raise FileNotFoundError(f"no *.sql migrations in {directory.resolve()}")
    applied: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            conn.execute(_CREATE_LEDGER)
            done = {row[0] for row in conn.execute("SELECT filename FROM schema_migrations")}
            for path in files:
                if path.name in done:
                    continue
                sql = path.read_text()
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute(
                        "INSERT INTO schema_migrations (filename, checksum) VALUES (%s, %s)",
                        (path.name, hashlib.sha256(sql.encode()).hexdigest()),
                    )
                log.info("applied migration %s", path.name)
                applied.append(path.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied


def ensure_database(database_url: str) -> bool:
    """Create the database named in `database_url` if it is missing (local stack, tests)."""
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    name = info.get("dbname")
    admin = psycopg.conninfo.make_conninfo(database_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
        return True


def main(argv: list[str] | None = None) -> int:
    """`sequoia-migrate [--dir DIR] [--create-database]`."""
    settings = get_settings()
    parser = argparse.ArgumentParser(description="Apply Sequoia's SQL migrations.")
    parser.add_argument("--dir", type=Path, default=settings.migrations_dir)
    parser.add_argument("--create-database", action="store_true", help="create the database if missing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.create_database and ensure_database(settings.database_url):
        log.info("created database")
    applied = apply_migrations(settings.database_url, args.dir)
    print(f"migrations: {len(applied)} applied ({', '.join(applied) or 'up to date'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
