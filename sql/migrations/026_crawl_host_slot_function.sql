-- A host slot in one statement (core/crawlTasks/hosts.ts): the host's row is
-- held for one round trip instead of the seven of a client-side transaction,
-- so every worker's requests to one host queue on it for less time. Each
-- statement below reads with its own snapshot (a volatile function under READ
-- COMMITTED), so the lease check after the row lock sees the leases the
-- previous holder committed. clock_timestamp(), not now(): see hosts.ts.
-- Returns the slot taken, or null with the milliseconds to wait first.
create function crawl_acquire_host_slot(p_host text, p_holder text, p_concurrency integer, p_delay_ms integer, p_lease_ms integer)
returns table (slot integer, wait_ms integer)
language plpgsql
as $$
declare
  v_wait double precision;
  v_slot integer;
begin
  insert into crawl_hosts (host) values (p_host) on conflict (host) do nothing;
  select greatest(extract(epoch from (h.next_start_at - clock_timestamp())), extract(epoch from (coalesce(h.slowed_until, clock_timestamp()) - clock_timestamp())), 0) * 1000
    into v_wait
    from crawl_hosts h where h.host = p_host for update;
  if v_wait > 0 then
    return query select null::integer, ceil(v_wait)::integer;
    return;
  end if;
  select s into v_slot from generate_series(0, greatest(1, p_concurrency) - 1) s
    where not exists (select 1 from crawl_host_leases l where l.host = p_host and l.slot = s and l.expires_at > clock_timestamp())
    order by s limit 1;
  if v_slot is null then
    -- Every slot taken: wait_ms -1 tells the caller to ask again shortly (a release frees one at any time).
    return query select null::integer, -1;
    return;
  end if;
  insert into crawl_host_leases (host, slot, holder, expires_at)
    values (p_host, v_slot, p_holder, clock_timestamp() + p_lease_ms * interval '1 millisecond')
    on conflict on constraint crawl_host_leases_pkey do update set holder = excluded.holder, expires_at = excluded.expires_at;
  update crawl_hosts h set next_start_at = clock_timestamp() + greatest(greatest(p_delay_ms, 0), coalesce(h.delay_ms, 0)) * interval '1 millisecond', updated_at = now()
    where h.host = p_host;
  return query select v_slot, 0;
end
$$;
