-- Counts of items by voyage, kind and state, kept by a trigger, so the status endpoints read a
-- few rows instead of aggregating a voyage's items on every request.
CREATE TABLE IF NOT EXISTS media_state_counts (
    voyage_slug        text   NOT NULL,
    media_kind         text   NOT NULL,
    processing_status  text   NOT NULL,
    count              bigint NOT NULL,
    PRIMARY KEY (voyage_slug, media_kind, processing_status)
);

CREATE OR REPLACE FUNCTION media_state_counts_track() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- One statement, rows in key order: two transactions moving items in opposite directions
    -- lock the counter rows in the same order and cannot deadlock.
    INSERT INTO media_state_counts AS c (voyage_slug, media_kind, processing_status, count)
    SELECT d.voyage_slug, d.media_kind, d.processing_status, sum(d.delta)
      FROM (SELECT OLD.voyage_slug, OLD.media_kind, OLD.processing_status, -1 AS delta
             WHERE TG_OP IN ('UPDATE', 'DELETE')
            UNION ALL
            SELECT NEW.voyage_slug, NEW.media_kind, NEW.processing_status, 1
             WHERE TG_OP IN ('INSERT', 'UPDATE')) AS d (voyage_slug, media_kind, processing_status, delta)
     GROUP BY 1, 2, 3
    HAVING sum(d.delta) <> 0
     ORDER BY 1, 2, 3
    ON CONFLICT (voyage_slug, media_kind, processing_status) DO UPDATE SET count = c.count + EXCLUDED.count;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS media_state_counts_trg ON media;
CREATE TRIGGER media_state_counts_trg
    AFTER INSERT OR DELETE OR UPDATE OF processing_status, voyage_slug, media_kind ON media
    FOR EACH ROW EXECUTE FUNCTION media_state_counts_track();

-- Backfill under the trigger's lock on `media` (taken above, held until this file commits).
DELETE FROM media_state_counts;
INSERT INTO media_state_counts (voyage_slug, media_kind, processing_status, count)
SELECT voyage_slug, media_kind, processing_status, count(*) FROM media GROUP BY 1, 2, 3;
