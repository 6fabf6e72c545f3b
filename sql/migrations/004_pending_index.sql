-- Pending jobs are few but are counted (reports, metrics) and scanned by the
-- rescuer's orphan check; before PostgreSQL 18 (no skip scan) counting them
-- would otherwise read every job of every key. Keyed on created_at, not
-- updated_at, so heartbeats stay HOT updates.
create index jobs_pending on jobs (created_at) where status = 'pending';
