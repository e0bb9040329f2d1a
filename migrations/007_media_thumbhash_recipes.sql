-- Placeholders and versioned recipes (docs/engines.md).
-- `thumbhash`: the ThumbHash of the picture the gallery shows (the thumbnail, or audio's waveform).
-- `recipe_versions`: recipe name → version the item was last rendered with; NULL for items rendered
-- before recipes had versions (they count as stale: re-rendering them also gives them a placeholder).
ALTER TABLE media ADD COLUMN IF NOT EXISTS thumbhash bytea;
ALTER TABLE media ADD COLUMN IF NOT EXISTS recipe_versions jsonb;

-- Completed items by voyage, kind and the recipe versions they hold, kept by a trigger like
-- media_state_counts: the status endpoints count stale items (those whose versions differ from
-- the current recipes of their kind) from a few rows. 'null' stands for "no versions recorded".
CREATE TABLE IF NOT EXISTS media_recipe_counts (
    voyage_slug      text   NOT NULL,
    media_kind       text   NOT NULL,
    recipe_versions  jsonb  NOT NULL,
    count            bigint NOT NULL,
    PRIMARY KEY (voyage_slug, media_kind, recipe_versions)
);
ALTER TABLE media_recipe_counts SET (
    fillfactor = 50,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0
);

CREATE OR REPLACE FUNCTION media_recipe_counts_track() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- As media_state_counts_track: one statement, rows in key order, so no two transactions deadlock.
    INSERT INTO media_recipe_counts AS c (voyage_slug, media_kind, recipe_versions, count)
    SELECT d.voyage_slug, d.media_kind, d.recipe_versions, sum(d.delta)
      FROM (SELECT OLD.voyage_slug, OLD.media_kind, coalesce(OLD.recipe_versions, 'null'::jsonb), -1 AS delta
             WHERE TG_OP IN ('UPDATE', 'DELETE') AND OLD.processing_status = 'completed'
            UNION ALL
            SELECT NEW.voyage_slug, NEW.media_kind, coalesce(NEW.recipe_versions, 'null'::jsonb), 1
             WHERE TG_OP IN ('INSERT', 'UPDATE') AND NEW.processing_status = 'completed')
           AS d (voyage_slug, media_kind, recipe_versions, delta)
     GROUP BY 1, 2, 3
    HAVING sum(d.delta) <> 0
     ORDER BY 1, 2, 3
    ON CONFLICT (voyage_slug, media_kind, recipe_versions) DO UPDATE SET count = c.count + EXCLUDED.count;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS media_recipe_counts_trg ON media;
CREATE TRIGGER media_recipe_counts_trg
    AFTER INSERT OR DELETE OR UPDATE OF processing_status, voyage_slug, media_kind, recipe_versions ON media
    FOR EACH ROW EXECUTE FUNCTION media_recipe_counts_track();

-- Backfill under the trigger's lock on `media` (held until this file commits).
DELETE FROM media_recipe_counts;
INSERT INTO media_recipe_counts (voyage_slug, media_kind, recipe_versions, count)
SELECT voyage_slug, media_kind, coalesce(recipe_versions, 'null'::jsonb), count(*)
  FROM media WHERE processing_status = 'completed' GROUP BY 1, 2, 3;

-- Finding the stale items of a voyage (rerender-stale) reads only its completed ones.
CREATE INDEX IF NOT EXISTS media_completed_voyage_idx ON media (voyage_slug, media_kind)
    WHERE processing_status = 'completed';
