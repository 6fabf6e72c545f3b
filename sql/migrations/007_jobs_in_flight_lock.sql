-- An exact MAX_JOBS_IN_FLIGHT_PER_KEY. Each create statement counts the key's
-- open jobs on its own, so statements running at once (several per API
-- process, several processes) all saw room and together passed the cap.
-- This function takes a transaction-scoped advisory lock per capped key, in
-- key order (two batches naming the same keys cannot deadlock), and only then
-- counts: as a VOLATILE function its count runs with a snapshot taken after
-- the lock is granted, so it sees every job committed by the previous holder.
-- The caller's statement inserts within the same transaction, and the lock is
-- held until it commits. One round trip, as before; uncapped keys never call it.
create function lock_open_job_counts(keys text[], caps int[])
returns table (key_id text, open_count bigint)
language plpgsql volatile
as $$
declare
  k text;
begin
  for k in select distinct x from unnest(keys) as x order by x loop
    -- 1785684595 = "jobs": the two-key form keeps these locks apart from single-key advisory locks.
    perform pg_advisory_xact_lock(1785684595, hashtext(k));
  end loop;
  return query
    select u.key, (
      select count(*) from (
        select 1 from jobs j where j.api_key_id = u.key and j.status in ('pending', 'processing') limit u.cap
      ) open
    )
    from unnest(keys, caps) as u(key, cap);
end
$$;
