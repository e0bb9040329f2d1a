-- media_state_counts is a handful of rows updated on every state change of every item: left to the
-- default thresholds (20% of a tiny table) it is never vacuumed and its pages fill with dead row
-- versions that every status read has to step over. Vacuum it after every 1,000 dead rows, and
-- leave room on each page for updates to stay HOT (pruned in place, no index churn).
ALTER TABLE media_state_counts SET (
    fillfactor = 50,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0
);
