-- `media.deleted`: sent once S3 holds nothing more of a deleted item (the deleter sets
-- media_deletions.completed_at only after a listing of both prefixes comes back empty and no render
-- that held the item can still write; sequoia_media/deleter.py). Written by a trigger, in the
-- transaction that sets completed_at, like the other events (008_priority_webhooks.sql).
CREATE OR REPLACE FUNCTION webhook_media_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_emit('media.deleted', NEW.voyage_slug, jsonb_build_object(
        'media_id', NEW.media_id, 'voyage_slug', NEW.voyage_slug, 'task_id', NEW.task_id,
        'removed_objects', NEW.removed_objects,
        'requested_at', to_char(NEW.requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'deleted_at', to_char(NEW.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')));
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS webhook_media_deleted_trg ON media_deletions;
CREATE TRIGGER webhook_media_deleted_trg
    AFTER UPDATE OF completed_at ON media_deletions
    FOR EACH ROW
    WHEN (OLD.completed_at IS NULL AND NEW.completed_at IS NOT NULL)
    EXECUTE FUNCTION webhook_media_deleted();
