-- Idempotent writes (docs/idempotency.md): the first answer to each Idempotency-Key, per principal.
-- A row is claimed (status_code NULL) before the call runs and completed with its answer after; a
-- failed call deletes its claim. Rows older than IDEMPOTENCY_KEY_HOURS are pruned on beat.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    principal      text        NOT NULL,  -- SHA-256 of the bearer token, never the token itself
    key            text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    route          text        NOT NULL,  -- method, path and query of the first call
    request_hash   text        NOT NULL,  -- SHA-256 of its body (of each upload's bytes, as spooled)
    status_code    integer,               -- NULL while the first call runs
    content_type   text,
    response_body  bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    completed_at   timestamptz,
    PRIMARY KEY (principal, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Per-voyage lookup of an upload's content, for `dedupe=sha256` (uploads are hashed as they spool).
CREATE INDEX IF NOT EXISTS media_voyage_checksum_idx ON media (voyage_slug, checksum_sha256)
    WHERE checksum_sha256 IS NOT NULL;
