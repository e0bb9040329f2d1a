-- Deleting items (DELETE /api/media/{id}, DELETE /api/voyages/{slug}): the media row goes at once
-- (reads answer 404, counts drop it through the counts trigger) and a row here remembers what S3 still
-- holds of it. The media worker works these rows off on beat (sequoia_media/deleter.py): it removes
-- everything under originals/<voyage>/<id>/ and derivatives/<voyage>/<id>/, retries with backoff
-- while S3 fails, and sets `completed_at` only once a listing finds nothing left and no render that
-- held the item when it was deleted can still write (`held_*`: its worker, pool process and claim).
CREATE TABLE IF NOT EXISTS media_deletions (
    media_id         uuid        PRIMARY KEY,
    voyage_slug      text        NOT NULL,
    task_id          uuid        NOT NULL,
    held_worker      text,
    held_pid         integer,
    held_since       timestamptz,
    requested_at     timestamptz NOT NULL DEFAULT now(),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    removed_objects  integer     NOT NULL DEFAULT 0,
    completed_at     timestamptz
);
CREATE INDEX IF NOT EXISTS media_deletions_due_idx ON media_deletions (next_attempt_at) WHERE completed_at IS NULL;
CREATE INDEX IF NOT EXISTS media_deletions_voyage_idx ON media_deletions (voyage_slug);
