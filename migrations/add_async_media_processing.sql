-- Sequoia: asynchronous media processing (seed: migrations/add_async_media_processing.sql).
-- Safe to run twice, by `psql -f` or by the migration runner.

CREATE TABLE IF NOT EXISTS async_task_batches (
    id            uuid PRIMARY KEY,
    voyage_slug   text        NOT NULL,
    batch_status  text        NOT NULL DEFAULT 'processing'
                  CHECK (batch_status IN ('pending', 'processing', 'completed',
                                          'completed_with_errors', 'cancelled')),
    total_items   integer     NOT NULL CHECK (total_items >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz
);
CREATE INDEX IF NOT EXISTS async_task_batches_voyage_idx ON async_task_batches (voyage_slug, created_at DESC);
CREATE INDEX IF NOT EXISTS async_task_batches_status_idx ON async_task_batches (batch_status);

CREATE TABLE IF NOT EXISTS media (
    id                 uuid PRIMARY KEY,
    voyage_slug        text        NOT NULL,
    batch_id           uuid        REFERENCES async_task_batches (id) ON DELETE SET NULL,
    media_kind         text        NOT NULL CHECK (media_kind IN ('image', 'pdf', 'video', 'audio')),
    media_format       text        NOT NULL,
    original_filename  text        NOT NULL,
    content_type       text        NOT NULL,
    size_bytes         bigint      NOT NULL CHECK (size_bytes >= 0),
    checksum_sha256    text,
    original_key       text        NOT NULL,
    processing_status  text        NOT NULL DEFAULT 'pending'
                       CHECK (processing_status IN ('pending', 'queued', 'processing', 'retrying',
                                                    'completed', 'failed', 'cancelled')),
    task_id            uuid        NOT NULL UNIQUE,
    queue              text        NOT NULL DEFAULT 'thumbnails',
    attempts           integer     NOT NULL DEFAULT 0,
    error_code         text,
    error_message      text,
    derivatives        jsonb       NOT NULL DEFAULT '[]'::jsonb,
    metadata           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    worker             text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    queued_at          timestamptz,
    started_at         timestamptz,
    completed_at       timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS media_voyage_status_idx ON media (voyage_slug, processing_status);
CREATE INDEX IF NOT EXISTS media_status_updated_idx ON media (processing_status, updated_at);
CREATE INDEX IF NOT EXISTS media_batch_idx ON media (batch_id);

-- Transactional outbox: written with the media row, published to Celery by the relay.
CREATE TABLE IF NOT EXISTS task_outbox (
    id            bigserial PRIMARY KEY,
    media_id      uuid        NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    task_name     text        NOT NULL,
    task_id       uuid        NOT NULL,
    queue         text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX IF NOT EXISTS task_outbox_unpublished_idx ON task_outbox (created_at) WHERE published_at IS NULL;

CREATE OR REPLACE VIEW media_processing_summary AS
SELECT voyage_slug,
       count(*)                                                       AS total_media,
       count(*) FILTER (WHERE processing_status = 'pending')          AS pending,
       count(*) FILTER (WHERE processing_status = 'queued')           AS queued,
       count(*) FILTER (WHERE processing_status = 'processing')       AS processing,
       count(*) FILTER (WHERE processing_status = 'retrying')         AS retrying,
       count(*) FILTER (WHERE processing_status = 'completed')        AS completed,
       count(*) FILTER (WHERE processing_status = 'failed')           AS failed,
       count(*) FILTER (WHERE processing_status = 'cancelled')        AS cancelled,
       max(updated_at)                                                AS last_update
  FROM media
 GROUP BY voyage_slug;
