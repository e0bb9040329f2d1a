-- Indexes for the status endpoints: active tasks newest first, windowed stats, task lookup by id.
CREATE INDEX IF NOT EXISTS media_active_created_idx ON media (created_at DESC, id DESC)
    WHERE processing_status IN ('pending', 'queued', 'processing', 'retrying');
CREATE INDEX IF NOT EXISTS media_completed_at_idx ON media (completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS media_voyage_failed_idx ON media (voyage_slug, updated_at DESC)
    WHERE processing_status = 'failed';
CREATE INDEX IF NOT EXISTS task_outbox_task_id_idx ON task_outbox (task_id);
