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

-- Direct uploads (POST /api/voyages/{slug}/uploads): the API hands out presigned URLs for a key under
-- the voyage's REGISTER_PREFIXES area, remembers it here, and the completion call registers the
-- object. Rows never completed are aborted (multipart) or removed (single PUT) by the media worker
-- once `expires_at` has passed (sequoia_media/uploads.py). In this file because it is this change's
-- one migration number.
CREATE TABLE IF NOT EXISTS direct_uploads (
    id             uuid        PRIMARY KEY,
    voyage_slug    text        NOT NULL,
    key            text        NOT NULL UNIQUE,
    filename       text        NOT NULL,
    size_bytes     bigint      NOT NULL CHECK (size_bytes > 0),
    s3_upload_id   text,
    part_size      bigint,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    completed_at   timestamptz,
    media_id       uuid
);
CREATE INDEX IF NOT EXISTS direct_uploads_open_idx ON direct_uploads (expires_at) WHERE completed_at IS NULL;
