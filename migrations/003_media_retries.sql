-- Transient retries are counted apart from attempts. `attempts` counts runs started afresh (the first
-- one, and one more after each crash or requeue by the sweeper): MAX_ATTEMPTS bounds them. `retries`
-- counts retries after transient errors within a run (S3 or Postgres away): TASK_MAX_RETRIES bounds them.
ALTER TABLE media ADD COLUMN IF NOT EXISTS retries integer NOT NULL DEFAULT 0;
