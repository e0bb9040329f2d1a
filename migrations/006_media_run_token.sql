-- Each claim starts a run with its own token, checked by every later transition of that run and by
-- its retries: a redelivery or a retry of another run can no longer take over an item still running.
-- The claim also records which pool process holds the item (beside `worker`, its node name), so the
-- sweeper can tell a run whose process died (worker liveness, docs/faults.md).
ALTER TABLE media ADD COLUMN IF NOT EXISTS run_token uuid;
ALTER TABLE media ADD COLUMN IF NOT EXISTS worker_pid integer;
