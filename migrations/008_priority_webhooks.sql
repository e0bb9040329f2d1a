-- Priority lanes (docs/priorities.md): each item and each outbox row says whether its work is live
-- (fresh ingest) or backfill (re-renders, bulk retries), so the relay, the sweeper and recovery put
-- a task back on the list it came from. Existing rows are live, as everything was before.
ALTER TABLE media ADD COLUMN IF NOT EXISTS priority text NOT NULL DEFAULT 'live'
    CHECK (priority IN ('live', 'backfill'));
ALTER TABLE task_outbox ADD COLUMN IF NOT EXISTS priority text NOT NULL DEFAULT 'live'
    CHECK (priority IN ('live', 'backfill'));

-- Signed completion webhooks (docs/webhooks.md). An endpoint serves one voyage or, without one,
-- every voyage. Its secret signs deliveries, so it is stored as given out (the API shows it once).
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id           uuid PRIMARY KEY,
    url          text        NOT NULL,
    voyage_slug  text,
    event_types  text[]      NOT NULL,
    description  text        NOT NULL DEFAULT '',
    secret       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS webhook_endpoints_voyage_idx ON webhook_endpoints (voyage_slug);

-- The event outbox: written in the transaction that moves an item or a batch to its final state
-- (by the triggers below), one delivery per endpoint that wants it, each attempt logged.
CREATE TABLE IF NOT EXISTS webhook_events (
    id           uuid PRIMARY KEY,
    event_type   text        NOT NULL,
    voyage_slug  text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS webhook_events_created_idx ON webhook_events (created_at);

CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id               bigserial PRIMARY KEY,
    event_id         uuid        NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id      uuid        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id DESC);

CREATE TABLE IF NOT EXISTS webhook_attempts (
    id            bigserial PRIMARY KEY,
    delivery_id   bigint      NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    outcome       text        NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    status_code   integer,
    duration_ms   integer     NOT NULL,
    error         text
);
CREATE INDEX IF NOT EXISTS webhook_attempts_delivery_idx ON webhook_attempts (delivery_id);

-- Records an event and its deliveries when some endpoint wants it; nothing at all otherwise, so a
-- deployment without webhooks pays one index probe per final state.
CREATE OR REPLACE FUNCTION webhook_emit(kind text, voyage text, data jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    event uuid := gen_random_uuid();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints
                    WHERE (voyage_slug IS NULL OR voyage_slug = voyage) AND kind = ANY(event_types)) THEN
        RETURN;
    END IF;
    INSERT INTO webhook_events (id, event_type, voyage_slug, payload)
    VALUES (event, kind, voyage, jsonb_build_object(
        'type', kind,
        'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'data', data));
    INSERT INTO webhook_deliveries (event_id, endpoint_id)
    SELECT event, id FROM webhook_endpoints
     WHERE (voyage_slug IS NULL OR voyage_slug = voyage) AND kind = ANY(event_types);
END;
$$;

-- Every path that ends an item (a worker's completion or failure, the sweeper and recovery giving
-- up) goes through this one trigger: no code path can finish an item without its event.
CREATE OR REPLACE FUNCTION webhook_media_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_emit('media.' || NEW.processing_status, NEW.voyage_slug, jsonb_build_object(
        'media_id', NEW.id, 'voyage_slug', NEW.voyage_slug, 'batch_id', NEW.batch_id,
        'task_id', NEW.task_id, 'status', NEW.processing_status, 'priority', NEW.priority,
        'media_kind', NEW.media_kind, 'media_format', NEW.media_format,
        'original_filename', NEW.original_filename, 'attempts', NEW.attempts,
        'error_code', NEW.error_code, 'error_message', NEW.error_message,
        'derivatives', NEW.derivatives,
        'completed_at', to_char(NEW.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')));
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS webhook_media_final_trg ON media;
CREATE TRIGGER webhook_media_final_trg
    AFTER UPDATE OF processing_status ON media
    FOR EACH ROW
    WHEN (NEW.processing_status IN ('completed', 'failed') AND OLD.processing_status IS DISTINCT FROM NEW.processing_status)
    EXECUTE FUNCTION webhook_media_final();

CREATE OR REPLACE FUNCTION webhook_batch_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_emit('batch.completed', NEW.voyage_slug, (
        SELECT jsonb_build_object(
                   'batch_id', NEW.id, 'voyage_slug', NEW.voyage_slug, 'batch_status', NEW.batch_status,
                   'total_items', NEW.total_items,
                   'completed', count(*) FILTER (WHERE processing_status = 'completed'),
                   'failed', count(*) FILTER (WHERE processing_status = 'failed'),
                   'cancelled', count(*) FILTER (WHERE processing_status = 'cancelled'),
                   'completed_at', to_char(NEW.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
          FROM media WHERE batch_id = NEW.id));
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS webhook_batch_final_trg ON async_task_batches;
CREATE TRIGGER webhook_batch_final_trg
    AFTER UPDATE OF batch_status ON async_task_batches
    FOR EACH ROW
    WHEN (OLD.batch_status IN ('pending', 'processing')
          AND NEW.batch_status IN ('completed', 'completed_with_errors', 'cancelled'))
    EXECUTE FUNCTION webhook_batch_final();
