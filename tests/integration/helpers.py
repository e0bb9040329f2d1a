"""Small helpers shared by the integration tests: uploads and direct row edits."""

from __future__ import annotations

from uuid import UUID, uuid4

from psycopg_pool import ConnectionPool

from sequoia_api.services.ingest import Accepted, record_batch, store_original
from sequoia_api.state import ApiState
from sequoia_api.services.uploads import SpooledFile, SpoolMemory
from sequoia_core.db.outbox import OutboxEntry
from sequoia_core.storage import Storage


def upload(api, voyage: str, *files: tuple[str, bytes]):
    """POST files to the ingest endpoint."""
    return api.post(f"/api/voyages/{voyage}/media", files=[("files", (name, data)) for name, data in files])


def spooled(name: str, data: bytes) -> SpooledFile:
    """A file as the upload parser leaves it past its memory budget: on disk, hashed, rewound."""
    upload = SpooledFile(filename=name, memory=SpoolMemory(0))
    upload.write(data)
    upload.file.seek(0)
    return upload


def ingest_unpublished(state: ApiState, voyage: str, *files: tuple[str, bytes]) -> tuple[UUID, list[OutboxEntry]]:
    """Store and commit items exactly as the API does, then stop before publishing: what a crash
    between commit and publish leaves behind."""
    batch_id = uuid4()
    accepted: list[Accepted] = [store_original(state, voyage, batch_id, spooled(name, data)) for name, data in files]
    return batch_id, record_batch(state, voyage, batch_id, accepted)


def set_row(pool: ConnectionPool, media_id, **columns) -> None:
    """Force columns of a media row (to stage a state a crash or a failure would leave)."""
    assignments = ", ".join(f"{name} = %({name})s" for name in columns)
    with pool.connection() as conn:
        conn.execute(f"UPDATE media SET {assignments} WHERE id = %(id)s", {**columns, "id": media_id})


def keys_under(storage: Storage, prefix: str) -> list[str]:
    """Every S3 key under `prefix`."""
    return [stored.key for stored in storage.iter_objects(prefix)]
