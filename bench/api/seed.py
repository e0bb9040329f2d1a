"""Seed one voyage with 100,000 media rows (set-based SQL, idempotent) for the API load run.

Every item is final (95% completed, 5% failed): an item left queued or processing has no message in
Redis, so the sweeper would hand it to the stack's workers, whose work would then share the CPU
with the API under test.
"""

from __future__ import annotations

import psycopg

VOYAGE = "bench-100k"
ROWS = 100_000

_SEED = """
WITH batch AS (
    INSERT INTO async_task_batches (id, voyage_slug, batch_status, total_items, completed_at)
    VALUES (gen_random_uuid(), %(voyage)s, 'completed_with_errors', %(rows)s, now()) RETURNING id
), items AS (
    INSERT INTO media (id, voyage_slug, batch_id, media_kind, media_format, original_filename, content_type,
                       size_bytes, original_key, processing_status, task_id, attempts, error_code,
                       created_at, queued_at, started_at, completed_at, updated_at)
    SELECT gen_random_uuid(), %(voyage)s, batch.id,
           (ARRAY['image', 'pdf', 'video', 'audio'])[1 + n %% 4],
           (ARRAY['jpeg', 'pdf', 'mp4', 'mp3'])[1 + n %% 4],
           'file-' || n, 'application/octet-stream', 1000 + n, 'originals/bench/' || n,
           CASE WHEN n %% 20 = 0 THEN 'failed' ELSE 'completed' END,
           gen_random_uuid(), 1,
           CASE WHEN n %% 20 = 0 THEN 'corrupt_file' END,
           now() - make_interval(secs => n), now() - make_interval(secs => n),
           now() - make_interval(secs => n) + interval '1 second',
           now() - make_interval(secs => n) + interval '2 seconds',
           now() - make_interval(secs => n)
      FROM generate_series(1, %(rows)s) AS n, batch
    RETURNING id, task_id, queue
)
INSERT INTO task_outbox (media_id, task_name, task_id, queue, published_at)
SELECT id, 'thumbnails.generate', task_id, queue, now() FROM items
"""


def seed(database_url: str) -> list[str]:
    """Make sure the bench voyage holds its rows; return a sample of its task ids."""
    with psycopg.connect(database_url) as conn:
        final = conn.execute(
            "SELECT count(*) FILTER (WHERE processing_status IN ('completed', 'failed')), count(*)"
            "  FROM media WHERE voyage_slug = %s", (VOYAGE,)).fetchone()
        if final != (ROWS, ROWS):
            conn.execute("DELETE FROM media WHERE voyage_slug = %s", (VOYAGE,))
            conn.execute("DELETE FROM async_task_batches WHERE voyage_slug = %s", (VOYAGE,))
            conn.execute(_SEED, {"voyage": VOYAGE, "rows": ROWS})
            conn.execute("ANALYZE media")
            conn.execute("ANALYZE task_outbox")
        rows = conn.execute(
            "SELECT task_id::text FROM media WHERE voyage_slug = %s ORDER BY random() LIMIT 2000", (VOYAGE,)
        ).fetchall()
    return [row[0] for row in rows]
